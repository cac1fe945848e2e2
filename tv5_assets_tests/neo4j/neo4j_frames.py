"""Small upstream tables that follow the column contracts (movielens, synthetic, embeddings
schemas), built deterministically from a seed, so graph tests need no other group."""

from __future__ import annotations

from datetime import UTC, datetime

import neo4j
import numpy as np
import polars as pl

from tv5_assets.defs.synthetic.schemas import ARCHETYPES, COUNTRIES, PLATFORM_AVAILABILITY, USER_PROFILES
from tv5_assets.schemas.embeddings import SIMILAR_MOVIES
from tv5_assets.schemas.movielens import GENOME_TAGS, MOVIE_GENOME, MOVIES, RATINGS, TIME_OF_DAY

MARKER = "Tv5TestMarker"  # tells a database that tests may empty it
GENRES = ["Action", "Comedy", "Drama", "Sci-Fi", "Film-Noir", "Children"]
PLATFORMS = {"tv5monde": ("TV5MONDE", "free"), "netflix": ("Netflix", "subscription"), "mubi": ("MUBI", "subscription")}


def upstream_frames(
    movies: int = 30, users: int = 20, ratings_per_user: int = 15, seed: int = 3
) -> dict[str, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    movie_ids = np.arange(1, movies + 1, dtype=np.int32) * 3  # sparse ids, as in MovieLens
    genres = [sorted(rng.choice(GENRES, size=int(rng.integers(0, 3)), replace=False).tolist()) for _ in movie_ids]
    movie_frame = pl.DataFrame(
        {
            "movie_id": movie_ids,
            "media_id": [f"ml_{m}" for m in movie_ids],
            "internal_id": [f"media_{m:08d}" for m in movie_ids],
            "title": [f"Movie, The {m}" for m in movie_ids],
            "display_title": [f"The Movie {m}" for m in movie_ids],
            "alt_title": [None] * movies,
            "year": [None if m % 7 == 0 else 1950 + int(m) % 70 for m in movie_ids],
            "genres": genres,
            "imdb_id": [f"{m:07d}" for m in movie_ids],
            "tmdb_id": [int(m) * 10 for m in movie_ids],
            "language": ["en"] * movies,
            "country": ["US"] * movies,
            "raw_title": [f"Movie, The {m} (2000)" for m in movie_ids],
        },
        schema=MOVIES,
    )
    tag_ids = np.arange(1, 11, dtype=np.int32)
    genome_tags = pl.DataFrame({"tag_id": tag_ids, "tag": [f"tag {t}" for t in tag_ids]}, schema=GENOME_TAGS)
    genome_movies = movie_ids[: movies * 2 // 3]
    chosen = [sorted(rng.choice(tag_ids, size=int(rng.integers(0, 4)), replace=False).tolist()) for _ in genome_movies]
    movie_genome = pl.DataFrame(
        {
            "movie_id": genome_movies,
            "tag_ids": chosen,
            "tags": [[f"tag {t}" for t in c] for c in chosen],
            "relevances": [sorted((0.5 + rng.random(len(c)) / 2).round(4).tolist(), reverse=True) for c in chosen],
        },
        schema=MOVIE_GENOME,
    )
    user_ids = np.arange(1, users + 1, dtype=np.int32)
    profiles = pl.DataFrame(
        {
            "user_id": user_ids,
            "user_key": [f"user_{u:08d}" for u in user_ids],
            "archetype": [ARCHETYPES[u % len(ARCHETYPES)] for u in user_ids],
            "age_range": ["25-34"] * users,
            "country": [COUNTRIES[u % len(COUNTRIES)] for u in user_ids],
            "timezone": ["Europe/Paris"] * users,
            "languages": [["fr", "en"]] * users,
            "display_name": [f"User {u}" for u in user_ids],
            "city": ["Paris"] * users,
            "cultural_context": [["francophone"]] * users,
            **{
                c: [0.5] * users
                for c in [
                    "viewing_weekday_evening",
                    "viewing_weekend_afternoon",
                    "viewing_late_night",
                    "device_tv",
                    "device_mobile",
                    "device_laptop",
                ]
            },
        },
        schema=USER_PROFILES,
    )
    rows = []
    for u in user_ids:
        for m in rng.choice(movie_ids, size=min(ratings_per_user, movies), replace=False):
            ts = datetime.fromtimestamp(int(rng.integers(1_000_000_000, 1_600_000_000)), UTC)
            rows.append((int(u), int(m), float(rng.integers(1, 11)) / 2, ts, TIME_OF_DAY[ts.hour % 5]))
    ratings = pl.DataFrame(rows, schema=RATINGS, orient="row").sort("user_id", "movie_id")
    similar = []
    for i, m in enumerate(movie_ids):
        for rank, other in enumerate([movie_ids[(i + 1) % movies], movie_ids[(i + 5) % movies]], start=1):
            similar.append((int(m), int(other), 0.95 - rank * 0.05, rank))
    similar_movies = pl.DataFrame(similar, schema=SIMILAR_MOVIES, orient="row")
    availability = []
    for i, m in enumerate(movie_ids):
        for p in list(PLATFORMS)[: i % 3]:
            availability.append(
                (
                    int(m),
                    f"ml_{m}",
                    p,
                    PLATFORMS[p][0],
                    PLATFORMS[p][1],
                    "FR",
                    ["HD"] if i % 2 else ["HD", "4K"],
                    ["fr", "en"],
                )
            )
    platform_availability = pl.DataFrame(availability, schema=PLATFORM_AVAILABILITY, orient="row")
    return {
        "movies": movie_frame,
        "genome_tags": genome_tags,
        "movie_genome": movie_genome,
        "user_profiles": profiles,
        "ratings": ratings,
        "similar_movies": similar_movies,
        "platform_availability": platform_availability,
    }


def wipe(driver: neo4j.Driver, database: str) -> None:
    with driver.session(database=database) as session:
        session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
        session.run(f"CREATE (:{MARKER})").consume()
