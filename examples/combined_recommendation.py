"""Recommendations for a user across the stores: candidates from Milvus (the user's preference vector
against the movie embeddings), kept when Redis says they stream somewhere (optionally on one
platform), minus what the user already rated, each explained by the graph (Neo4j): the user's
best-rated movie that shares the most genres with it.

    python examples/combined_recommendation.py --user-id 1 --top 5 [--platform Netflix]
"""

import argparse
import sys
from contextlib import closing

from _common import print_table

from tv5_assets.defs.redis.cache import get_platforms
from tv5_assets.resources.milvus import milvus_resource_from_env
from tv5_assets.resources.neo4j import neo4j_resource_from_env
from tv5_assets.resources.redis import redis_resource_from_env
from tv5_assets.stores.milvus.collections import MEDIA_COLLECTION, USER_COLLECTION, VECTOR_FIELD

EXPLAIN = """
UNWIND $candidates AS candidate
MATCH (c:Movie {media_id: candidate})
OPTIONAL MATCH (u:User {user_id: $user_id})-[seen:RATED]->(c)
OPTIONAL MATCH (:User {user_id: $user_id})-[r:RATED]->(m:Movie)-[:HAS_GENRE]->(g:Genre)<-[:HAS_GENRE]-(c)
WITH c, seen, m, r, collect(g.name) AS shared ORDER BY size(shared) DESC, r.score DESC, m.media_id
WITH c, seen, collect({title: m.display_title, score: r.score, shared: shared})[0] AS because
RETURN c.media_id AS media_id, seen IS NOT NULL AS seen, because
"""


def candidates(user_id: int, pool: int) -> list[dict]:
    milvus = milvus_resource_from_env().process_config_and_initialize()
    users, movies = (milvus.collection_name(s.logical_name) for s in (USER_COLLECTION, MEDIA_COLLECTION))
    with milvus.get_client() as client:
        found = client.get(users, ids=[user_id], output_fields=[VECTOR_FIELD]) if client.has_collection(users) else []
        if not found:
            sys.exit(f"user {user_id} is not in {users} at {milvus.address}; materialize milvus_user_collection")
        hits = client.search(
            movies,
            data=[list(found[0][VECTOR_FIELD])],
            anns_field=VECTOR_FIELD,
            limit=pool,
            search_params=MEDIA_COLLECTION.index.search_params,
            output_fields=["media_id", "display_title"],
        )
    return [{**hit["entity"], "score": hit["distance"]} for hit in hits[0]]


def main() -> None:
    parser = argparse.ArgumentParser(description="Recommend movies with Milvus, Redis and Neo4j together.")
    parser.add_argument("--user-id", type=int, default=1, help="MovieLens userId (default: 1)")
    parser.add_argument("--top", type=int, default=5, help="recommendations to show (default: 5)")
    parser.add_argument("--platform", default=None, help="keep only movies on this platform name (default: any)")
    parser.add_argument("--pool", type=int, default=50, help="Milvus candidates to filter (default: 50)")
    args = parser.parse_args()
    user_key = f"user_{args.user_id:08d}"

    pool = candidates(args.user_id, args.pool)
    cache = redis_resource_from_env().process_config_and_initialize()
    with closing(cache.client()) as client:
        for movie in pool:
            names = sorted(
                {p["platform_name"] for p in get_platforms(client, movie["media_id"], cache.namespace) or []}
            )
            movie["platforms"] = [n for n in names if args.platform in (None, n)]
    streaming = [m for m in pool if m["platforms"]]

    graph = neo4j_resource_from_env().process_config_and_initialize()
    with graph.driver() as driver:
        records, _, _ = driver.execute_query(
            EXPLAIN, {"candidates": [m["media_id"] for m in streaming], "user_id": user_key}, database_=graph.database
        )
    explained = {r["media_id"]: r for r in records}
    picks = [m for m in streaming if m["media_id"] in explained and not explained[m["media_id"]]["seen"]][: args.top]

    print(f"Recommendations for {user_key} ({len(pool)} candidates, {len(streaming)} streaming, {len(picks)} shown):")
    rows = []
    for m in picks:
        because = explained[m["media_id"]]["because"] or {}
        reason = (
            f"you rated {because['title']} {because['score']} ({'|'.join(sorted(because['shared']))})"
            if because.get("title")
            else "close to your taste vector"
        )
        rows.append((m["media_id"], m["display_title"], f"{m['score']:.3f}", ", ".join(m["platforms"]), reason))
    print_table(["media_id", "title", "cosine", "platforms", "because"], rows)


if __name__ == "__main__":
    main()
