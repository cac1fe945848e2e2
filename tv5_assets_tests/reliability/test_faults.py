"""Faults mid-load: each store's server is SIGKILLed while its real load asset runs.

For each store, on a private stack (fault_stack.py; never the shared test stack):
1. an undisturbed run of the store's group loads the sample: its digest (counts and a content hash,
   store_hashes.py) is the reference, and no staging object is left;
2. a second run loads the same data in small batches; the load's own seam (PostgreSQL `after_batch`,
   Redis `after_chunk`, Milvus `insert_batch`, the Neo4j batch hook) lets a reader thread complete
   whole reads of the store while the load is part-way, then SIGKILLs the server (its pid file)
   at a known point: some batches written, the rest not;
3. the reader never saw anything but the complete previous version (connection errors after the
   kill are expected); the run fails, and the failed step's message names the store and says to
   run `tv5 services up`;
4. the server is restarted: it still serves the previous version whole;
5. Dagster's re-execution from failure (`ReexecutionOptions.from_failure`, the UI's "re-execute
   from failure") succeeds and the store's digest equals the reference, with no staging object.

`test_run_worker_killed_mid_run_resumes` kills the run worker process instead of a server.
The quick variants shorten the retry policy (one retry after 1 s); `-m soak` keeps the real one and
kills at several points of each load.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import fault_stack
import pytest
from fault_stack import ReaderLog, reader, wait_for_reads

pytestmark = [pytest.mark.services, pytest.mark.slow]

STORE_NAMES = {"postgres": "PostgreSQL", "redis": "Redis", "milvus": "Milvus", "neo4j": "Neo4j"}


# ------------------------------------------------------------------------------ fault points
@dataclass
class Fault:
    """Where a store's load is cut: the group it belongs to, the asset and the run config that makes
    its load many small batches, and how to patch the load's seam to call `fire` after a batch."""

    store: str
    asset: str
    run_config: dict
    install: Callable[[pytest.MonkeyPatch, Callable[[int], None]], None]


def _postgres_seam(monkeypatch: pytest.MonkeyPatch, fire: Callable[[int], None]) -> None:
    from tv5_assets.defs.postgres import loader

    def after_batch(table: str, batch_index: int, rows_so_far: int) -> None:
        if table == "episodes":
            fire(batch_index)

    monkeypatch.setattr(loader, "after_batch", after_batch)


def _redis_seam(monkeypatch: pytest.MonkeyPatch, fire: Callable[[int], None]) -> None:
    from tv5_assets.defs.redis import protocol

    def after_chunk(label: str, chunk_index: int, commands_so_far: int) -> None:
        if label.endswith(":platform"):
            fire(chunk_index + 1)

    monkeypatch.setattr(protocol, "after_chunk", after_chunk)


def _milvus_seam(monkeypatch: pytest.MonkeyPatch, fire: Callable[[int], None]) -> None:
    from tv5_assets.stores.milvus import loading

    original = loading.insert_batch
    calls = [0]

    def insert_batch(client, collection, spec, batch):
        if "media" in collection:
            calls[0] += 1
            fire(calls[0])
        return original(client, collection, spec, batch)

    monkeypatch.setattr(loading, "insert_batch", insert_batch)


def _neo4j_seam(monkeypatch: pytest.MonkeyPatch, fire: Callable[[int], None]) -> None:
    from tv5_assets.defs.neo4j import assets

    original = assets.progress

    def progress(context, what: str):
        inner = original(context, what)

        def hook(batch: int, done: int, total: int) -> None:
            inner(batch, done, total)
            if what == "RATED":
                fire(batch + 1)

        return hook

    monkeypatch.setattr(assets, "progress", progress)


FAULTS = {
    "postgres": Fault(
        "postgres",
        "agentdb_episodes",
        {"ops": {"agentdb_episodes": {"config": {"batch_ratings": 1000}}}},
        _postgres_seam,
    ),
    "redis": Fault(
        "redis",
        "redis_platform_cache",
        {"ops": {"redis_platform_cache": {"config": {"pipeline_commands": 8}}}},
        _redis_seam,
    ),
    "milvus": Fault(
        "milvus",
        "milvus_media_collection",
        {"ops": {"milvus_media_collection": {"config": {"max_batch_mb": 0.02}}}},
        _milvus_seam,
    ),
    "neo4j": Fault("neo4j", "neo4j_ratings", {"ops": {"neo4j_ratings": {"config": {"batch_size": 1000}}}}, _neo4j_seam),
}


@dataclass
class FaultOutcome:
    reference: fault_stack.StoreDigest
    log: ReaderLog
    failed_run: str
    failures: dict[str, str]
    after_restart: fault_stack.StoreDigest
    resumed: fault_stack.StoreDigest
    killed_at_batch: int
    seconds_to_kill: float
    serving_after_s: float


