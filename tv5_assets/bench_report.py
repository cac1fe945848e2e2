"""`tv5 bench`, the reading half: a finished run read back from the Dagster instance as a `RunReport`.

Per step its start, end, status and pid (every step runs in its own process under the multiprocess
executor, so the pid ties a step to the memory sampler's peaks), per asset its rows and rows/s, the
asset checks in aggregate, and the critical path through the run's step graph. No subprocess and
no printing here: `bench.py` runs the graph, `bench_format.py` prints what this module reads.
"""

from __future__ import annotations

import graphlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg
from dagster import DagsterEventType, EventLogEntry

from .procmem import MemoryPeaks
from .run_report import CheckResult, check_results

SLOWEST_CHECKS = 5


STEP_EVENTS = {
    DagsterEventType.STEP_START,
    DagsterEventType.STEP_SUCCESS,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.STEP_SKIPPED,
    DagsterEventType.STEP_UP_FOR_RETRY,
}


TERMINAL_STATUS = {
    DagsterEventType.STEP_SUCCESS: "success",
    DagsterEventType.STEP_FAILURE: "failure",
    DagsterEventType.STEP_SKIPPED: "skipped",
}


# ----------------------------------------------------------------------------------- the figures
@dataclass
class StepTiming:
    """One step of the run as its events tell it; seconds span the first start to the final event."""

    key: str
    status: str  # success | failure | skipped | retrying | started | not run
    start: float | None  # epoch seconds
    end: float | None
    seconds: float | None
    pids: list[int]
    attempts: int
    assets: list[str]
    checks: list[str]
    upstream: list[str]
    peak_rss_mb: float | None  # the step's own process (max over attempts)
    peak_subtree_rss_mb: float | None  # the step's process plus any children it started

    @property
    def is_check_step(self) -> bool:
        return bool(self.checks) and not self.assets


@dataclass
class AssetFigures:
    """One asset: its step's wall time and memory, the rows it recorded, and its numeric metadata."""

    asset: str
    step: str
    status: str  # materialized, or the step's status when no materialization was recorded
    start: float | None
    seconds: float | None
    rows: int | None
    rows_per_s: float | None
    peak_rss_mb: float | None
    pid: int | None
    metadata: dict[str, float] = field(default_factory=dict)


@dataclass
class CheckSummary:
    """Asset-check steps in aggregate (there are many, mostly short), plus every failed evaluation."""

    steps: int
    seconds: float
    slowest: list[tuple[str, float]]
    failed_steps: list[str]
    evaluations: int
    failed: list[CheckResult]


@dataclass
class RunReport:
    run_id: str
    status: str
    start: float | None
    end: float | None
    wall_s: float | None
    steps: list[StepTiming]
    assets: list[AssetFigures]
    checks: CheckSummary
    critical_path: list[str]
    critical_path_s: float
    memory: dict[str, float | int | None]

    @property
    def succeeded(self) -> bool:
        return self.status == dg.DagsterRunStatus.SUCCESS.value


# ------------------------------------------------------------------------ reading the run back
@dataclass(frozen=True)
class PlanStep:
    """A step of the run's execution plan: the assets and checks it computes and what it waits on."""

    key: str
    assets: tuple[str, ...]
    checks: tuple[str, ...]
    upstream: tuple[str, ...]


