"""What each store holds beside the upstream count it must equal, and statistics of the embeddings.

Plain functions: the expected counts are polars over the upstream tables (the same frames the store
loads and their checks derive from: neo4j/model.py, redis/cache.py), and one reader per
store counts through the store's resource with the store groups' own helpers. `cross_store_report`
(assets.py) runs them; the checks (checks.py) judge the rows it records.

| store      | object                         | must equal                                                  |
|------------|--------------------------------|-------------------------------------------------------------|
| Milvus     | media_embeddings, user_embeddings (entities) | rows of media_embeddings, user_embeddings     |
| Neo4j      | Movie, Genre, HAS_GENRE        | movies: rows, distinct genres, (movie, genre) pairs         |
| Neo4j      | Tag, HAS_TAG                   | genome_tags rows; movie_genome's (movie, tag) pairs         |
| Neo4j      | User, RATED                    | user_profiles rows; distinct (user, movie) pairs of ratings |
| Neo4j      | SIMILAR_TO                     | similar_movies pairs at or above the load's score threshold |
| Neo4j      | Platform, AVAILABLE_ON         | platform_availability: platforms, (movie, platform) pairs   |
| PostgreSQL | policies, episodes             | user_profiles rows; ratings rows                            |
| Redis      | {ns}:platform:*, {ns}:trend:*  | movies in platform_availability; of the latest trends day   |
| Redis      | {ns}:trending members          | what the last trends load wrote: min(top_n, latest day)     |

A store that cannot be read is a finding, not a crash: its objects get `found=None` and the reason,
so the report still shows every other store and the check names what could not be counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import polars as pl

from ... import registry
from ...schemas.embeddings import EMBEDDING_DIM
from ...stores.milvus.collections import MEDIA_COLLECTION, USER_COLLECTION, VECTOR_FIELD
from ...stores.neo4j import model
from ..redis.cache import DEFAULT_TOP_TRENDING, latest_trends, platform_values

MILVUS, NEO4J, POSTGRES, REDIS = (s.name for s in (registry.MILVUS, registry.NEO4J, registry.POSTGRES, registry.REDIS))
STORES = tuple(store.name for store in registry.by_name())  # every store of the registry, by name
STORE_SLUGS = {store.name: store.key for store in registry.STORES}
AGENTDB_TABLES = ("policies", "episodes")
VECTOR_CHUNK_ROWS = 50_000  # rows of 384 floats per numpy block: 77 MB of float32


@dataclass(frozen=True)
class Upstream:
    """The upstream tables as LazyFrames (nothing of the 25M ratings is held in memory)."""

    movies: pl.LazyFrame
    genome_tags: pl.LazyFrame
    movie_genome: pl.LazyFrame
    user_profiles: pl.LazyFrame
    ratings: pl.LazyFrame
    similar_movies: pl.LazyFrame
    platform_availability: pl.LazyFrame
    trends: pl.LazyFrame
    media_embeddings: pl.LazyFrame
    user_embeddings: pl.LazyFrame


@dataclass(frozen=True)
class Expected:
    count: int
    source: str  # what upstream implies it: "rows of ratings"


@dataclass(frozen=True)
class Found:
    name: str  # as the store spells it: "agentdb.episodes", "tv5:platform:*", "(:Movie)"
    unit: str  # entities, nodes, relationships, rows, keys, members
    count: int | None  # None: the store could not be read
    note: str = ""  # why it could not be read, or why it is 0 (table missing, no such alias)


@dataclass(frozen=True)
class Count:
    """One object of one store beside the upstream count it must equal."""

    store: str
    slug: str  # stable key for metadata: "RATED", "episodes", "platform"
    name: str
    unit: str
    source: str
    expected: int
    found: int | None
    note: str = ""
    expired: bool = False  # fewer keys because their TTL ran out since the load, not because they were lost

    @property
    def matches(self) -> bool:
        return self.found == self.expected

    @property
    def metadata_key(self) -> str:
        return f"{STORE_SLUGS[self.store]}/{self.slug}"

    def message(self) -> str:
        """Store, object and both counts: what a failed check says."""
        found = "nothing (not read)" if self.found is None else f"{self.found:,}"
        note = f" ({self.note})" if self.note else ""
        return f"{self.store} {self.name}: expected {self.expected:,} {self.unit} ({self.source}), found {found}{note}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Count:
        return cls(**{k: data.get(k, "") for k in cls.__dataclass_fields__})


# ------------------------------------------------------------------------------ expected counts
def _rows(frame: pl.LazyFrame) -> int:
    return int(frame.select(pl.len()).collect().item())


def distinct_rating_pairs(ratings: pl.LazyFrame) -> int:
    """(user, movie) pairs: the RATED edges (the graph keeps the latest of a repeated pair). Distinct
    movies per user, summed: at 25M ratings 3 s and 0.6 GB, against 10 s and 1.7 GB for one hash
    set over all pairs (measured on the full-scale ratings, 2 cores)."""
    per_user = ratings.group_by("user_id").agg(pl.col("movie_id").n_unique().alias("movies"))
    return int(per_user.select(pl.col("movies").sum()).collect(engine="streaming").item() or 0)


@dataclass(frozen=True)
class Recorded:
    """What the last loads recorded that an expected count depends on."""

    similarity_threshold: float = 0.0  # the score floor the last SIMILAR_TO load applied
    trending_written: int | None = None  # members the last trends load put in the sorted set


@dataclass(frozen=True)
class StoreCounts:
    """What the cross-store report compares for one store (in STORE_COUNTS by its registry key):
    `expected(upstream, recorded)` -> slug -> Expected, and `read(resource)` -> slug -> Found."""

    expected: Callable[[Upstream, Recorded], dict[str, Expected]]
    read: Callable[[Any], dict[str, Found]]


def expected_counts(
    up: Upstream, similarity_threshold: float = 0.0, trending_written: int | None = None
) -> dict[tuple[str, str], Expected]:
    """(store, slug) -> the count the store must hold, for every store of the registry (by name).
    `similarity_threshold`: the score floor the last SIMILAR_TO load applied; `trending_written`:
    members the last trends load put in the sorted set (None: the default top_n, capped by the day's movies)."""
    recorded = Recorded(similarity_threshold, trending_written)
    return {
        (store.name, slug): want
        for store in registry.by_name()
        for slug, want in STORE_COUNTS[store.key].expected(up, recorded).items()
    }


def read_stores(resources: dict[str, Any]) -> dict[str, dict[str, Found]]:
    """store name -> slug -> what the store holds, for every store of the registry (`resources` by key)."""
    return {store.name: STORE_COUNTS[store.key].read(resources[store.key]) for store in registry.by_name()}


def expected_milvus(up: Upstream, recorded: Recorded) -> dict[str, Expected]:
    return {
        MEDIA_COLLECTION.logical_name: Expected(_rows(up.media_embeddings), "rows of media_embeddings"),
        USER_COLLECTION.logical_name: Expected(_rows(up.user_embeddings), "rows of user_embeddings"),
    }


def expected_neo4j(up: Upstream, recorded: Recorded) -> dict[str, Expected]:
    movies = up.movies.collect()
    availability = up.platform_availability.collect()
    threshold = recorded.similarity_threshold
    return {
        "Movie": Expected(movies.height, "rows of movies"),
        "Genre": Expected(model.genre_nodes(movies).height, "distinct genres of movies"),
        "User": Expected(_rows(up.user_profiles), "rows of user_profiles"),
        "Tag": Expected(_rows(up.genome_tags), "rows of genome_tags"),
        "Platform": Expected(model.platform_nodes(availability).height, "platforms in platform_availability"),
        "HAS_GENRE": Expected(model.has_genre_rels(movies).height, "(movie, genre) pairs of movies"),
        "RATED": Expected(distinct_rating_pairs(up.ratings), "distinct (user, movie) pairs of ratings"),
        "HAS_TAG": Expected(model.has_tag_rels(up.movie_genome.collect()).height, "(movie, tag) pairs of movie_genome"),
        "SIMILAR_TO": Expected(
            model.similar_to_rels(up.similar_movies.collect(), threshold).height,
            f"similar_movies pairs with score >= {threshold:g}",
        ),
        "AVAILABLE_ON": Expected(
            model.available_on_rels(availability).height, "(movie, platform) pairs of platform_availability"
        ),
    }


def expected_postgres(up: Upstream, recorded: Recorded) -> dict[str, Expected]:
    return {
        "policies": Expected(_rows(up.user_profiles), "rows of user_profiles"),
        "episodes": Expected(_rows(up.ratings), "rows of ratings"),
    }


def expected_redis(up: Upstream, recorded: Recorded) -> dict[str, Expected]:
    latest = latest_trends(up.trends)
    written = recorded.trending_written
    trending = min(DEFAULT_TOP_TRENDING, latest.height) if written is None else written
    return {
        "platform": Expected(
            platform_values(up.platform_availability.collect().lazy()).height, "movies in platform_availability"
        ),
        "trend": Expected(latest.height, "movies of the latest trends day"),
        "trending": Expected(trending, "the last trends load's top_n, capped by the latest day's movies"),
    }


# ------------------------------------------------------------------------------------- readers
def guarded(names: dict[str, tuple[str, str]], read: Callable[[], dict[str, int | tuple[int, str]]]) -> dict:
    """Run a store's `read` (slug -> count, or (count, note)); when the store cannot be read at all,
    every object gets found=None and the reason (the resources' errors name store and address)."""
    try:
        counts = read()
    except Exception as error:  # a down store is what the report must show, not a crash
        reason = (str(error) or type(error).__name__).strip().splitlines()[0]
        return {slug: Found(name, unit, None, reason) for slug, (name, unit) in names.items()}
    found = {}
    for slug, (name, unit) in names.items():
        value = counts[slug]
        count, note = value if isinstance(value, tuple) else (value, "")
        found[slug] = Found(name, unit, int(count), note)
    return found


def read_milvus(milvus) -> dict[str, Found]:
    """Entities behind each alias (strong consistency), through the milvus group's helpers."""
    from ...stores.milvus.loading import alias_target, count_entities

    specs = (MEDIA_COLLECTION, USER_COLLECTION)
    names = {s.logical_name: (milvus.collection_name(s.logical_name), "entities") for s in specs}

    def read() -> dict[str, int | tuple[int, str]]:
        out: dict[str, int | tuple[int, str]] = {}
        with milvus.get_client() as client:
            for spec in specs:
                alias = milvus.collection_name(spec.logical_name)
                if alias_target(client, alias) is None and not client.has_collection(alias):
                    out[spec.logical_name] = (0, "no such alias or collection")
                else:
                    out[spec.logical_name] = count_entities(client, alias)
        return out

    return guarded(names, read)


def read_neo4j(neo4j) -> dict[str, Found]:
    """Nodes per label and relationships per type of the model (the neo4j group's count queries)."""
    from ...stores.neo4j import loader

    names = {n.label: (f"(:{n.label})", "nodes") for n in model.NODES}
    names |= {r.type: (f"[:{r.type}]", "relationships") for r in model.RELATIONSHIPS}

    def read() -> dict[str, int | tuple[int, str]]:
        with neo4j.driver() as driver, neo4j.translate_errors("counting the graph"):
            return {**loader.label_counts(driver, neo4j.database), **loader.relationship_counts(driver, neo4j.database)}

    return guarded(names, read)


def read_postgres(postgres) -> dict[str, Found]:
    """Rows of each AgentDB table (a missing table counts 0 and says so)."""
    from ..postgres import schema as agentdb  # SQLAlchemy, imported where used (fast code-location start)

    schema = postgres.schema_name
    names = {t: (f"{schema}.{t}", "rows") for t in AGENTDB_TABLES}

    def read() -> dict[str, int | tuple[int, str]]:
        out: dict[str, int | tuple[int, str]] = {}
        with postgres.connection(autocommit=True) as conn:
            for table in AGENTDB_TABLES:
                qualified = agentdb.qualified(schema, table)
                if conn.execute("SELECT to_regclass(%s)", (qualified,)).fetchone()[0] is None:
                    out[table] = (0, "table does not exist")
                else:  # an identifier cannot be a parameter: quoted by the schema module instead
                    out[table] = conn.execute(f"SELECT count(*) FROM {qualified}").fetchone()[0]
        return out

    return guarded(names, read)


def read_redis(redis) -> dict[str, Found]:
    """Keys per prefix (SCAN, as the redis group's checks count them) and the trending set's members."""
    from ..redis.cache import glob_escape, scan_keys, trending_key

    ns = redis.namespace
    names = {
        "platform": (f"{ns}:platform:*", "keys"),
        "trend": (f"{ns}:trend:*", "keys"),
        "trending": (trending_key(ns), "members"),
    }

    def read() -> dict[str, int | tuple[int, str]]:
        client = redis.client()
        try:
            return {
                "platform": len(scan_keys(client, f"{glob_escape(ns)}:platform:*")),
                "trend": len(scan_keys(client, f"{glob_escape(ns)}:trend:*")),
                "trending": int(client.zcard(trending_key(ns))),
            }
        finally:
            client.close()

    return guarded(names, read)


MILVUS_COUNTS = StoreCounts(expected_milvus, read_milvus)
NEO4J_COUNTS = StoreCounts(expected_neo4j, read_neo4j)
POSTGRES_COUNTS = StoreCounts(expected_postgres, read_postgres)
REDIS_COUNTS = StoreCounts(expected_redis, read_redis)
# By registry key: the registry names nothing of defs/ (the registry test asks for every store's entry).
STORE_COUNTS: dict[str, StoreCounts] = {
    registry.MILVUS.key: MILVUS_COUNTS,
    registry.NEO4J.key: NEO4J_COUNTS,
    registry.POSTGRES.key: POSTGRES_COUNTS,
    registry.REDIS.key: REDIS_COUNTS,
}


def compare(
    expected: dict[tuple[str, str], Expected],
    found: dict[str, dict[str, Found]],
    lifetimes: dict[tuple[str, str], tuple[str, float, int]] | None = None,
) -> list[Count]:
    """One Count per expected object, in store order; `found` is store -> slug -> Found.

    `lifetimes`: (store, slug) -> (the load asset, seconds since it ran, the keys' TTL). Keys short of
    their count after the TTL has run out expired by design (the Redis trends live 15 minutes): the
    row says so and is marked `expired`, so the check can tell expiry from loss."""
    rows = []
    for (store, slug), want in expected.items():
        got = found[store][slug]
        note, expired = got.note, False
        load, age, ttl = (lifetimes or {}).get((store, slug), ("", 0.0, 0))
        if got.count is not None and got.count < want.count and load and age >= ttl:
            expired = True
            note = f"expired: the keys live {ttl:,} s and {load} ran {age:,.0f} s ago; re-materialize {load}"
        rows.append(Count(store, slug, got.name, got.unit, want.source, want.count, got.count, note, expired))
    return rows


# ---------------------------------------------------------------------------------- embeddings
@dataclass(frozen=True)
class VectorStats:
    """Norms, non-finite and all-zero rows and the dimension of one table's vectors."""

    rows: int
    dim: int
    nan_rows: int  # rows holding a NaN or an infinity
    zero_rows: int
    norm_min: float
    norm_mean: float
    norm_max: float

    def problems(self, what: str, expected_dim: int = EMBEDDING_DIM) -> list[str]:
        found = []
        if self.dim != expected_dim:
            found.append(f"{what}: dimension {self.dim}, expected {expected_dim}")
        if self.nan_rows:
            found.append(f"{what}: {self.nan_rows:,} rows hold NaN or infinity, expected 0")
        if self.zero_rows:
            found.append(f"{what}: {self.zero_rows:,} all-zero rows, expected 0")
        return found


def vector_stats(frame: pl.LazyFrame, column: str = VECTOR_FIELD, chunk_rows: int = VECTOR_CHUNK_ROWS) -> VectorStats:
    """Streams the vector column in blocks (float64 sums, so the mean norm is exact enough at 162k rows)."""
    dtype = frame.collect_schema()[column]
    dim = int(dtype.size) if isinstance(dtype, pl.Array) else -1
    rows, nan_rows, zero_rows, total = 0, 0, 0, 0.0
    low, high = np.inf, -np.inf
    offset = 0
    while True:
        block = frame.select(column).slice(offset, chunk_rows).collect()
        if block.height == 0:
            break
        vectors = np.ascontiguousarray(block[column].to_numpy(), dtype=np.float32)
        norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64))
        finite = norms[np.isfinite(norms)]
        rows += block.height
        nan_rows += block.height - finite.size
        zero_rows += int((finite == 0).sum())
        if finite.size:
            total += float(finite.sum())
            low, high = min(low, float(finite.min())), max(high, float(finite.max()))
        offset += block.height
    finite_rows = rows - nan_rows
    return VectorStats(
        rows=rows,
        dim=dim,
        nan_rows=nan_rows,
        zero_rows=zero_rows,
        norm_min=low if finite_rows else 0.0,
        norm_mean=total / finite_rows if finite_rows else 0.0,
        norm_max=high if finite_rows else 0.0,
    )


