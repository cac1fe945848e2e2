"""Two runs load the same store at the same time: one waits for the other, says whom it waits for,
and readers only ever see one complete version.

Dagster's pools (one step per store across the runs of one instance, dagster.yaml) normally keep
two runs' loads of a store apart. These tests run two real Dagster runs with ephemeral instances
(`dg.materialize` in two threads: no shared pool, as with two deployments or a notebook) against
the real engine, so the store's own lock is all that stands between them:
1. three input versions A, B, C are loaded one after the other first, to know each one's digest;
   the store then serves A;
2. run 1 loads B and is held inside its load (the loader's batch seam) until run 2, loading C, is
   blocked on the store's lock: the two loads really overlap;
3. a reader polls the live data the whole time: every read is exactly A, B or C, never a mix;
4. both runs succeed, run 2 logged that it waited for run 1 (naming run 1's run tag), and the store
   ends serving C (the later load), whole, with no staging left.
The runs leave out the assets' checks: a blocking check reads what the store serves when it runs,
which in a race may already be the other run's version (docs/reliability.md, "Two runs at once").
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tv5_assets.endpoints import POSTGRES, REDIS
from tv5_assets.io_managers import Tv5IOManager
from tv5_assets.load_locks import LOG
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets.resources.redis import RedisResource
from tv5_assets_tests.conftest import materialize, require_service

pytestmark = [pytest.mark.services]


def _inputs(root: Path, name: str, frames: dict[str, pl.DataFrame]) -> Tv5IOManager:
    folder = root / name
    folder.mkdir()
    for key, frame in frames.items():
        frame.write_parquet(folder / f"{key}.parquet")
    return Tv5IOManager(base_dir=str(folder))


class Race:
    """Run 1 and run 2 of `load(version, thread_name)` overlapping, with a reader of `digest`."""

    def __init__(self, digest: Callable[[], object], versions: dict[str, object], run2_whole: bool = False):
        """`run2_whole`: hold run 1 until run 2 has finished (not only until it waits on a lock)."""
        self.digest, self.versions, self.run2_whole = digest, versions, run2_whole
        self.run1_inside = threading.Event()
        self.run2_waiting = threading.Event()
        self.reads: list[object] = []
        self.results: dict[str, object] = {}

    def hold_run1(self) -> None:
        """Call from the load's seam: in run 1, stop until run 2 is blocked on the lock (then let the
        reader read a few times), so the two loads overlap for certain."""
        if threading.current_thread().name != "run-1" or self.run1_inside.is_set():
            return
        self.run1_inside.set()
        assert self.run2_waiting.wait(60), "run 2 never blocked on the store's lock (or never finished)"
        time.sleep(0.3)

    def go(self, load: Callable[[str], object]) -> None:
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                self.reads.append(self.digest())
                stop.wait(0.02)

        def run(name: str, version: str) -> None:
            self.results[name] = load(version)
            if name == "run-2" and self.run2_whole:
                self.run2_waiting.set()

        reader = threading.Thread(target=read, name="reader", daemon=True)
        reader.start()
        first = threading.Thread(target=run, args=("run-1", "B"), name="run-1")
        first.start()
        assert self.run1_inside.wait(60), "run 1 never reached its load"
        second = threading.Thread(target=run, args=("run-2", "C"), name="run-2")
        second.start()
        first.join(120)
        second.join(120)
        stop.set()
        reader.join(30)
        # One read after both runs: the reader's last poll may predate run 2's switch by a few ms.
        self.reads.append(self.digest())

    def assert_one_complete_version_at_a_time(self) -> None:
        names = {repr(v): k for k, v in self.versions.items()}
        seen = [names.get(repr(r), "a mix") for r in self.reads]
        assert "a mix" not in seen, f"a reader saw a state that is none of the complete versions: {seen}"
        assert seen and seen[0] == "A" and seen[-1] == "C", seen
        # B is served between the two swaps: for less than a read interval, it may be missed.
        print(f"reads: {len(seen)}, of which A {seen.count('A')}, B {seen.count('B')}, C {seen.count('C')}")


class WaitNotices(logging.Handler):
    """The load_locks warnings, and run 2 told it waits (sets `race.run2_waiting`)."""

    def __init__(self, race: Race):
        super().__init__(logging.WARNING)
        self.race, self.messages = race, []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if threading.current_thread().name == "run-2":
            self.race.run2_waiting.set()


def _race(race: Race, load: Callable[[str], object]) -> list[str]:
    notices = WaitNotices(race)
    LOG.addHandler(notices)
    try:
        race.go(load)
    finally:
        LOG.removeHandler(notices)
    return notices.messages


def _assert_both_ran(race: Race, notices: list[str], store: str) -> None:
    run1, run2 = race.results["run-1"], race.results["run-2"]
    assert run1.success and run2.success
    tag = run1.run_id.replace("-", "")[:12]
    assert len(notices) == 1 and notices[0].startswith(f"{store}: ") and f"run {tag}" in notices[0], notices
    print(f"{store}: run 2 logged: {notices[0]}")
    race.assert_one_complete_version_at_a_time()


# ------------------------------------------------------------------------------------ PostgreSQL
def test_two_runs_loading_postgres_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tv5_assets.defs.postgres import loader
    from tv5_assets_tests.postgres.agentdb_frames import build_movies, build_ratings, build_user_profiles

    postgres = PostgresResource(url=POSTGRES.url(), schema_name=f"t_{uuid.uuid4().hex[:10]}")
    require_service("postgres", postgres.ping)
    managers = {}
    for version, users in (("A", 20), ("B", 25), ("C", 30)):
        ratings = build_ratings(users=users)
        frames = {"movies": build_movies(), "ratings": ratings, "user_profiles": build_user_profiles(ratings)}
        managers[version] = _inputs(tmp_path, version, frames)

    def load(version: str):
        return materialize(
            dg.AssetSelection.assets("agentdb_policies").without_checks(),
            resources={"io_manager": managers[version], "postgres": postgres},
            raise_on_error=False,
            run_config={"ops": {"agentdb_policies": {"config": {"batch_rows": 5}}}},
        )

    def digest() -> tuple:
        with postgres.connection(autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY user_id)) "
                f'FROM "{postgres.schema_name}".policies t'
            ).fetchone()

    try:
        versions = {}
        for version in ("C", "B", "A"):
            assert load(version).success
            versions[version] = digest()
        assert len(set(versions.values())) == 3
        race = Race(digest, versions)
        monkeypatch.setattr(loader, "after_batch", lambda table, index, rows: race.hold_run1())
        notices = _race(race, load)
        _assert_both_ran(race, notices, "PostgreSQL")
        assert "waits for it to finish" in notices[0] and "backend pid" in notices[0]
        assert digest() == versions["C"]
        with postgres.connection(autocommit=True) as conn:
            staging = conn.execute(
                "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND relname LIKE '%%staging%%'",
                (postgres.schema_name,),
            ).fetchall()
        assert staging == []
    finally:
        with postgres.connection(autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{postgres.schema_name}" CASCADE')


# ----------------------------------------------------------------------------------------- Redis
def test_two_runs_refreshing_redis_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tv5_assets.defs.redis import protocol
    from tv5_assets_tests.redis.redis_frames import build_platform_availability

    cache = RedisResource(url=REDIS.url(), namespace=f"t_{uuid.uuid4().hex[:10]}")
    client = require_service("redis", cache.client)
    managers = {
        version: _inputs(tmp_path, version, {"platform_availability": build_platform_availability(movies, seed)})
        for version, movies, seed in (("A", 40, 1), ("B", 50, 2), ("C", 60, 3))
    }

    def load(version: str):
        return materialize(
            dg.AssetSelection.assets("redis_platform_cache").without_checks(),
            resources={"io_manager": managers[version], "redis": cache},
            raise_on_error=False,
            run_config={"ops": {"redis_platform_cache": {"config": {"pipeline_commands": 4}}}},
        )

    # One script, so the read is atomic like the switch (a SCAN then MGET could straddle it).
    snapshot = (
        "local keys = redis.call('KEYS', ARGV[1]) table.sort(keys) "
        "if #keys == 0 then return {} end return {keys, redis.call('MGET', unpack(keys))}"
    )

    def digest() -> dict:
        found = client.eval(snapshot, 0, f"{cache.namespace}:platform:*")
        return dict(zip(*found)) if found else {}

    try:
        versions = {}
        for version in ("C", "B", "A"):
            assert load(version).success
            versions[version] = digest()
        race = Race(digest, versions)
        monkeypatch.setattr(protocol, "after_chunk", lambda label, index, done: race.hold_run1())
        notices = _race(race, load)
        _assert_both_ran(race, notices, "Redis")
        assert digest() == versions["C"]
        assert list(client.scan_iter(match=f"{cache.namespace}:staging:*")) == []
    finally:
        keys = list(client.scan_iter(match=f"{cache.namespace}:*"))
        if keys:
            client.delete(*keys)
        client.close()


# ---------------------------------------------------------------------------------------- Milvus
def test_two_runs_loading_milvus_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Milvus has no lock of its own: run 1 (started first) is held mid-insert until run 2 has
    loaded and switched the alias entirely (dropping run 1's version, older than its own); run 1
    then fails saying a later load superseded it, never with a bare "collection does not exist",
    and never moves the alias back."""
    from tv5_assets.endpoints import MILVUS
    from tv5_assets.resources.milvus import MilvusResource
    from tv5_assets.stores.milvus import loading
    from tv5_assets_tests.conftest import drop_milvus_prefixed
    from tv5_assets_tests.milvus.milvus_frames import build_media_embeddings, build_movies

    milvus = MilvusResource(
        uri=MILVUS.url(), token=MILVUS.value("TV5_MILVUS_TOKEN"), collection_prefix=f"t{uuid.uuid4().hex[:8]}_"
    )

    def reachable() -> None:
        with milvus.get_client() as client:
            client.list_collections()

    require_service("milvus", reachable)
    alias = milvus.collection_name("media_embeddings")
    managers = {}
    for version, movies in (("A", 40), ("B", 50), ("C", 60)):
        frame = build_movies(movies)
        managers[version] = _inputs(
            tmp_path, version, {"movies": frame, "media_embeddings": build_media_embeddings(frame)}
        )

    def load(version: str):
        return materialize(
            dg.AssetSelection.assets("milvus_media_collection").without_checks(),
            resources={"io_manager": managers[version], "milvus": milvus},
            raise_on_error=False,
        )

    with milvus.get_client() as client:

        def digest() -> int:
            return loading.count_entities(client, alias)

        try:
            versions = {}
            for version in ("C", "B", "A"):
                assert load(version).success
                versions[version] = digest()
            race = Race(digest, versions, run2_whole=True)
            original = loading.insert_batch

            def insert_batch(*args, **kwargs):
                race.hold_run1()
                return original(*args, **kwargs)

            monkeypatch.setattr(loading, "insert_batch", insert_batch)
            race.go(load)
            run1, run2 = race.results["run-1"], race.results["run-2"]
            assert run2.success and not run1.success
            (failure,) = [e for e in run1.all_events if e.event_type_value == "STEP_FAILURE"]
            text = str(failure.event_specific_data.error)
            print(f"Milvus: run 1 failed with: {text.splitlines()[0]}")
            assert "built by a load that started after this one" in text and "two loads" in text, text
            race.assert_one_complete_version_at_a_time()
            assert digest() == versions["C"]
            assert loading.versions_of(client, alias) == [loading.alias_target(client, alias)]
        finally:
            drop_milvus_prefixed(client, milvus.collection_prefix)