@contextmanager
def _killer(stack, store: str, log: ReaderLog, at_batch: int, min_load_s: float):
    """A `fire(batch)` that, at batch `at_batch`, lets the reader complete whole reads, waits until
    the load has run `min_load_s` (so the AOF, WAL, etcd or transaction log holds its first writes),
    then SIGKILLs the server. Yields a dict with the batch and the seconds into the load."""
    state: dict = {"fired": False, "started": None}

    def fire(batch: int) -> None:
        if state["started"] is None:
            state["started"] = time.monotonic()
        if state["fired"] or batch < at_batch:
            return
        state["fired"] = True
        wait_for_reads(log, 3)
        remaining = min_load_s - (time.monotonic() - state["started"])
        if remaining > 0:
            time.sleep(remaining)
        state["batch"] = batch
        state["seconds"] = time.monotonic() - state["started"]
        stack.kill(store)

    state["fire"] = fire
    yield state


def inject_fault(
    stack, instance, monkeypatch, fault: Fault, at_batch: int = 3, min_load_s: float = 2.0
) -> FaultOutcome:
    group = f"group:{fault.store}"
    baseline = fault_stack.run(instance, group)
    assert baseline.success, fault_stack.step_failures(instance, baseline.run_id)
    reference = fault_stack.digest(fault.store)
    assert reference.staging == [], f"an undisturbed load left staging objects: {reference.staging}"
    assert sum(reference.counts.values()) > 0, reference.describe()

    with reader(fault.store, reference) as log, _killer(stack, fault.store, log, at_batch, min_load_s) as state:
        fault.install(monkeypatch, state["fire"])
        failed = fault_stack.run(instance, group, fault.run_config)
        time.sleep(0.5)  # a few reads against the dead server
    monkeypatch.undo()
    assert state["fired"], f"{fault.asset}: the load never reached batch {at_batch}; the fault was not injected"
    assert not failed.success, f"{fault.store}: the run succeeded although its server was killed mid-load"

    stack.up(fault.store)
    restarted = time.monotonic()
    after_restart = _first_answer(fault.store)
    serving_after_s = time.monotonic() - restarted
    resumed = fault_stack.run(instance, reexecute_from=failed.run_id)
    assert resumed.success, fault_stack.step_failures(instance, resumed.run_id)
    return FaultOutcome(
        reference,
        log,
        failed.run_id,
        fault_stack.step_failures(instance, failed.run_id),
        after_restart,
        fault_stack.digest(fault.store),
        state["batch"],
        state["seconds"],
        serving_after_s,
    )


def _first_answer(store: str, timeout_s: float = 180.0) -> fault_stack.StoreDigest:
    """The store's digest as soon as it answers again: a restarted Milvus reloads its collections
    (queries say "collection not loaded" meanwhile), a restarted Neo4j recovers its transaction log."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return fault_stack.digest(store)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def assert_survived(outcome: FaultOutcome, fault: Fault) -> None:
    name = STORE_NAMES[fault.store]
    # Readers: only the whole previous version, then errors; never a partial or empty store.
    assert outcome.log.wrong == [], f"a reader saw other contents than the previous version: {outcome.log.wrong[:3]}"
    assert outcome.log.complete_reads >= 3
    assert outcome.log.connection_errors >= 1, "no read failed after the kill: was the server really down?"
    # The failure names the store and says what to do: the step's last error (the cause under
    # Dagster's "Exceeded max_retries") is the store's own message, not a client library's exception.
    message = outcome.failures.get(fault.asset, "")
    store_lines = [part for part in message.split("\n\n") if part.startswith("ServiceUnavailableError: ")]
    assert store_lines, f"{fault.asset} failed without the store's own error: {message!r}"
    assert name in store_lines[-1] and "tv5 services up" in store_lines[-1], f"{fault.asset}: {message!r}"
    assert "Traceback" not in message
    # After the restart the previous version is still served, whole.
    assert outcome.after_restart.same_contents(outcome.reference), outcome.after_restart.describe()
    # Re-execution from failure converges to exactly the undisturbed contents, staging swept.
    assert outcome.resumed.same_contents(outcome.reference), (
        f"after re-execution: {outcome.resumed.describe()}; undisturbed: {outcome.reference.describe()}"
    )
    assert outcome.resumed.staging == [], f"left behind: {outcome.resumed.staging}"


@pytest.mark.parametrize("store", list(FAULTS))
def test_server_killed_mid_load_resumes_to_identical_contents(stack_instance, monkeypatch, store: str) -> None:
    stack, instance = stack_instance
    with fault_stack.quick_retries():
        outcome = inject_fault(stack, instance, monkeypatch, FAULTS[store])
    assert_survived(outcome, FAULTS[store])
    print(f"\n{store}: the failed step said: {outcome.failures[FAULTS[store].asset]!r}")
    print(
        f"\n{store}: killed at batch {outcome.killed_at_batch} ({outcome.seconds_to_kill:.1f} s into the load); "
        f"{outcome.log.complete_reads} whole reads, {outcome.log.connection_errors} refused; serving again "
        f"{outcome.serving_after_s:.1f} s after the restart; "
        f"after re-execution {outcome.resumed.describe()}"
    )


@pytest.mark.soak
@pytest.mark.parametrize("at_batch", [1, 2, 6])
@pytest.mark.parametrize("store", list(FAULTS))
def test_soak_server_killed_at_several_points(stack_instance, monkeypatch, store: str, at_batch: int) -> None:
    """The real retry policy (three retries, about 21 s of back-off while the server stays down) and
    kills at the first, second and sixth batch, the first without waiting for the log to persist."""
    stack, instance = stack_instance
    outcome = inject_fault(
        stack, instance, monkeypatch, FAULTS[store], at_batch, min_load_s=0.0 if at_batch == 1 else 2.0
    )
    assert_survived(outcome, FAULTS[store])
    print(
        f"\nSOAK {store} batch {at_batch}: killed {outcome.seconds_to_kill:.1f} s into the load; "
        f"{outcome.log.complete_reads} whole reads, {outcome.log.connection_errors} refused, 0 partial; "
        f"rows {sum(outcome.resumed.counts.values()):,} = undisturbed {sum(outcome.reference.counts.values()):,}"
    )


# ------------------------------------------------------------------------------ the run worker
_WORKER = """
import sys, time
sys.path.insert(0, sys.argv[2])
import dagster as dg
import fault_stack
from tv5_assets.defs.postgres import loader

