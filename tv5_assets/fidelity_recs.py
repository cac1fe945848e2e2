"""Recommendation signal of a MovieLens-format folder, measured from its ratings alone (for `tv5 compare`).

On the temporal hold-out of `tv5_assets/holdout.py` (a seeded sample of users, each user's last 10
ratings at 4.0+ held out), three HR@10 figures:
- popularity: the most rated movies the user has not rated in training (holdout.popular_unseen);
- random: the expected HR@10 of 10 unseen movies drawn uniformly (holdout.random_hit_rate);
- co-rating: the graph method of `recommendation_quality` (defs/quality/recommendation.py) in pure
  polars instead of Neo4j. Seeds are the user's 20 most recent training positives; per seed, 50 other
  users who rated it 4.0+, picked by the same seeded hash of their ids; the 50 neighbours sharing most
  seeds vote with their own 4.0+ ratings (every rating of theirs, as the graph holds them all); the 10
  most voted movies the user has not rated in training win (ties: lower movie id).
Data where taste is real lets co-rating beat popularity; random data leaves it near popularity.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .holdout import K, popular_unseen, popularity_ranking, random_hit_rate, score, split_holdout

# The co-rating walk's id hash (also the graph method's first hop): a storage-independent, seeded
# order of raters (Knuth's multiplicative hash).
HASH_MULTIPLIER = 2654435761
HASH_MODULUS = 4294967296
PACK = 2**32  # (user, movie) packed into one int64: user * PACK + movie (ids are positive int32)


@dataclass(frozen=True)
class CoRatingBounds:
    seed_movies: int = 20  # the user's most recent training positives the walk starts from
    raters_per_movie: int = 50  # other users kept per seed movie: a seeded hash order of their ids
    seed: int = 11  # of that order
    neighbours: int = 50  # neighbours kept: most seeds shared, then user id
    min_rating: float = 4.0


def seed_movies(train: pl.DataFrame, bounds: CoRatingBounds) -> pl.DataFrame:
    """(user_id, movie_id): each user's `seed_movies` most recent training positives."""
    return (
        train.filter(pl.col("rating") >= bounds.min_rating)
        .sort("user_id", "timestamp", "movie_id", descending=[False, True, True])
        .group_by("user_id", maintain_order=True)
        .head(bounds.seed_movies)
        .select(pl.col("user_id").cast(pl.Int64), pl.col("movie_id").cast(pl.Int64))
    )


def co_rating_neighbours(ratings: pl.LazyFrame, seeds: pl.DataFrame, bounds: CoRatingBounds) -> pl.DataFrame:
    """(user_id, neighbour): per user the `neighbours` others sharing most seeds (ties: lower id);
    per seed only its first `raters_per_movie` positive raters in the hash order count."""
    raters = (
        ratings.filter(pl.col("rating") >= bounds.min_rating)
        .select(pl.col("movie_id").cast(pl.Int64), other=pl.col("user_id").cast(pl.Int64))
        .join(seeds.lazy().select("movie_id").unique(), on="movie_id", how="semi")
        .with_columns(key=(pl.col("other") * HASH_MULTIPLIER + bounds.seed) % HASH_MODULUS)
        # The first raters_per_movie + 1 (one more, in case the user is among them) in (key, other) order:
        # a partial sort per movie, 3x faster than sorting every positive rating of the seeds.
        .group_by("movie_id")
        .agg(pl.col("other", "key").top_k_by(["key", "other"], k=bounds.raters_per_movie + 1, reverse=True))
        .explode("other", "key")
        .collect()
    )
    return (
        seeds.join(raters, on="movie_id")
        .filter(pl.col("other") != pl.col("user_id"))
        .sort("user_id", "movie_id", "key", "other")
        .group_by("user_id", "movie_id", maintain_order=True)
        .head(bounds.raters_per_movie)
        .group_by("user_id", "other")
        .agg(shared=pl.len())
        .sort(["user_id", "shared", "other"], descending=[False, True, False])
        .group_by("user_id", maintain_order=True)
        .head(bounds.neighbours)
        .select("user_id", neighbour="other")
    )


def co_rating_recommendations(ratings: pl.LazyFrame, train: pl.DataFrame, bounds: CoRatingBounds) -> pl.DataFrame:
    """(user_id, rank, movie_id): the K unseen movies most voted by each user's co-rating neighbours."""
    neighbours = co_rating_neighbours(ratings, seed_movies(train, bounds), bounds)
    # Only the neighbours' positives: a filter on a few thousand ids, not a join over every rating.
    ids = {"user_id": pl.Int32, "movie_id": pl.Int32}
    wanted = neighbours["neighbour"].unique().cast(pl.Int32)
    positives = (
        ratings.filter((pl.col("rating") >= bounds.min_rating) & pl.col("user_id").is_in(wanted.implode()))
        .select(neighbour="user_id", movie_id="movie_id")
        .cast({"neighbour": pl.Int32, "movie_id": pl.Int32})
    )
    votes = (
        neighbours.lazy()
        .cast({"user_id": pl.Int32, "neighbour": pl.Int32})
        .join(positives, on="neighbour")
        # Millions of (user, movie) rows when neighbours are heavy raters: one packed 64-bit key groups
        # them 2-4x faster than the two columns.
        .group_by(pair=pl.col("user_id").cast(pl.Int64) * PACK + pl.col("movie_id"))
        .agg(votes=pl.len())
        .select(
            user_id=(pl.col("pair") // PACK).cast(pl.Int32),
            movie_id=(pl.col("pair") % PACK).cast(pl.Int32),
            votes="votes",
        )
        .join(train.lazy().select(*ids).cast(ids), on=["user_id", "movie_id"], how="anti")
    )
    return (
        votes.group_by("user_id")  # the K most voted per user, ties to the lower movie id: a partial sort
        .agg(pl.col("movie_id", "votes").top_k_by(["votes", "movie_id"], k=K, reverse=[False, True]))
        .explode("movie_id", "votes")
        .sort(["user_id", "votes", "movie_id"], descending=[False, True, False])
        .select(
            "user_id",
            rank=pl.int_range(1, pl.len() + 1).over("user_id").cast(pl.Int16),
            movie_id="movie_id",
        )
        .collect(engine="streaming")  # the join above can reach tens of millions of rows at ml-25m size
    )


def recommendation_signal(ratings: pl.DataFrame, catalogue: int, users: int, seed: int) -> dict[str, float | None]:
    """HR@10 of popularity, random and co-rating on a hold-out of `users` seeded users; None when no
    user is eligible (>= 10 ratings at 4.0+ and >= 10 others)."""
    lazy = ratings.lazy()
    split = split_holdout(lazy, users, seed)
    evaluated = int(split.users.size)
    if evaluated == 0:
        return dict.fromkeys(("holdout_users", "hr_popularity", "hr_random", "hr_corating", "corating_lift"))
    popular = popular_unseen(split.users, split.train, popularity_ranking(lazy, split.test))
    corating = co_rating_recommendations(lazy, split.train, CoRatingBounds(seed=seed))
    hr_popular = score(popular, split.test, evaluated, catalogue)["hr"]
    hr_corating = score(corating, split.test, evaluated, catalogue)["hr"]
    return {
        "holdout_users": evaluated,
        "hr_popularity": hr_popular,
        "hr_random": random_hit_rate(split.test, split.train, catalogue),
        "hr_corating": hr_corating,
        "corating_lift": hr_corating / hr_popular if hr_popular else None,
    }
