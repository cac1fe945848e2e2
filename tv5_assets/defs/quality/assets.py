"""Group `quality`, after every store load:

    the store loads (milvus, neo4j, postgres, redis) + their upstream tables --> cross_store_report
    cross_store_report (its blocking checks passed) + the embeddings          --> query_benchmarks

Both read the live stores and return a MaterializeResult (nothing goes through the IO manager):
the report's counts and the benchmark's latencies are numeric metadata, plotted across runs, and a
markdown table each. Their checks (checks.py) judge what they recorded.
"""

import os
import platform
import time

import dagster as dg
import numpy as np
import polars as pl
from pydantic import Field

from ...conventions import CPU_HEAVY, OWNERS
from ...registry import STORE_KEYS, by_name, store_kinds
from ...store_load import STORE_LOAD_ASSETS
from ..redis.cache import PLATFORM_TTL_S, TRENDS_TTL_S
from . import benchmarks, counts

GROUP = "quality"
STORE_KINDS = store_kinds()


def _recorded(context: dg.AssetExecutionContext, asset: str, name: str):
    """A figure the latest materialization of `asset` recorded, or None."""
    event = context.instance.get_latest_materialization_event(dg.AssetKey(asset))
    if event is None or event.asset_materialization is None:
        return None
    value = event.asset_materialization.metadata.get(name)
    return getattr(value, "value", None)


def _loaded_ago(context: dg.AssetExecutionContext, asset: str) -> float | None:
    """Seconds since the latest materialization of `asset` (None when this instance has none)."""
    event = context.instance.get_latest_materialization_event(dg.AssetKey(asset))
    return None if event is None else max(time.time() - event.timestamp, 0.0)


def _redis_lifetimes(context: dg.AssetExecutionContext) -> dict[tuple[str, str], tuple[str, float, int]]:
    """For each Redis family: its load, how long ago it ran, and the keys' longest TTL."""
    out = {}
    for slugs, load, ttl in (
        (("platform",), "redis_platform_cache", PLATFORM_TTL_S),
        (("trend", "trending"), "redis_trends_cache", TRENDS_TTL_S),
    ):
        age = _loaded_ago(context, load)
        if age is not None:
            out.update({(counts.REDIS, slug): (load, age, ttl) for slug in slugs})
    return out


def _resources(context: dg.AssetExecutionContext) -> dict:
    """Every store's resource, by store key (the assets ask for all of them: required_resource_keys)."""
    return {key: getattr(context.resources, key) for key in STORE_KEYS}


def _count_metadata(rows: list[counts.Count]) -> dict:
    """found/<store>/<object> and expected/<store>/<object>, numbers the UI plots across runs."""
    out: dict = {}
    for r in rows:
        if r.found is not None:
            out[f"found/{r.metadata_key}"] = r.found
        out[f"expected/{r.metadata_key}"] = r.expected
    return out


def _embedding_metadata(stats: dict[str, counts.VectorStats], dims: dict[str, int | None]) -> dict:
    out: dict = {}
    for name, s in stats.items():
        out |= {f"embeddings/{name}/{k}": round(v, 6) if isinstance(v, float) else v for k, v in vars(s).items()}
        if dims.get(name) is not None:
            out[f"embeddings/{name}/milvus_dim"] = dims[name]
    return out


def _report_metadata(
    rows: list[counts.Count],
    mismatches: list[counts.Count],
    stats: dict[str, counts.VectorStats],
    dims: dict[str, int | None],
    addresses: dict[str, str],
) -> dict:
    """The report's markdown tables, its numeric figures and the same as JSON."""
    return {
        "report": dg.MetadataValue.md(
            "### Store counts\n\n"
            + counts.count_table(rows)
            + "\n\n### Embeddings\n\n"
            + counts.embedding_table(stats, dims)
        ),
        "objects": len(rows),
        "dagster/row_count": len(rows),  # one row per store object compared
        "mismatches": len(mismatches),
        **_count_metadata(rows),
        **_embedding_metadata(stats, dims),
        "counts": dg.MetadataValue.json([r.as_json() for r in rows]),
        "embeddings": dg.MetadataValue.json(
            {name: {**vars(s), "milvus_dim": dims.get(name)} for name, s in stats.items()}
        ),
        "addresses": dg.MetadataValue.json(addresses),
    }


