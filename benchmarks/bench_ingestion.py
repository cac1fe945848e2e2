"""MovieLens ingestion benchmark: each `movielens` asset materialized in a fresh process.

Prints wall time (the `dg.materialize` call: parse, validate, build, write Parquet), rows/s and
peak RSS of that process for links, movies, ratings, tags, genome_tags, genome_scores and
movie_genome, in dependency order, and checks the ingestion targets on this machine:
ratings (25M rows) < 60 s, genome_scores < 30 s, peak memory < 8 GB for any single asset.

Input: a GroupLens-format release, by default the generated full-scale one at /tmp/tv5-full/ml-25m
(`--generate` writes it first with `tv5 sample --scale 1.0 --seed 42` when ratings.csv is absent).
Output Parquet stays under --data-dir/assets for other benchmarks to reuse.

    flock /tmp/tv5-heavy.lock ~/.cache/tv5/venv/bin/python benchmarks/bench_ingestion.py
    ... --assets ratings genome_scores       (only some; their upstreams must already be stored)
    ... --with-checks                        (each asset with its checks, timed together)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import bench_asset, machine_note, print_row  # noqa: E402

ASSETS = ["links", "movies", "ratings", "tags", "genome_tags", "genome_scores", "movie_genome"]
TARGET_SECONDS = {"ratings": 60.0, "genome_scores": 30.0}
TARGET_PEAK_GB = 8.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movielens-dir", default="/tmp/tv5-full/ml-25m", help="GroupLens-format release folder")
    parser.add_argument("--data-dir", default="/tmp/tv5-full/data", help="TV5_DATA_DIR for the outputs")
    parser.add_argument("--assets", nargs="+", default=ASSETS, choices=ASSETS)
    parser.add_argument("--generate", action="store_true", help="write a scale-1.0 sample first if the folder has none")
    parser.add_argument(
        "--with-checks", action="store_true", help="run each asset's checks in the same run (timed together)"
    )
    args = parser.parse_args(argv)

    source = Path(args.movielens_dir)
    if not (source / "ratings.csv").is_file():
        if not args.generate:
            print(
                f"{source}/ratings.csv not found: pass --generate, or run "
                f"`tv5 sample --scale 1.0 --seed 42 --out {source}` (or point --movielens-dir at a GroupLens release)",
                file=sys.stderr,
            )
            return 2
        from tv5_assets.generator import write_sample

        started = time.perf_counter()
        written = write_sample(source, scale=1.0, seed=42, genome=True)
        print(f"generated {sum(written.values()):,} rows in {time.perf_counter() - started:.0f} s", flush=True)

    env = {"TV5_MOVIELENS_DIR": str(source.resolve()), "TV5_DATA_DIR": str(Path(args.data_dir).resolve())}
    sizes = {p.name: round(p.stat().st_size / 1e6) for p in sorted(source.glob("*.csv"))}
    print(
        f"machine: {machine_note()}; source {source} ({', '.join(f'{k} {v} MB' for k, v in sizes.items())})", flush=True
    )

    misses = []
    for asset in args.assets:
        figures = bench_asset(asset, env, include_checks=args.with_checks)
        print_row(f"{asset} + checks" if args.with_checks else asset, figures)
        if figures.get("checks_failed"):
            misses.append(f"{asset}: checks failed {figures['checks_failed']}")
        limit = TARGET_SECONDS.get(asset)
        if limit is not None and figures["wall_s"] > limit:
            misses.append(f"{asset}: {figures['wall_s']:.1f} s > {limit:.0f} s")
        if figures["peak_rss_gb"] > TARGET_PEAK_GB:
            misses.append(f"{asset}: peak {figures['peak_rss_gb']:.2f} GB > {TARGET_PEAK_GB:.0f} GB")
    print(json.dumps({"targets_met": not misses, "misses": misses}), flush=True)
    print("targets met" if not misses else "TARGETS MISSED: " + "; ".join(misses), flush=True)
    return 0 if not misses else 1


if __name__ == "__main__":
    sys.exit(main())
