"""A store whose data is on a filesystem that fills up mid-load: the real asset fails once (no retry),
its message says the store's disk is full and what to do, the store still serves the previous
version, and after space is freed the same asset succeeds.

- PostgreSQL: a tablespace on a small tmpfs of the test's own (small_disk.py), made the default for
  the load's connections (`options=-c default_tablespace=...`), so the staging table of
  `agentdb_policies` is written there; the server reports SQLSTATE 53100 (disk_full).
- Redis: a redis-server of the test's own with its data folder (append-only file) on the tmpfs,
  configured like the local stack (`appendonly yes`, `appendfsync everysec`); when its AOF write
  fails it refuses writes with "MISCONF Errors writing to the AOF file: No space left on device",
  and accepts them again by itself once space is freed.
Neo4j and Milvus keep their data under `TV5_DATA_DIR/services` of a stack started by `tv5 services
up`; filling those was not automated (see docs/reliability.md, "A full disk").
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from small_disk import fill, make_room, small_disk

from tv5_assets.endpoints import POSTGRES
from tv5_assets.io_managers import Tv5IOManager
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets.resources.redis import RedisResource
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

            fill(disk, leave=0)
            started = time.perf_counter()
            failed = load()
            seconds = time.perf_counter() - started
            assert not failed.success
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


# ----------------------------------------------------------------------------------------- Redis
def _redis_server(folder: Path) -> tuple[subprocess.Popen, int]:
    from tv5_assets.services.base import free_local_port

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
