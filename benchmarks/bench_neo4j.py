"""Benchmark of the knowledge-graph loads into a real Neo4j 5.26 (a private server on its own port
and scratch home, started and stopped here): online Bolt load (nodes/s, RATED relationships/s,
an idempotent reload), the live checks' queries, and the bulk path (writing the
`neo4j-admin database import full` files, then running the importer from the resolved jars).

Inputs come from a MovieLens-format release (`tv5 sample --scale 1 --out DIR` writes one with
ml-25m's sizes); `--users` keeps that fraction of users (all their ratings). Run it alone:

    flock /tmp/tv5-heavy.lock /root/.cache/tv5/venv/bin/python benchmarks/bench_neo4j.py \
        --ml /tmp/tv5-full/ml-25m --users 0.1 [--writers 2] [--skip-import]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import neo4j
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import machine_note  # noqa: E402

from tv5_assets.defs.neo4j import graph_parts
from tv5_assets.defs.synthetic.schemas import ARCHETYPES, COUNTRIES, PLATFORM_AVAILABILITY  # noqa: E402
from tv5_assets.schemas.embeddings import SIMILAR_MOVIES  # noqa: E402
from tv5_assets.schemas.movielens import GENOME_TAGS, MOVIE_GENOME, UTC_TIMESTAMP  # noqa: E402
from tv5_assets.services.neo4j import Neo4jService, deploy_dir, find_java  # noqa: E402
from tv5_assets.stores.neo4j import import_files, loader, model  # noqa: E402

DB = "neo4j"


def read_release(folder: Path, users_fraction: float) -> dict[str, pl.DataFrame | pl.LazyFrame]:
    movies_csv = pl.read_csv(folder / "movies.csv", schema_overrides={"movieId": pl.Int32})
    year = pl.col("title").str.extract(r"\((\d{4})\)\s*$", 1).cast(pl.Int16, strict=False)
    title = pl.col("title").str.replace(r"\s*\(\d{4}\)\s*$", "").str.strip_chars()
    movies = movies_csv.select(
        pl.col("movieId").alias("movie_id"),
        pl.format("ml_{}", pl.col("movieId")).alias("media_id"),
        title.alias("title"),
        title.alias("display_title"),
        year.alias("year"),
        pl.when(pl.col("genres") == "(no genres listed)")
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(pl.col("genres").str.split("|"))
        .alias("genres"),
    )
    ratings_all = pl.scan_csv(
        folder / "ratings.csv",
        schema={"userId": pl.Int32, "movieId": pl.Int32, "rating": pl.Float32, "timestamp": pl.Int64},
    )
    max_user = ratings_all.select(pl.col("userId").max()).collect().item()
    keep_to = max(1, int(max_user * users_fraction))
    ratings = (
        ratings_all.filter(pl.col("userId") <= keep_to)
        .select(
            pl.col("userId").alias("user_id"),
            pl.col("movieId").alias("movie_id"),
            pl.col("rating"),
            pl.from_epoch("timestamp", "s").dt.replace_time_zone("UTC").cast(UTC_TIMESTAMP).alias("timestamp"),
        )
        .collect()
    )
    user_ids = ratings["user_id"].unique().sort()
    profiles = pl.DataFrame({"user_id": user_ids}).with_columns(
        pl.format("user_{}", pl.col("user_id").cast(pl.String).str.zfill(8)).alias("user_key"),
        pl.col("user_id").mod(len(ARCHETYPES)).map_elements(lambda i: ARCHETYPES[i], pl.String).alias("archetype"),
        pl.col("user_id").mod(len(COUNTRIES)).map_elements(lambda i: COUNTRIES[i], pl.String).alias("country"),
    )
    return {
        "movies": movies,
        "genome_tags": pl.DataFrame(schema=GENOME_TAGS),
        "movie_genome": pl.DataFrame(schema=MOVIE_GENOME),
        "user_profiles": profiles,
        "ratings": ratings,
        "similar_movies": pl.DataFrame(schema=SIMILAR_MOVIES),
        "platform_availability": pl.DataFrame(schema=PLATFORM_AVAILABILITY),
    }


def rate(n: int, seconds: float) -> str:
    return f"{n:>12,} in {seconds:8.1f} s = {n / seconds if seconds else 0:>10,.0f}/s"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ml", default="/tmp/tv5-full/ml-25m", help="MovieLens-format release folder")
    parser.add_argument("--users", type=float, default=0.1, help="fraction of users kept (1.0 = all)")
    parser.add_argument("--batch-size", type=int, default=20_000)
    parser.add_argument("--writers", type=int, default=1)
    parser.add_argument("--port", type=int, default=57699)
    parser.add_argument("--home", default="/tmp/tv5-neo4j-bench")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="2g")
    parser.add_argument("--skip-reload", action="store_true", help="skip the idempotent second ratings load")
    parser.add_argument("--skip-import", action="store_true", help="skip the neo4j-admin import path")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    print(f"machine: {machine_note()}; load average {os.getloadavg()[0]:.1f}", flush=True)
    started = time.perf_counter()
    frames = read_release(Path(args.ml), args.users)
    ratings = frames["ratings"]
    print(
        f"inputs: {frames['movies'].height:,} movies, {frames['user_profiles'].height:,} users, "
        f"{ratings.height:,} ratings (users fraction {args.users}) read in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    root = Path(args.home)
    shutil.rmtree(root, ignore_errors=True)
    figures: dict[str, float] = {}
    bench_online(args, frames, root, figures)
    if not args.skip_import and not bench_import(args, frames, root, figures):
        return 1
    print(
        json.dumps(
            {"users_fraction": args.users, "ratings": ratings.height, **{k: round(v) for k, v in figures.items()}}
        )
    )
    shutil.rmtree(root, ignore_errors=True)
    return 0


def bench_online(
    args: argparse.Namespace, frames: dict[str, pl.DataFrame], root: Path, figures: dict[str, float]
) -> None:
    """The online loads into a fresh server under `root`/online, then the checks' queries."""
    online = Neo4jService(port=args.port, data_dir=root / "online", heap=args.heap, pagecache=args.pagecache)
    t = time.perf_counter()
    online.up()
    print(
        f"server: Neo4j up on {online.address} in {time.perf_counter() - t:.1f} s "
        f"(heap {args.heap}, page cache {args.pagecache})",
        flush=True,
    )
    try:
        with neo4j.GraphDatabase.driver(online.uri) as driver:
            loader.create_constraints(driver, DB)
            load_nodes(driver, args, frames, figures)
            load_ratings(driver, args, frames["ratings"], figures)
            time_checks(driver)
    finally:
        online.down()