@dg.asset(
    code_version="1",
    group_name=GROUP,
    kinds={*STORE_KINDS, "polars"},
    owners=OWNERS,
    deps=STORE_LOAD_ASSETS,
    required_resource_keys=set(STORE_KEYS),
    description=(
        "What every store holds beside the upstream count it must equal: Milvus entities per collection, "
        "Neo4j nodes per label and relationships per type, PostgreSQL rows per AgentDB table, Redis keys per "
        "prefix (and the trending set's members); plus the embeddings' norms, NaN and all-zero rows and "
        "dimension (Parquet and Milvus). A markdown table and numeric found/expected per object; the "
        "blocking checks fail on any difference, naming store, object and both counts. A store that is down "
        "is reported as not read (and fails its check), not as a crashed step."
    ),
)
def cross_store_report(
    context: dg.AssetExecutionContext,
    movies: pl.LazyFrame,
    genome_tags: pl.LazyFrame,
    movie_genome: pl.LazyFrame,
    user_profiles: pl.LazyFrame,
    ratings: pl.LazyFrame,
    similar_movies: pl.LazyFrame,
    platform_availability: pl.LazyFrame,
    trends: pl.LazyFrame,
    media_embeddings: pl.LazyFrame,
    user_embeddings: pl.LazyFrame,
) -> dg.MaterializeResult:
    upstream = counts.Upstream(
        movies,
        genome_tags,
        movie_genome,
        user_profiles,
        ratings,
        similar_movies,
        platform_availability,
        trends,
        media_embeddings,
        user_embeddings,
    )
    # The floor the last SIMILAR_TO load applied (absent when the bulk import wrote the edges: all pairs).
    threshold = _recorded(context, "neo4j_similarity", "score_threshold")
    trending = _recorded(context, "redis_trends_cache", "trending")
    expected = counts.expected_counts(
        upstream,
        similarity_threshold=float(threshold) if isinstance(threshold, int | float) else 0.0,
        trending_written=int(trending) if isinstance(trending, int) else None,
    )
    resources = _resources(context)
    found = counts.read_stores(resources)
    rows = counts.compare(expected, found, _redis_lifetimes(context))
    stats = {
        "media_embeddings": counts.vector_stats(media_embeddings),
        "user_embeddings": counts.vector_stats(user_embeddings),
    }
    dims = counts.milvus_dimensions(resources["milvus"])
    mismatches = [r for r in rows if not r.matches]
    for r in mismatches:
        context.log.warning(r.message())
    context.log.info(f"{len(rows) - len(mismatches)} of {len(rows)} store objects match their upstream counts")
    addresses = {store.key: resources[store.key].address for store in by_name()}
    return dg.MaterializeResult(metadata=_report_metadata(rows, mismatches, stats, dims, addresses))


class QueryBenchmarkConfig(dg.Config):
    queries: int = Field(default=200, ge=200, description="Timed queries per query kind (at least 200).")
    warmup: int = Field(
        default=20, ge=1, description="Untimed queries per kind run first (connections, caches, prepared statements)."
    )
    seed: int = Field(default=42, description="Seed of the sampled movies and users: same seed, same queries.")
    two_hop_min_score: float = Field(
        default=4.0, ge=0.5, le=5.0, description="Ratings at or above this count as liked in the two-hop query."
    )


def _machine() -> tuple[str, dict]:
    cores = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    text = f"{platform.machine()}, {usable} of {cores} cores usable, load average {load:.1f} (1 min)"
    return text, {"cpu_cores": usable, "load_average_1m": round(load, 2)}


