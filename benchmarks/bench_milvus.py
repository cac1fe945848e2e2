"""Milvus load benchmark at full MovieLens 25M scale: 62,423 media + 162,541 user vectors, 384-d.

Runs the group's own load path (`load_blue_green`: column-wise inserts <= 20 MB, flush, each
collection's index (HNSW for media, IVF_FLAT for users) verified by describe_index, load, alias
switch) and prints insert rows/s, index build seconds, search latency p50/p95/p99 (top-10, one
query per call, the collection's search parameters), self-recall (a stored vector finds itself
first) and recall@10 against exact brute-force cosine on a sample of stored vectors; with real
vectors, the media collection is also searched with users' preference vectors (the platform's
user-to-media query: its own p50 and recall@10). `--user-index` tries other indexes for the users.

Vectors: when the full-scale upstream Parquet assets exist (media_embeddings, movies,
user_embeddings, user_profiles under --assets-dir) their real rows are loaded. Otherwise synthetic
unit vectors: `--vectors lowrank` (default) draws them from a 48-dimensional latent space plus
small noise, closer to sentence embeddings than uniform noise; `--vectors random` is uniform on the
sphere, on which every HNSW engine shows low recall in 384-d (see docs/field-notes.md).

By default the benchmark starts its own local Milvus (`--engine server`, the real Milvus 2.3 that
`tv5 services` runs, or `--engine lite`) on a spare port and a scratch folder (so the development
store is untouched) and stops it at the end; `--uri` targets another server.

    flock /tmp/tv5-heavy.lock ~/.cache/tv5/venv/bin/python benchmarks/bench_milvus.py
    ... --media-only / --users 50000 for quicker runs
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import machine_note  # noqa: E402

from tv5_assets.resources.milvus import MilvusResource  # noqa: E402
from tv5_assets.schemas.movielens import GENRES  # noqa: E402
from tv5_assets.services.milvus import MilvusLiteService, MilvusServerService  # noqa: E402
from tv5_assets.stores.milvus.collections import (
    MEDIA_COLLECTION,
    USER_COLLECTION,
    VECTOR_FIELD,
    CollectionSpec,
    IndexSpec,
    media_rows,
    user_rows,
)
from tv5_assets.stores.milvus.loading import load_blue_green  # noqa: E402

FULL_MEDIA = 62_423
FULL_USERS = 162_541
DIM = 384
ARCHETYPES = ["cinephile", "casual", "family", "young_adult", "senior", "international", "genre_specialist"]


def unit_vectors(n: int, kind: str, rng: np.random.Generator, latent: int = 48) -> np.ndarray:
    if kind == "random":
        vectors = rng.standard_normal((n, DIM), dtype=np.float32)
    else:
        basis = rng.standard_normal((latent, DIM), dtype=np.float32)
        vectors = rng.standard_normal((n, latent), dtype=np.float32) @ basis
        vectors += (
            0.15
            * np.linalg.norm(vectors, axis=1, keepdims=True)
            / np.sqrt(DIM)
            * rng.standard_normal((n, DIM), dtype=np.float32)
        )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def synthetic_media(n: int, kind: str, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    movie_id = np.sort(rng.choice(np.arange(1, 210_000), size=n, replace=False)).astype(np.int64)
    genre_index = rng.integers(0, len(GENRES), size=(n, 3))
    genre_count = rng.integers(0, 4, size=n)
    genres = pl.Series([[GENRES[g] for g in row[:k]] for row, k in zip(genre_index, genre_count, strict=True)])
    year = pl.Series(rng.integers(1900, 2020, n).astype(np.int16)).scatter(np.arange(0, n, 40), None)
    title = pl.Series([f"Synthetic movie {i}" for i in movie_id])
    return pl.DataFrame(
        {
            "movie_id": movie_id,
            "media_id": pl.Series(movie_id).cast(pl.String).str.replace(r"^", "ml_"),
            "title": title,
            "display_title": title,
            "year": year,
            "genres": genres.list.unique(maintain_order=True),
            VECTOR_FIELD: unit_vectors(n, kind, rng),
        },
        schema=MEDIA_COLLECTION.polars_schema(),
    )


def synthetic_users(n: int, kind: str, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    user_id = np.arange(1, n + 1, dtype=np.int64)
    return pl.DataFrame(
        {
            "movielens_user_id": user_id,
            "user_id": pl.Series(user_id).cast(pl.String).str.zfill(8).str.replace(r"^", "user_"),
            "archetype": rng.choice(ARCHETYPES, n),
            "country": rng.choice(["US", "FR", "DE", "ES", "IT", "CA", "UK"], n),
            "weighting": rng.choice(["liked", "fallback_all_rated"], n, p=[0.95, 0.05]),
            VECTOR_FIELD: unit_vectors(n, kind, rng),
        },
        schema=USER_COLLECTION.polars_schema(),
    )


def real_rows(assets_dir: Path, users: bool) -> pl.DataFrame | None:
    names = ("user_embeddings", "user_profiles") if users else ("media_embeddings", "movies")
    paths = []
    for name in names:
        folder, file = assets_dir / name, assets_dir / f"{name}.parquet"
        paths.append(str(folder / "*.parquet") if folder.is_dir() else str(file) if file.exists() else None)
    if None in paths:
        return None
    frames = [pl.scan_parquet(p) for p in paths]
    return user_rows(*frames) if users else media_rows(*frames)


def measure_search(client, alias: str, spec: CollectionSpec, rows: pl.DataFrame, queries: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    vectors = rows[VECTOR_FIELD].to_numpy()
    ids = rows[spec.primary_key.name].to_numpy()
    sample = rng.choice(rows.height, size=min(queries, rows.height), replace=False)
    # Exact top-10 by cosine (vectors are unit length): a matrix product over everything.
    exact = np.argpartition(-(vectors[sample] @ vectors.T), 10, axis=1)[:, :10]
    latencies, answers = [], []
    for query_row in sample:  # timed back to back, as a served query stream; scored afterwards
        started = time.perf_counter()
        answers.append(
            client.search(alias, data=[vectors[query_row]], limit=10, search_params=spec.index.search_params)[0]
        )
        latencies.append((time.perf_counter() - started) * 1000)
    recalls, found_self = [], []
    for query_row, truth, hits in zip(sample, exact, answers, strict=True):
        found = [int(hit.get(spec.primary_key.name, hit.get("id"))) for hit in hits]
        recalls.append(len(set(found) & set(ids[truth].tolist())) / 10)
        found_self.append(bool(found) and (found[0] == ids[query_row] or abs(float(hits[0]["distance"]) - 1.0) < 1e-5))
    started = time.perf_counter()
    client.search(alias, data=[vectors[i] for i in sample[:100]], limit=10, search_params=spec.index.search_params)
    batch_ms = (time.perf_counter() - started) * 1000
    return {
        "search_p50_ms": float(np.percentile(latencies, 50)),
        "search_p95_ms": float(np.percentile(latencies, 95)),
        "search_p99_ms": float(np.percentile(latencies, 99)),
        "self_recall": float(np.mean(found_self)),
        "batch_100_queries_ms": batch_ms,
        "recall_at_10": float(np.mean(recalls)),
        "queries": len(sample),
    }


def measure_cross(client, alias: str, spec: CollectionSpec, rows: pl.DataFrame, queries: np.ndarray) -> dict:
    """Search the collection with vectors from elsewhere (users' preference vectors against the movies:
    the platform's user-to-media query): latency and recall@10 against exact cosine."""
    vectors = rows[VECTOR_FIELD].to_numpy()
    ids = rows[spec.primary_key.name].to_numpy()
    exact = np.argpartition(-(queries @ vectors.T), 10, axis=1)[:, :10]
    latencies, recalls = [], []
    for query, truth in zip(queries, exact, strict=True):
        started = time.perf_counter()
        hits = client.search(alias, data=[query], limit=10, search_params=spec.index.search_params)[0]
        latencies.append((time.perf_counter() - started) * 1000)
        found = {int(hit.get(spec.primary_key.name, hit.get("id"))) for hit in hits}
        recalls.append(len(found & set(ids[truth].tolist())) / 10)
    return {
        "cross_p50_ms": float(np.percentile(latencies, 50)),
        "cross_p95_ms": float(np.percentile(latencies, 95)),
        "cross_recall_at_10": float(np.mean(recalls)),
        "cross_queries": len(queries),
    }


def bench_collection(
    client, spec: CollectionSpec, rows: pl.DataFrame, source: str, queries: int, cross: np.ndarray | None = None
) -> dict:
    alias = f"bench_{spec.logical_name}"
    started = time.perf_counter()
    report = load_blue_green(client, spec, rows, alias=alias, log=lambda message: print(f"  {message}", flush=True))
    total = time.perf_counter() - started
    figures = {
        "collection": spec.logical_name,
        "source": source,
        "rows": report.rows,
        "batches": report.batches,
        "rows_per_batch": report.rows_per_batch,
        "insert_s": round(report.insert_seconds, 1),
        "insert_rows_per_s": round(report.insert_rows_per_second),
        "flush_s": round(report.flush_seconds, 1),
        "index_s": round(report.index_seconds, 1),
        "load_s": round(report.load_seconds, 1),
        "index_build_s": round(report.index_seconds + report.load_seconds, 1),
        "total_load_s": round(total, 1),
        "index_params": report.index_params,
    }
    figures.update(
        {
            k: round(v, 3) if isinstance(v, float) else v
            for k, v in measure_search(client, alias, spec, rows, queries, 7).items()
        }
    )
    print(
        f"{spec.logical_name:17s} {report.rows:>8,} rows ({source}) | insert {figures['insert_s']:6.1f} s "
        f"{figures['insert_rows_per_s']:>7,} rows/s | flush {figures['flush_s']:5.1f} s | index build "
        f"{figures['index_build_s']:6.1f} s (create+wait {figures['index_s']:.1f}, load {figures['load_s']:.1f}) | "
        f"search {spec.index.describe()} top-10 p50 {figures['search_p50_ms']:.1f} ms p95 {figures['search_p95_ms']:.1f} ms "
        f"p99 {figures['search_p99_ms']:.1f} ms, 100-query batch {figures['batch_100_queries_ms']:.0f} ms | "
        f"self-recall {figures['self_recall']:.3f} recall@10 {figures['recall_at_10']:.3f}",
        flush=True,
    )
    if cross is not None:
        figures.update({k: round(v, 3) for k, v in measure_cross(client, alias, spec, rows, cross).items()})
        print(
            f"{spec.logical_name:17s} searched with {len(cross)} user preference vectors: top-10 p50 "
            f"{figures['cross_p50_ms']:.1f} ms p95 {figures['cross_p95_ms']:.1f} ms | recall@10 {figures['cross_recall_at_10']:.3f}",
            flush=True,
        )
    print(json.dumps(figures), flush=True)
    client.drop_alias(alias)
    client.drop_collection(report.collection)
    return figures


def user_queries(assets_dir: Path, n: int, seed: int = 5) -> np.ndarray | None:
    """A seeded sample of the real users' preference vectors, when the assets are there."""
    rows = real_rows(assets_dir, users=True)
    if rows is None:
        return None
    vectors = rows[VECTOR_FIELD].to_numpy()
    return vectors[np.random.default_rng(seed).choice(len(vectors), size=min(n, len(vectors)), replace=False)]


def index_spec(text: str) -> IndexSpec:
    """TYPE:k=v,...:k=v,... -> IndexSpec (build parameters, then search parameters)."""
    kind, build, search = (text.split(":") + ["", ""])[:3]

    def params(part: str) -> dict[str, int]:
        return {k: int(v) for k, v in (item.split("=") for item in part.split(",") if item)}

    return IndexSpec(kind, params(build), params(search))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets-dir", type=Path, default=Path("/tmp/tv5-full/data/assets"))
    parser.add_argument("--vectors", choices=["lowrank", "random"], default="lowrank")
    parser.add_argument("--media", type=int, default=FULL_MEDIA)
    parser.add_argument("--users", type=int, default=FULL_USERS)
    parser.add_argument("--media-only", action="store_true")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--uri", help="an existing Milvus server (default: start a private local one)")
    parser.add_argument("--engine", choices=["server", "lite"], default="server", help="the private local engine")
    parser.add_argument("--port", type=int, default=59538)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/tv5-milvus/bench-server"))
    parser.add_argument(
        "--user-index",
        action="append",
        type=index_spec,
        help="Try this index for the users instead of the collection's own, as TYPE:build=v,...:search=v,... "
        "(e.g. HNSW:M=16,efConstruction=200:ef=64; repeatable: each is loaded and measured in turn).",
    )
    parser.add_argument(
        "--media-index",
        action="append",
        type=index_spec,
        help="The same for the media collection (with --media-only: each is loaded and measured in turn).",
    )
    args = parser.parse_args()

    print(
        f"machine: {machine_note()}; engine {args.uri or args.engine}, pymilvus {__import__('pymilvus').__version__}",
        flush=True,
    )
    service = None
    if args.uri is None:
        shutil.rmtree(args.scratch, ignore_errors=True)
        service = (MilvusServerService if args.engine == "server" else MilvusLiteService)(
            data_dir=args.scratch, port=args.port
        )
        os.environ.pop("TV5_MILVUS_URI", None)
        service.up()
        uri = service.uri
    else:
        uri = args.uri
    try:
        resource = MilvusResource(uri=uri, token=os.environ.get("TV5_MILVUS_TOKEN"), timeout_s=60)
        with resource.get_client() as client:
            user_specs = [replace(USER_COLLECTION, index=index) for index in args.user_index or [USER_COLLECTION.index]]
            media_specs = [
                replace(MEDIA_COLLECTION, index=index) for index in args.media_index or [MEDIA_COLLECTION.index]
            ]
            plans = ([] if args.user_index else [(spec, False, args.media) for spec in media_specs]) + (
                [] if args.media_only else [(spec, True, args.users) for spec in user_specs]
            )
            for spec, users, n in plans:
                rows = real_rows(args.assets_dir, users)
                source = f"real vectors from {args.assets_dir}"
                cross = None if users else user_queries(args.assets_dir, args.queries)
                if rows is None:
                    rows = (synthetic_users if users else synthetic_media)(n, args.vectors, seed=11 if users else 10)
                    source = f"synthetic {args.vectors} vectors"
                    cross = None
                bench_collection(client, spec, rows, source, args.queries, cross)
                del rows
    finally:
        if service is not None:
            service.down()
            shutil.rmtree(args.scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