def load_nodes(driver, args: argparse.Namespace, frames: dict[str, pl.DataFrame], figures: dict[str, float]) -> None:
    movie_stats = graph_parts.load_movies(driver, DB, frames["movies"], args.batch_size, args.writers)
    user_stats = graph_parts.load_users(driver, DB, frames["user_profiles"], args.batch_size)
    node_seconds = movie_stats[0].seconds + movie_stats[1].seconds + user_stats[0].seconds
    nodes = movie_stats[0].written + movie_stats[1].written + user_stats[0].written
    print(f"online nodes (Movie, Genre, User)    {rate(nodes, node_seconds)}", flush=True)
    print(f"online HAS_GENRE                     {rate(movie_stats[2].written, movie_stats[2].seconds)}")
    figures["online_nodes_per_s"] = nodes / node_seconds


def load_ratings(driver, args: argparse.Namespace, ratings: pl.DataFrame, figures: dict[str, float]) -> None:
    """RATED once, then (unless --skip-reload) again over the same edges, with progress every 30 s."""
    last = [time.perf_counter()]

    def report(batch: int, done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 30 or done == total:
            last[0] = time.perf_counter()
            print(f"  RATED {done:,}/{total:,}", flush=True)

    (rated,) = graph_parts.load_ratings(driver, DB, ratings, args.batch_size, args.writers, report)
    print(
        f"online RATED (first load)            {rate(rated.written, rated.seconds)} "
        f"(batch {args.batch_size}, writers {args.writers})",
        flush=True,
    )
    figures["online_rated_per_s"] = rated.per_second
    if not args.skip_reload:
        (again,) = graph_parts.load_ratings(driver, DB, ratings, args.batch_size, args.writers, report)
        print(
            f"online RATED (idempotent reload)     {rate(again.written, again.seconds)} (replaces every edge)",
            flush=True,
        )
        figures["online_rated_reload_per_s"] = again.per_second


def time_checks(driver) -> None:
    """The queries the group's checks run: counts, duplicate RATED edges, the benchmark traversal."""
    t = time.perf_counter()
    counts = {**loader.label_counts(driver, DB), **loader.relationship_counts(driver, DB)}
    print(f"check counts: {json.dumps(counts)} in {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    duplicates = loader.duplicate_relationships(driver, DB, model.RATED)
    print(f"check duplicate RATED: {duplicates} in {time.perf_counter() - t:.1f} s", flush=True)
    with loader.session(driver, DB) as s:
        user = s.run("MATCH (u:User) RETURN u.user_id AS id LIMIT 1").single()["id"]
        from tv5_assets.defs.neo4j.checks import TRAVERSAL

        s.run(TRAVERSAL, user_id=user).data()
        t = time.perf_counter()
        rows = s.run(TRAVERSAL, user_id=user).data()
        print(f"benchmark traversal for {user}: {len(rows)} rows in {(time.perf_counter() - t) * 1000:.1f} ms")


def bench_import(
    args: argparse.Namespace, frames: dict[str, pl.DataFrame], root: Path, figures: dict[str, float]
) -> bool:
    """Import files written, neo4j-admin import into a scratch server, constraints; False if the import failed."""
    folder = root / "import"
    t = time.perf_counter()
    inputs = {name: frame for name, frame in frames.items() if name != "similar_movies"}  # SIMILAR_TO loads online
    written = import_files.write_import_files(folder, **inputs, log=lambda m: None)
    write_s = time.perf_counter() - t
    print(
        f"import files written                 {rate(written.nodes + written.relationships, write_s)} "
        f"({written.bytes / 1e6:,.0f} MB)",
        flush=True,
    )
    java, _ = find_java()
    scratch = Neo4jService(port=args.port, data_dir=root / "imported", heap=args.heap, pagecache=args.pagecache)
    scratch.home.mkdir(parents=True, exist_ok=True)
    lib = deploy_dir() / "lib"
    command = [
        str(java),
        f"-Xmx{args.heap}",
        "-cp",
        f"{lib}/*",
        "org.neo4j.cli.AdminTool",
        *import_files.admin_arguments(folder),
    ]
    t = time.perf_counter()
    result = subprocess.run(  # cwd: the importer writes its import.report there
        command, env={**os.environ, "NEO4J_HOME": str(scratch.home)}, cwd=root, capture_output=True, text=True
    )
    import_s = time.perf_counter() - t
    if result.returncode != 0:
        print(f"neo4j-admin import failed ({result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}")
        return False
    print(f"neo4j-admin database import full     {rate(written.nodes + written.relationships, import_s)}", flush=True)
    figures["import_write_per_s"] = (written.nodes + written.relationships) / write_s
    figures["import_run_per_s"] = (written.nodes + written.relationships) / import_s
    scratch.up()
    try:
        with neo4j.GraphDatabase.driver(scratch.uri) as driver:
            t = time.perf_counter()
            loader.create_constraints(driver, DB)
            counts = {**loader.label_counts(driver, DB), **loader.relationship_counts(driver, DB)}
            print(f"imported graph: {json.dumps(counts)}; constraints built in {time.perf_counter() - t:.1f} s")
    finally:
        scratch.down()
    return True


if __name__ == "__main__":
    sys.exit(main())
