"""What each JSONL export holds: the plan's file paths and record shapes, built from the upstream tables.

Field names and nesting follow the plan where it writes the file (movies, ratings, tags,
demographics, availability, viewing contexts); the subtitle segments, which the plan does not
lay out, keep the upstream column names. Values come unchanged from the upstream tables: ids in
the platform's forms (`ml_{movieId}`, `user_{userId:08d}`), timestamps as Unix epoch seconds (UTC)
as in the plan (the source files hold whole seconds, so nothing is lost), float32 values written
in their shortest form that parses back to the same float32, nulls as JSON null.

Each `records` function returns a LazyFrame with one row per line, in file order, plus the column
`LINE` (the 0-based line number): the writer drops it, the checks filter on it to rebuild sampled
lines without building the whole file again.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ...schemas import movielens as movielens
from ...schemas.movielens import media_id_expr, user_key_expr
from ..synthetic import schemas as synthetic

LINE = "_line"
EPOCH_NOTE = "timestamp is Unix epoch seconds (UTC), as in the plan"
PARQUET_DIR = "processed/parquet"


def _epoch_seconds(column: str = "timestamp") -> pl.Expr:
    return pl.col(column).dt.epoch("s")


def movies_records(movies: pl.LazyFrame) -> pl.LazyFrame:
    return movies.with_row_index(LINE).select(
        LINE,
        "media_id",
        identifiers=pl.struct(movielens_id="movie_id", internal_id="internal_id", imdb_id="imdb_id", tmdb_id="tmdb_id"),
        metadata=pl.struct("title", "display_title", "alt_title", "year", "language", "country"),
        classification=pl.struct("genres"),
    )


def _interactions(frame: pl.LazyFrame, prefix: str, kind: str, *fields: pl.Expr | str) -> pl.LazyFrame:
    """The plan's interaction events: `interaction_id` is `{prefix}_{row}`, the row's position in
    the upstream table (which keeps the source file's order, as the plan's `row.name` did)."""
    return frame.with_row_index(LINE).select(
        LINE,
        pl.format(f"{prefix}_{{}}", LINE).alias("interaction_id"),
        user_key_expr().alias("user_id"),
        media_id_expr().alias("media_id"),
        _epoch_seconds().alias("timestamp"),
        pl.lit(kind).alias("interaction_type"),
        *fields,
    )


def ratings_records(ratings: pl.LazyFrame) -> pl.LazyFrame:
    context = pl.struct(time_of_day=pl.col("time_of_day").cast(pl.String)).alias("context")
    return _interactions(ratings, "int", "Rate", "rating", context)


def tags_records(tags: pl.LazyFrame) -> pl.LazyFrame:
    return _interactions(tags, "tag", "Tag", "tag", "tag_normalized")


def demographics_records(user_profiles: pl.LazyFrame) -> pl.LazyFrame:
    return user_profiles.with_row_index(LINE).select(
        LINE,
        user_id="user_key",
        display_name="display_name",
        archetype="archetype",
        demographics=pl.struct(
            "age_range",
            location=pl.struct("country", "timezone", "city"),
            language_preferences="languages",
            cultural_context="cultural_context",
        ),
        preferences=pl.struct(
            viewing_time_patterns=pl.struct(
                weekday_evening="viewing_weekday_evening",
                weekend_afternoon="viewing_weekend_afternoon",
                late_night="viewing_late_night",
            ),
            device_preferences=pl.struct(tv="device_tv", mobile="device_mobile", laptop="device_laptop"),
        ),
    )


def availability_records(platform_availability: pl.LazyFrame) -> pl.LazyFrame:
    """One line per movie on at least one platform (the plan's shape): its platform rows as a list."""
    platform = pl.struct(
        "platform_id", pl.col("platform_name").alias("name"), "availability_type", "region", "quality", "subtitles"
    ).alias("platforms")
    grouped = platform_availability.group_by("media_id", maintain_order=True).agg(platform)
    return grouped.with_row_index(LINE)


def viewing_contexts_records(viewing_contexts: pl.LazyFrame) -> pl.LazyFrame:
    return viewing_contexts.with_row_index(LINE).select(
        LINE,
        "context_id",
        temporal=pl.struct("season", "day_of_week", "time_of_day", "is_holiday"),
        social=pl.struct("viewing_mode", "group_size"),
        intent=pl.struct("mood", "occasion", "time_budget"),
    )


def segments_records(subtitle_segments: pl.LazyFrame) -> pl.LazyFrame:
    return subtitle_segments.with_row_index(LINE).select(
        LINE, media_id_expr().alias("media_id"), *synthetic.SUBTITLE_SEGMENTS.names()
    )


@dataclass(frozen=True)
class JsonlExport:
    name: str  # the asset
    upstream: str  # the asset it exports
    path: str  # under TV5_DATA_DIR
    upstream_schema: pl.Schema
    records: Callable[[pl.LazyFrame], pl.LazyFrame]
    one_line_per: str
    note: str = ""  # what a reader of the file must know beyond the field names

    def schema(self) -> pl.Schema:
        """The lines' fields and types, without the LINE column (runs polars: not at import time)."""
        built = self.records(pl.LazyFrame(schema=self.upstream_schema)).collect_schema()
        return pl.Schema({name: dtype for name, dtype in built.items() if name != LINE})

    def declared(self) -> dict:
        """`{"columns": [[name, type], ...], "fields": field_list}` from LINE_SCHEMAS, for the asset
        definitions: they are built at import, where polars must not run (see LINE_SCHEMAS)."""
        return _line_schemas()[self.name]


EXPORTS = (
    JsonlExport(
        "movies_jsonl",
        "movies",
        "processed/media/movies.jsonl",
        movielens.MOVIES,
        movies_records,
        "movie",
        note="year is null when the title has none (the plan wrote 0)",
    ),
    JsonlExport(
        "ratings_jsonl",
        "ratings",
        "processed/interactions/ratings.jsonl",
        movielens.RATINGS,
        ratings_records,
        "rating",
        note=f"interaction_id is int_{{row position in ratings}}; {EPOCH_NOTE}",
    ),
    JsonlExport(
        "tags_jsonl",
        "tags",
        "processed/interactions/tags.jsonl",
        movielens.TAGS,
        tags_records,
        "tag application",
        note=f"interaction_id is tag_{{row position in tags}}; tag is the raw text; {EPOCH_NOTE}",
    ),
    JsonlExport(
        "demographics_jsonl",
        "user_profiles",
        "synthetic/users/demographics.jsonl",
        synthetic.USER_PROFILES,
        demographics_records,
        "user profile",
    ),
    JsonlExport(
        "availability_jsonl",
        "platform_availability",
        "synthetic/platforms/availability.jsonl",
        synthetic.PLATFORM_AVAILABILITY,
        availability_records,
        "movie available on at least one platform",
    ),
    JsonlExport(
        "viewing_contexts_jsonl",
        "viewing_contexts",
        "synthetic/contexts/viewing_contexts.jsonl",
        synthetic.VIEWING_CONTEXTS,
        viewing_contexts_records,
        "viewing context",
    ),
    JsonlExport(
        "subtitle_segments_jsonl",
        "subtitle_segments",
        "synthetic/subtitles/segments.jsonl",
        synthetic.SUBTITLE_SEGMENTS,
        segments_records,
        "subtitle segment",
    ),
)

# The upstream tables copied as Parquet for analytics, to PARQUET_DIR/<asset>.parquet.
PARQUET_TABLES = {export.upstream: export.upstream_schema for export in EXPORTS}


# The line schemas, written once from `schema()` (a test checks that they still match; it rewrites
# them with TV5_UPDATE_SNAPSHOTS=1). Why not call `schema()` when the module is imported: any polars
# computation starts polars' thread pools, and the executor's forkserver imports this module once and
# forks every step from it; a forked child then waits forever on pools it did not inherit.
LINE_SCHEMAS = Path(__file__).with_name("line_schemas.json")


@functools.cache
def _line_schemas() -> dict[str, dict]:
    return json.loads(LINE_SCHEMAS.read_text())


def line_schemas() -> dict[str, dict]:
    """What LINE_SCHEMAS should hold, computed from the layouts."""
    return {
        export.name: {
            "columns": [[name, str(dtype)] for name, dtype in export.schema().items()],
            "fields": field_list(export.schema()),
        }
        for export in EXPORTS
    }


def parquet_path(table: str) -> str:
    """Where the Parquet copy of `table` goes, under TV5_DATA_DIR."""
    return f"{PARQUET_DIR}/{table}.parquet"


def field_list(schema: pl.Schema) -> str:
    """`a, b{c, d}, e[{f}]`: the fields of a line, nested ones in braces, lists of objects in brackets."""

    def field(name: str, dtype: pl.DataType) -> str:
        if isinstance(dtype, pl.Struct):
            return f"{name}{{{field_list(pl.Schema(dtype.to_schema()))}}}"
        if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
            return f"{name}[{{{field_list(pl.Schema(dtype.inner.to_schema()))}}}]"
        return name

    return ", ".join(field(name, dtype) for name, dtype in schema.items())
