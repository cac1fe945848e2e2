"""Small upstream tables for the `postgres` group's tests, following the column contracts
(tv5_assets/schemas/movielens.py, tv5_assets/defs/synthetic/schemas.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from tv5_assets.defs.synthetic.schemas import ARCHETYPES, USER_PROFILES
from tv5_assets.schemas.movielens import MOVIES, RATINGS, TIME_OF_DAY

GENRES = ["Action", "Comedy", "Drama", "Horror", "Sci-Fi", "Children", "Film-Noir", "IMAX"]


def build_movies(count: int = 40, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.arange(1, count + 1, dtype=np.int32)
    genres = [sorted(rng.choice(GENRES, size=int(rng.integers(0, 4)), replace=False).tolist()) for _ in ids]
    return pl.DataFrame(
        {
            "movie_id": ids,
            "media_id": [f"ml_{i}" for i in ids],
            "internal_id": [f"media_{i:08d}" for i in ids],
            "title": [f"Movie {i}" for i in ids],
            "display_title": [f"Movie {i}" for i in ids],
            "alt_title": [None] * count,
            "year": [1990 + int(i) % 30 for i in ids],
            "genres": genres,
            "imdb_id": [f"{i:07d}" for i in ids],
            "tmdb_id": [int(i) * 10 for i in ids],
            "language": ["en"] * count,
            "country": ["US"] * count,
            "raw_title": [f"Movie {i} ({1990 + int(i) % 30})" for i in ids],
        },
        schema=MOVIES,
    )


def build_ratings(users: int = 30, movies: int = 40, seed: int = 5) -> pl.DataFrame:
    """Between 5 and 60 ratings per user, half stars, timestamps with some ties; sorted like the asset."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(5, 61, size=users)
    user_ids = np.repeat(np.arange(1, users + 1, dtype=np.int32), counts)
    movie_ids = rng.integers(1, movies + 1, size=user_ids.size).astype(np.int32)
    stars = (rng.integers(1, 11, size=user_ids.size) / 2).astype(np.float32)
    seconds = rng.integers(800_000_000, 800_200_000, size=user_ids.size) // 60 * 60  # minute grid: ties occur
    timestamps = pl.Series(seconds * 1_000_000).cast(pl.Datetime("us", "UTC"))
    frame = pl.DataFrame({"user_id": user_ids, "movie_id": movie_ids, "rating": stars, "timestamp": timestamps})
    hour = frame["timestamp"].dt.hour()
    part = (
        pl.when(hour < 5)
        .then(pl.lit("late_night"))
        .when(hour < 12)
        .then(pl.lit("morning"))
        .when(hour < 17)
        .then(pl.lit("afternoon"))
        .when(hour < 21)
        .then(pl.lit("evening"))
        .otherwise(pl.lit("night"))
    )
    frame = frame.with_columns(time_of_day=pl.select(part).to_series().cast(pl.Enum(TIME_OF_DAY)))
    return (
        frame.unique(["user_id", "movie_id"], keep="first")
        .sort("user_id", "movie_id")
        .select(list(RATINGS))
        .cast(RATINGS)
    )


def build_user_profiles(ratings: pl.DataFrame) -> pl.DataFrame:
    user_ids = ratings["user_id"].unique().sort()
    n = user_ids.len()
    return pl.DataFrame(
        {
            "user_id": user_ids,
            "user_key": [f"user_{i:08d}" for i in user_ids],
            "archetype": [ARCHETYPES[i % len(ARCHETYPES)] for i in range(n)],
            "age_range": ["25-34"] * n,
            "country": ["FR"] * n,
            "timezone": ["Europe/Paris"] * n,
            "languages": [["fr", "en"]] * n,
            "display_name": [f"User {i}" for i in user_ids],
            "city": ["Paris"] * n,
            "cultural_context": [["world_cinema"]] * n,
            "viewing_weekday_evening": [0.5] * n,
            "viewing_weekend_afternoon": [0.4] * n,
            "viewing_late_night": [0.2] * n,
            "device_tv": [0.6] * n,
            "device_mobile": [0.3] * n,
            "device_laptop": [0.5] * n,
        },
        schema=USER_PROFILES,
    )


def utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
