"""The `quality` group against the real stack: the store loads materialized once on the generated
sample (a Milvus prefix, PostgreSQL schema and Redis namespace of their own; Neo4j Community has a
single database, emptied first as the neo4j tests do), then cross_store_report and query_benchmarks.
A removed Redis key or PostgreSQL row, or a store that is down, fails the blocking check naming the
store, the object and both counts."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tv5_assets.defs.postgres.schema import qualified
from tv5_assets.defs.quality.benchmarks import KINDS
from tv5_assets.defs.quality.checks import CHECKS, COUNT_CHECKS, TARGET_CHECKS
from tv5_assets.defs.redis.cache import glob_escape
from tv5_assets.defs.synthetic.assets import TrendsConfig
from tv5_assets.endpoints import MILVUS, POSTGRES, REDIS
from tv5_assets.resources.milvus import MilvusResource
from tv5_assets.resources.neo4j import Neo4jResource
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets.resources.redis import RedisResource
from tv5_assets.store_load import STORE_LOAD_ASSETS
from tv5_assets_tests.conftest import drop_milvus_prefixed, neo4j_resource_now, require_service

pytestmark = [pytest.mark.services, pytest.mark.slow]

UPSTREAM = [
    "user_profiles",
    "platform_availability",
    "trends",
    "media_text",
    "media_embeddings",
    "user_embeddings",
    "similar_movies",
]
# No neo4j_bulk_import: it would stop the shared test server; the online loads build the same graph.
LOADS = ["neo4j_constraints", *STORE_LOAD_ASSETS]
MARKER = "Tv5TestMarker"  # as the neo4j tests: tells a database that tests may empty it
CHECK_NAMES = {*COUNT_CHECKS, "embeddings_sound"}


@dataclass
class Stack:
    instance: dg.DagsterInstance
    resources: dict
    data: Path

    def run(self, selection: list[str], **resources) -> dg.ExecuteInProcessResult:
        """The selected assets with the quality checks; one instance, so checks see the latest report."""
        from tv5_assets.definitions import defs as load_defs

        defs = load_defs()
        return dg.materialize(
            [*(defs.assets or []), *CHECKS],
            selection=dg.AssetSelection.assets(*selection),
            resources={**(defs.resources or {}), **self.resources, **resources},
            instance=self.instance,
            raise_on_error=False,
        )


def _empty_graph(neo4j: Neo4jResource) -> None:
    """Empty the database as the neo4j tests do, and refuse on a graph tests did not write."""
    with neo4j.driver() as driver:
        records, _, _ = driver.execute_query(
            f"OPTIONAL MATCH (m:{MARKER}) WITH count(m) AS marked OPTIONAL MATCH (n) RETURN marked, count(n) AS nodes",
            database_=neo4j.database,
        )
        allowed = os.environ.get("TV5_REQUIRE_SERVICES") == "1" or os.environ.get("TV5_NEO4J_TESTS_MAY_WIPE") == "1"
        if not (allowed or records[0]["marked"] or not records[0]["nodes"]):
            pytest.skip(
                f"the Neo4j at {neo4j.address} holds a graph that tests did not write; run the tests on the test "
                "stack (scripts/test.sh) or set TV5_NEO4J_TESTS_MAY_WIPE=1"
            )
        with driver.session(database=neo4j.database) as session:
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
            session.run(f"CREATE (:{MARKER})").consume()


def _ping_milvus(milvus: MilvusResource) -> None:
    with milvus.get_client() as client:
        client.list_collections()


def _cleanup(resources: dict) -> None:
    milvus, postgres, redis = resources["milvus"], resources["postgres"], resources["redis"]
    with milvus.get_client() as client:
        drop_milvus_prefixed(client, milvus.collection_prefix)
    with postgres.connection(autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{postgres.schema_name}" CASCADE')
    client = redis.client()
    try:
        keys = list(client.scan_iter(match=f"{glob_escape(redis.namespace)}:*", count=1000))
        if keys:
            client.unlink(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module")
def stack(movielens_materialized: Path) -> Iterator[Stack]:
    tag = uuid.uuid4().hex[:8]
    resources = {
        "milvus": MilvusResource(
            uri=MILVUS.url(), token=MILVUS.value("TV5_MILVUS_TOKEN"), collection_prefix=f"q{tag}_"
        ),
        "postgres": PostgresResource(url=POSTGRES.url(), schema_name=f"q_{tag}"),
        "redis": RedisResource(url=REDIS.url(), namespace=f"q{tag}"),
        "neo4j": neo4j_resource_now(),
    }
    require_service("milvus", lambda: _ping_milvus(resources["milvus"]))
    require_service("postgres", resources["postgres"].ping)
    require_service("redis", lambda: resources["redis"].client().close())
    require_service("neo4j", lambda: resources["neo4j"].server_info())
    _empty_graph(resources["neo4j"])
    built = Stack(dg.DagsterInstance.ephemeral(), resources, movielens_materialized)
    try:
        loaded = built.run([*UPSTREAM, *LOADS])
        assert loaded.success, [e.message for e in loaded.all_events if e.is_failure]
        yield built
    finally:
        _cleanup(resources)


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_every_store_holds_its_upstream_count(stack: Stack) -> None:
    result = stack.run(["cross_store_report"])
    assert result.success
    evaluations = _evaluations(result)
    assert set(evaluations) == CHECK_NAMES
    assert all(e.passed for e in evaluations.values()), {n: e.description for n, e in evaluations.items()}
    figures = _metadata(result, "cross_store_report")
    rows = figures["counts"]
    assert len(rows) == 17 and figures["mismatches"] == 0
    assert figures["dagster/row_count"] == len(rows)  # the UI's row count: one per store object compared
    assert all(r["found"] == r["expected"] for r in rows)
    assets = stack.data / "assets"
    movies = pl.read_parquet(assets / "movies.parquet").height
    ratings = pl.scan_parquet(assets / "ratings.parquet").select(pl.len()).collect().item()
    users = pl.read_parquet(assets / "user_profiles.parquet").height
    assert figures["found/neo4j/Movie"] == figures["found/milvus/media_embeddings"] == movies > 0
    assert figures["found/postgres/episodes"] == figures["found/neo4j/RATED"] == ratings > 0
    assert figures["found/postgres/policies"] == figures["found/neo4j/User"] == users > 0
    # trends cover the `movie_count` (5,000 by default) most rated movies, or all of a smaller catalogue
    trended = pl.scan_parquet(assets / "trends.parquet").select(pl.col("movie_id").n_unique()).collect().item()
    assert trended == min(TrendsConfig().movie_count, movies)
    assert figures["found/redis/platform"] > 0 and figures["found/redis/trend"] == trended
    for name in ("media_embeddings", "user_embeddings"):
        assert figures[f"embeddings/{name}/dim"] == figures[f"embeddings/{name}/milvus_dim"] == 384
        assert figures[f"embeddings/{name}/nan_rows"] == figures[f"embeddings/{name}/zero_rows"] == 0
        assert abs(figures[f"embeddings/{name}/norm_mean"] - 1.0) < 1e-3
    report = figures["report"]
    for text in ("Milvus", "Neo4j", "PostgreSQL", "Redis", "[:RATED]", f"{stack.resources['redis'].namespace}:trend:*"):
        assert text in report


def test_benchmarks_record_every_figure(stack: Stack) -> None:
    result = stack.run(["query_benchmarks"])
    assert result.success
    figures = _metadata(result, "query_benchmarks")
    for kind in KINDS:
        p50, p95, p99 = (figures[f"{kind.key}_{q}_ms"] for q in ("p50", "p95", "p99"))
        assert 0 < p50 <= p95 <= p99, kind.key
        assert figures[f"{kind.key}_queries"] >= 200
        assert f"`{kind.key}`" in figures["benchmarks"]
        if kind.store == "Milvus":
            recall = figures[f"{kind.key}_recall_at_10"]
            assert isinstance(recall, float) and 0.0 <= recall <= 1.0
    # every query found something where the data guarantees it
    assert figures["neo4j_user_traversal_rows_per_query"] > 0
    assert figures["postgres_policy_lookup_rows_per_query"] == 1.0
    assert figures["redis_platform_read_hit_fraction"] == 1.0
    assert figures["queries_per_kind"] == 200 and figures["cpu_cores"] >= 1
    assert figures["dagster/row_count"] == len(KINDS)  # one row per query kind in the table
    evaluations = _evaluations(result)
    assert set(evaluations) == set(TARGET_CHECKS)
    for name, evaluation in evaluations.items():
        assert evaluation.severity == dg.AssetCheckSeverity.WARN
        for key in TARGET_CHECKS[name]:
            assert evaluation.metadata[f"{key}_p50_ms"].value == figures[f"{key}_p50_ms"]


def _failed_store_check(result: dg.ExecuteInProcessResult, check: str) -> str:
    """The failed check's description; every other count check of the run passed."""
    evaluations = _evaluations(result)
    failed = {n: e for n, e in evaluations.items() if not e.passed}
    assert set(failed) == {check}, {n: e.description for n, e in failed.items()}
    assert failed[check].severity == dg.AssetCheckSeverity.ERROR
    return failed[check].description


