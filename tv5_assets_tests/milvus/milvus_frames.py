"""Small upstream tables for the `milvus` tests, following the column contracts, and a helper that
materializes the group's real assets and checks against the live store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl

from tv5_assets.defs.synthetic.schemas import ARCHETYPES, COUNTRIES, USER_PROFILES
from tv5_assets.io_managers import Tv5IOManager
from tv5_assets.resources.milvus import MilvusResource
from tv5_assets.schemas.embeddings import EMBEDDING_DIM, MEDIA_EMBEDDINGS, USER_EMBEDDINGS
from tv5_assets.schemas.movielens import MOVIES

GENRES = ["Action", "Adventure", "Animation", "Children", "Comedy", "Crime", "Drama", "Horror", "Romance", "Sci-Fi"]
N_MOVIES = 240
N_USERS = 160


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def build_movies(n: int = N_MOVIES, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    movie_id = np.arange(1, n + 1, dtype=np.int32) * 7  # sparse ids, like MovieLens
    year = rng.integers(1950, 2020, n).astype(np.int16)
    genre_counts = rng.integers(0, 4, n)  # 0 = "(no genres listed)" -> empty list
    genres = [sorted(rng.choice(GENRES, size=k, replace=False).tolist()) for k in genre_counts]
    titles = [f"Movie {i}" for i in movie_id]
    return pl.DataFrame(
        {
            "movie_id": movie_id,
            "media_id": [f"ml_{i}" for i in movie_id],
            "internal_id": [f"media_{i:08d}" for i in movie_id],
            "title": titles,
            "display_title": titles,
            "alt_title": [None] * n,
            "year": [None if i % 11 == 0 else int(y) for i, y in enumerate(year)],  # some without a year
            "genres": genres,
            "imdb_id": [f"{i:07d}" for i in movie_id],
            "tmdb_id": movie_id.astype(np.int64),
            "language": ["en"] * n,
            "country": ["US"] * n,
            "raw_title": [f"{t} ({y})" for t, y in zip(titles, year, strict=True)],
        },
        schema=MOVIES,
    )


def build_media_embeddings(movies: pl.DataFrame, seed: int = 4) -> pl.DataFrame:
    """Genre-structured unit vectors (a centroid per genre plus noise), like real content embeddings."""
    rng = np.random.default_rng(seed)
    centroids = rng.normal(size=(len(GENRES), EMBEDDING_DIM))
    vectors = rng.normal(scale=0.6, size=(movies.height, EMBEDDING_DIM))
    for row, genres in enumerate(movies["genres"].to_list()):
        for genre in genres:
            vectors[row] += centroids[GENRES.index(genre)]
    return pl.DataFrame(
        {"movie_id": movies["movie_id"], "media_id": movies["media_id"], "embedding": _unit(vectors)},
        schema=MEDIA_EMBEDDINGS,
    )


def build_user_profiles(n: int = N_USERS, seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    user_id = np.arange(1, n + 1, dtype=np.int32)
    country = rng.choice(COUNTRIES, n).tolist()
    return pl.DataFrame(
        {
            "user_id": user_id,
            "user_key": [f"user_{i:08d}" for i in user_id],
            "archetype": rng.choice(ARCHETYPES, n).tolist(),
            "age_range": ["25-34"] * n,
            "country": country,
            "timezone": ["Europe/Paris"] * n,
            "languages": [["en"]] * n,
            "display_name": [f"User {i}" for i in user_id],
            "city": ["Paris"] * n,
            "cultural_context": [[]] * n,
            "viewing_weekday_evening": [0.5] * n,
            "viewing_weekend_afternoon": [0.5] * n,
            "viewing_late_night": [0.3] * n,
            "device_tv": [0.6] * n,
            "device_mobile": [0.4] * n,
            "device_laptop": [0.5] * n,
        },
        schema=USER_PROFILES,
    )


def build_user_embeddings(profiles: pl.DataFrame, seed: int = 6) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "user_id": profiles["user_id"],
            "user_key": profiles["user_key"],
            "embedding": _unit(rng.normal(size=(profiles.height, EMBEDDING_DIM))),
            "weighting": ["liked" if i % 5 else "fallback_all_rated" for i in range(profiles.height)],
        },
        schema=USER_EMBEDDINGS,
    )


@dataclass
class MilvusInputs:
    assets_dir: Path
    movies: pl.DataFrame
    media_embeddings: pl.DataFrame
    user_profiles: pl.DataFrame
    user_embeddings: pl.DataFrame


UPSTREAM_KEYS = ("movies", "media_embeddings", "user_profiles", "user_embeddings")


def materialize_milvus(
    selection: list[str],
    resource: MilvusResource,
    inputs: MilvusInputs,
    run_config: dict | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """Run the group's real assets (and their checks) with the upstream tables read from `inputs`."""
    from tv5_assets.defs.milvus.assets import ASSETS
    from tv5_assets.defs.milvus.checks import CHECKS

    return dg.materialize(
        [*(dg.AssetSpec(key) for key in UPSTREAM_KEYS), *ASSETS, *CHECKS],
        selection=selection,
        resources={"milvus": resource, "io_manager": Tv5IOManager(base_dir=str(inputs.assets_dir))},
        run_config=run_config,
        raise_on_error=raise_on_error,
    )
