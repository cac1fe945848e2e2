"""Small MovieLens-shaped frames (exact schemas of tv5_assets/schemas/movielens.py) for the
embeddings tests, independent of the generator and the ingestion assets.

The catalogue is built so that meaning is recoverable from it: each genre has its own genome
vocabulary, titles are drawn from genre words, and a few franchises ("X", "X 2", "X: Part II")
exist, so the semantic sanity tests have something real to find.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

from tv5_assets.schemas.movielens import MOVIE_GENOME, MOVIES, RATINGS, TAGS, media_id_expr

GENRE_WORLDS = {
    "Horror": (
        ["Haunting", "Crypt", "Nightmare", "Curse", "Blood Moon"],
        ["gore", "zombies", "haunted house", "scary", "slasher", "vampires", "creepy"],
    ),
    "Comedy": (
        ["Wedding", "Roommates", "Vacation", "Prank", "Office Party"],
        ["funny", "hilarious", "slapstick", "parody", "witty", "quirky", "satire"],
    ),
    "Sci-Fi": (
        ["Starship", "Android", "Galaxy", "Orbit", "Time Machine"],
        ["space", "aliens", "robots", "time travel", "dystopia", "future", "artificial intelligence"],
    ),
    "Western": (
        ["Outlaw", "Frontier", "Canyon", "Sheriff", "Saloon"],
        ["cowboys", "gunfight", "desert", "horses", "bounty hunter", "wild west", "ranch"],
    ),
    "Romance": (
        ["Love Letter", "First Kiss", "Paris Spring", "Sweetheart", "Honeymoon"],
        ["romantic", "love story", "relationships", "wedding", "sweet", "heartbreak", "passion"],
    ),
    "Animation": (
        ["Talking Fox", "Toy Box", "Little Dragon", "Cartoon Island", "Magic Kite"],
        ["animated", "pixar animation", "kids", "cartoon", "family", "talking animals", "cute"],
    ),
}
ADJECTIVES = ["Dark", "Last", "Silent", "Golden", "Lost", "Wild", "Secret", "Broken"]
TIMESTAMP = datetime(2015, 3, 1, 20, 0, tzinfo=UTC)


def movies_frame(n_per_genre: int = 14, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    movie_id = 1
    genre_names = list(GENRE_WORLDS)
    # Genres interleave across ids (as in MovieLens, neighbouring ids are unrelated films), so an
    # off-by-one between ids and vectors breaks every relation.
    for i in range(n_per_genre):
        for g_index, genre in enumerate(genre_names):
            words, _ = GENRE_WORLDS[genre]
            title = f"{ADJECTIVES[(i + g_index) % len(ADJECTIVES)]} {words[i % len(words)]}"
            genres = [genre]
            if i % 3 == 0:  # some two-genre movies
                genres.append(genre_names[(g_index + 1 + i) % len(genre_names)])
            rows.append((movie_id, title, int(rng.integers(1950, 2019)), genres))
            movie_id += 1
    # Franchises: "X", "X 2", "X: Part II" share a title base and a genre.
    families = (("Starship Raiders", "Sci-Fi"), ("Prairie Law", "Western"), ("Grave Digger", "Horror"))
    for suffix in ("", " 2", ": Part II"):
        for base, genre in families:
            rows.append((movie_id, base + suffix, 2000 + movie_id % 19, [genre]))
            movie_id += 1
    rows.append((movie_id, "Untitled Project", None, []))  # no year, no genres
    frame = pl.DataFrame(
        {
            "movie_id": [r[0] for r in rows],
            "title": [r[1] for r in rows],
            "display_title": [r[1] for r in rows],
            "alt_title": [None] * len(rows),
            "year": [r[2] for r in rows],
            "genres": [r[3] for r in rows],
        },
        schema_overrides={"movie_id": pl.Int32, "year": pl.Int16, "alt_title": pl.String},
    )
    return (
        frame.with_columns(
            media_id=media_id_expr("movie_id"),
            internal_id=pl.format("media_{}", pl.col("movie_id").cast(pl.String).str.zfill(8)),
            imdb_id=pl.lit(None, pl.String),
            tmdb_id=pl.lit(None, pl.Int64),
            language=pl.lit("en"),
            country=pl.lit("US"),
            raw_title=pl.format("{} ({})", pl.col("title"), pl.col("year")),
        )
        .cast(dict(MOVIES))
        .select(list(MOVIES))
    )


def movie_genome_frame(movies: pl.DataFrame, seed: int = 4, share: float = 0.6) -> pl.DataFrame:
    """Genome tags for about `share` of the movies, from their first genre's vocabulary."""
    rng = np.random.default_rng(seed)
    rows = []
    for movie_id, genres in movies.select("movie_id", "genres").iter_rows():
        if not genres or rng.random() > share:
            continue
        vocab = GENRE_WORLDS[genres[0]][1]
        picked = rng.choice(len(vocab), size=5, replace=False)
        relevances = np.sort(rng.uniform(0.5, 1.0, size=5))[::-1]
        rows.append((movie_id, [int(p) + 1 for p in picked], [vocab[p] for p in picked], relevances.tolist()))
    return pl.DataFrame(
        {
            "movie_id": [r[0] for r in rows],
            "tag_ids": [r[1] for r in rows],
            "tags": [r[2] for r in rows],
            "relevances": [r[3] for r in rows],
        },
        schema=MOVIE_GENOME,
    )


def tags_frame(movies: pl.DataFrame, seed: int = 5) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for movie_id, genres in movies.select("movie_id", "genres").iter_rows():
        if not genres:
            continue
        vocab = GENRE_WORLDS[genres[0]][1]
        for user in range(1, 4):
            tag = vocab[int(rng.integers(0, len(vocab)))]
            rows.append((user, movie_id, tag.upper() + " ", tag))
    return (
        pl.DataFrame(
            {
                "user_id": [r[0] for r in rows],
                "movie_id": [r[1] for r in rows],
                "tag": [r[2] for r in rows],
                "tag_normalized": [r[3] for r in rows],
                "timestamp": [TIMESTAMP] * len(rows),
            }
        )
        .cast(dict(TAGS))
        .select(list(TAGS))
    )


def ratings_frame(movies: pl.DataFrame, n_users: int = 40, seed: int = 6) -> pl.DataFrame:
    """Random ratings plus the edge cases: user 1001 gave only 1.0, user 1002 rated 3.5 everywhere,
    user 1003 rated a single movie."""
    rng = np.random.default_rng(seed)
    ids = movies["movie_id"].to_numpy()
    rows = []
    for user in range(1, n_users + 1):
        for movie in rng.choice(ids, size=int(rng.integers(3, 15)), replace=False):
            rows.append((user, int(movie), float(rng.integers(1, 11)) / 2))
    rows += [(1001, int(m), 1.0) for m in ids[:4]]
    rows += [(1002, int(m), 3.5) for m in ids[5:9]]
    rows += [(1003, int(ids[10]), 4.0)]
    return (
        pl.DataFrame(
            {
                "user_id": [r[0] for r in rows],
                "movie_id": [r[1] for r in rows],
                "rating": [r[2] for r in rows],
                "timestamp": [TIMESTAMP] * len(rows),
                "time_of_day": ["evening"] * len(rows),
            }
        )
        .cast(dict(RATINGS))
        .select(list(RATINGS))
    )
