"""genome-tags.csv and genome-scores.csv: a dense movie x tag relevance matrix for the most
popular movies, genre-coherent, written with the float noise of the real file.

A movie's relevances come from its genres and its hidden theme factors (taste.py), the same
factors users' taste responds to: a movie's top genome tags say what kind of user likes it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from .counts import Counts
from .movies import Movies
from .taste import N_LATENT
from .vocab import N_GENRES, genome_vocabulary

STREAM_GENOME = 5
STREAM_GENOME_CHUNK = 6
CHUNK_ROWS = 1_500_000
THEME_LOADING = 1.0  # logit per standard deviation of the tag's theme factor


def genome_tags_frame(c: Counts) -> pl.DataFrame:
    tags, _ = genome_vocabulary()
    tags = tags[: c.genome_tags]
    return pl.DataFrame(
        {"tagId": pl.Series(np.arange(1, len(tags) + 1), dtype=pl.Int32), "tag": pl.Series(tags, dtype=pl.String)}
    )


def genome_movie_index(movies: Movies, c: Counts) -> np.ndarray:
    """Indices (into the movie table, increasing) of the genome movies: the most popular ones."""
    top = np.argsort(-movies.popularity, kind="stable")[: min(c.genome_movies, len(movies))]
    return np.sort(top)


def relevance_values(q: np.ndarray) -> np.ndarray:
    """Quarter-per-mille steps computed the way that leaves float noise: 115 -> 0.028749999999999998."""
    return q.astype(np.float64) / 400 / 10


@dataclass(frozen=True)
class Genome:
    """The relevance matrix of a sample's genome movies, in quarter-per-mille steps (1..4000)."""

    index: np.ndarray  # int64 increasing: rows of the movie table that have a genome
    q: np.ndarray  # uint16 (len(index), genome tags)

    def row_of_movie(self, n_movies: int) -> np.ndarray:
        """Per movie of the table, its row in `q`, or -1 without a genome."""
        rows = np.full(n_movies, -1, dtype=np.int64)
        rows[self.index] = np.arange(len(self.index))
        return rows


def genome_relevance(movies: Movies, c: Counts, seed: int, chunk_rows: int = CHUNK_ROWS) -> Genome:
    """Relevance of every genome tag for the most popular movies: a genre bonus for the tags of the
    movie's genres, plus the movie's theme factors (`movies.latent`) seen through each tag's
    loading, plus noise."""
    rng = np.random.default_rng([seed, STREAM_GENOME])
    _, topics = genome_vocabulary()
    n_tags = c.genome_tags
    topics = topics[:n_tags].astype(np.int64)
    gidx = genome_movie_index(movies, c)
    n_movies = len(gidx)
    tag_base = rng.normal(-3.0, 0.5, n_tags)
    tag_bonus = rng.normal(2.8, 0.5, n_tags)  # how strongly a genre tag follows the genre
    # Each tag follows one theme factor, up or down: a movie's strongest themes pick its top tags
    # among those of its genres, so the top tags tell apart movies of the same genres.
    tag_latent = np.zeros((N_LATENT, n_tags))
    tag_latent[rng.integers(0, N_LATENT, n_tags), np.arange(n_tags)] = rng.choice([-1.0, 1.0], n_tags) * THEME_LOADING
    movie_bias = rng.normal(0.0, 0.3, n_movies)
    movie_latent = movies.latent[gidx]
    onehot = np.zeros((N_GENRES, n_tags))
    genre_tag = topics < N_GENRES
    onehot[topics[genre_tag], np.flatnonzero(genre_tag)] = 1.0
    q = np.empty((n_movies, n_tags), dtype=np.uint16)
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
        q[a:b] = np.clip(np.rint(4000.0 / (1.0 + np.exp(-z))), 1, 4000)
    return Genome(gidx, q)


def iter_genome_scores(movies: Movies, genome: Genome, chunk_rows: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    """genome-scores.csv as frames, sorted by movieId then tagId; every genome movie x every tag."""
    n_tags = genome.q.shape[1]
    tag_ids = np.arange(1, n_tags + 1, dtype=np.int32)
    step = max(1, chunk_rows // n_tags)
    for a in range(0, len(genome.index), step):
        rows = genome.index[a : a + step]
        yield pl.DataFrame(
            {
                "movieId": pl.Series(np.repeat(movies.ids[rows], n_tags), dtype=pl.Int32),
                "tagId": pl.Series(np.tile(tag_ids, len(rows)), dtype=pl.Int32),
                "relevance": pl.Series(relevance_values(genome.q[a : a + step]).ravel(), dtype=pl.Float64),
            }
        )
