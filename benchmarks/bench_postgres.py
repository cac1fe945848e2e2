"""Benchmark of the AgentDB loads at full scale: episodes (25M rows) and policies.

Runs the same code as the assets (transitions.py + loader.py, partitioned_load.py) outside
Dagster, so the figures are the load itself: rows/s end to end, the COPY phase, and the index
build time. Inputs: `--assets DIR` (default /tmp/tv5-full/data/assets) holding `ratings` and `movies` as the IO
manager stores them (`ratings.parquet` or a `ratings/` folder of parts); `user_profiles` when
present, else profiles are synthesized for the users in ratings. When ratings/movies are missing,
a synthetic ml-25m-sized input is generated under /tmp/tv5-bench-postgres first.

    flock /tmp/tv5-heavy.lock python benchmarks/bench_postgres.py                # 2 workers
    flock /tmp/tv5-heavy.lock python benchmarks/bench_postgres.py --workers 1 2  # compare
Server: TV5_POSTGRES_URL, else the local stack (`tv5 services up --only postgres`). Writes into
schema `bench_agentdb` and drops it afterwards (`--keep` to inspect).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from tv5_assets.defs.postgres import schema as model
from tv5_assets.defs.postgres.assets import episode_partitions
from tv5_assets.defs.postgres.loader import load_table
from tv5_assets.defs.postgres.partitioned_load import load_partitioned
from tv5_assets.defs.postgres.transitions import ACTION_SPACE, build_policies
from tv5_assets.defs.synthetic.schemas import ARCHETYPES
from tv5_assets.endpoints import POSTGRES
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets.schemas.movielens import TIME_OF_DAY

DEFAULT_ASSETS = Path("/tmp/tv5-full/data/assets")
SYNTH_DIR = Path("/tmp/tv5-bench-postgres")


def scan(assets: Path, name: str) -> pl.LazyFrame | None:
    folder, file = assets / name, assets / f"{name}.parquet"
    if folder.is_dir():
        return pl.scan_parquet(str(folder / "*.parquet"))
    if file.exists():
        return pl.scan_parquet(file)
    return None


def synthesize(out: Path, users: int = 162_541, ratings: int = 25_000_095, movies: int = 62_423, seed: int = 0) -> None:
    """ml-25m-sized ratings and movies (heavy-tailed users, 0-3 genres per movie)."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    names = np.array(ACTION_SPACE)
    genres = [list(names[rng.choice(len(names), size=int(k), replace=False)]) for k in rng.integers(0, 4, movies)]
    pl.DataFrame(
        {"movie_id": np.arange(1, movies + 1, dtype=np.int32), "genres": genres},
        schema_overrides={"genres": pl.List(pl.String)},
    ).write_parquet(out / "movies.parquet")
    weights = rng.pareto(1.2, users) + 1
    counts = np.maximum(20, (weights / weights.sum() * ratings).astype(np.int64))
    counts[np.argmax(counts)] -= counts.sum() - ratings
    user_ids = np.repeat(np.arange(1, users + 1, dtype=np.int32), counts)
    seconds = rng.integers(789_000_000, 1_574_000_000, ratings)
    hours = (seconds // 3600) % 24
    part = np.select(
        [hours < 5, hours < 12, hours < 17, hours < 21], ["late_night", "morning", "afternoon", "evening"], "night"
    )
    pl.DataFrame(
        {
            "user_id": user_ids,
            "movie_id": rng.integers(1, movies + 1, ratings, dtype=np.int32),
            "rating": (rng.integers(1, 11, ratings) / 2).astype(np.float32),
            "timestamp": pl.Series(seconds * 1_000_000).cast(pl.Datetime("us", "UTC")),
            "time_of_day": pl.Series(part).cast(pl.Enum(TIME_OF_DAY)),
        }
    ).sort("user_id", "movie_id").write_parquet(out / "ratings.parquet")


def synthetic_profiles(ratings: pl.LazyFrame) -> pl.LazyFrame:
    users = ratings.select(pl.col("user_id").unique().sort()).collect()["user_id"]
    return pl.LazyFrame({"user_id": users, "archetype": [ARCHETYPES[i % len(ARCHETYPES)] for i in range(users.len())]})


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=Path, default=DEFAULT_ASSETS)
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--batch-ratings", type=int, default=1_000_000)
    parser.add_argument("--schema", default="bench_agentdb")
    parser.add_argument("--keep", action="store_true", help="keep the bench schema")
    parser.add_argument(
        "--via-dagster",
        action="store_true",
        help="also materialize the agentdb_episodes asset itself in a fresh process (benchmarks/harness.py), "
        "reading the assets folder's parent as TV5_DATA_DIR; writes the default schema `agentdb`",
    )
    return parser.parse_args()


