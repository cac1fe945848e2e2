"""MovieLens-shaped `movies` and `ratings` frames built in memory (movielens/schemas.py contracts).

Used by the synthetic tests (small) and by benchmarks/bench_synthetic.py (ml-25m size) when no
ingested full-scale release is available. Vectorized, deterministic for a seed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from tv5_assets.schemas.movielens import MOVIES, RATINGS, TIME_OF_DAY

# Rough ml-25m genre frequencies (share of movies listing the genre).
GENRE_SHARE = {
    "Drama": 0.40,
    "Comedy": 0.27,
    "Thriller": 0.14,
    "Romance": 0.12,
    "Action": 0.12,
    "Horror": 0.09,
    "Documentary": 0.09,
    "Crime": 0.09,
    "Adventure": 0.07,
    "Sci-Fi": 0.06,
    "Children": 0.04,
    "Animation": 0.04,
    "Mystery": 0.04,
    "Fantasy": 0.04,
    "War": 0.03,
    "Western": 0.02,
    "Musical": 0.02,
    "Film-Noir": 0.006,
    "IMAX": 0.003,
}
ENGLISH_WORDS = ["Night", "River", "Story", "Love", "City", "Last", "Dark", "Game", "House", "Road", "Star", "King"]
ALT_TITLES = [
    "La Cité des enfants perdus",
    "Le Fabuleux Destin",
    "Les Amants du Pont-Neuf",
    "El laberinto del fauno",
    "La vita è bella",
    "Das Leben der Anderen",
    "Jeux d'enfants",
    "Au revoir les enfants",
]
NON_ASCII_TITLES = ["Сталкер", "千と千尋の神隠し", "Amélie", "Solaris (Солярис)"]
START = int(datetime(1995, 1, 9, tzinfo=UTC).timestamp())
END = int(datetime(2019, 11, 21, tzinfo=UTC).timestamp())


def build_movies(n_movies: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(np.arange(1, max(4 * n_movies, 10)), size=n_movies, replace=False)).astype(np.int32)
    genre_names = list(GENRE_SHARE)
    has_genre = rng.random((n_movies, len(genre_names))) < np.array(list(GENRE_SHARE.values()))
    has_genre[rng.random(n_movies) < 0.08] = False  # "(no genres listed)"
    genres = [[genre_names[j] for j in np.flatnonzero(row)] for row in has_genre]
    year = np.clip(np.round(2019 - rng.gamma(1.6, 11.0, n_movies)), 1890, 2019).astype(np.int16)
    kind = rng.random(n_movies)
    words = np.array(ENGLISH_WORDS)
    title = np.char.add(
        np.char.add(words[rng.integers(0, words.size, n_movies)], " "), words[rng.integers(0, words.size, n_movies)]
    )
    title = np.where(kind < 0.03, np.array(NON_ASCII_TITLES)[rng.integers(0, len(NON_ASCII_TITLES), n_movies)], title)
    alt = np.where(
        (kind >= 0.03) & (kind < 0.15), np.array(ALT_TITLES)[rng.integers(0, len(ALT_TITLES), n_movies)], None
    )
    frame = pl.DataFrame(
        {
            "movie_id": ids,
            "title": title.astype(str),
            "alt_title": pl.Series(alt.tolist(), dtype=pl.String),
            "year": year,
            "genres": pl.Series(genres, dtype=pl.List(pl.String)),
        }
    )
    frame = frame.with_columns(
        media_id=pl.format("ml_{}", "movie_id"),
        internal_id=pl.format("media_{}", pl.col("movie_id").cast(pl.String).str.zfill(8)),
        display_title=pl.col("title"),
        imdb_id=pl.col("movie_id").cast(pl.String).str.zfill(7),
        tmdb_id=pl.col("movie_id").cast(pl.Int64),
        language=pl.lit("en"),
        country=pl.lit("US"),
        raw_title=pl.format("{} ({})", "title", "year"),
    )
    return frame.select([pl.col(c).cast(t) for c, t in MOVIES.items()])


def build_ratings(
    movies: pl.DataFrame, n_users: int, mean_per_user: float = 150.0, seed: int = 0, first_user_id: int = 1
) -> pl.DataFrame:
    """Heavy-tailed user activity (>= 20 each), Zipf-like movie popularity, evening-heavy hours."""
    rng = np.random.default_rng(seed + 1)
    counts = 20 + np.floor(rng.lognormal(np.log(max(mean_per_user - 20, 1)) - 0.5, 1.0, n_users)).astype(np.int64)
    n = int(counts.sum())
    user_id = np.repeat(np.arange(first_user_id, first_user_id + n_users, dtype=np.int32), counts)
    movie_ids = movies["movie_id"].to_numpy()
    popularity = 1.0 / np.arange(1, movie_ids.size + 1) ** 0.9
    popularity = popularity[rng.permutation(movie_ids.size)]
    movie_id = movie_ids[rng.choice(movie_ids.size, size=n, p=popularity / popularity.sum())]
    # Each user rates in a few sessions; session start hour drawn from an evening-heavy profile.
    day = rng.integers(0, (END - START) // 86400, n_users)
    hour_weights = np.array([3, 2, 1, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 5, 5, 6, 7, 8, 8, 7, 6, 4], dtype=float)
    user_hour = rng.choice(24, size=n_users, p=hour_weights / hour_weights.sum())
    seconds = START + np.repeat(day * 86400 + user_hour * 3600, counts) + rng.integers(0, 3 * 3600, n)
    seconds = np.minimum(seconds, END) + rng.integers(0, 40, n) * 86400 * (rng.random(n) < 0.2)
    frame = pl.DataFrame(
        {
            "user_id": user_id,
            "movie_id": movie_id.astype(np.int32),
            "rating": (rng.integers(1, 11, n) / 2).astype(np.float32),
            "timestamp": pl.Series(seconds.astype(np.int64) * 1_000_000).cast(pl.Datetime("us", "UTC")),
        }
    )
    hour = pl.col("timestamp").dt.hour()
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
    frame = frame.with_columns(time_of_day=part.cast(pl.Enum(TIME_OF_DAY)))
    return frame.select([pl.col(c).cast(t) for c, t in RATINGS.items()])
