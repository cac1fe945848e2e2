"""genome-tags.csv and genome-scores.csv: a dense movie x tag relevance matrix for the most
popular movies, genre-coherent, written with the float noise of the real file."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from .counts import Counts
from .movies import Movies
from .vocab import N_GENRES, genome_vocabulary

STREAM_GENOME = 5
STREAM_GENOME_CHUNK = 6
CHUNK_ROWS = 1_500_000
_LATENT = 8


def genome_tags_frame(c: Counts) -> pl.DataFrame:
    tags, _ = genome_vocabulary()
    tags = tags[: c.genome_tags]
    return pl.DataFrame(
        {"tagId": pl.Series(np.arange(1, len(tags) + 1), dtype=pl.Int32), "tag": pl.Series(tags, dtype=pl.String)}
    )


def genome_movie_index(movies: Movies, c: Counts) -> np.ndarray:
    """Indices (into the movie table, increasing) of the genome movies: the most popular ones."""
    top = np.argsort(-movies.popularity, kind="stable")[: c.genome_movies]
    return np.sort(top)


def relevance_values(q: np.ndarray) -> np.ndarray:
    """Quarter-per-mille steps computed the way that leaves float noise: 115 -> 0.028749999999999998."""
    return q.astype(np.float64) / 400 / 10


def iter_genome_scores(movies: Movies, c: Counts, seed: int, chunk_rows: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    """genome-scores.csv as frames, sorted by movieId then tagId; every genome movie x every tag."""
    rng = np.random.default_rng([seed, STREAM_GENOME])
    _, topics = genome_vocabulary()
    n_tags = c.genome_tags
    topics = topics[:n_tags].astype(np.int64)
    gidx = genome_movie_index(movies, c)
    n_movies = len(gidx)
    tag_base = rng.normal(-3.0, 0.5, n_tags)
    tag_bonus = rng.normal(2.8, 0.5, n_tags)  # how strongly a genre tag follows the genre
    tag_latent = rng.normal(0.0, 0.35, (_LATENT, n_tags))
    movie_bias = rng.normal(0.0, 0.3, n_movies)
    movie_latent = rng.normal(0.0, 1.0, (n_movies, _LATENT))
    onehot = np.zeros((N_GENRES, n_tags))
    genre_tag = topics < N_GENRES
    onehot[topics[genre_tag], np.flatnonzero(genre_tag)] = 1.0
    tag_ids = np.arange(1, n_tags + 1, dtype=np.int32)
    step = max(1, chunk_rows // n_tags)
    for k, a in enumerate(range(0, n_movies, step)):
        b = min(n_movies, a + step)
        crng = np.random.default_rng([seed, STREAM_GENOME_CHUNK, k])
        coherent = (movies.genre_matrix[gidx[a:b]].astype(np.float64) @ onehot) > 0
        z = (
            tag_base[None, :]
            + movie_bias[a:b, None]
            + movie_latent[a:b] @ tag_latent
            + coherent * tag_bonus[None, :]
            + crng.normal(0.0, 0.5, (b - a, n_tags))
        )
        q = np.clip(np.rint(4000.0 / (1.0 + np.exp(-z))), 1, 4000)
        yield pl.DataFrame(
            {
                "movieId": pl.Series(np.repeat(movies.ids[gidx[a:b]], n_tags), dtype=pl.Int32),
                "tagId": pl.Series(np.tile(tag_ids, b - a), dtype=pl.Int32),
                "relevance": pl.Series(relevance_values(q).ravel(), dtype=pl.Float64),
            }
        )
