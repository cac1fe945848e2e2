"""A store whose data is on a filesystem that fills up mid-load: the real asset fails once (no retry),
its message says the store's disk is full and what to do, the store still holds the previous
version, and after space is freed (and, where the engine needs it, a restart) the same asset succeeds.

- PostgreSQL: a tablespace on a small tmpfs of the test's own (small_disk.py), made the default for
  the load's connections (`options=-c default_tablespace=...`), so the staging table of
  `agentdb_policies` is written there; the server reports SQLSTATE 53100 (disk_full).
- Redis: a redis-server of the test's own with its data folder (append-only file) on the tmpfs,
  configured like the local stack (`appendonly yes`, `appendfsync everysec`); when its AOF write
  fails it refuses writes with "MISCONF Errors writing to the AOF file: No space left on device",
  and accepts them again by itself once space is freed.
- Neo4j: a server of the test's own (the platform's launcher) with its whole home on the tmpfs. The
  failed log append reaches the client as TransactionLogError; the database then refuses every
  transaction until it is restarted. The cut transaction leaves unreadable bytes at the end of the log,
  and Neo4j 5.26 refuses to start the database ("recovery not possible"): `tv5 services up` says so
  and names `--truncate-cut-log`, a start that drops the unreadable end and keeps every committed
  transaction.
- Milvus: a server of the test's own with its data folder (etcd, rocksmq, segments) on the tmpfs. It
  answers the load with "No space left on device", and may exit then or before answering (its etcd
  cannot commit); `tv5 services status` then says its log reports a full disk. After a restart it
  reloads the previous version.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import psycopg
import pytest
from small_disk import fill, make_room, small_disk

from tv5_assets.conventions import STORE_LOAD_RETRY_POLICY
from tv5_assets.endpoints import POSTGRES
from tv5_assets.errors import ServiceUnavailableError
from tv5_assets.io_managers import Tv5IOManager
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets.resources.redis import RedisResource
from tv5_assets.services.base import free_local_port
from tv5_assets_tests.conftest import materialize, require_service

pytestmark = [pytest.mark.services]


def _failure_text(result) -> str:
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return str(event.event_specific_data.error)


def _attempts(result) -> int:
    return 1 + sum(1 for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY")


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder the servers' unprivileged users can enter (pytest's tmp_path is mode 700)."""
    root = Path(tempfile.mkdtemp(prefix="tv5-disk-full-", dir="/var/tmp"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------------------------ PostgreSQL
def _policies_fingerprint(postgres: PostgresResource) -> tuple[int, str]:
    with postgres.connection(autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY user_id)) "
            f'FROM "{postgres.schema_name}".policies t'
        ).fetchone()


def test_postgres_load_onto_a_full_disk_fails_once_and_keeps_the_previous_table(shared_tmp: Path) -> None:
    from tv5_assets.services import get_service
    from tv5_assets_tests.postgres.agentdb_frames import build_movies, build_ratings, build_user_profiles

    probe = PostgresResource(url=POSTGRES.url())
    require_service("postgres", probe.ping)
    service = get_service("postgres")
    space, schema = f"tv5_full_{uuid.uuid4().hex[:8]}", f"t_{uuid.uuid4().hex[:10]}"
    ratings = build_ratings()
    for name, frame in (
        ("movies", build_movies()),
        ("ratings", ratings),
        ("user_profiles", build_user_profiles(ratings)),
    ):
        frame.write_parquet(shared_tmp / f"{name}.parquet")
    postgres = PostgresResource(url=f"{POSTGRES.url()}?options=-c%20default_tablespace%3D{space}", schema_name=schema)
    resources = {"io_manager": Tv5IOManager(base_dir=str(shared_tmp)), "postgres": postgres}

    def load():
        return materialize("key:agentdb_policies", resources=resources, raise_on_error=False)

    with small_disk(shared_tmp / "disk", 8) as disk:
        location = disk / "pg"
        location.mkdir()
        shutil.chown(location, "postgres", "postgres")
        with service._superuser() as su:
            su.execute(f"CREATE TABLESPACE {space} LOCATION '{location}'")
            su.execute(f'GRANT CREATE ON TABLESPACE {space} TO "{service.role}"')
        try:
            assert load().success
            before = _policies_fingerprint(postgres)
            assert before[0] > 0

            failed, seconds = _load_onto_a_full_disk(disk, load)
            text = _failure_text(failed)
            print(f"PostgreSQL on a full disk: failed after {seconds:.2f} s, {_attempts(failed)} attempt(s):\n{text}")
            assert "PostgreSQL's disk is full" in text and "Free space on the volume" in text, text
            assert "DiskFull" in text and "No space left on device" in text, text
            assert postgres.address in text and "retrying cannot fix it" in text, text
            assert _attempts(failed) == 1  # not retried: seconds later the disk is still full
            assert _policies_fingerprint(postgres) == before

            make_room(disk)
            assert load().success
            assert _policies_fingerprint(postgres) == before  # same inputs: the same table, whole
        finally:
            with service._superuser() as su, psycopg.connect(probe.url, autocommit=True) as own:
                own.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                su.execute(f"DROP TABLESPACE IF EXISTS {space}")


