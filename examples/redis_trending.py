"""Today's trending titles from the Redis cache, with their trend figures and where they stream.

python examples/redis_trending.py --top 10
"""

import argparse
import sys
from contextlib import closing

import polars as pl
from _common import print_table

from tv5_assets.defs.redis.cache import get_platforms, get_trend, top_trending
from tv5_assets.io_managers import read_frame
from tv5_assets.resources.redis import redis_resource_from_env


def titles(media_ids: list[str]) -> dict[str, str]:
    """Titles from the `movies` asset (Parquet); Redis holds ids only."""
    try:
        movies = read_frame("movies").filter(pl.col("media_id").is_in(media_ids)).collect()
    except Exception:  # not materialized here: show the ids alone
        return {}
    return dict(zip(movies["media_id"], movies["display_title"], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description="List trending titles from the Redis cache.")
    parser.add_argument("--top", type=int, default=10, help="how many titles (default: 10)")
    args = parser.parse_args()

    cache = redis_resource_from_env().process_config_and_initialize()
    with closing(cache.client()) as client:
        ranked = top_trending(client, args.top, cache.namespace)
        if not ranked:
            sys.exit(f"no trending set in Redis at {cache.address}; materialize redis_trends_cache (TTL 15 min)")
        trends = {media_id: get_trend(client, media_id, cache.namespace) or {} for media_id, _ in ranked}
        platforms = {media_id: get_platforms(client, media_id, cache.namespace) or [] for media_id, _ in ranked}

    names = titles([media_id for media_id, _ in ranked])
    print(f"Trending on {next(iter(trends.values())).get('date', '?')}:")
    rows = [
        (
            rank,
            media_id,
            names.get(media_id, "?"),
            f"{score:.2f}",
            trends[media_id].get("view_count_estimate"),
            ", ".join(sorted({p["platform_name"] for p in platforms[media_id]})) or "-",
        )
        for rank, (media_id, score) in enumerate(ranked, start=1)
    ]
    print_table(["rank", "media_id", "title", "popularity", "views", "platforms"], rows)


if __name__ == "__main__":
    main()
