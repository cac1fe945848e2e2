"""Small upstream tables for the `redis` group's tests, following tv5_assets/defs/synthetic/schemas.py."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from tv5_assets.defs.synthetic.schemas import PLATFORM_AVAILABILITY, PLATFORM_IDS, TRENDS

PLATFORM_NAMES = {
    "tv5monde": "TV5MONDE",
    "netflix": "Netflix",
    "amazon": "Amazon Prime",
    "mubi": "MUBI",
    "criterion": "Criterion Channel",
}


def build_platform_availability(movies: int = 60, seed: int = 11) -> pl.DataFrame:
    """Long format: 0-3 platforms per movie (movies on none have no rows)."""
    rng = np.random.default_rng(seed)
    rows = []
    for movie_id in range(1, movies + 1):
        for platform in sorted(rng.choice(PLATFORM_IDS, size=int(rng.integers(0, 4)), replace=False)):
            rows.append(
                {
                    "movie_id": movie_id,
                    "media_id": f"ml_{movie_id}",
                    "platform_id": str(platform),
                    "platform_name": PLATFORM_NAMES[str(platform)],
                    "availability_type": "free" if platform == "tv5monde" else "subscription",
                    "region": ["US", "FR", "EU", "Global"][movie_id % 4],
                    "quality": ["HD", "4K"] if movie_id % 3 == 0 else ["HD"],
                    "subtitles": ["fr", "en"] if platform == "tv5monde" else ["en"],
                }
            )
    return pl.DataFrame(rows, schema=PLATFORM_AVAILABILITY)


def build_trends(movies: int = 40, days: int = 5, seed: int = 13, last: date = date(2019, 11, 21)) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    dates = [last - timedelta(days=d) for d in range(days)][::-1]
    movie_ids = np.repeat(np.arange(1, movies + 1, dtype=np.int32), days)
    scores = rng.random(movie_ids.size).astype(np.float32)
    return pl.DataFrame(
        {
            "movie_id": movie_ids,
            "media_id": [f"ml_{m}" for m in movie_ids],
            "date": dates * movies,
            "popularity_score": scores,
            "view_count_estimate": (scores * 10_000).astype(np.int32),
            "search_volume": (scores * 5_000).astype(np.int32),
        },
        schema=TRENDS,
    )
