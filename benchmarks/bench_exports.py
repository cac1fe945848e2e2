"""Benchmark of the `exports` group at full scale (run under the heavy lock):

    flock /tmp/tv5-heavy.lock /usr/bin/time -v ~/.cache/tv5/venv/bin/python benchmarks/bench_exports.py \\
        --inputs-dir /var/tmp/tv5-full/after/assets --data-dir /var/tmp/tv5-exports-bench

Materializes the selection (default: every JSONL export) with its checks in one fresh process and
prints, per asset, the write time the asset records (`seconds`: sink, fsync, line count, rename),
lines, size and lines/s; then each check step's time, and the process's peak RSS. Target:
all JSONL exports together in under 60 s and 4 GB peak on this 2-core machine. The
upstream tables are linked, read only, from --inputs-dir (the IO manager's layout of a full run)
into --data-dir/assets; the exports are written under --data-dir.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from harness import machine_note  # noqa: E402

from tv5_assets.defs.exports.layouts import EXPORTS  # noqa: E402

TARGET_SECONDS = 60.0


def link_inputs(inputs: Path, data_dir: Path) -> None:
    """Link each upstream table (file or part folder) into data_dir/assets; nothing is copied."""
    assets = data_dir / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    for table in {export.upstream for export in EXPORTS}:
        for name in (f"{table}.parquet", table):
            source, link = inputs / name, assets / name
            if source.exists() and not link.exists():
                link.symlink_to(source)


def _materialize(names: list[str], data_dir: str, queue) -> None:
    os.environ["TV5_DATA_DIR"] = data_dir
    import dagster as dg

    from tv5_assets.definitions import defs as load_defs

    defs = load_defs()
    started = time.perf_counter()
    result = dg.materialize(
        [*defs.assets, *defs.asset_checks],
        selection=names,
        resources=defs.resources,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        raise_on_error=False,
    )
    wall = time.perf_counter() - started
    assets = {}
    for event in result.get_asset_materialization_events():
        meta = event.event_specific_data.materialization.metadata
        unit = "lines" if "lines" in meta else "rows"
        assets[event.asset_key.to_user_string()] = {
            key: meta[key].value for key in (unit, "size_mb", "seconds", f"{unit}_per_second")
        }
    steps = {e.step_key: e.event_specific_data.duration_ms / 1000 for e in result.get_step_success_events()}
    checks = {f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed for e in result.get_asset_check_evaluations()}
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    queue.put({"wall_s": wall, "assets": assets, "steps": steps, "checks": checks, "peak_rss_gb": peak_gb})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs-dir", default="/var/tmp/tv5-full/after/assets")
    parser.add_argument("--data-dir", default="/var/tmp/tv5-exports-bench")
    parser.add_argument("--only", nargs="*", help="asset names (default: every JSONL export)")
    parser.add_argument("--parquet", action="store_true", help="also the <table>_parquet copies")
    args = parser.parse_args()
    link_inputs(Path(args.inputs_dir), Path(args.data_dir))
    names = args.only or [export.name for export in EXPORTS]
    if args.parquet:
        names += [f"{export.upstream}_parquet" for export in EXPORTS]
    print(f"exports benchmark: {machine_note()}; outputs under {args.data_dir}", flush=True)
    ctx = mp.get_context("spawn")  # a fresh process: its peak RSS is the exports' alone
    queue = ctx.Queue()
    proc = ctx.Process(target=_materialize, args=(names, args.data_dir, queue))
    proc.start()
    figures = queue.get()
    proc.join()
    for name, row in figures["assets"].items():
        print(f"{name:30s} " + "  ".join(f"{k} {v:,}" for k, v in row.items()), flush=True)
    for step, seconds in sorted(figures["steps"].items()):
        print(f"  step {step:40s} {seconds:7.1f} s")
    jsonl = sum(row["seconds"] for name, row in figures["assets"].items() if name.endswith("_jsonl"))
    failed = [name for name, passed in figures["checks"].items() if not passed]
    print(
        f"JSONL exports: {jsonl:.1f} s written (target < {TARGET_SECONDS:.0f} s); whole run with checks "
        f"{figures['wall_s']:.1f} s; peak RSS {figures['peak_rss_gb']:.2f} GB; "
        f"{len(figures['checks'])} checks, failed: {failed or 'none'}"
    )


if __name__ == "__main__":
    main()
