"""Movie traits shared by the generators: genre matrix, year, foreign/French-title hints and the
per-movie rating counts, as numpy arrays aligned on movie_id (ascending)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from ...schemas.movielens import GENRES

GENRE_INDEX = {genre: index for index, genre in enumerate(GENRES)}

# Words and letters that hint at a French title (in the title or its parenthesised alternate).
# Deliberately leaves out "la"/"un" (also Spanish and Italian); a hint, not language detection.
FRENCH_TITLE_PATTERN = r"(?i)(^|[\s,(])(le|les|l'|une|des|du|aux|au|et)(\s|$)|[èêçœùûî]|\bd'"


@dataclass(frozen=True)
class MovieTraits:
    movie_ids: np.ndarray  # int32, ascending, unique
    genre_matrix: np.ndarray  # bool (movies, len(GENRES))
    genre_count: np.ndarray  # int64: genres listed, including any outside GENRES
    year: np.ndarray  # float64, NaN when unknown
    foreign_title: np.ndarray  # bool: has an alternate title, or a non-ASCII title
    french_title: np.ndarray  # bool: FRENCH_TITLE_PATTERN matches the title or alternate title

    @property
    def size(self) -> int:
        return int(self.movie_ids.size)

    def has_any(self, *genres: str) -> np.ndarray:
        return self.genre_matrix[:, [GENRE_INDEX[g] for g in genres]].any(axis=1)

    def index_of(self, movie_ids: np.ndarray) -> np.ndarray:
        """Row index of each id in this catalogue, -1 for ids it does not have (vectorized)."""
        return dense_index(self.movie_ids, np.asarray(movie_ids))


LOOKUP_TABLE_MAX_ID = 50_000_000


def dense_index(sorted_ids: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Position of each of `ids` in the ascending unique `sorted_ids`, -1 where absent.

    A lookup table indexed by id (one gather, about 0.1 s for 25M ids) when ids are small
    non-negative integers, as MovieLens ids are; binary search otherwise.
    """
    if sorted_ids.size == 0 or ids.size == 0:
        return np.full(ids.shape, -1, dtype=np.int64)
    low, high = int(min(sorted_ids[0], ids.min())), int(max(sorted_ids[-1], ids.max()))
    if low >= 0 and high < LOOKUP_TABLE_MAX_ID:
        table = np.full(high + 1, -1, dtype=np.int32)
        table[sorted_ids] = np.arange(sorted_ids.size, dtype=np.int32)
        return table[ids]
    positions = np.minimum(np.searchsorted(sorted_ids, ids), sorted_ids.size - 1)
    return np.where(sorted_ids[positions] == ids, positions, -1).astype(np.int64)


def unique_sorted_ids(ids: np.ndarray) -> np.ndarray:
    """Ascending unique ids; a presence table for small non-negative ids (np.unique is slow at 25M)."""
    if ids.size == 0:
        return ids.astype(np.int32)
    low, high = int(ids.min()), int(ids.max())
    if low >= 0 and high < LOOKUP_TABLE_MAX_ID:
        present = np.zeros(high + 1, dtype=bool)
        present[ids] = True
        return np.flatnonzero(present).astype(ids.dtype)
    return pl.Series(ids).unique().sort().to_numpy()


def canonical_movies(movies: pl.DataFrame) -> pl.DataFrame:
    """Movies sorted by id with duplicate ids dropped, so outputs never depend on input row order."""
    return movies.sort("movie_id").unique(subset="movie_id", keep="first", maintain_order=True)


def movie_traits(movies: pl.DataFrame) -> MovieTraits:
    movies = canonical_movies(movies)
    n = movies.height
    pairs = (
        movies.select(row=pl.int_range(pl.len(), dtype=pl.Int64), genre=pl.col("genres"))
        .explode("genre")
        .drop_nulls("genre")
        .with_columns(col=pl.col("genre").replace_strict(GENRE_INDEX, default=-1, return_dtype=pl.Int64))
        .filter(pl.col("col") >= 0)
    )
    genre_matrix = np.zeros((n, len(GENRES)), dtype=bool)
    genre_matrix[pairs["row"].to_numpy(), pairs["col"].to_numpy()] = True
    flags = movies.select(
        genre_count=pl.col("genres").list.len().fill_null(0).cast(pl.Int64),
        year=pl.col("year").cast(pl.Float64),
        foreign=pl.col("alt_title").is_not_null() | ~pl.col("title").fill_null("").str.contains(r"^[\x00-\x7F]*$"),
        french=pl.concat_str(
            [pl.col("title").fill_null(""), pl.col("alt_title").fill_null("")], separator=" | "
        ).str.contains(FRENCH_TITLE_PATTERN),
    )
    return MovieTraits(
        movie_ids=movies["movie_id"].cast(pl.Int32).to_numpy(),
        genre_matrix=genre_matrix,
        genre_count=flags["genre_count"].to_numpy(),
        year=flags["year"].fill_null(float("nan")).to_numpy(),
        foreign_title=flags["foreign"].to_numpy(),
        french_title=flags["french"].to_numpy(),
    )


def rating_counts(ratings: pl.LazyFrame | pl.DataFrame, traits: MovieTraits) -> np.ndarray:
    """Ratings per catalogue movie (aligned on traits.movie_ids); ids outside the catalogue ignored."""
    counts = (
        ratings.lazy().group_by("movie_id").agg(n=pl.len()).collect()
        if isinstance(ratings, pl.LazyFrame)
        else ratings.group_by("movie_id").agg(n=pl.len())
    )
    index = traits.index_of(counts["movie_id"].to_numpy())
    known = index >= 0
    out = np.zeros(traits.size, dtype=np.int64)
    out[index[known]] = counts["n"].to_numpy()[known]
    return out
