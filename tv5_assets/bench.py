"""`tv5 bench`: materialize the whole graph the way users do and say where the time and memory go.

Per-asset benchmarks (`benchmarks/`) measure one asset in a fresh process; they cannot show what a
real run of the whole graph (the `build_everything` job) costs: steps waiting on pools and blocking checks,
several step processes alive at once, the stores' own memory. This command runs exactly that
subprocess on a generated (or given) MovieLens release, samples the memory of its process tree from
/proc, then reads the run back from the Dagster instance: per step its start, end, status and pid
(every step runs in its own process under the multiprocess executor, so the pid ties a step to the
sampler's memory peaks), per asset its rows and rows/s, the asset checks in aggregate, and the
critical path through the run's step graph. Optionally it measures the naive row-by-row approach
of the original plan (`bench_baseline.py`) on the same stores and prints our speed-up.
"""

from __future__ import annotations

import graphlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster import DagsterEventType, EventLogEntry

from . import settings
from .procmem import PROC, MemoryPeaks, TreeSampler, meminfo_kb
from .run_report import CheckResult, check_results

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_STAMP = ".tv5-sample"  # the stamp scripts/env.sh's tv5_sample writes: "<scale> <seed> v<generator version>"
SLOWEST_CHECKS = 5
RUN_ID = re.compile(r"\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")
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


# ------------------------------------------------------------------------ data, stack, machine
def sample_folder(scale: float, seed: int, data_dir: Path | None = None) -> Path:
    """`$TV5_DATA_DIR/raw/bench-<scale>-<seed>`: one folder per scale and seed, so runs reuse it."""
    return (data_dir or settings.data_dir()) / "raw" / f"bench-{scale:g}-{seed}"


def ensure_sample(out: Path, scale: float, seed: int) -> Path:
    """Generate a MovieLens-format release into `out` unless the same scale and seed is there.

    Generating scale 1.0 takes minutes; the stamp (written last, as scripts/env.sh does) proves a
    previous generation finished, so an interrupted one is redone rather than reused.
    """
    from .generator import GENERATOR_VERSION, write_sample

    stamp, wanted = out / SAMPLE_STAMP, f"{scale:g} {seed} v{GENERATOR_VERSION}"
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        print(f"bench: reusing {out} (scale {scale:g}, seed {seed})", flush=True)
        return out
    if out.exists():
        shutil.rmtree(out)
    print(f"bench: generating MovieLens-format data at scale {scale:g}, seed {seed} into {out}", flush=True)
    write_sample(out, scale=scale, seed=seed, genome=True)
    stamp.write_text(wanted + "\n")
    return out


def prepare_dagster_home(data_dir: Path) -> Path:
    """DAGSTER_HOME (default `$TV5_DATA_DIR/dagster_home`) holding the project's dagster.yaml (pools)."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster_home").expanduser().absolute()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() and (REPO_ROOT / "dagster.yaml").exists():
        shutil.copyfile(REPO_ROOT / "dagster.yaml", config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def machine_description(proc: Path = PROC) -> dict[str, object]:
    """What the figures were measured on: usable cores, memory, CPU model, Python and Dagster."""
    model = "unknown"
    try:
        for line in (proc / "cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": len(os.sched_getaffinity(0)),
        "memory_gb": round(meminfo_kb(proc)["MemTotal"] / 1024**2, 1),
        "cpu_model": model,
        "python": platform.python_version(),
        "dagster": dg.__version__,
        "platform": platform.platform(),
    }


# --------------------------------------------------------------------------------- the run itself
def materialize_command(selection: str | None, job: str = "build_everything") -> list[str]:
    """`dagster job execute -m tv5_assets -j <job>` (the job users launch), or with a selection
    `dagster asset materialize -m tv5_assets --select <selection>`, from this interpreter's environment."""
    dagster_bin = Path(sys.executable).with_name("dagster")
    prefix = [str(dagster_bin)] if dagster_bin.exists() else [sys.executable, "-m", "dagster"]
    if selection:
        return [*prefix, "asset", "materialize", "-m", "tv5_assets", "--select", selection]
    return [*prefix, "job", "execute", "-m", "tv5_assets", "-j", job]


def child_environment() -> dict[str, str]:
    """Our environment, with this checkout first on PYTHONPATH and TV5_DATA_DIR made absolute."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env["TV5_DATA_DIR"] = str(settings.data_dir())
    return env


def run_and_sample(command: Sequence[str], log_path: Path, interval_s: float = 0.5) -> tuple[int, MemoryPeaks]:
    """Run `command` with its output in `log_path` while sampling its process tree's memory."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=child_environment(), cwd=REPO_ROOT
        )
        try:
            with TreeSampler(process.pid, interval_s) as sampler:
                code = process.wait()
        except BaseException:
            process.terminate()
            process.wait()
            raise
    return code, sampler.peaks


