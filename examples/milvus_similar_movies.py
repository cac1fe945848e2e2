"""Movies similar to a given movie by content embedding, from the Milvus collection `media_embeddings`.

python examples/milvus_similar_movies.py --movie-id 1 --top 5
"""

import argparse
import sys

from _common import print_table

from tv5_assets.resources.milvus import milvus_resource_from_env
from tv5_assets.stores.milvus.collections import MEDIA_COLLECTION, VECTOR_FIELD

FIELDS = ["movie_id", "media_id", "display_title", "year", "genres"]


def main() -> None:
    parser = argparse.ArgumentParser(description="Find movies similar to one movie (Milvus vector search).")
    parser.add_argument("--movie-id", type=int, default=1, help="MovieLens movieId (default: 1)")
    parser.add_argument("--top", type=int, default=5, help="how many similar movies (default: 5)")
    args = parser.parse_args()

    milvus = milvus_resource_from_env().process_config_and_initialize()
    collection = milvus.collection_name(MEDIA_COLLECTION.logical_name)
    with milvus.get_client() as client:
        if not client.has_collection(collection):
            sys.exit(f"no collection {collection} at {milvus.address}; materialize milvus_media_collection")
        found = client.get(collection, ids=[args.movie_id], output_fields=[*FIELDS, VECTOR_FIELD])
        if not found:
            sys.exit(f"movie {args.movie_id} is not in {collection} at {milvus.address}; materialize it first")
        seed = found[0]
        hits = client.search(
            collection,
            data=[list(seed[VECTOR_FIELD])],
            anns_field=VECTOR_FIELD,
            limit=args.top + 1,  # the movie finds itself first
            search_params=MEDIA_COLLECTION.index.search_params,
            output_fields=FIELDS,
        )[0]

    print(f"Movies similar to {seed['display_title']} ({seed['media_id']}, {seed['year']}):")
    rows = [
        (
            hit["entity"]["media_id"],
            hit["entity"]["display_title"],
            hit["entity"]["year"],
            "|".join(hit["entity"]["genres"]),
            f"{hit['distance']:.3f}",
        )
        for hit in hits
        if hit["entity"]["movie_id"] != args.movie_id
    ][: args.top]
    print_table(["media_id", "title", "year", "genres", "cosine"], rows)


if __name__ == "__main__":
    main()