def _catalogue(
    media_embeddings: pl.LazyFrame,
    user_embeddings: pl.LazyFrame,
    movies: pl.LazyFrame,
    platform_availability: pl.LazyFrame,
) -> benchmarks.Catalogue:
    media = (
        media_embeddings.select("movie_id", "embedding")
        .join(movies.select("movie_id", "genres"), on="movie_id", how="left")
        .sort("movie_id")
        .collect()
    )
    users = user_embeddings.select("user_id", "user_key", "embedding").sort("user_id").collect()
    return benchmarks.Catalogue(
        media_ids=media["movie_id"].cast(pl.Int64).to_numpy(),
        media_vectors=_vectors(media),
        media_genres=[g or [] for g in media["genres"].to_list()],
        user_ids=users["user_id"].cast(pl.Int64).to_numpy(),
        user_keys=users["user_key"].to_list(),
        user_vectors=_vectors(users),
        platform_media=platform_availability.select(pl.col("media_id").unique().sort()).collect()["media_id"].to_list(),
    )


def _vectors(frame: pl.DataFrame) -> np.ndarray:
    if frame.height == 0:
        return np.zeros((0, 384), dtype=np.float32)
    return np.ascontiguousarray(frame["embedding"].to_numpy(), dtype=np.float32)


@dg.asset(
    code_version="1",
    group_name=GROUP,
    kinds={*STORE_KINDS, "numpy"},
    owners=OWNERS,
    deps=["cross_store_report"],
    required_resource_keys=set(STORE_KEYS),
    # Not CPU-bound, but timed: no other heavy step may run beside it and skew the latencies.
    op_tags=CPU_HEAVY,
    description=(
        "Latency of the platform's queries against the live stores, at least 200 of each after a warm-up: "
        "Milvus top-10 on media and on users with recall@10 against exact search on the same vectors, a user's "
        "vector on media, a genre-filtered search; Neo4j's traversal (a user's rated movies and their genres) "
        "and a two-hop recommendation (the user's 50 best-rated movies -> SIMILAR_TO -> movies not rated); "
        "PostgreSQL's policy lookup and a user's last 50 episodes; Redis' platform read and trending top 20. "
        "p50/p95/p99 ms, recall and rows per query as numeric metadata, and a markdown table; WARN checks "
        "against the targets."
    ),
)
def query_benchmarks(
    context: dg.AssetExecutionContext,
    config: QueryBenchmarkConfig,
    media_embeddings: pl.LazyFrame,
    user_embeddings: pl.LazyFrame,
    movies: pl.LazyFrame,
    platform_availability: pl.LazyFrame,
) -> dg.MaterializeResult:
    cat = _catalogue(media_embeddings, user_embeddings, movies, platform_availability)
    plan = benchmarks.Plan(config.queries, config.warmup, config.seed, config.two_hop_min_score)
    context.log.info(
        f"{plan.queries} queries per kind after {plan.warmup} warm-up queries, seed {plan.seed}: "
        f"{len(cat.media_ids):,} movies, {len(cat.user_ids):,} users"
    )
    timings = benchmarks.run_stores(_resources(context), cat, plan)
    machine, machine_figures = _machine()
    figures = {k: v for t in timings for k, v in t.figures().items()}
    for t in timings:
        context.log.info(f"{t.key}: p50 {t.percentile(50):.2f} ms, p99 {t.percentile(99):.2f} ms")
    return dg.MaterializeResult(
        metadata={
            "benchmarks": dg.MetadataValue.md(benchmarks.table(timings, machine)),
            **figures,
            "dagster/row_count": len(timings),  # one row per query kind in the table
            "queries_per_kind": plan.queries,
            "warmup_per_kind": plan.warmup,
            "seed": plan.seed,
            "machine": machine,
            **machine_figures,
        }
    )


ASSETS = [cross_store_report, query_benchmarks]