def release_stale_slots(instance: dg.DagsterInstance) -> list[str]:
    """Free pool slots still held by runs that have ended; returns those runs' ids.

    A CLI run that is killed (Ctrl-C, a signal) never releases the pool slot its running step
    claimed, and without the Dagster daemon nothing else does: the next run's step for that pool
    (every store load here) would wait forever. Runs still in progress are left alone.
    """
    storage = instance.event_log_storage
    holders = set()
    for pool in storage.get_concurrency_keys():
        info = storage.get_concurrency_info(pool)
        holders.update(slot.run_id for slot in [*info.claimed_slots, *info.pending_steps])
    stale = []
    for run_id in sorted(holders):
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
            stale.append(run_id)
    return stale


def find_run_id(instance: dg.DagsterInstance, log_path: Path, launched_at: float) -> str | None:
    """The run the subprocess created: the run id its log names, else the newest run since launch."""
    try:
        for match in RUN_ID.finditer(log_path.read_text(errors="replace")):
            if instance.get_run_by_id(match.group(1)) is not None:
                return match.group(1)
    except OSError:
        pass
    records = instance.get_run_records(limit=1)
    if records and records[0].create_timestamp.timestamp() >= launched_at - 1.0:
        return records[0].dagster_run.run_id
    return None


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


def _mb(kb: int | None) -> float | None:
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
        peak_rss_mb=_mb(_peak(pids, memory.peak_rss_kb)) if memory else None,
        peak_subtree_rss_mb=_mb(_peak(pids, memory.peak_subtree_kb)) if memory else None,
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
        "peak_tree_rss_mb": _mb(memory.peak_tree_kb),
        "system_used_before_mb": _mb(memory.system_used_before_kb),
        "peak_system_used_mb": _mb(memory.peak_system_used_kb),
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


# ------------------------------------------------------------------------------------ printing
def _fmt(value: float | int | None, spec: str, width: int = 0) -> str:
    """`value` formatted by `spec`, or "-" when missing, right-aligned in `width` characters."""
    return ("-" if value is None else format(value, spec)).rjust(width)


def format_table(report: RunReport) -> str:
    """One fixed-width line per asset, in start order; `start s` counts from the run's start.

    An asset computed by a step of another name (a multi-asset) shows that step in brackets.
    """
    origin = report.start or min((a.start for a in report.assets if a.start is not None), default=0.0)
    rows = sorted(report.assets, key=lambda a: (a.start is None, a.start or 0.0, a.asset))
    labels = [a.asset if a.asset == a.step else f"{a.asset} [{a.step}]" for a in rows]
    width = max([len("asset"), *map(len, labels)])
    lines = [
        f"{'start s':>8} {'wall s':>8}  {'asset':<{width}}  {'status':<12} {'rows':>12} {'rows/s':>12} "
        f"{'peak MB':>8} {'pid':>7}"
    ]
    for label, a in zip(labels, rows):
        start = a.start - origin if a.start is not None else None
        lines.append(
            f"{_fmt(start, '.1f', 8)} {_fmt(a.seconds, '.2f', 8)}  {label:<{width}}  {a.status:<12} "
            f"{_fmt(a.rows, ',d', 12)} {_fmt(a.rows_per_s, ',.0f', 12)} {_fmt(a.peak_rss_mb, '.1f', 8)} {_fmt(a.pid, 'd', 7)}"
        )
    return "\n".join(lines)


def format_summary(report: RunReport) -> str:
    """The lines under the table: checks, critical path, run totals and memory peaks."""
    c = report.checks
    slowest = ", ".join(f"{key} {seconds:.2f} s" for key, seconds in c.slowest) or "-"
    lines = [
        f"asset checks: {c.steps} check steps, {c.seconds:.1f} s summed, {len(c.failed_steps)} failed steps; "
        f"{c.evaluations} evaluations, {len(c.failed)} not passed",
        f"  slowest: {slowest}",
        *(f"  {r.state}: {r.asset} / {r.check} (step {r.step_key})" for r in c.failed),
        *(f"  failed step: {key}" for key in c.failed_steps),
        f"critical path: {report.critical_path_s:.1f} s of {_fmt(report.wall_s, '.1f')} s wall: "
        + " -> ".join(f"{key} ({_step_seconds(report, key):.1f})" for key in report.critical_path),
    ]
    counts: dict[str, int] = {}
    for step in report.steps:
        counts[step.status] = counts.get(step.status, 0) + 1
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    busy = sum(s.seconds or 0.0 for s in report.steps)
    lines.append(
        f"run {report.run_id} {report.status}: {_fmt(report.wall_s, '.1f')} s wall, {len(report.steps)} steps ({tally}), "
        f"{busy:.1f} s inside steps summed"
    )
    m = report.memory
    if m:
        lines.append(
            f"memory: run process tree peak {_fmt(m['peak_tree_rss_mb'], ',.0f')} MB (sum of RSS over the CLI and its "
            f"step processes, sampled every {m['interval_s']} s); machine in use peak {_fmt(m['peak_system_used_mb'], ',.0f')} MB "
            f"({_fmt(m['system_used_before_mb'], ',.0f')} MB before the run; includes the stores and anything else running)"
        )
    return "\n".join(lines)


