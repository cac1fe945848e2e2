"""Benchmark of the Redis cache refreshes at full scale, and raw pipelined write throughput.

Runs the same code as the assets (redis/cache.py) outside Dagster. Inputs: `--assets DIR`
(default /tmp/tv5-full/data/assets) with `platform_availability` and `trends` as the IO manager
stores them; when missing, inputs of ml-25m size are synthesized (62,423 movies, 60% of them on
1-3 platforms; trends for 5,000 movies x 365 days).

    flock /tmp/tv5-heavy.lock python benchmarks/bench_redis.py
Server: TV5_REDIS_URL, else the local stack (`tv5 services up --only redis`). Keys go under the
namespace `bench` and are deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from tv5_assets.defs.redis.cache import glob_escape, refresh_platforms, refresh_trends
from tv5_assets.defs.redis.protocol import resp_command, send_commands
from tv5_assets.defs.synthetic.schemas import PLATFORM_AVAILABILITY, PLATFORM_IDS, TRENDS
from tv5_assets.endpoints import REDIS
from tv5_assets.resources.redis import RedisResource

DEFAULT_ASSETS = Path("/tmp/tv5-full/data/assets")
NAMES = {
    "tv5monde": "TV5MONDE",
    "netflix": "Netflix",
    "amazon": "Amazon Prime",
    "mubi": "MUBI",
    "criterion": "Criterion Channel",
}


def scan(assets: Path, name: str) -> pl.LazyFrame | None:
    folder, file = assets / name, assets / f"{name}.parquet"
    if folder.is_dir():
        return pl.scan_parquet(str(folder / "*.parquet"))
    return pl.scan_parquet(file) if file.exists() else None


def synthetic_availability(movies: int = 62_423, seed: int = 0) -> pl.LazyFrame:
    rng = np.random.default_rng(seed)
    on_any = rng.random(movies) < 0.6
    counts = np.where(on_any, rng.integers(1, 4, movies), 0)
    movie_ids = np.repeat(np.arange(1, movies + 1, dtype=np.int32), counts)
    frame = pl.DataFrame({"movie_id": movie_ids, "platform_id": rng.choice(PLATFORM_IDS, movie_ids.size)})
    frame = frame.unique(["movie_id", "platform_id"]).sort("movie_id", "platform_id")
    return (
        frame.lazy()
        .select(
            "movie_id",
            pl.format("ml_{}", "movie_id").alias("media_id"),
            "platform_id",
            pl.col("platform_id").replace_strict(NAMES).alias("platform_name"),
            pl.when(pl.col("platform_id") == "tv5monde")
            .then(pl.lit("free"))
            .otherwise(pl.lit("subscription"))
            .alias("availability_type"),
            pl.lit("Global").alias("region"),
            pl.lit(["HD", "4K"]).alias("quality"),
            pl.lit(["en", "fr"]).alias("subtitles"),
        )
        .cast(PLATFORM_AVAILABILITY)
    )


def synthetic_trends(movies: int = 5_000, days: int = 365, seed: int = 0) -> pl.LazyFrame:
    rng = np.random.default_rng(seed)
    ids = np.sort(rng.choice(np.arange(1, 62_424), movies, replace=False)).astype(np.int32)
    last = date(2019, 11, 21)
    dates = pl.date_range(last - timedelta(days=days - 1), last, eager=True)
    scores = rng.random(movies * days).astype(np.float32)
    return pl.LazyFrame(
        {
            "movie_id": np.repeat(ids, days),
            "media_id": [f"ml_{i}" for i in np.repeat(ids, days)],
            "date": pl.concat([dates] * movies),
            "popularity_score": scores,
            "view_count_estimate": (scores * 10_000).astype(np.int32),
            "search_volume": (scores * 5_000).astype(np.int32),
        },
        schema=TRENDS,
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=Path, default=DEFAULT_ASSETS)
    parser.add_argument(
        "--raw-commands", type=int, default=1_000_000, help="SET commands for the raw throughput figure"
    )
    parser.add_argument("--namespace", default="bench")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    availability = scan(args.assets, "platform_availability")
    trends = scan(args.assets, "trends")
    source = f"{args.assets}" if availability is not None and trends is not None else "synthetic (ml-25m sizes)"
    availability = availability if availability is not None else synthetic_availability()
    trends = trends if trends is not None else synthetic_trends()

    url = REDIS.url()
    cache = RedisResource(url=url, namespace=args.namespace)
    client = cache.client()
    version = client.info("server")["redis_version"]
    print(
        f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; Redis {version} "
        f"at {cache.address}; inputs {source}",
        flush=True,
    )
    try:
        for run in (1, 2):  # the second run replaces a full cache, as a scheduled refresh does
            bench_refresh(client, cache.namespace, availability, trends, run)
        bench_raw_writes(client, args.namespace, args.raw_commands)
    finally:
        keys = list(client.scan_iter(match=f"{glob_escape(args.namespace)}:*", count=10_000))
        for offset in range(0, len(keys), 10_000):
            client.unlink(*keys[offset : offset + 10_000])
        client.close()
    return 0


def bench_refresh(client, namespace: str, availability: pl.LazyFrame, trends: pl.LazyFrame, run: int) -> None:
    report = refresh_platforms(client, namespace, availability, f"b{run}")
    print_refresh(f"platform cache run {run}", report, switch_note=f" ({report.removed_stale_keys} stale removed)")
    report = refresh_trends(client, namespace, trends, f"t{run}")
    print_refresh(f"trends cache run {run}", report, keys_note=f" ({report.extra['date']})")


def print_refresh(label: str, report, keys_note: str = "", switch_note: str = "") -> None:
    print(
        f"{label}: {report.keys:,} keys{keys_note}, {report.commands:,} commands in {report.write_seconds:.3f}s "
        f"-> {report.ops_per_second:,.0f} ops/s | switch {report.swap_seconds * 1000:.1f} ms{switch_note} "
        f"| total {report.seconds:.2f}s",
        flush=True,
    )


def bench_raw_writes(client, namespace: str, n: int) -> None:
    """`n` SET EX commands through send_commands, then 100,000 through redis-py's pipeline for comparison."""
    keys = (
        pl.DataFrame({"i": np.arange(n)})
        .select(resp_command("SET", pl.format(f"{namespace}:raw:{{}}", "i"), pl.lit('["netflix","mubi"]'), "EX", "600"))
        .to_series()
    )
    started = time.perf_counter()
    sent = send_commands(client, keys, label="raw")
    elapsed = time.perf_counter() - started
    print(f"raw SET EX, chunks of 10k: {sent:,} commands in {elapsed:.2f}s -> {sent / elapsed:,.0f} ops/s", flush=True)

    sample = 100_000
    started = time.perf_counter()
    for offset in range(0, sample, 10_000):
        pipe = client.pipeline(transaction=False)
        for i in range(offset, offset + 10_000):
            pipe.set(f"{namespace}:rawpy:{i}", '["netflix","mubi"]', ex=600)
        pipe.execute()
    elapsed = time.perf_counter() - started
    print(f"for comparison, redis-py pipeline(transaction=False) of 10k: {sample / elapsed:,.0f} ops/s", flush=True)


if __name__ == "__main__":
    sys.exit(main())
