"""Shared benchmark harness: materialize assets in a fresh process and print wall time, rows/s
and peak memory (RSS of that process), so one asset's memory does not hide another's.

Usage from a benchmark script:
    from harness import bench_assets
    bench_assets(["ratings", "movies"], movielens_dir=..., data_dir=...)
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import resource
import time


def machine_note() -> str:
    return f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"


def _materialize_in_child(selection: str, env: dict[str, str], queue, include_checks: bool = False) -> None:
    os.environ.update(env)
    import dagster as dg

    from tv5_assets.definitions import defs as load_defs

    defs = load_defs()

    started = time.perf_counter()
    result = dg.materialize(
        # every asset, so unselected upstreams load from storage; checks of the selection if asked
        [*(defs.assets or []), *((defs.asset_checks or []) if include_checks else [])],
        selection=selection,
        resources=defs.resources,
        raise_on_error=True,
    )
    wall = time.perf_counter() - started
    rows = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        count = mat.metadata.get("dagster/row_count")
        rows[mat.asset_key.to_user_string()] = int(count.value) if count is not None else None
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures = {"wall_s": wall, "rows": rows, "peak_rss_gb": peak_kb / 1024 / 1024}
    if include_checks:
        evaluations = result.get_asset_check_evaluations()
        figures["checks_failed"] = sorted(
            f"{e.asset_key.to_user_string()}:{e.check_name}" for e in evaluations if not e.passed
        )
        figures["checks_run"] = len(evaluations)
    queue.put(figures)


def bench_asset(selection: str, env: dict[str, str] | None = None, include_checks: bool = False) -> dict:
    """Materialize `selection` (a Dagster selection string, e.g. "ratings") in a spawned process;
    with include_checks, the selection's asset checks run too (figures then count them)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_materialize_in_child, args=(selection, env or {}, queue, include_checks))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f"materializing {selection!r} failed (exit code {proc.exitcode})")
    return queue.get()


def print_row(name: str, figures: dict) -> None:
    rows = sum(v for v in figures["rows"].values() if v) if figures["rows"] else 0
    rate = rows / figures["wall_s"] if figures["wall_s"] > 0 else 0.0
    print(
        f"{name:28s} {figures['wall_s']:8.1f} s {rows:>12,} rows {rate:>12,.0f} rows/s "
        f"peak {figures['peak_rss_gb']:.2f} GB",
        flush=True,
    )
    print(json.dumps({"asset": name, **figures}), flush=True)