def _step_seconds(report: RunReport, key: str) -> float:
    return next((s.seconds or 0.0 for s in report.steps if s.key == key), 0.0)


# ------------------------------------------------------------------------- naive baseline ratios
# part -> (our asset, what its rate means); the naive part does the same kind of work row by row.
COMPARED = {
    "parse": ("ratings", "ratings asset: rows / step wall s (read, parse, validate, write Parquet)"),
    "neo4j": (
        "neo4j_movies",
        "neo4j_movies asset: movies / load seconds from its metadata (genres and edges written too); "
        "when neo4j_bulk_import built the graph: its nodes and relationships / (stop + import + start) seconds",
    ),
    "postgres": ("agentdb_episodes", "agentdb_episodes asset: rows / step wall s (build, COPY, index, swap)"),
}


def our_rate(part: str, report: RunReport) -> float | None:
    """Our rate for a baseline part, from the same bench run."""
    asset = next((a for a in report.assets if a.asset == COMPARED[part][0]), None)
    if asset is None:
        return None
    if part == "neo4j":
        bulk = next(
            (a for a in report.assets if a.asset == "neo4j_bulk_import" and a.metadata.get("nodes_and_relationships")),
            None,
        )
        if bulk is not None:  # the online asset skipped: the offline path did the writing
            m = bulk.metadata
            seconds = sum(m.get(k) or 0.0 for k in ("stop_seconds", "import_seconds", "start_seconds"))
            return round(m["nodes_and_relationships"] / seconds, 1) if seconds else None
        movies, seconds = asset.metadata.get("movies"), asset.metadata.get("seconds") or asset.seconds
        return round(movies / seconds, 1) if movies is not None and seconds else None
    return asset.rows_per_s


def compare(baseline: Mapping[str, object], report: RunReport | None) -> dict[str, dict[str, object]]:
    """Per part: the naive figure, our rate and ours / naive."""
    rows = {}
    for part, naive in baseline.items():
        ours = our_rate(part, report) if report else None
        ratio = ours / naive.rows_per_s if ours is not None and naive.rows_per_s else None
        rows[part] = {
            "naive": asdict(naive),
            "ours_rows_per_s": ours,
            "ours_source": COMPARED[part][1],
            "ours_over_naive": round(ratio, 1) if ratio is not None else None,
        }
    return rows


