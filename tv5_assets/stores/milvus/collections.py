"""The Milvus collections: explicit schemas, the HNSW index, and the rows built from upstream frames.

Pure definitions and polars logic (no connection), so they are testable without a server.

| logical name (alias) | primary key (INT64, not auto)  | scalar fields for filtered search                     |
|----------------------|--------------------------------|-------------------------------------------------------|
| `media_embeddings`   | `movie_id` (MovieLens movieId) | media_id `ml_{id}`, title, display_title, year, genres |
| `user_embeddings`    | `movielens_user_id` (userId)   | user_id `user_{id:08d}`, archetype, country, weighting |

`user_id` keeps the plan's string format (the key every other store uses), so the integer id gets
the explicit name `movielens_user_id`. `year` is an INT16 with 0 for a movie without a year
(MovieLens has no year 0): nullable scalars exist only from Milvus 2.5 on, and the local server is a
2.3, so one encoding serves every engine. `year >= 1990` never matches 0; `year == 0` lists the
movies without a year (`NO_YEAR`).
`genres` is an ARRAY of VARCHAR, searched with `array_contains(genres, "Drama")`.

Each logical name is an alias onto a versioned collection `<name>__v<UTC timestamp>` (blue/green).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import polars as pl

from ...schemas.embeddings import EMBEDDING_DIM

VECTOR_FIELD = "embedding"
VERSION_SEPARATOR = "__v"

METRIC_TYPE = "COSINE"


@dataclass(frozen=True)
class IndexSpec:
    """The vector index a collection asks for (verified after the build) and how it is searched."""

    index_type: str
    build_params: dict[str, int]
    search: dict[str, int]  # the `params` of a search request
    metric_type: str = METRIC_TYPE

    @property
    def search_params(self) -> dict[str, Any]:
        return {"metric_type": self.metric_type, "params": dict(self.search)}

    def describe(self) -> str:
        build = ", ".join(f"{k}={v}" for k, v in self.build_params.items())
        search = ", ".join(f"{k}={v}" for k, v in self.search.items())
        return f"{self.index_type} {self.metric_type} ({build}; searched with {search})"


# Figures: the full-scale vectors (ml-25m size) on the 2-core development box, real Milvus 2.3 server,
# one top-10 query per call (benchmarks/bench_milvus.py --assets-dir ...).
# Media embeddings spread over the space (median cosine between two movies 0.37): HNSW as the plan
# asks. Searched with a stored movie: self-recall 1.0, recall@10 0.999-1.000 at ef=64 to 512. Searched
# with a user's preference vector (the user-to-media query), which sits between movies, the graph needs
# a wider beam. Generator v3 (2026-12-07, 300 queries, quiet box): recall@10 0.912 / 0.970 at ef 128 /
# 256, p50 2.5 / 3.9 ms; ef=256 is the smallest above 0.95. efConstruction 100 would build in 16 s
# instead of 25 s but lowers that recall (0.907 at ef 128), so the build keeps 200.
MEDIA_INDEX = IndexSpec("HNSW", {"M": 16, "efConstruction": 200}, {"ef": 256})
# User preference vectors crowd into a cone (their mean has norm 0.95, two random users have cosine
# 0.91; 0.97 / 0.94 on the earlier popularity-only data, where HNSW M=16 efConstruction=200 found the
# stored vector itself for only 37% of users at ef=64). Generator v3 (162,541 users, 300 queries,
# quiet box): HNSW M=16 efC=200 ef=128 self-recall 0.980, recall@10 0.976, build 44.5 s; IVF_FLAT
# nlist=1024 nprobe=64 self-recall 1.000, recall@10 0.997, p50 3.8 ms, build 35.5 s; IVF_FLAT
# nlist=512 nprobe=32 (the same 6% of the lists) self-recall 1.000, recall@10 0.993, p50 3.4 ms,
# build 22.1 s. An inverted file wins: a vector sits in the list of its nearest centroid, probed
# first, so a user always finds themself (a blocking check asks it); 512 lists build in 13 s less.
USER_INDEX = IndexSpec("IVF_FLAT", {"nlist": 512}, {"nprobe": 32})

NO_YEAR = 0  # `year` of a movie whose title has none
MAX_GENRES = 32  # MovieLens has at most 10 genres per movie
MAX_GENRE_BYTES = 64
TITLE_MAX_BYTES = 2048


@dataclass(frozen=True)
class ScalarField:
    name: str
    milvus_type: str  # a pymilvus DataType member name: INT64, INT16, VARCHAR, ARRAY
    polars_type: pl.DataType
    description: str
    max_length: int | None = None  # VARCHAR bytes (for ARRAY: per element)
    max_capacity: int | None = None  # ARRAY elements
    nullable: bool = False


@dataclass(frozen=True)
class CollectionSpec:
    logical_name: str
    description: str
    primary_key: ScalarField
    scalars: tuple[ScalarField, ...]
    index: IndexSpec
    dim: int = EMBEDDING_DIM
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def fields(self) -> tuple[ScalarField, ...]:
        return (self.primary_key, *self.scalars)

    @property
    def column_order(self) -> list[str]:
        return [f.name for f in self.fields] + [VECTOR_FIELD]

    def polars_schema(self) -> pl.Schema:
        return pl.Schema({f.name: f.polars_type for f in self.fields} | {VECTOR_FIELD: pl.Array(pl.Float32, self.dim)})

    def milvus_schema(self):
        """A pymilvus CollectionSchema: explicit fields, no dynamic field, primary key not auto-generated."""
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False, description=self.description)
        schema.add_field(
            self.primary_key.name, DataType.INT64, is_primary=True, description=self.primary_key.description
        )
        for f in self.scalars:
            kwargs: dict[str, Any] = {"description": f.description}
            if f.nullable:
                kwargs["nullable"] = True
            if f.milvus_type == "VARCHAR":
                kwargs["max_length"] = f.max_length
            elif f.milvus_type == "ARRAY":
                kwargs.update(element_type=DataType.VARCHAR, max_capacity=f.max_capacity, max_length=f.max_length)
            schema.add_field(f.name, getattr(DataType, f.milvus_type), **kwargs)
        schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=self.dim, description="L2-normalised embedding")
        return schema

    def table_schema(self) -> dg.TableSchema:
        """The collection's fields for the asset's `dagster/column_schema` metadata."""
        columns = []
        for f in self.fields:
            milvus_type = f.milvus_type
            if f.milvus_type == "VARCHAR":
                milvus_type = f"VARCHAR({f.max_length})"
            elif f.milvus_type == "ARRAY":
                milvus_type = f"ARRAY<VARCHAR({f.max_length})>[{f.max_capacity}]"
            columns.append(
                dg.TableColumn(
                    name=f.name,
                    type=milvus_type,
                    description=f.description,
                    constraints=dg.TableColumnConstraints(
                        nullable=f.nullable,
                        unique=f is self.primary_key,
                        other=["primary key"] if f is self.primary_key else [],
                    ),
                )
            )
        columns.append(
            dg.TableColumn(
                name=VECTOR_FIELD,
                type=f"FLOAT_VECTOR({self.dim})",
                description=f"L2-normalised; index {self.index.describe()}",
            )
        )
        return dg.TableSchema(columns=columns)


MEDIA_COLLECTION = CollectionSpec(
    logical_name="media_embeddings",
    description="Movie content embeddings (all-MiniLM-L6-v2, 384-d) with catalogue fields for filtered search",
    primary_key=ScalarField("movie_id", "INT64", pl.Int64, "MovieLens movieId"),
    scalars=(
        ScalarField("media_id", "VARCHAR", pl.String, "ml_{movieId}: the platform-wide media id", max_length=32),
        ScalarField(
            "title", "VARCHAR", pl.String, "title without the year, article as written", max_length=TITLE_MAX_BYTES
        ),
        ScalarField(
            "display_title",
            "VARCHAR",
            pl.String,
            "title with a moved article put back in front",
            max_length=TITLE_MAX_BYTES,
        ),
        ScalarField("year", "INT16", pl.Int16, f"first release year; {NO_YEAR} when the title has none"),
        ScalarField(
            "genres",
            "ARRAY",
            pl.List(pl.String),
            "MovieLens genres; empty when none listed",
            max_length=MAX_GENRE_BYTES,
            max_capacity=MAX_GENRES,
        ),
    ),
    index=MEDIA_INDEX,
)

USER_COLLECTION = CollectionSpec(
    logical_name="user_embeddings",
    description="User preference vectors (384-d, same space as the media embeddings) with profile fields",
    primary_key=ScalarField("movielens_user_id", "INT64", pl.Int64, "MovieLens userId"),
    scalars=(
        ScalarField("user_id", "VARCHAR", pl.String, "user_{userId:08d}: the platform-wide user id", max_length=32),
        ScalarField("archetype", "VARCHAR", pl.String, "synthetic viewer archetype", max_length=64),
        ScalarField("country", "VARCHAR", pl.String, "synthetic country code", max_length=8),
        ScalarField(
            "weighting",
            "VARCHAR",
            pl.String,
            "how the vector was formed (liked / fallback_all_rated ...)",
            max_length=64,
        ),
    ),
    index=USER_INDEX,
)


class CollectionInputError(ValueError):
    """Upstream rows that cannot go into the collection; the message names the rows and the rule."""


def media_rows(media_embeddings: pl.LazyFrame, movies: pl.LazyFrame) -> pl.DataFrame:
    """One row per media embedding, joined to its catalogue fields, in the collection's column order."""
    catalogue = movies.select("movie_id", "title", "display_title", "year", "genres")
    rows = (
        media_embeddings.select("movie_id", "media_id", VECTOR_FIELD)
        .join(catalogue, on="movie_id", how="left", validate="1:1")
        .with_columns(
            pl.col("movie_id").cast(pl.Int64),
            pl.col("year").cast(pl.Int16).fill_null(NO_YEAR),
            pl.col("genres").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        )
        .select(MEDIA_COLLECTION.column_order)
        .sort("movie_id")
        .collect()
    )
    _require_joined(rows, "title", "movie_id", "media_embeddings", "movies")
    validate_rows(rows, MEDIA_COLLECTION)
    return rows