def inputs(assets: Path) -> tuple[pl.LazyFrame, pl.LazyFrame, pl.LazyFrame, str]:
    """(ratings, movies, user profiles, where they came from): stored under `assets`, else synthetic."""
    ratings, movies = scan(assets, "ratings"), scan(assets, "movies")
    source = str(assets)
    if ratings is None or movies is None:
        if not (SYNTH_DIR / "ratings.parquet").exists():
            print(f"no ratings/movies under {assets}; synthesizing ml-25m-sized inputs in {SYNTH_DIR}", flush=True)
            synthesize(SYNTH_DIR)
        ratings, movies, source = (
            pl.scan_parquet(SYNTH_DIR / "ratings.parquet"),
            pl.scan_parquet(SYNTH_DIR / "movies.parquet"),
            f"{SYNTH_DIR} (synthetic)",
        )
    profiles = scan(assets, "user_profiles")
    if profiles is None:
        profiles = synthetic_profiles(ratings)
    return ratings, movies, profiles, source


def main() -> int:
    args = parse_args()
    ratings, movies, profiles, source = inputs(args.assets)
    url = POSTGRES.url()
    postgres = PostgresResource(url=url, schema_name=args.schema)
    server = postgres.ping()
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; "
        f"PostgreSQL {server} at {postgres.address}; inputs {source}",
        flush=True,
    )

    try:
        for workers in args.workers:
            bench_episodes(postgres, args, ratings, movies, workers)
        bench_policies(postgres, args.schema, profiles, ratings)
        if args.via_dagster:
            sys.path.insert(0, str(Path(__file__).parent))
            from harness import bench_asset, print_row

            figures = bench_asset("key:agentdb_episodes", env={"TV5_DATA_DIR": str(args.assets.parent)})
            print_row("agentdb_episodes (dagster)", figures)
    finally:
        if not args.keep:
            with postgres.connection(autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {model.quoted(args.schema)} CASCADE")
    return 0


def bench_episodes(
    postgres: PostgresResource, args: argparse.Namespace, ratings: pl.LazyFrame, movies: pl.LazyFrame, workers: int
) -> None:
    started = time.perf_counter()
    specs, chunks = episode_partitions(ratings, movies, args.batch_ratings, workers)
    plan_s = time.perf_counter() - started
    report = load_partitioned(postgres.connect, model.episodes, args.schema, specs, f"bench{workers}")
    print(
        f"episodes  workers={workers} rows={report.rows:,} chunks={chunks} plan={plan_s:.1f}s "
        f"total={report.seconds:.1f}s -> {report.rows_per_second:,.0f} rows/s | COPY phase "
        f"{report.copy_seconds:.1f}s -> {report.copy_rows_per_second:,.0f} rows/s (summed over workers: build "
        f"{report.build_seconds:.1f}s, encode {report.encode_seconds:.1f}s, COPY writes {report.send_seconds:.1f}s) | index build "
        f"{report.index_seconds:.1f}s summed over partitions "
        f"({', '.join(f'{k} {v:.1f}s' for k, v in report.index_breakdown.items())}) | swap {report.swap_seconds:.2f}s "
        f"| peak RSS {peak_rss_gb():.2f} GB",
        flush=True,
    )


def bench_policies(postgres: PostgresResource, schema: str, profiles: pl.LazyFrame, ratings: pl.LazyFrame) -> None:
    started = time.perf_counter()
    policies = build_policies(profiles, ratings).collect()
    build_s = time.perf_counter() - started
    report = load_table(postgres.connect, model.policies, schema, policies.iter_slices(100_000), "bench")
    print(
        f"policies  rows={report.rows:,} build={build_s:.1f}s load={report.seconds:.2f}s -> "
        f"{report.rows_per_second:,.0f} rows/s | index build {report.index_seconds:.2f}s",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
