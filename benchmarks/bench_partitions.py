"""Peak memory of the user-growing steps in the partitioned deployment, at one scale.

    python benchmarks/bench_partitions.py --movielens-dir DIR --data-dir D --scale 2.0 \
        [--partitions 9x40000] [--keys 2] [--out figures.json]

Against the local stack (`tv5 services up`), in this order, each step in a fresh spawned process
whose peak RSS (ru_maxrss of that process: Python, polars and the store clients, not the store
servers) is printed:
  ingest      links + movies, then ratings (the ratings parse is not partitioned: it grows)
  upstream    user_profiles; the Neo4j constraints, Movie and User nodes
  partitions  for the first --keys user-range partitions: user_embeddings, agentdb_episodes,
              neo4j_ratings, milvus_user_collection, each alone
`media_embeddings` is written as seeded unit vectors of the real shape (movies x 384) instead of
running the encoder: its cost grows with movies, not users, and is measured by bench_embeddings.py.
With fixed-width ranges a partition holds about the same users at every scale, so its steps'
peaks should not grow with the scale; the ingest's does.
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

from harness import machine_note

USER_ASSETS = ["user_embeddings", "agentdb_episodes", "neo4j_ratings", "milvus_user_collection"]


def _child(selection: str, partition: str | None, env: dict[str, str], queue) -> None:
    os.environ.update(env)
    import dagster as dg

    from tv5_assets.definitions import defs as load_defs

    defs = load_defs()
    started = time.perf_counter()
    result = dg.materialize(
        list(defs.assets or []),
        selection=selection,
        resources=defs.resources,
        partition_key=partition,
        raise_on_error=False,
    )
    rows = {}
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        count = mat.metadata.get("dagster/row_count")
        rows[mat.asset_key.to_user_string()] = int(count.value) if count is not None else None
    queue.put(
        {
            "success": result.success,
            "wall_s": round(time.perf_counter() - started, 1),
            "rows": rows,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    )


def step(selection: str, env: dict[str, str], partition: str | None = None) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(selection, partition, env, queue))
    process.start()
    figures = queue.get()
    process.join()
    figures.update(selection=selection, partition=partition or "")
    print(json.dumps(figures), flush=True)
    if not figures["success"]:
        raise SystemExit(f"{selection} {partition or ''} failed; see the run log above")
    return figures


def write_media_embeddings(data_dir: Path, seed: int = 0) -> int:
    """Seeded unit vectors for every movie, where the IO manager reads media_embeddings."""
    import numpy as np
    import polars as pl

    from tv5_assets.io_managers import read_frame
    from tv5_assets.schemas.embeddings import EMBEDDING_DIM, MEDIA_EMBEDDINGS

    movies = read_frame("movies", lazy=False, base_dir=data_dir / "assets").sort("movie_id")
    vectors = np.random.default_rng(seed).normal(size=(movies.height, EMBEDDING_DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    frame = pl.DataFrame(
        {"movie_id": movies["movie_id"], "media_id": movies["media_id"], "embedding": vectors}, schema=MEDIA_EMBEDDINGS
    )
    frame.write_parquet(data_dir / "assets" / "media_embeddings.parquet")
    return frame.height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--movielens-dir", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--scale", type=float, required=True, help="recorded with the figures")
    parser.add_argument("--partitions", default="9x40000", help="TV5_USER_PARTITIONS for the run")
    parser.add_argument("--keys", type=int, default=2, help="how many partitions (from the first) to load")
    parser.add_argument("--out", default=None, help="write the figures as JSON here too")
    args = parser.parse_args()

    from tv5_assets.partitions import key_digits, parse_ranges

    ranges = parse_ranges(args.partitions)
    keys = [r.key(key_digits(ranges)) for r in ranges][: args.keys]
    data_dir = Path(args.data_dir)
    env = {
        "TV5_MOVIELENS_DIR": args.movielens_dir,
        "TV5_DATA_DIR": str(data_dir),
        "TV5_USER_PARTITIONS": args.partitions,
    }
    print(f"scale {args.scale}: {machine_note()}; partitions {args.partitions}, loading {keys}", flush=True)
    figures = [step("key:links or key:movies", env), step("key:ratings", env), step("key:user_profiles", env)]
    write_media_embeddings(data_dir)
    figures.append(step("key:neo4j_constraints or key:neo4j_movies or key:neo4j_users", env))
    for key in keys:
        figures += [step(f"key:{asset}", env, key) for asset in USER_ASSETS]
    summary = {"scale": args.scale, "partitions": args.partitions, "machine": machine_note(), "steps": figures}
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=2))
    print("\n| step | partition | rows | wall s | peak RSS MB |\n|---|---|---:|---:|---:|")
    for f in figures:
        rows = sum(v for v in f["rows"].values() if v is not None)
        print(f"| {f['selection']} | {f['partition']} | {rows:,} | {f['wall_s']} | {f['peak_rss_mb']:,} |")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
