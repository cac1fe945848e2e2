"""A backfill of every user-range partition leaves the stores exactly as the unpartitioned run does,
and re-running one partition changes nothing (real PostgreSQL, Neo4j and Milvus from the local stack).

The runs happen in fresh processes (partition_runs.py): TV5_USER_PARTITIONS is read when the
definitions are imported. Each store is summarised as a row count plus a hash of its rows in key
order (vectors as their float32 bytes), so "the same contents" means equal digests.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import neo4j
import numpy as np
import polars as pl
import pytest

from tv5_assets.io_managers import read_frame
from tv5_assets_tests.conftest import drop_milvus_prefixed, materialize, neo4j_resource_now, require_service
from tv5_assets_tests.milvus.milvus_frames import GENRES, build_media_embeddings
from tv5_assets_tests.neo4j.neo4j_frames import MARKER, wipe

pytestmark = [pytest.mark.services, pytest.mark.slow]

RUNS = Path(__file__).with_name("partition_runs.py")
PARTITIONS = "3x110"  # the 0.002 sample's 325 users: 1-110, 111-220, 221-up
KEYS = ["users-000001-000110", "users-000111-000220", "users-000221-up"]


def _digest(rows: list[tuple]) -> str:
    return hashlib.sha256("\n".join(repr(r) for r in rows).encode()).hexdigest()


# ------------------------------------------------------------------------------------- stores
def postgres_digest(url: str, schema: str) -> tuple[int, str]:
    import psycopg

    with psycopg.connect(url) as conn:
        count, md5 = conn.execute(
            f"SELECT count(*), md5(string_agg(e::text, E'\\n' ORDER BY episode_id)) FROM \"{schema}\".episodes e"
        ).fetchone()
    return int(count), md5


def neo4j_digest(driver: neo4j.Driver, database: str) -> tuple[int, str]:
    records, _, _ = driver.execute_query(
        "MATCH (u:User)-[r:RATED]->(m:Movie) RETURN u.user_id AS u, m.media_id AS m, r.score AS s, "
        "r.timestamp AS t ORDER BY u, m",
        database_=database,
    )
    rows = [(r["u"], r["m"], r["s"], r["t"]) for r in records]
    return len(rows), _digest(rows)


def milvus_digest(client, alias: str) -> tuple[int, str]:
    entities = client.query(
        alias,
        filter="movielens_user_id >= 0",
        output_fields=["movielens_user_id", "user_id", "archetype", "country", "weighting", "embedding"],
        consistency_level="Strong",
        limit=16_384,
    )
    entities.sort(key=lambda e: e["movielens_user_id"])
    rows = [
        (
            e["movielens_user_id"],
            e["user_id"],
            e["archetype"],
            e["country"],
            e["weighting"],
            np.asarray(e["embedding"], dtype="<f4").tobytes().hex(),
        )
        for e in entities
    ]
    return len(rows), _digest(rows)


# ------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def stores(movielens_materialized: Path):
    """Private PostgreSQL schema and Milvus prefix; the Neo4j database emptied (guarded like the
    neo4j tests); upstream tables in place (media_embeddings as seeded unit vectors: no encoder)."""
    from tv5_assets.endpoints import POSTGRES
    from tv5_assets.resources.milvus import milvus_resource_from_env

    graph = neo4j_resource_now()
    driver = require_service("neo4j", lambda: _driver(graph))
    may_wipe = os.environ.get("TV5_REQUIRE_SERVICES") == "1" or os.environ.get("TV5_NEO4J_TESTS_MAY_WIPE") == "1"
    records, _, _ = driver.execute_query(
        f"OPTIONAL MATCH (m:{MARKER}) WITH count(m) AS k OPTIONAL MATCH (n) RETURN k, count(n) AS n",
        database_=graph.database,
    )
    if not (may_wipe or records[0]["k"] > 0 or records[0]["n"] == 0):
        pytest.skip(f"the Neo4j at {graph.address} holds a graph that tests did not write")
    wipe(driver, graph.database)

    materialize("key:user_profiles")
    movies = read_frame("movies", lazy=False).sort("movie_id")
    known = pl.col("genres").list.eval(pl.element().filter(pl.element().is_in(GENRES)))
    build_media_embeddings(movies.with_columns(known)).write_parquet(
        Path(os.environ["TV5_DATA_DIR"]) / "assets" / "media_embeddings.parquet"
    )

    tag = uuid.uuid4().hex[:8]
    env = {**os.environ, "TV5_TEST_PG_SCHEMA": f"parttest_{tag}", "TV5_TEST_MILVUS_PREFIX": f"p{tag}_"}
    env.pop("TV5_USER_PARTITIONS", None)
    milvus = milvus_resource_from_env(collection_prefix=env["TV5_TEST_MILVUS_PREFIX"])
    url = POSTGRES.url()
    with contextlib.ExitStack() as stack:
        client = require_service("milvus", lambda: stack.enter_context(milvus.get_client()))
        yield {"env": env, "driver": driver, "graph": graph, "client": client, "milvus": milvus, "url": url}
        drop_milvus_prefixed(client, env["TV5_TEST_MILVUS_PREFIX"])
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{env["TV5_TEST_PG_SCHEMA"]}" CASCADE')
    driver.close()


def _driver(graph) -> neo4j.Driver:
    driver = neo4j.GraphDatabase.driver(graph.uri, auth=graph._auth(), connection_timeout=5)
    driver.execute_query("RETURN 1", database_=graph.database)
    return driver


def _run(env: dict, *args: str, partitions: str | None = None) -> None:
    env = {**env, **({"TV5_USER_PARTITIONS": partitions} if partitions else {})}
    done = subprocess.run([sys.executable, str(RUNS), *args], env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, f"{args[0]} run failed:\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}"


def _digests(s: dict) -> dict[str, tuple[int, str]]:
    return {
        "postgres agentdb episodes": postgres_digest(s["url"], s["env"]["TV5_TEST_PG_SCHEMA"]),
        "neo4j RATED": neo4j_digest(s["driver"], s["graph"].database),
        "milvus user collection": milvus_digest(s["client"], s["milvus"].collection_name("user_embeddings")),
    }


def _forget_user_data(s: dict) -> None:
    """Remove what the four assets wrote, so the backfill starts from stores without it."""
    import psycopg

    with psycopg.connect(s["url"], autocommit=True) as conn:
        conn.execute(f'DROP TABLE "{s["env"]["TV5_TEST_PG_SCHEMA"]}".episodes')
    s["driver"].execute_query("MATCH ()-[r:RATED]->() DELETE r", database_=s["graph"].database)
    drop_milvus_prefixed(s["client"], s["env"]["TV5_TEST_MILVUS_PREFIX"])


# --------------------------------------------------------------------------------------- test
def test_backfill_of_every_partition_equals_the_unpartitioned_run(stores: dict) -> None:
    ratings = read_frame("ratings", lazy=False)
    _run(stores["env"], "full")
    full = _digests(stores)
    full_vectors = read_frame("user_embeddings", lazy=False)
    assert full["postgres agentdb episodes"][0] == ratings.height
    assert full["neo4j RATED"][0] == ratings.select(pl.struct("user_id", "movie_id").n_unique()).item()
    assert full["milvus user collection"][0] == ratings["user_id"].n_unique() == full_vectors.height
    assert ratings["user_id"].max() > 220, "the sample must reach the open-ended last partition"

    _forget_user_data(stores)
    assets = Path(os.environ["TV5_DATA_DIR"]) / "assets"
    (assets / "user_embeddings.parquet").unlink()
    _run(stores["env"], "partitions", *KEYS, partitions=PARTITIONS)
    assert _digests(stores) == full
    files = sorted(p.name for p in (assets / "user_embeddings.partitions").glob("*.parquet"))
    assert files == [f"{key}.parquet" for key in KEYS]
    assert read_frame("user_embeddings", lazy=False).equals(full_vectors)

    _run(stores["env"], "partitions", KEYS[1], partitions=PARTITIONS)
    assert _digests(stores) == full, "re-running one partition changed the stores"