def test_a_removed_redis_key_fails_the_blocking_check_and_stops_the_benchmarks(stack: Stack) -> None:
    redis = stack.resources["redis"]
    client = redis.client()
    try:
        keys = sorted(client.scan_iter(match=f"{glob_escape(redis.namespace)}:platform:*", count=1000))
        key, expected = keys[0], len(keys)
        saved, ttl = client.dump(key), client.pttl(key)
        client.delete(key)
        try:
            result = stack.run(["cross_store_report", "query_benchmarks"])
        finally:
            client.restore(key, max(ttl, 0), saved)
    finally:
        client.close()
    message = _failed_store_check(result, "redis_counts_match")
    assert message.startswith(f"Redis {redis.namespace}:platform:*: expected {expected:,} keys")
    assert f"found {expected - 1:,}" in message
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"cross_store_report"}  # the blocking check kept the benchmarks from running


def test_a_removed_postgres_row_fails_the_blocking_check(stack: Stack) -> None:
    postgres = stack.resources["postgres"]
    policies = qualified(postgres.schema_name, "policies")
    with postgres.connection(autocommit=True) as conn:
        expected = conn.execute(f"SELECT count(*) FROM {policies}").fetchone()[0]
        conn.execute(f"CREATE TEMP TABLE saved AS SELECT * FROM {policies} ORDER BY user_id LIMIT 1")
        conn.execute(f"DELETE FROM {policies} WHERE user_id IN (SELECT user_id FROM saved)")
        try:
            result = stack.run(["cross_store_report"])
        finally:
            conn.execute(f"INSERT INTO {policies} SELECT * FROM saved")
    message = _failed_store_check(result, "postgres_counts_match")
    assert message == (
        f"PostgreSQL {postgres.schema_name}.policies: expected {expected:,} rows (rows of user_profiles), "
        f"found {expected - 1:,}"
    )


def test_a_store_that_is_down_fails_its_check_naming_its_address(stack: Stack) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = RedisResource(url=f"redis://127.0.0.1:{port}/0", namespace=stack.resources["redis"].namespace)
    result = stack.run(["cross_store_report"], redis=down)
    message = _failed_store_check(result, "redis_counts_match")
    assert "found nothing (not read)" in message and f"127.0.0.1:{port}" in message
    assert f"Redis {down.namespace}:trend:*: expected" in message
    assert _metadata(result, "cross_store_report")["mismatches"] == 3  # the report still shows every store