def user_rows(user_embeddings: pl.LazyFrame, user_profiles: pl.LazyFrame) -> pl.DataFrame:
    """One row per user embedding, joined to the user's profile, in the collection's column order."""
    profiles = user_profiles.select("user_id", "archetype", "country")
    rows = (
        user_embeddings.select("user_id", "user_key", "weighting", VECTOR_FIELD)
        .join(profiles, on="user_id", how="left", validate="1:1")
        .select(
            pl.col("user_id").cast(pl.Int64).alias("movielens_user_id"),
            pl.col("user_key").alias("user_id"),
            "archetype",
            "country",
            "weighting",
            VECTOR_FIELD,
        )
        .sort("movielens_user_id")
        .collect()
    )
    _require_joined(rows, "archetype", "movielens_user_id", "user_embeddings", "user_profiles")
    validate_rows(rows, USER_COLLECTION)
    return rows


def _require_joined(rows: pl.DataFrame, probe: str, key: str, left: str, right: str) -> None:
    missing = rows.filter(pl.col(probe).is_null())[key]
    if missing.len():
        raise CollectionInputError(
            f"{missing.len()} row(s) of {left} have no matching row in {right} (first {key}s: "
            f"{missing.head(5).to_list()}); both come from the same MovieLens release, so re-materialize "
            f"{right} and {left} from the same inputs."
        )


