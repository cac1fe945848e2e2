"""Column contracts of the MovieLens tables: the schema every downstream group relies on.

The `movielens` assets produce exactly these polars schemas, and their blocking checks verify it,
so downstream code can depend on names and dtypes here without re-checking them.
"""

from __future__ import annotations

import polars as pl

# Re-exported: the format's genres belong to the library (the generator reads them too), and the
# defs modules read them here beside the column contracts.
from ..movielens_format import GENRES as GENRES

TIME_OF_DAY = ["morning", "afternoon", "evening", "night", "late_night"]
TimeOfDay = pl.Enum(TIME_OF_DAY)
"""Hour (UTC) -> part of day: morning 05-11, afternoon 12-16, evening 17-20, night 21-23, late_night 00-04."""

UTC_TIMESTAMP = pl.Datetime("us", "UTC")

MOVIES = pl.Schema(
    {
        "movie_id": pl.Int32,
        "media_id": pl.String,  # ml_{movieId}
        "internal_id": pl.String,  # media_{movieId:08d}
        "title": pl.String,  # without the year, trimmed, NBSP normalised, article as written ("City of Lost Children, The")
        "display_title": pl.String,  # moved article put back in front ("The City of Lost Children")
        "alt_title": pl.String,  # parenthesised alternate title, article restored; null if none
        "year": pl.Int16,  # first year of the release; null when the title has none
        "genres": pl.List(pl.String),  # empty list for "(no genres listed)"
        "imdb_id": pl.String,  # zero-padded, as in links.csv (7+ digits); null if no link row
        "tmdb_id": pl.Int64,  # null when blank
        "language": pl.String,  # default "en" (MovieLens has no language)
        "country": pl.String,  # default "US"
        "raw_title": pl.String,  # the title field exactly as in movies.csv
    }
)

LINKS = pl.Schema({"movie_id": pl.Int32, "imdb_id": pl.String, "tmdb_id": pl.Int64})

RATINGS = pl.Schema(
    {
        "user_id": pl.Int32,
        "movie_id": pl.Int32,
        "rating": pl.Float32,  # half stars 0.5..5.0
        "timestamp": UTC_TIMESTAMP,
        "time_of_day": TimeOfDay,
    }
)

TAGS = pl.Schema(
    {
        "user_id": pl.Int32,
        "movie_id": pl.Int32,
        "tag": pl.String,  # raw text, unchanged (mojibake and trailing spaces included)
        "tag_normalized": pl.String,  # NFC, trimmed, whitespace collapsed, lower-cased
        "timestamp": UTC_TIMESTAMP,
    }
)

GENOME_TAGS = pl.Schema({"tag_id": pl.Int32, "tag": pl.String})

GENOME_SCORES = pl.Schema({"movie_id": pl.Int32, "tag_id": pl.Int32, "relevance": pl.Float32})

MOVIE_GENOME = pl.Schema(
    {
        "movie_id": pl.Int32,
        "tag_ids": pl.List(pl.Int32),  # tags above the relevance threshold, most relevant first
        "tags": pl.List(pl.String),
        "relevances": pl.List(pl.Float32),
    }
)


REJECTS = pl.Schema(
    {
        "line": pl.Int64,  # 1-based line in the source file (header = 1); first line of a multi-line record
        "rule": pl.String,  # the first rule the row breaks
        "value": pl.String,  # the offending field text (the whole record for shape errors)
        "raw": pl.String,  # the record as written (CR of CRLF removed)
    }
)
"""`<asset>_rejects` tables: rows set aside by an ingestion asset run with `quarantine: true`."""


def media_id_expr(col: str = "movie_id") -> pl.Expr:
    """`ml_{movieId}`: the platform-wide media id, used as the key in every store."""
    return pl.format("ml_{}", pl.col(col))


def user_key_expr(col: str = "user_id") -> pl.Expr:
    """`user_{userId:08d}`: the plan's user id string, used as the key in every store."""
    return pl.format("user_{}", pl.col(col).cast(pl.String).str.zfill(8))
