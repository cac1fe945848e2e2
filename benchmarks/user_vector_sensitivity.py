"""How the user vectors' norm of the mean responds to the generator's taste and rating parameters.

Issue 19's last figure (norm of the mean of the users' preference vectors <= 0.95; ml-latest-small
0.940) is measured on the demo's sample. This redraws that sample with one parameter of
`generator/taste.py` or `generator/ratings.py` changed at a time and recomputes the user vectors with
the platform's own `user_preference_vectors`, on the movie vectors of one earlier run (so no
encoder runs): for each variant, the norm of the mean, the median pair cosine and the genre-mix KL
median (`tv5 compare`'s definition). A variant that moves the catalogue leaves some ratings on movies
without a vector; they are dropped and counted.

    tv5 sample --scale 0.00375 --seed 42 --out /tmp/demo
    TV5_MOVIELENS_DIR=/tmp/demo TV5_DATA_DIR=/tmp/demo-data \\
        dagster asset materialize -m tv5_assets --select '*user_embeddings'
    python benchmarks/user_vector_sensitivity.py --assets-dir /tmp/demo-data/assets \\
        base RATING_STRENGTH=2.0 CHOICE_STRENGTH=1.0 ERA_WEIGHT=1.2

A variant is `base` or comma-separated NAME=VALUE pairs of module constants (`RATING_NOISE=0.4`,
`CHOICE_STRENGTH=1.0,PROFILE_SPREAD=0.9`). The other weightings of the same ratings are printed for
`base`: every rated movie alike, only 4.5 and 5.0 alike, 20 random rated movies per user alike.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

import tv5_assets.generator.ratings as ratings_module
import tv5_assets.generator.taste as taste_module
from tv5_assets.defs.embeddings.user_vectors import user_preference_vectors
from tv5_assets.fidelity_stats import genre_mix, median_pair_cosine
from tv5_assets.generator import write_sample

MODULES = (taste_module, ratings_module)  # ratings.py imports some of taste.py's names: set both


def figures(ratings: pl.DataFrame, movie_ids: np.ndarray, vectors: np.ndarray) -> tuple[float, float]:
    """(norm of the mean, median pair cosine as `tv5 compare` draws its pairs) of the user vectors."""
    users = user_preference_vectors(ratings, movie_ids, vectors).vectors
    return float(np.linalg.norm(users.mean(axis=0))), median_pair_cosine(users, 0)


def parse(variant: str) -> dict[str, float]:
    if variant == "base":
        return {}
    overrides = {}
    for part in variant.split(","):
        name, value = part.split("=")
        if not any(hasattr(module, name) for module in MODULES):
            raise SystemExit(f"{name}: not a constant of generator/taste.py or generator/ratings.py")
        overrides[name] = float(value)
    return overrides


def draw(overrides: dict[str, float], scale: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    saved = [(module, name, getattr(module, name)) for module in MODULES for name in overrides if hasattr(module, name)]
    try:
        for module, name, _ in saved:
            setattr(module, name, overrides[name])
        with tempfile.TemporaryDirectory() as folder:
            write_sample(folder, scale=scale, seed=seed)
            ratings = pl.read_csv(Path(folder) / "ratings.csv").rename({"userId": "user_id", "movieId": "movie_id"})
            movies = pl.read_csv(Path(folder) / "movies.csv").rename({"movieId": "movie_id"})
    finally:
        for module, name, value in saved:
            setattr(module, name, value)
    return ratings, movies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets-dir", type=Path, required=True, help="holds media_embeddings.parquet")
    parser.add_argument("--scale", type=float, default=0.00375)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("variants", nargs="+")
    args = parser.parse_args()

    embeddings = pl.read_parquet(args.assets_dir / "media_embeddings.parquet")
    movie_ids = embeddings["movie_id"].to_numpy()
    vectors = np.stack(embeddings["embedding"].to_numpy()).astype(np.float32)
    print(f"{'variant':40s} {'norm of mean':>12s} {'pair cosine':>11s} {'genre KL':>9s} {'dropped':>8s}")
    for variant in args.variants:
        ratings, movies = draw(parse(variant), args.scale, args.seed)
        dropped = int((~ratings["movie_id"].is_in(pl.Series(movie_ids).implode())).sum())
        norm, cosine = figures(ratings, movie_ids, vectors)
        kl = genre_mix(ratings, movies, 11)["genre_kl_median"]
        print(f"{variant:40s} {norm:12.4f} {cosine:11.4f} {kl:9.4f} {dropped:8d}")
        if variant == "base":
            alike = pl.lit(3.0)
            top = ratings.filter(pl.col("rating") >= 4.5)
            twenty = ratings.filter(pl.int_range(pl.len()).shuffle(seed=1).over("user_id") < 20)
            for label, frame in (
                ("  every rated movie alike", ratings),
                ("  only 4.5 and 5.0, alike", top),
                ("  20 random rated movies, alike", twenty),
            ):
                print(f"{label:40s} {figures(frame.with_columns(rating=alike), movie_ids, vectors)[0]:12.4f}")


if __name__ == "__main__":
    main()