def format_comparison(comparison: Mapping[str, Mapping[str, object]], scale: float, budget_s: float) -> str:
    lines = [
        f"naive baseline (the plan's row-by-row loops) on scale {scale:g}, at most {budget_s:.0f} s per part:",
        f"  {'part':<9} {'naive rows':>11} {'naive s':>8} {'naive rows/s':>13} {'ours rows/s':>12} {'ours/naive':>11}",
    ]
    for part, row in comparison.items():
        naive = row["naive"]
        if naive["error"]:
            lines.append(f"  {part:<9} failed: {naive['error']}")
            continue
        ratio = row["ours_over_naive"]
        lines.append(
            f"  {part:<9} {naive['rows']:>11,} {naive['seconds']:>8.1f} {_fmt(naive['rows_per_s'], ',.0f', 13)} "
            f"{_fmt(row['ours_rows_per_s'], ',.0f', 12)} {(_fmt(ratio, ',.1f') + 'x') if ratio is not None else '-':>11}"
            + ("" if naive["complete"] else "  (stopped by the time budget)")
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------- the command
@dataclass
class BenchOptions:
    scale: float
    seed: int = 42
    movielens_dir: Path | None = None
    out: Path | None = None
    baseline_scale: float = 0.01
    baseline: bool = True
    select: str | None = None  # an asset selection instead of the job
    job: str = "build_everything"
    baseline_budget_s: float = 30.0
    engine_limits: bool = True


def process_peaks(report: RunReport | None, memory: MemoryPeaks) -> list[dict[str, object]]:
    """Every process the sampler saw, largest first, with the step it ran when known."""
    steps = {pid: s.key for s in (report.steps if report else []) for pid in s.pids}
    rows = [
        {
            "pid": pid,
            "step": steps.get(pid),
            "peak_rss_mb": _mb(kb),
            "peak_subtree_rss_mb": _mb(memory.peak_subtree_kb.get(pid)),
        }
        for pid, kb in memory.peak_rss_kb.items()
    ]
    return sorted(rows, key=lambda r: -r["peak_rss_mb"])


def write_json(path: Path, payload: Mapping[str, object]) -> None:
    """Written beside, then renamed, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _materialize(
    options: BenchOptions, movielens: Path, stamp: str
) -> tuple[dict[str, object], RunReport | None, MemoryPeaks]:
    """Launch the run, sample it, read it back and print the table; returns the JSON part about it."""
    bench_dir = settings.data_dir() / "bench"
    log = bench_dir / f"bench-{options.scale:g}-{stamp}.log"
    command = materialize_command(options.select, options.job)
    print(f"bench: {' '.join(command)}\nbench: log {log}", flush=True)
    instance = dg.DagsterInstance.get()
    for run_id in release_stale_slots(instance):
        print(f"bench: freed the pool slots still held by ended run {run_id}", flush=True)
    launched_at = time.time()
    code, memory = run_and_sample(command, log)
    run_id = find_run_id(instance, log, launched_at)
    report = build_report(instance, run_id, memory) if run_id else None
    if report is None:
        print(f"bench: no run found in {os.environ['DAGSTER_HOME']} (exit code {code}); see {log}", file=sys.stderr)
    else:
        print(format_table(report), format_summary(report), sep="\n", flush=True)
    facts = {"command": command, "exit_code": code, "log": str(log), "movielens_dir": str(movielens)}
    return facts, report, memory


def measure_engine_limits(report: RunReport, data: Path) -> list:
    """Each heavy stage's engine alone on the same stack (engine_limits.py), printed beside our rate."""
    from .engine_limits import copy_alone, encoder_alone, format_limits, measure, milvus_insert_alone
    from .resources.milvus import milvus_resource_from_env
    from .resources.postgres import postgres_resource_from_env

    probes = [
        ("media_embeddings", lambda: encoder_alone(data / "assets" / "media_text.parquet")),
        ("agentdb_episodes", lambda: copy_alone(postgres_resource_from_env().process_config_and_initialize())),
        (
            "milvus_user_collection",
            lambda: milvus_insert_alone(milvus_resource_from_env().process_config_and_initialize()),
        ),
    ]
    figures = measure(
        probes, {a.asset: a.metadata for a in report.assets}, log=lambda m: print(f"bench: {m}", flush=True)
    )
    print(format_limits(figures), flush=True)
    return figures


def run_bench(options: BenchOptions) -> int:
    """`tv5 bench`: data, stack, the run, its report, the naive baseline, the JSON. Non-zero when the run failed."""
    from .services import run_action

    data = settings.data_dir()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if run_action("up") != 0:
        print("bench: the local stack did not come up (see above)", file=sys.stderr)
        return 1
    movielens = options.movielens_dir or ensure_sample(
        sample_folder(options.scale, options.seed), options.scale, options.seed
    )
    os.environ["TV5_MOVIELENS_DIR"] = str(Path(movielens).absolute())
    home = prepare_dagster_home(data)
    facts, report, memory = _materialize(options, Path(movielens), stamp)
    payload: dict[str, object] = {
        "created_utc": stamp,
        "scale": options.scale,
        "seed": options.seed,
        "selection": options.select or f"job {options.job}",
        "data_dir": str(data),
        "dagster_home": str(home),
        "machine": machine_description(),
        **facts,
        "run": asdict(report) if report else None,
        "processes": process_peaks(report, memory),
    }
    if options.engine_limits and report is not None:
        payload["engine_limits"] = [f.as_dict() for f in measure_engine_limits(report, data)]
    if options.baseline:
        from .bench_baseline import run_baseline

        base = ensure_sample(sample_folder(options.baseline_scale, options.seed), options.baseline_scale, options.seed)
        figures = run_baseline(base, data / "bench" / "scratch", options.baseline_budget_s)
        comparison = compare(figures, report)
        print(format_comparison(comparison, options.baseline_scale, options.baseline_budget_s), flush=True)
        payload["baseline"] = {"scale": options.baseline_scale, "movielens_dir": str(base), "parts": comparison}
    out = options.out or data / "bench" / f"bench-{options.scale:g}-{stamp}.json"
    write_json(out, payload)
    print(f"bench: wrote {out}", flush=True)
    return 0 if report is not None and report.succeeded and facts["exit_code"] == 0 else 1
