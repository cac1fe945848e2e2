"""What a user's ratings say about them: per-user aggregates the profiles are drawn from (users.py).

One pass over three rating columns as numpy arrays: bincounts for the count and the UTC hour of
week, and one sparse user x movie product that sums every per-movie trait (family, classic,
obscure, foreign title, niche genre) per user. A few seconds at MovieLens 25M size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .catalog import GENRE_INDEX, MovieTraits, dense_index, unique_sorted_ids

HOURS_PER_WEEK = 168
NICHE_GENRES = (
    "Crime Fantasy Film-Noir Horror Musical Mystery Romance Sci-Fi Thriller War Western Action Adventure".split()
)
OLD_FILM_BEFORE = 1970
FRESH_RELEASE_YEARS = 1  # rated within this many years of release counts as "trending"


@dataclass(frozen=True)
class RatingHistory:
    """Per-user aggregates of the ratings, rows aligned on `user_ids` (ascending)."""

    user_ids: np.ndarray  # int32
    rating_count: np.ndarray  # int64
    utc_hour_of_week: np.ndarray  # int32 (users, 168): ratings per UTC hour of week, Monday 00:00 = 0
    features: dict[str, np.ndarray]  # float64 per user, documented in rating_history()


def rating_history(ratings: pl.LazyFrame | pl.DataFrame, traits: MovieTraits) -> RatingHistory:
    """Aggregate ratings into per-user features with numpy (no per-user Python work).

    features: family_share (Children/Animation), classic_share (documentaries
    or films released before 1970; a film that is both counts twice), obscurity (mean of 1 - log popularity / log max popularity), international_share
    (alternate or non-ASCII title), fresh_share (rated within a year of release), niche_excess
    (largest excess of a niche genre's share over its share in all ratings), activity (log count).
    """
    rows = _UserRows.of(ratings)
    user_ids, user_idx = rows.user_ids, rows.user_idx
    n_users = user_ids.size
    rating_count = np.bincount(user_idx, minlength=n_users).astype(np.int64)
    utc_hour_of_week = (
        np.bincount(user_idx * HOURS_PER_WEEK + rows.column("slot"), minlength=n_users * HOURS_PER_WEEK)
        .astype(np.int32)
        .reshape(n_users, HOURS_PER_WEEK)
    )
    movie_idx = traits.index_of(rows.column("movie_id"))
    rated_year = rows.column("rated_year")
    del rows
    features = _taste_features(traits, user_idx, movie_idx, rated_year, n_users)
    features["activity"] = np.log(np.maximum(rating_count, 1))
    return RatingHistory(user_ids, rating_count, utc_hour_of_week, features)


@dataclass
class _UserRows:
    """The rating columns rating_history needs, with a dense user index; rows grouped by user."""

    frame: pl.DataFrame
    user_ids: np.ndarray  # ascending
    user_idx: np.ndarray  # per row (in grouped order)
    order: np.ndarray | None  # the permutation that groups the frame's rows, None if they already are

    @classmethod
    def of(cls, ratings: pl.LazyFrame | pl.DataFrame) -> _UserRows:
        timestamp = pl.col("timestamp")
        frame = (
            ratings.lazy()
            .select(
                pl.col("user_id").cast(pl.Int32),
                pl.col("movie_id").cast(pl.Int32),
                # UTC hour of week, Monday 00:00 = 0 (polars weekday: Monday = 1)
                ((timestamp.dt.weekday().cast(pl.Int32) - 1) * 24 + timestamp.dt.hour().cast(pl.Int32)).alias("slot"),
                timestamp.dt.year().cast(pl.Int16).alias("rated_year"),
            )
            .collect()
        )
        user_id = frame["user_id"].to_numpy()
        user_ids = unique_sorted_ids(user_id)
        user_idx = dense_index(user_ids, user_id)
        del user_id
        # Rows grouped by user let the sparse matrix be built without a sort (ratings.csv is sorted
        # by user, so this is the usual case); otherwise one stable argsort groups them.
        order = None if bool(np.all(user_idx[1:] >= user_idx[:-1])) else np.argsort(user_idx, kind="stable")
        if order is not None:
            user_idx = user_idx[order]
        return cls(frame, user_ids, user_idx, order)

    def column(self, name: str) -> np.ndarray:
        values = self.frame[name].to_numpy()
        return values if self.order is None else values[self.order]


def _per_movie_features(traits: MovieTraits, popularity: np.ndarray) -> np.ndarray:
    """(movies, 5 + niche genres): family, documentary, old, obscurity, foreign title, niche genre fractions."""
    genre_fraction = traits.genre_matrix / np.maximum(traits.genre_count, 1)[:, None]
    niche = [GENRE_INDEX[g] for g in NICHE_GENRES]
    return np.column_stack(
        [
            traits.has_any("Children", "Animation"),
            traits.genre_matrix[:, GENRE_INDEX["Documentary"]],
            traits.year < OLD_FILM_BEFORE,
            1.0 - np.log1p(popularity) / max(np.log1p(popularity.max(initial=0.0)), 1e-9),
            traits.foreign_title,
            genre_fraction[:, niche],
        ]
    ).astype(np.float64)


def _taste_features(
    traits: MovieTraits, user_idx: np.ndarray, movie_idx: np.ndarray, rated_year: np.ndarray, n_users: int
) -> dict[str, np.ndarray]:
    """The features of rating_history but activity, from the grouped (user, movie, year) rows."""
    import scipy.sparse as sp  # imported where used: the code location loads without scipy (fast start)

    known = movie_idx >= 0
    if not known.all():  # ratings of movies missing from `movies` count for time, not for taste
        user_idx, movie_idx, rated_year = user_idx[known], movie_idx[known], rated_year[known]
    known_count = np.bincount(user_idx, minlength=n_users).astype(np.float64)
    popularity = np.bincount(movie_idx, minlength=traits.size).astype(np.float64)
    per_movie = _per_movie_features(traits, popularity)
    # One sparse (users x movies) product sums every per-movie feature per user in a single pass;
    # CSR straight from the grouped rows (duplicates are fine: the product adds them up).
    indptr = np.concatenate([[0], np.cumsum(known_count.astype(np.int64))])
    history = sp.csr_matrix((np.ones(user_idx.size, dtype=np.float64), movie_idx, indptr), shape=(n_users, traits.size))
    sums = np.asarray(history @ per_movie)
    del history

    # "Fresh": rated in the release year or the year after (unknown year never counts).
    release_year = np.where(np.isnan(traits.year), -30_000, traits.year).astype(np.int16)
    fresh = (rated_year - release_year[movie_idx]).view(np.uint16) <= FRESH_RELEASE_YEARS
    fresh_count = np.bincount(user_idx[fresh], minlength=n_users).astype(np.float64)

    denominator = np.maximum(known_count, 1.0)
    niche_share = sums[:, 5:] / denominator[:, None]
    niche_global = sums[:, 5:].sum(axis=0) / max(known_count.sum(), 1.0)
    return {
        "family_share": sums[:, 0] / denominator,
        "classic_share": (sums[:, 1] + sums[:, 2]) / denominator,  # documentaries or pre-1970 films
        "obscurity": sums[:, 3] / denominator,
        "international_share": sums[:, 4] / denominator,
        "fresh_share": fresh_count / denominator,
        "niche_excess": (niche_share - niche_global[None, :]).max(axis=1) if NICHE_GENRES else np.zeros(n_users),
    }
