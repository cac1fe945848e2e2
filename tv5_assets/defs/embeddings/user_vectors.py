"""User preference vectors: a weighted mean of the vectors of the movies each user rated.

Weights. The plan's (rating - 1) / 4 is wrong on MovieLens' 0.5-5.0 scale: a 0.5 gets a negative
weight and a user who only gave 1.0 has a zero weight sum. Raters also use the scale differently
(one user's 3.0 is another's 4.5). So a rating counts by how much the user liked the movie
relative to their own average:

    weight(user, movie) = max(rating - mean rating of that user, 0)

Movies rated above the user's own mean pull the vector, in proportion to how far above; movies at
or below it do not count (a vector cannot meaningfully point away from a disliked movie's text).
Weights are non-negative, and zero exactly when the rating is not above the user's mean.

Fallback. A user whose ratings are all equal (one rating, all 1.0, all 4.0...) has no rating above
their mean, hence no positive weight. Their vector is the unweighted mean of every movie they
rated (what they chose to watch is still a preference signal); the `weighting` column says
"fallback_all_rated" for them and "liked" for everyone else, and the count is in the metadata.

Computation. One sparse product: W (users x movies, CSR, the weights above) @ V (movies x 384),
then each row is L2-normalised (a weighted mean and a weighted sum have the same direction, so
dividing by the weight sum is unnecessary). Index mapping uses polars joins and one sort, never
`np.unique` on the 25M-row arrays (slow in numpy 2.4, see the field notes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ...encoder.model import l2_normalise
from ...schemas.embeddings import USER_EMBEDDINGS
from ...schemas.movielens import user_key_expr

if TYPE_CHECKING:
    import scipy.sparse as sp

LIKED = "liked"
FALLBACK_ALL_RATED = "fallback_all_rated"
DEGENERATE = "degenerate"
WEIGHTINGS = (LIKED, FALLBACK_ALL_RATED, DEGENERATE)
ABOVE_MEAN_TOLERANCE = 1e-6  # float noise in the mean must not turn an equal rating into a "like"
DEGENERATE_NORM = 1e-6


@dataclass
class UserVectors:
    user_ids: np.ndarray  # int32, ascending
    vectors: np.ndarray  # float32 (users, dim), L2-normalised
    weighting: np.ndarray  # str per user, one of WEIGHTINGS
    stats: dict[str, float | int] = field(default_factory=dict)

    def frame(self) -> pl.DataFrame:
        """The `user_embeddings` table (schema USER_EMBEDDINGS)."""
        return (
            pl.DataFrame(
                {
                    "user_id": self.user_ids,
                    "embedding": self.vectors,
                    "weighting": self.weighting,
                }
            )
            .with_columns(user_key_expr("user_id").alias("user_key"))
            .cast(dict(USER_EMBEDDINGS))
            .select(list(USER_EMBEDDINGS))
        )


def preference_weights(ratings: pl.LazyFrame) -> pl.LazyFrame:
    """Adds `weight` (the rule in the module docstring) and `has_liked` per user to (user_id, rating)."""
    mean = pl.col("rating").cast(pl.Float64).mean().over("user_id")
    liked = pl.col("rating").cast(pl.Float64) - mean
    return (
        ratings.with_columns(liked=pl.when(liked > ABOVE_MEAN_TOLERANCE).then(liked).otherwise(0.0))
        .with_columns(has_liked=(pl.col("liked") > 0).any().over("user_id"))
        .with_columns(weight=pl.when(pl.col("has_liked")).then(pl.col("liked")).otherwise(1.0).cast(pl.Float32))
    )


def user_preference_vectors(
    ratings: pl.LazyFrame | pl.DataFrame,
    movie_ids: np.ndarray,
    movie_vectors: np.ndarray,
) -> UserVectors:
    """One L2-normalised vector per user who rated at least one movie present in `movie_ids`.

    `movie_ids[i]` is the id of `movie_vectors[i]`. Ratings of movies without a vector are dropped
    (and counted in `stats["ratings_without_vector"]`).
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    movie_ids = np.asarray(movie_ids)
    rated, all_ratings = _rated_with_vectors(ratings, movie_ids)
    timings["prepare_seconds"] = time.perf_counter() - started

    t = time.perf_counter()
    n_ratings = rated.height
    user_ids, weights, has_liked = _weight_matrix(rated, movie_ids.size)
    del rated
    timings["csr_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    vectors = np.ascontiguousarray(movie_vectors, dtype=np.float32)
    summed = np.asarray(weights @ vectors, dtype=np.float32)
    timings["product_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    weighting = _fall_back_where_degenerate(summed, weights, vectors, has_liked)
    normalised = l2_normalise(summed)
    timings["normalise_seconds"] = time.perf_counter() - t
    timings["total_seconds"] = time.perf_counter() - started
    stats: dict[str, float | int] = {
        "users": int(user_ids.size),
        "ratings_used": int(n_ratings),
        "ratings_without_vector": int(all_ratings - n_ratings),
        "users_liked": int((weighting == LIKED).sum()),
        "users_fallback_all_rated": int((weighting == FALLBACK_ALL_RATED).sum()),
        "users_degenerate": int((weighting == DEGENERATE).sum()),
        **{key: round(value, 3) for key, value in timings.items()},
    }
    return UserVectors(user_ids, normalised, weighting.astype(str), stats)


def _rated_with_vectors(ratings: pl.LazyFrame | pl.DataFrame, movie_ids: np.ndarray) -> tuple[pl.DataFrame, int]:
    """(user_id, movie_row, weight, has_liked) of the ratings of movies with a vector, sorted by
    user; and the count of all ratings."""
    movie_index = pl.DataFrame(
        {"movie_id": movie_ids.astype(np.int32), "movie_row": np.arange(movie_ids.size, dtype=np.int32)}
    ).lazy()
    base = ratings.lazy().select("user_id", "movie_id", "rating")
    counts = base.select(pl.len().alias("all")).collect().item()
    # Sorted by user (the CSR rows) and movie before the weights: the join's output order varies from
    # run to run, and float sums (a user's mean, the product) taken in another order differ in the
    # last bits, so the same inputs would not give byte-identical vectors.
    joined = base.join(movie_index, on="movie_id", how="inner").sort("user_id", "movie_row")
    rated = (
        preference_weights(joined)
        .select("user_id", "movie_row", "weight", "has_liked")
        # CSR rows by user; within a user by movie, so the float32 sums run in one order whatever
        # other users the frame holds: bit-identical vectors from a user-range partition and a full run.
        .sort("user_id", "movie_row", maintain_order=True)
        .collect()
    )
    return rated, counts


def _weight_matrix(rated: pl.DataFrame, n_movies: int) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
    """(user ids, users x movies CSR of the weights, has_liked per user) from rows sorted by user."""
    import scipy.sparse as sp  # imported where used: the code location loads without scipy (fast start)

    user_column = rated["user_id"].to_numpy()
    n_ratings = user_column.size
    if n_ratings:
        starts = np.flatnonzero(np.r_[True, user_column[1:] != user_column[:-1]])
    else:
        starts = np.zeros(0, dtype=np.int64)
    user_ids = user_column[starts].astype(np.int32)
    indptr = np.r_[starts, n_ratings].astype(np.int64)
    weights = sp.csr_matrix(
        (rated["weight"].to_numpy(), rated["movie_row"].to_numpy(), indptr),
        shape=(user_ids.size, n_movies),
    )
    return user_ids, weights, rated["has_liked"].to_numpy()[starts]


def _fall_back_where_degenerate(
    summed: np.ndarray, weights: sp.csr_matrix, vectors: np.ndarray, has_liked: np.ndarray
) -> np.ndarray:
    """The `weighting` of each user; fixes `summed` in place where the weighted sum is (near) zero:
    the unweighted sum instead, else a zero vector marked DEGENERATE."""
    weighting = np.where(has_liked, LIKED, FALLBACK_ALL_RATED).astype(object)
    norms = np.sqrt(np.einsum("ij,ij->i", summed, summed, dtype=np.float64))
    # Liked movies whose vectors cancel out (practically never with text embeddings): fall back.
    degenerate_liked = np.flatnonzero(has_liked & (norms <= DEGENERATE_NORM))
    if degenerate_liked.size:
        unweighted = weights[degenerate_liked].copy()
        unweighted.data[:] = 1.0
        summed[degenerate_liked] = unweighted @ vectors
        weighting[degenerate_liked] = FALLBACK_ALL_RATED
        norms[degenerate_liked] = np.linalg.norm(summed[degenerate_liked].astype(np.float64), axis=1)
    still_zero = norms <= DEGENERATE_NORM
    weighting[still_zero] = DEGENERATE  # left as zero vectors: the blocking checks stop them
    summed[still_zero] = 0.0
    return weighting
