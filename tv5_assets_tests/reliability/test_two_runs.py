"""Two `build_everything` runs at once, the whole graph (`-m soak`: three runs of the graph, minutes).

On the private stack (fault_stack.py), with one Dagster instance (a DAGSTER_HOME holding the
project's dagster.yaml: one step per concurrency pool across all runs) and one data folder, two
`dagster job execute -j build_everything` on the in-process executor (deploy/run-config/in-process.yaml)
start `STAGGER_S` apart on fresh stores: what a scheduled run and a click do. Asserted:

- both runs end in a defined way: both succeed (the pools queue their store loads; a load that finds
  another's lock waits for it), and no two steps of one pool ran at the same time;
- the stores then hold what one clean run leaves: a third, lone run of the graph gives the same
  content digest (store_hashes.py) in every store, and no staging object is left.

The wall times (each run of the pair, the pair, the lone run) are printed (`-s`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import dagster as dg
import fault_stack
import pytest

pytestmark = [pytest.mark.soak, pytest.mark.services, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
STAGGER_S = 5.0
RUN_TIMEOUT_S = 3600
EXECUTE = [
    "dagster",
    "job",
    "execute",
    "-m",
    "tv5_assets",
    "-j",
    "build_everything",
    "-c",
    str(REPO / "deploy" / "run-config" / "in-process.yaml"),
]


def _start(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(
            EXECUTE, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _wait(process: subprocess.Popen, began: float) -> tuple[int, float]:
    try:
        rc = process.wait(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        raise
    return rc, time.monotonic() - began


def _pools() -> dict[str, str]:
    """op name -> concurrency pool, for every asset of the code location that has one."""
    from tv5_assets.definitions import defs as load_defs

    return {
        a.op.name: a.op.pool
        for a in load_defs().assets
        if isinstance(a, dg.AssetsDefinition) and getattr(a.op, "pool", None)
    }


def _step_spans(instance: dg.DagsterInstance, run_id: str) -> dict[str, tuple[float, float]]:
    """step key -> (first start, last end) in the run (a retried step: its whole span)."""
    spans: dict[str, list[float]] = {}
    kinds = (dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE)
    for kind in kinds:
        for record in instance.get_records_for_run(run_id, of_type=kind, limit=100000).records:
            entry = record.event_log_entry
            spans.setdefault(entry.step_key, []).append(entry.timestamp)
    return {step: (min(times), max(times)) for step, times in spans.items()}


def _pool_overlaps(instance: dg.DagsterInstance, run_ids: list[str]) -> list[str]:
    """Steps of one pool, in different runs, that ran at the same time."""
    pools = _pools()
    by_pool: dict[str, list[tuple[str, str, float, float]]] = defaultdict(list)
    for run_id in run_ids:
        for step, (start, end) in _step_spans(instance, run_id).items():
            if step.split("[")[0] in pools:
                by_pool[pools[step.split("[")[0]]].append((run_id[:8], step, start, end))
    overlaps = []
    for pool, spans in by_pool.items():
        for i, (run_a, step_a, start_a, end_a) in enumerate(spans):
            for run_b, step_b, start_b, end_b in spans[i + 1 :]:
                if run_a != run_b and start_a < end_b and start_b < end_a:
                    overlaps.append(f"{pool}: {run_a}/{step_a} and {run_b}/{step_b}")
    return overlaps


def _digests() -> dict[str, fault_stack.StoreDigest]:
    return {store: fault_stack.digest(store) for store in fault_stack.STORES}


def test_two_whole_graph_runs_at_once_end_like_one(
    reliability_stack, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("two-runs-home")
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    logs = tmp_path_factory.mktemp("two-runs-logs")
    with reliability_stack.activate(sample_dir):
        reliability_stack.up()
        env = {**os.environ, "DAGSTER_HOME": str(home)}

        began = time.monotonic()
        first = _start(env, logs / "first.log")
        time.sleep(STAGGER_S)
        second = _start(env, logs / "second.log")
        rc_first, wall_first = _wait(first, began)
        rc_second, wall_second = _wait(second, began + STAGGER_S)
        wall_pair = time.monotonic() - began
        print(
            f"\ntwo runs at once: first rc {rc_first} in {wall_first:.0f} s, second rc {rc_second} in "
            f"{wall_second:.0f} s (started {STAGGER_S:.0f} s later), both done after {wall_pair:.0f} s"
        )
        after_pair = _digests()

        began = time.monotonic()
        lone = _start(env, logs / "lone.log")
        rc_lone, wall_lone = _wait(lone, began)
        print(f"lone run: rc {rc_lone} in {wall_lone:.0f} s")
        after_lone = _digests()

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = sorted(instance.get_runs(), key=lambda r: instance.get_run_record_by_id(r.run_id).create_timestamp)
        assert len(runs) == 3, [r.run_id for r in runs]
        statuses = [run.status for run in runs]
        failures = {run.run_id[:8]: fault_stack.step_failures(instance, run.run_id) for run in runs}
        overlaps = _pool_overlaps(instance, [run.run_id for run in runs[:2]])
        print(f"statuses {[s.value for s in statuses]}; pool overlaps {overlaps or 'none'}")
    for store in fault_stack.STORES:
        print(f"after the pair: {after_pair[store].describe()}\nafter the lone run: {after_lone[store].describe()}")
    tails = {name: (logs / f"{name}.log").read_text()[-3000:] for name in ("first", "second", "lone")}

    assert (rc_first, rc_second, rc_lone) == (0, 0, 0), (failures, tails)
    assert all(status == dg.DagsterRunStatus.SUCCESS for status in statuses), failures
    assert overlaps == []
    for store in fault_stack.STORES:
        assert after_pair[store].same_contents(after_lone[store]), (
            f"{after_pair[store].describe()} != {after_lone[store].describe()}"
        )
        assert after_pair[store].staging == [] and after_lone[store].staging == [], store