def validate_rows(rows: pl.DataFrame, spec: CollectionSpec) -> None:
    """Fail before touching the store when a value would not fit the collection's schema."""
    key = spec.primary_key.name
    if rows.schema != spec.polars_schema():
        raise CollectionInputError(
            f"{spec.logical_name}: rows have schema {rows.schema}, expected {spec.polars_schema()}"
        )
    duplicated = rows.filter(pl.col(key).is_duplicated())[key].unique().sort()
    if duplicated.len():
        raise CollectionInputError(f"{spec.logical_name}: primary key {key} repeats for {duplicated.head(5).to_list()}")
    for f in spec.fields:
        if not f.nullable and rows[f.name].null_count():
            bad = rows.filter(pl.col(f.name).is_null())[key].head(5).to_list()
            raise CollectionInputError(
                f"{spec.logical_name}: {f.name} is null for {key} {bad}; the field is not nullable"
            )
        if f.milvus_type == "VARCHAR":
            too_long = rows.filter(pl.col(f.name).str.len_bytes() > f.max_length)
        elif f.milvus_type == "ARRAY":
            too_long = rows.filter(
                (pl.col(f.name).list.len() > f.max_capacity)
                | (pl.col(f.name).list.eval(pl.element().str.len_bytes()).list.max() > f.max_length)
            )
        else:
            continue
        if too_long.height:
            raise CollectionInputError(
                f"{spec.logical_name}: {f.name} is longer than the schema allows ({f.max_length} bytes"
                f"{'' if f.max_capacity is None else f' per element, {f.max_capacity} elements'}) for "
                f"{key} {too_long[key].head(5).to_list()}; raise the limit in milvus/collections.py"
            )
    if rows[VECTOR_FIELD].null_count():
        bad = rows.filter(pl.col(VECTOR_FIELD).is_null())[key].head(5).to_list()
        raise CollectionInputError(f"{spec.logical_name}: embedding is null for {key} {bad}")


def estimated_row_bytes(rows: pl.DataFrame, spec: CollectionSpec) -> pl.Series:
    """Bytes each row takes on the wire (vector + scalars), to size insert batches."""
    parts: list[pl.Expr] = [pl.lit(4 * spec.dim, dtype=pl.Int64)]
    for f in spec.fields:
        if f.milvus_type == "VARCHAR":
            parts.append(pl.col(f.name).str.len_bytes().fill_null(0).cast(pl.Int64) + 4)
        elif f.milvus_type == "ARRAY":
            element_bytes = pl.col(f.name).list.eval(pl.element().str.len_bytes() + 4).list.sum()
            parts.append(element_bytes.fill_null(0).cast(pl.Int64) + 8)
        else:
            parts.append(pl.lit(8, dtype=pl.Int64))
    return rows.select(pl.sum_horizontal(parts).alias("bytes"))["bytes"]


def rows_per_batch(rows: pl.DataFrame, spec: CollectionSpec, max_batch_bytes: int) -> int:
    """The most rows that keep every batch under `max_batch_bytes`, sized by the largest row."""
    if rows.height == 0:
        return 1
    largest = int(estimated_row_bytes(rows, spec).max())
    return max(1, max_batch_bytes // largest)