def _load_onto_a_full_disk(disk: Path, load) -> tuple[dg.ExecuteInProcessResult, float]:
    """Fill the disk, then run `load` again: its result, which must be a failure, and its seconds."""
    fill(disk, leave=0)
    started = time.perf_counter()
    failed = load()
    seconds = time.perf_counter() - started
    assert not failed.success
    return failed, seconds


# ----------------------------------------------------------------------------------------- Redis
def _redis_server(folder: Path) -> tuple[subprocess.Popen, int]:
    port = free_local_port()
    server = subprocess.Popen(
        [
            shutil.which("redis-server") or "/usr/bin/redis-server",
            "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "",
            "--appendonly", "yes", "--appendfsync", "everysec",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return server, port


def test_redis_on_a_full_disk_refuses_writes_and_the_refresh_says_so(shared_tmp: Path) -> None:
    if shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists():
        pytest.skip("redis-server is not installed")
    from tv5_assets_tests.redis.redis_frames import build_platform_availability

    build_platform_availability().write_parquet(shared_tmp / "platform_availability.parquet")
    with small_disk(shared_tmp / "disk", 4) as disk:
        server, port = _redis_server(disk)
        try:
            cache = RedisResource(url=f"redis://127.0.0.1:{port}/0", namespace="t_full")
            client = require_service("redis", lambda: _ready(cache))
            resources = {"io_manager": Tv5IOManager(base_dir=str(shared_tmp)), "redis": cache}

            def refresh():
                return materialize(
                    "key:redis_platform_cache",
                    resources=resources,
                    raise_on_error=False,
                    run_config={"ops": {"redis_platform_cache": {"config": {"pipeline_commands": 4}}}},
                )

            assert refresh().success
            before = _platform_values(client)
            assert before

            fill(disk, leave=0)
            client.set("t_full:probe", "x" * 200_000)  # the AOF write of this fails: Redis stops writes
            _wait(lambda: client.info("persistence")["aof_last_write_status"] == "err")
            started = time.perf_counter()
            failed = refresh()
            seconds = time.perf_counter() - started
            text = _failure_text(failed)
            print(f"Redis on a full disk: failed after {seconds:.2f} s, {_attempts(failed)} attempt(s):\n{text}")
            assert not failed.success
            assert "Redis's disk is full" in text and "MISCONF" in text, text
            assert _attempts(failed) == 1
            assert _platform_values(client) == before

            make_room(disk)
            _wait(lambda: client.info("persistence")["aof_last_write_status"] == "ok")
            assert refresh().success
            assert _platform_values(client) == before
        finally:
            server.terminate()
            server.wait(timeout=30)


def _ready(cache: RedisResource):
    deadline = time.monotonic() + 10
    while True:
        try:
            client = cache.client()
            client.ping()
            return client
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _platform_values(client) -> dict[bytes, bytes]:
    keys = sorted(client.scan_iter(match="t_full:platform:*", count=1000))
    return dict(zip(keys, client.mget(keys))) if keys else {}


def _wait(condition, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)


def _first_answer(read, timeout_s: float = 180.0):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return read()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


# ----------------------------------------------------------------------------------------- Neo4j
# Transaction log files of 1 MiB, not 256 MiB (still preallocated): the whole home fits 64 MiB.
SMALL_NEO4J_CONF = "db.tx_log.rotation.size=1M\n"
NEO4J_SELECTION = ("neo4j_constraints", "neo4j_movies", "neo4j_users", "neo4j_ratings")


def _rated(resource) -> list[tuple[str, str, float]]:
    import neo4j

    with neo4j.GraphDatabase.driver(resource.uri) as driver:
        records, _, _ = driver.execute_query(
            "MATCH (u:User)-[r:RATED]->(m:Movie) RETURN u.user_id AS u, m.media_id AS m, r.score AS s"
        )
    return sorted((r["u"], r["m"], r["s"]) for r in records)


def _step_failures(result) -> dict[str, str]:
    return {
        e.step_key: str(e.event_specific_data.error) for e in result.all_events if e.event_type_value == "STEP_FAILURE"
    }


@pytest.mark.soak  # about five minutes: four starts of a server of its own, one waiting out a failed recovery
def test_neo4j_on_a_full_disk_fails_once_and_recovers_after_a_restart(shared_tmp: Path) -> None:
    from tv5_assets.defs.neo4j.assets import ASSETS
    from tv5_assets.defs.neo4j.checks import CHECKS
    from tv5_assets.resources.neo4j import Neo4jResource
    from tv5_assets.services.neo4j import Neo4jService
    from tv5_assets_tests.neo4j.neo4j_frames import upstream_frames

    frames = upstream_frames(movies=300, users=200, ratings_per_user=30)
    assets = shared_tmp / "assets"
    assets.mkdir()
    for name, frame in frames.items():
        frame.write_parquet(assets / f"{name}.parquet")
    upstream = [dg.AssetSpec(name) for name in frames]

    with small_disk(shared_tmp / "disk", 64) as disk:
        service = Neo4jService(data_dir=disk, port=free_local_port(), heap="512m", pagecache="32m")
        (service.home / "conf").mkdir(parents=True)
        (service.home / "conf" / "neo4j.conf").write_text(SMALL_NEO4J_CONF)
        try:
            require_service("neo4j", service.up)
            graph = Neo4jResource(uri=service.url)
            resources = {"neo4j": graph, "io_manager": Tv5IOManager(base_dir=str(assets))}

            def load():
                return dg.materialize(
                    [*upstream, *ASSETS, *CHECKS],
                    selection=dg.AssetSelection.assets(*NEO4J_SELECTION),
                    resources=resources,
                    raise_on_error=False,
                )

            assert load().success
            before = _rated(graph)
            assert len(before) == frames["ratings"].height

            rescored = frames["ratings"].with_columns((5.5 - pl.col("rating")).cast(pl.Float32).alias("rating"))
            rescored.write_parquet(assets / "ratings.parquet")
            failed, seconds = _load_onto_a_full_disk(disk, load)
            failures = _step_failures(failed)
            # The first write the log cannot take (which step depends on the space left in the log file
            # Neo4j preallocated) fails with the full disk; steps after it meet a database that refuses
            # every transaction until it is restarted.
            first = next(name for name in NEO4J_SELECTION if name in failures)
            text = failures[first]
            print(
                f"Neo4j on a full disk: {first} failed after {seconds:.2f} s, {_attempts(failed)} attempt(s):\n{text}"
            )
            assert "Neo4j's disk is full" in text and "TransactionLogError" in text, text
            assert "restart the server" in text and "tv5 services down --only neo4j" in text, text
            assert graph.address in text and "retrying cannot fix it" in text, text
            assert _attempts(failed) == 1
            later = {name: error for name, error in failures.items() if name != first}
            assert all("refuses every transaction after a critical error" in error for error in later.values()), later

            make_room(disk)
            service.down()
            try:  # Recovery replays the log; measured: the transaction the full disk cut leaves its tail
                service.up()  # unreadable, and Neo4j refuses to start the database until told to drop it
            except ServiceUnavailableError as error:
                print(f"Neo4j restarted after the full disk:\n{error}")
                assert "recovery not possible" in str(error) and "--truncate-cut-log" in str(error), error
                service.down()
                Neo4jService(data_dir=disk, port=service.port, heap="512m", pagecache="32m", truncate_cut_log=True).up()
            assert _rated(graph) == before  # every committed transaction, without the cut one
            service.down()
            service.up()  # and then it starts as usual

            assert load().success
            scores = dict(((u, m), s) for u, m, s in before)
            assert _rated(graph) == sorted((u, m, pytest.approx(5.5 - scores[(u, m)])) for u, m, _ in before)
        finally:
            make_room(disk)  # a database that panicked on a full disk cannot checkpoint, so cannot stop
            service.down()


# ---------------------------------------------------------------------------------------- Milvus
@pytest.mark.soak  # about two minutes: a server of its own, started twice
def test_milvus_on_a_full_disk_fails_and_serves_the_previous_version_after_a_restart(shared_tmp: Path) -> None:
    from pymilvus.exceptions import MilvusException

    from tv5_assets.resources.milvus import MilvusResource
    from tv5_assets.services.milvus import MilvusServerService
    from tv5_assets.stores.milvus.collections import VECTOR_FIELD
    from tv5_assets_tests.milvus.milvus_frames import (
        MilvusInputs,
        build_media_embeddings,
        build_movies,
        build_user_embeddings,
        build_user_profiles,
        materialize_milvus,
    )

    assets = shared_tmp / "assets"
    assets.mkdir()
    movies, profiles = build_movies(), build_user_profiles()
    inputs = MilvusInputs(assets, movies, build_media_embeddings(movies), profiles, build_user_embeddings(profiles))
    for name in ("movies", "media_embeddings", "user_profiles", "user_embeddings"):
        getattr(inputs, name).write_parquet(assets / f"{name}.parquet")

    service = MilvusServerService(data_dir=shared_tmp / "milvus", port=free_local_port())
    (service.store_dir / "data").mkdir(parents=True)  # etcd, rocksmq and segments; the binaries stay outside
    with small_disk(service.store_dir / "data", 256) as disk:
        try:
            require_service("milvus", service.up)
            vectors = MilvusResource(uri=service.uri, collection_prefix="t_")
            collection = vectors.collection_name("media_embeddings")

            def load():
                return materialize_milvus(["milvus_media_collection"], vectors, inputs, raise_on_error=False)

            def served() -> tuple[list[str], list[tuple[int, str, bytes]]]:
                with vectors.get_client() as client:
                    rows = client.query(collection, filter="movie_id >= 0", output_fields=["*"], limit=16_384)
                    names = sorted(client.list_collections())
                content = sorted(
                    (r["movie_id"], r["media_id"], np.asarray(r[VECTOR_FIELD], dtype=np.float32).tobytes())
                    for r in rows
                )
                return names, content

            assert load().success
            before = served()
            assert len(before[1]) == movies.height and len(before[0]) == 1

            failed, seconds = _load_onto_a_full_disk(disk, load)
            text = _failure_text(failed)
            print(f"Milvus on a full disk: failed after {seconds:.2f} s, {_attempts(failed)} attempt(s):\n{text}")
            if "Milvus's disk is full" in text:  # it answered "No space left on device"
                assert "No space left on device" in text, text
                # Not retried once it says so; before that, a server whose etcd cannot commit may not
                # answer at all, which is retried as any unreachable server is (seen in some runs).
                assert _attempts(failed) <= 1 + STORE_LOAD_RETRY_POLICY.max_retries
            else:  # it exited: the load saw it go away, `tv5 services status` says why
                assert "is not reachable" in text and "tv5 services status --only milvus" in text, text
            try:  # it may also exit moments after answering
                assert served()[1] == before[1]  # the alias still names the previous version
            except MilvusException:
                status = service.status()
                print(f"status: {status.detail}")
                assert not status.running
                assert "Its log says the disk is full" in status.detail, status.detail
                assert "no space left on device" in status.detail.lower(), status.detail
                assert str(disk) in status.detail, status.detail

            make_room(disk)
            service.down()
            service.up()  # rocksmq stays read-only after a failed write until the server restarts
            # A restarted Milvus reloads its collections; queries say "collection not loaded" meanwhile.
            assert _first_answer(served)[1] == before[1]  # the previous version, whole (a failed version's collection
            # may be left when dropping it failed too: the next successful load removes it)

            assert load().success
            after = served()
            assert after[1] == before[1] and len(after[0]) == 1  # same inputs, one version left
        finally:
            service.down()
