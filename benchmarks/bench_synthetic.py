"""Benchmark of the `synthetic` group at full scale (run under the heavy lock):

    flock /tmp/tv5-heavy.lock ~/.cache/tv5/venv/bin/python benchmarks/bench_synthetic.py

1. Each synthetic asset materialized in a fresh process (benchmarks/harness.py): wall time of the
   `dg.materialize` call (load inputs, generate, write Parquet), rows/s and peak RSS.
2. The whole group with its 18 checks in one process (the checks need the materializations of
   the same instance), with the time of every check step.
Target: the six assets together in under 3 minutes on this 2-core machine.

Inputs (`movies`, `ratings`): --inputs-dir, else /tmp/tv5-full/data/assets when the ingestion
benchmark has stored the full-scale release there, else ml-25m-sized frames built in memory
(62,423 movies, 162,541 users, ~25M ratings; tv5_assets_tests/synthetic/synthetic_frames.py) and
kept in /tmp/tv5-synthetic/inputs. They are linked into --data-dir/assets, where outputs go.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import bench_asset, machine_note, print_row  # noqa: E402

ASSETS = [
    "user_profiles",
    "platform_availability",
    "viewing_contexts",
    "subtitle_features",
    "subtitle_segments",
    "trends",
]
TARGET_SECONDS = 180.0
FULL_MOVIES, FULL_USERS, FULL_RATINGS_PER_USER = 62_423, 162_541, 154
FULL_SCALE_ASSETS = Path("/tmp/tv5-full/data/assets")
BUILT_INPUTS = Path("/tmp/tv5-synthetic/inputs")


def stored(folder: Path, key: str) -> Path | None:
    """The Parquet file or part-folder the IO manager keeps for `key`, if any."""
    for candidate in (folder / f"{key}.parquet", folder / key):
        if candidate.exists():
            return candidate
    return None


def build_inputs(folder: Path) -> None:
    sys.path.insert(0, str(HERE.parent / "tv5_assets_tests" / "synthetic"))
    from synthetic_frames import build_movies, build_ratings

    folder.mkdir(parents=True, exist_ok=True)
    movies = build_movies(FULL_MOVIES, seed=25)
    movies.write_parquet(folder / "movies.parquet")
    build_ratings(movies, FULL_USERS, FULL_RATINGS_PER_USER, seed=25).write_parquet(folder / "ratings.parquet")


def choose_inputs(requested: str | None) -> Path:
    if requested:
        return Path(requested)
    if stored(FULL_SCALE_ASSETS, "movies") and stored(FULL_SCALE_ASSETS, "ratings"):
        return FULL_SCALE_ASSETS
    if not (stored(BUILT_INPUTS, "movies") and stored(BUILT_INPUTS, "ratings")):
        print(f"no stored full-scale release; building ml-25m-sized inputs in {BUILT_INPUTS}", flush=True)
        build_inputs(BUILT_INPUTS)
    return BUILT_INPUTS


def link_inputs(inputs: Path, assets_dir: Path) -> None:
    assets_dir.mkdir(parents=True, exist_ok=True)
    for key in ("movies", "ratings"):
        source = stored(inputs, key)
        if source is None:
            raise SystemExit(
                f"{inputs} has no stored `{key}` ({key}.parquet or {key}/); materialize the movielens group first"
            )
        for old in (assets_dir / f"{key}.parquet", assets_dir / key):
            if old.is_symlink() or old.is_file():
                old.unlink()
        (assets_dir / source.name).symlink_to(source.resolve())


def _group_with_checks_in_child(env: dict[str, str], queue) -> None:
    os.environ.update(env)
    import dagster as dg

    from tv5_assets.definitions import defs as load_defs

    defs = load_defs()

    started = time.perf_counter()
    result = dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        selection="group:synthetic",
        resources=defs.resources,
        raise_on_error=False,
    )
    wall = time.perf_counter() - started
    steps = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_SUCCESS" and event.step_key:
            steps[event.step_key] = event.event_specific_data.duration_ms / 1000
    checks = {e.asset_check_key.name: e.passed for e in result.get_asset_check_evaluations()}
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    queue.put({"wall_s": wall, "success": result.success, "steps": steps, "checks": checks, "peak_rss_gb": peak_gb})


def bench_group_with_checks(env: dict[str, str]) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_group_with_checks_in_child, args=(env, queue))
    process.start()
    figures = queue.get()
    process.join()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--inputs-dir", help="folder with stored movies and ratings (Parquet, as the IO manager writes)"
    )
    parser.add_argument("--data-dir", default="/tmp/tv5-synthetic/bench/data", help="TV5_DATA_DIR for the outputs")
    parser.add_argument("--skip-checks", action="store_true", help="only the per-asset timings")
    args = parser.parse_args(argv)

    inputs = choose_inputs(args.inputs_dir)
    data_dir = Path(args.data_dir).resolve()
    link_inputs(inputs, data_dir / "assets")
    env = {"TV5_DATA_DIR": str(data_dir)}
    print(f"synthetic benchmark on {machine_note()}; inputs {inputs}; outputs {data_dir / 'assets'}", flush=True)

    total = 0.0
    for key in ASSETS:
        figures = bench_asset(key, env)
        total += figures["wall_s"]
        print_row(key, figures)
    verdict = "within" if total < TARGET_SECONDS else "OVER"
    print(f"{'all six assets':28s} {total:8.1f} s  ({verdict} the {TARGET_SECONDS:.0f} s target)", flush=True)

    if not args.skip_checks:
        figures = bench_group_with_checks(env)
        check_steps = {k: v for k, v in figures["steps"].items() if any(k.endswith(c) for c in figures["checks"])}
        print(
            f"{'group + 18 checks, 1 process':28s} {figures['wall_s']:8.1f} s   checks {sum(check_steps.values()):.1f} s "
            f"peak {figures['peak_rss_gb']:.2f} GB  success={figures['success']}",
            flush=True,
        )
        for step, seconds in sorted(check_steps.items(), key=lambda item: -item[1]):
            name = next(c for c in figures["checks"] if step.endswith(c))
            print(f"  {name:44s} {seconds:6.2f} s  {'passed' if figures['checks'][name] else 'FAILED'}", flush=True)
        print(json.dumps({"group_with_checks": figures}), flush=True)
        if not all(figures["checks"].values()):
            return 1
    return 0 if total < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
