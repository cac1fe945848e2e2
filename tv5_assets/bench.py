"""`tv5 bench`: materialize the whole graph the way users do and say where the time and memory go.

Per-asset benchmarks (`benchmarks/`) measure one asset in a fresh process; they cannot show what a
real run of the whole graph (the `build_everything` job) costs: steps waiting on pools and blocking checks,
several step processes alive at once, the stores' own memory. This command runs exactly that
subprocess on a generated (or given) MovieLens release, samples the memory of its process tree from
/proc, then reads the run back from the Dagster instance: per step its start, end, status and pid
(every step runs in its own process under the multiprocess executor, so the pid ties a step to the
sampler's memory peaks), per asset its rows and rows/s, the asset checks in aggregate, and the
critical path through the run's step graph (`bench_report.py` reads, `bench_format.py` prints).
Optionally it measures the naive row-by-row approach of the original plan (`bench_baseline.py`)
on the same stores and prints our speed-up.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from . import settings
from .bench_format import compare, format_comparison, format_summary, format_table
from .bench_report import RunReport, build_report, mb
from .procmem import PROC, MemoryPeaks, TreeSampler, meminfo_kb

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_STAMP = ".tv5-sample"  # the stamp scripts/env.sh's tv5_sample writes: "<scale> <seed> v<generator version>"
RUN_ID = re.compile(r"\b([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")


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
            "peak_rss_mb": mb(kb),
            "peak_subtree_rss_mb": mb(memory.peak_subtree_kb.get(pid)),
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