def plan_steps(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[PlanStep]:
    """The steps the run executed, from the execution plan Dagster stored with it.

    The plan, not the asset graph alone, is what gated the run: a blocking asset check is an
    upstream of every step downstream of its asset, so it belongs on the critical path.
    """
    snapshot = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
    selected = set(snapshot.step_keys_to_execute or [s.key for s in snapshot.steps])
    steps = []
    for step in snapshot.steps:
        if step.key not in selected:
            continue
        props = [o.properties for o in step.outputs if o.properties is not None]
        assets = tuple(p.asset_key.to_user_string() for p in props if p.asset_key is not None)
        checks = tuple(
            f"{p.asset_check_key.asset_key.to_user_string()}:{p.asset_check_key.name}"
            for p in props
            if p.asset_check_key is not None
        )
        upstream = sorted({h.step_key for i in step.inputs for h in i.upstream_output_handles} & selected)
        steps.append(PlanStep(step.key, assets, checks, tuple(upstream)))
    return steps


def step_events(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[EventLogEntry]]:
    """Start, end, skip and retry events of the run, per step key, in log order."""
    events: dict[str, list[EventLogEntry]] = {}
    for record in instance.all_logs(run_id, of_type=STEP_EVENTS):
        if record.step_key:
            events.setdefault(record.step_key, []).append(record)
    return events


def mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


def _peak(pids: Iterable[int], peaks: Mapping[int, int]) -> int | None:
    values = [peaks[p] for p in pids if p in peaks]
    return max(values) if values else None


def step_timing(step: PlanStep, events: Sequence[EventLogEntry], memory: MemoryPeaks | None) -> StepTiming:
    """Times, status and memory of one step. STEP_START is logged by the step's own process, so
    its pid is the process whose memory the sampler recorded; each retry starts a new one."""
    starts = [e for e in events if e.dagster_event_type == DagsterEventType.STEP_START]
    pids = [e.dagster_event.pid for e in starts if e.dagster_event.pid is not None]
    last = events[-1] if events else None
    if last is None:
        status = "not run"
    elif last.dagster_event_type in TERMINAL_STATUS:
        status = TERMINAL_STATUS[last.dagster_event_type]
    else:
        status = "retrying" if last.dagster_event_type == DagsterEventType.STEP_UP_FOR_RETRY else "started"
    start = starts[0].timestamp if starts else (last.timestamp if status == "skipped" else None)
    end = last.timestamp if status in {"success", "failure", "skipped"} else None
    return StepTiming(
        key=step.key,
        status=status,
        start=start,
        end=end,
        seconds=round(end - start, 3) if start is not None and end is not None else None,
        pids=pids,
        attempts=len(starts),
        assets=list(step.assets),
        checks=list(step.checks),
        upstream=list(step.upstream),
        peak_rss_mb=mb(_peak(pids, memory.peak_rss_kb)) if memory else None,
        peak_subtree_rss_mb=mb(_peak(pids, memory.peak_subtree_kb)) if memory else None,
    )


def materializations(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict[str, float]]:
    """asset -> its numeric metadata (row count included) from the run's materializations."""
    found: dict[str, dict[str, float]] = {}
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        materialization = record.asset_materialization
        numbers = {
            name: value.value
            for name, value in materialization.metadata.items()
            if isinstance(value.value, (int, float)) and not isinstance(value.value, bool)
        }
        found[materialization.asset_key.to_user_string()] = numbers
    return found


def asset_figures(steps: Sequence[StepTiming], materialized: Mapping[str, dict[str, float]]) -> list[AssetFigures]:
    """One row per asset of the run; rows/s divide the recorded row count by the step's wall time
    (assets computed by one multi-asset step share that step's time)."""
    figures = []
    for step in steps:
        for asset in step.assets:
            metadata = materialized.get(asset)
            count = metadata.get("dagster/row_count") if metadata else None
            rows = int(count) if count is not None else None
            rate = rows / step.seconds if rows is not None and step.seconds else None
            figures.append(
                AssetFigures(
                    asset=asset,
                    step=step.key,
                    status="materialized" if metadata is not None else step.status,
                    start=step.start,
                    seconds=step.seconds,
                    rows=rows,
                    rows_per_s=round(rate, 1) if rate is not None else None,
                    peak_rss_mb=step.peak_rss_mb,
                    pid=step.pids[-1] if step.pids else None,
                    metadata=metadata or {},
                )
            )
    return figures


def check_summary(steps: Sequence[StepTiming], results: Sequence[CheckResult]) -> CheckSummary:
    """Check steps counted and timed together; every evaluation that did not pass is listed."""
    check_steps = [s for s in steps if s.is_check_step]
    timed = sorted(((s.key, s.seconds) for s in check_steps if s.seconds is not None), key=lambda t: (-t[1], t[0]))
    return CheckSummary(
        steps=len(check_steps),
        seconds=round(sum(seconds for _, seconds in timed), 3),
        slowest=timed[:SLOWEST_CHECKS],
        failed_steps=sorted(s.key for s in check_steps if s.status == "failure"),
        evaluations=len(results),
        failed=[r for r in results if r.state != "passed"],
    )


def critical_path(weights: Mapping[str, float], upstream: Mapping[str, Iterable[str]]) -> tuple[list[str], float]:
    """The heaviest chain through a DAG: no schedule can finish the run faster than its sum.

    `weights` holds every node (a step's wall seconds); `upstream` its dependencies (edges to
    nodes not in `weights` are ignored). Ties break on the node name, so the answer is stable.
    """
    deps = {node: sorted(u for u in upstream.get(node, ()) if u in weights) for node in weights}
    best: dict[str, tuple[float, str | None]] = {}
    for node in graphlib.TopologicalSorter(deps).static_order():
        before = max(((best[u][0], u) for u in deps[node]), default=(0.0, None))
        best[node] = (before[0] + weights[node], before[1])
    if not best:
        return [], 0.0
    node: str | None = max(best, key=lambda n: (best[n][0], n))
    total, chain = best[node][0], []
    while node is not None:
        chain.append(node)
        node = best[node][1]
    return chain[::-1], round(total, 3)


def memory_figures(memory: MemoryPeaks | None) -> dict[str, float | int | None]:
    if memory is None:
        return {}
    return {
        "interval_s": memory.interval_s,
        "samples": memory.samples,
        "peak_tree_rss_mb": mb(memory.peak_tree_kb),
        "system_used_before_mb": mb(memory.system_used_before_kb),
        "peak_system_used_mb": mb(memory.peak_system_used_kb),
    }


def build_report(instance: dg.DagsterInstance, run_id: str, memory: MemoryPeaks | None = None) -> RunReport:
    """Everything `tv5 bench` prints and saves about one run, read from the instance."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        raise ValueError(f"run {run_id} is not in the Dagster instance at {os.environ.get('DAGSTER_HOME')}")
    events = step_events(instance, run_id)
    steps = [step_timing(s, events.get(s.key, []), memory) for s in plan_steps(instance, run)]
    steps.sort(key=lambda s: (s.start is None, s.start or 0.0, s.key))
    path, path_s = critical_path({s.key: s.seconds or 0.0 for s in steps}, {s.key: s.upstream for s in steps})
    stats = instance.get_run_stats(run_id)
    wall = stats.end_time - stats.start_time if stats.start_time and stats.end_time else None
    return RunReport(
        run_id=run_id,
        status=run.status.value,
        start=stats.start_time,
        end=stats.end_time,
        wall_s=round(wall, 3) if wall is not None else None,
        steps=steps,
        assets=asset_figures(steps, materializations(instance, run_id)),
        checks=check_summary(steps, check_results(instance, run_id)),
        critical_path=path,
        critical_path_s=path_s,
        memory=memory_figures(memory),
    )
