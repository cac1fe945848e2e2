"""Benchmark of the `embeddings` group's heavy steps, printing figures (run under the heavy lock):

    flock /tmp/tv5-heavy.lock python benchmarks/bench_embeddings.py [--texts 3000] [--skip-users]

1. media embeddings on CPU: texts/s in float32 and in bfloat16 (the default only on CPUs with
   AMX; elsewhere it is the slower one), and their cosine agreement. Texts are media_text rendered from
   $TV5_FULL_ASSETS/{movies,movie_genome,tags}.parquet when present (default /tmp/tv5-full/data/
   assets), else synthetic texts of the same shape (title, year, genres, 10 genome-style tags).
2. user_embeddings at full scale: ratings from $TV5_FULL_ASSETS/ratings(.parquet|/) when present,
   else 25,000,095 synthetic ratings (162,541 users, 62,423 movies, schema of `ratings`); movie
   vectors are random unit vectors (the product's cost does not depend on their values).
3. similar_movies at 62,423 movies: random unit vectors (timing only: random 384-dim vectors have
   almost no pairs above 0.8, so this times the block matmul + top-k, which dominates).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from gpu_embed import synthetic_texts  # noqa: E402  (the same texts as the standalone GPU check)
from harness import machine_note  # noqa: E402

FULL_MOVIES = 62_423
FULL_USERS = 162_541
FULL_RATINGS = 25_000_095
DIM = 384


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024


def full_assets_dir() -> Path:
    return Path(os.environ.get("TV5_FULL_ASSETS", "/tmp/tv5-full/data/assets"))


def _frame(name: str) -> pl.LazyFrame | None:
    base = full_assets_dir()
    if (base / f"{name}.parquet").exists():
        return pl.scan_parquet(base / f"{name}.parquet")
    if (base / name).is_dir():
        return pl.scan_parquet(str(base / name / "*.parquet"))
    return None


def texts_for_benchmark(n: int) -> tuple[list[str], str]:
    movies, genome, tags = _frame("movies"), _frame("movie_genome"), _frame("tags")
    if movies is not None and genome is not None and tags is not None:
        from tv5_assets.defs.embeddings.text import build_media_text

        frame = build_media_text(movies, genome, tags)
        # A spread of the catalogue (not just the first ids): every k-th movie.
        step = max(1, frame.height // n)
        return frame["text"].gather_every(step).head(n).to_list(), f"media_text of {full_assets_dir()}"
    return synthetic_texts(n), "synthetic texts (title, year, genres, 10 tags)"


def bench_media(n_texts: int, batch_size: int, repeats: int) -> None:
    from tv5_assets.encoder.model import encode_texts, load_model

    texts, origin = texts_for_benchmark(n_texts)
    print(f"\n== media embeddings on CPU: {len(texts):,} texts from {origin}, batch {batch_size}", flush=True)
    results = {}
    for precision in ("float32", "bfloat16"):
        loaded = load_model(device="cpu", precision=precision)
        encode_texts(loaded, texts[: batch_size * 2], batch_size)  # warm-up
        best, vectors = 0.0, None
        for _ in range(repeats):
            vectors, stats = encode_texts(loaded, texts, batch_size)
            best = max(best, stats.texts_per_second)
        results[loaded.precision] = vectors
        print(
            f"{loaded.precision:>9s}: {best:8.1f} texts/s (best of {repeats}); 62,423 texts in about "
            f"{FULL_MOVIES / best:6.0f} s  [{loaded.threads} threads]",
            flush=True,
        )
    names = list(results)
    if len(names) == 2:
        cosine = np.einsum("ij,ij->i", results[names[0]], results[names[1]])
        print(
            f"cosine {names[1]} vs float32: min {cosine.min():.5f}, p01 {np.quantile(cosine, 0.01):.5f}, "
            f"mean {cosine.mean():.5f}",
            flush=True,
        )


def synthetic_ratings(seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    users = np.sort(rng.integers(1, FULL_USERS + 1, FULL_RATINGS, dtype=np.int32))
    movies = rng.integers(1, FULL_MOVIES + 1, FULL_RATINGS, dtype=np.int32)
    ratings = rng.integers(1, 11, FULL_RATINGS).astype(np.float32) / 2
    return pl.DataFrame({"user_id": users, "movie_id": movies, "rating": ratings})


def random_unit_vectors(n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM), dtype=np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v


def bench_users() -> None:
    from tv5_assets.defs.embeddings.user_vectors import user_preference_vectors

    ratings = _frame("ratings")
    movies = _frame("movies")
    if ratings is not None and movies is not None:
        origin = f"{full_assets_dir()}/ratings"
        movie_ids = movies.select("movie_id").sort("movie_id").collect()["movie_id"].to_numpy()
    else:
        origin = "synthetic (schema of `ratings`)"
        ratings = synthetic_ratings().lazy()
        movie_ids = np.arange(1, FULL_MOVIES + 1, dtype=np.int32)
    vectors = random_unit_vectors(movie_ids.size, seed=1)
    print(f"\n== user_embeddings at full scale: ratings from {origin}", flush=True)
    started = time.perf_counter()
    result = user_preference_vectors(ratings, movie_ids, vectors)
    wall = time.perf_counter() - started
    s = result.stats
    print(
        f"{s['users']:,} users, {s['ratings_used']:,} ratings: {wall:.1f} s "
        f"(prepare {s['prepare_seconds']} s, csr {s['csr_seconds']} s, product {s['product_seconds']} s, "
        f"normalise {s['normalise_seconds']} s); {s['users_fallback_all_rated']:,} fallback users; "
        f"peak RSS {peak_rss_gb():.2f} GB",
        flush=True,
    )


def bench_similarity() -> None:
    from tv5_assets.defs.embeddings.similarity import top_k_neighbours

    vectors = random_unit_vectors(FULL_MOVIES, seed=2)
    print(f"\n== similar_movies at {FULL_MOVIES:,} movies (random unit vectors), CPU", flush=True)
    found = top_k_neighbours(vectors, k=20, threshold=0.8, device="cpu")
    print(
        f"{found.seconds:.1f} s ({FULL_MOVIES / found.seconds:,.0f} movies/s, block {found.block_rows} rows), "
        f"{found.rows.size:,} pairs >= 0.8; peak RSS {peak_rss_gb():.2f} GB",
        flush=True,
    )
    found = top_k_neighbours(vectors, k=20, threshold=-1.0, device="cpu")
    print(f"same, threshold -1 (every movie gets 20): {found.seconds:.1f} s, {found.rows.size:,} pairs", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=3000, help="texts to embed per precision")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-media", action="store_true")
    parser.add_argument("--skip-users", action="store_true")
    parser.add_argument("--skip-similarity", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine_note()}", flush=True)
    if not args.skip_media:
        bench_media(args.texts, args.batch_size, args.repeats)
    if not args.skip_users:
        bench_users()
    if not args.skip_similarity:
        bench_similarity()


if __name__ == "__main__":
    main()