def after_batch(table, batch_index, rows_so_far):  # stretch the load so the worker dies part-way
    time.sleep(0.4)

loader.after_batch = after_batch
instance = dg.DagsterInstance.get()  # DAGSTER_HOME: the test's instance
fault_stack.run(instance, "group:postgres", {"ops": {"agentdb_episodes": {"config": {"batch_ratings": 1000}}}})
"""


def _wait_for(condition, what: str, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.soak  # a run of the whole postgres group twice on the private stack: minutes, not CI's quick part
def test_run_worker_killed_mid_run_resumes(stack_instance) -> None:
    """The process executing a run is SIGKILLed while the episodes load is part-way (its staging table
    exists); the run is found dead and marked failed (what Dagster's run monitoring does), and
    re-execution from failure reruns only what had not finished and converges to the undisturbed
    contents, staging swept."""
    stack, instance = stack_instance
    baseline = fault_stack.run(instance, "group:postgres")
    assert baseline.success
    reference = fault_stack.digest("postgres")

    env = {**os.environ, "DAGSTER_HOME": instance.root_directory}
    env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])
    here = str(Path(__file__).parent)
    worker = subprocess.Popen([sys.executable, "-c", _WORKER, instance.root_directory, here], env=env)
    try:

        def load_part_way() -> bool:
            assert worker.poll() is None, f"the run worker exited by itself (exit code {worker.returncode})"
            return bool(fault_stack.digest("postgres").staging)

        _wait_for(load_part_way, "the episodes load to create its staging table")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    runs = [r for r in instance.get_runs() if r.run_id != baseline.run_id and not r.parent_run_id]
    dead = max(runs, key=lambda r: instance.get_run_record_by_id(r.run_id).create_timestamp)
    assert dead.status == dg.DagsterRunStatus.STARTED, "the killed worker's run should still look started"
    assert fault_stack.digest("postgres").same_contents(reference), "readers lost the previous version"

    instance.report_run_failed(dead, message="run worker process was killed (SIGKILL) during the run")
    done_before = fault_stack.materialized(instance, dead.run_id)
    resumed = fault_stack.run(instance, reexecute_from=dead.run_id)
    assert resumed.success, fault_stack.step_failures(instance, resumed.run_id)
    rerun = fault_stack.materialized(instance, resumed.run_id)
    assert "agentdb_episodes" in rerun and not (done_before & rerun), (done_before, rerun)
    after = fault_stack.digest("postgres")
    assert after.same_contents(reference), f"{after.describe()} != {reference.describe()}"
    assert after.staging == [], after.staging
    print(
        f"\nrun worker killed mid-load; resumed: {sorted(rerun)} rerun, {sorted(done_before)} kept; {after.describe()}"
    )