def milvus_dimensions(milvus) -> dict[str, int | None]:
    """The vector field's dimension in each live collection (None: not readable)."""
    out: dict[str, int | None] = {}
    try:
        with milvus.get_client() as client:
            for spec in (MEDIA_COLLECTION, USER_COLLECTION):
                try:
                    fields = client.describe_collection(milvus.collection_name(spec.logical_name))["fields"]
                except Exception:  # no such collection: the count check says so
                    out[spec.logical_name] = None
                    continue
                vector = next((f for f in fields if f.get("name") == VECTOR_FIELD), {})
                dim = (vector.get("params") or {}).get("dim")
                out[spec.logical_name] = int(dim) if dim is not None else None
    except Exception:  # Milvus down: the count check says so
        return {spec.logical_name: None for spec in (MEDIA_COLLECTION, USER_COLLECTION)}
    return out


# ------------------------------------------------------------------------------------ markdown
def count_table(rows: list[Count]) -> str:
    lines = ["| store | object | unit | expected | found | must equal | |", "|---|---|---|---:|---:|---|---|"]
    for r in rows:
        found = "not read" if r.found is None else f"{r.found:,}"
        status = "ok" if r.matches else f"**MISMATCH**{': ' + r.note if r.note else ''}"
        name = r.name.replace("|", "\\|")
        lines.append(f"| {r.store} | `{name}` | {r.unit} | {r.expected:,} | {found} | {r.source} | {status} |")
    return "\n".join(lines)


def embedding_table(stats: dict[str, VectorStats], milvus_dims: dict[str, int | None]) -> str:
    lines = [
        "| vectors | rows | dim (Parquet) | dim (Milvus) | NaN rows | zero rows | norm min | norm mean | norm max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in stats.items():
        live = milvus_dims.get(name)
        lines.append(
            f"| {name} | {s.rows:,} | {s.dim} | {'not read' if live is None else live} | {s.nan_rows:,} | "
            f"{s.zero_rows:,} | {s.norm_min:.6f} | {s.norm_mean:.6f} | {s.norm_max:.6f} |"
        )
    return "\n".join(lines)
