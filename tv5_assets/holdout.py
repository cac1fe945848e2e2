"""Temporal hold-out and top-k metrics (pure polars/numpy, no store, no Dagster): used by the quality
group's `recommendation_quality` (defs/quality/holdout.py re-exports them) and by `tv5 compare` (fidelity.py).

Split. A user is eligible with at least `holdout` ratings at `min_rating` or above plus at least
`min_train` other ratings. For each sampled user the test set is their last `holdout` ratings at
`min_rating` or above (by timestamp, ties broken by movie id: the higher id counts as later); the
training set is every other rating of theirs, minus any rating of a test movie (so a movie rated
twice can never sit on both sides). Ratings below `min_rating` given after the held-out ones stay in
training: only positives are held out, and no test movie is ever on the training side. Other users'
ratings are untouched.

Metrics over the evaluated users (a user without recommendations scores 0):
- HR@k: share of users with at least one test movie among their k recommendations;
- NDCG@k: binary relevance, DCG = sum over hits of 1 / log2(rank + 1), divided by the ideal DCG of
  min(k, |test|) hits at the top;
- coverage: distinct recommended movies / catalogue size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

K = 10


@dataclass(frozen=True)
class HoldoutSplit:
    users: np.ndarray  # int32, ascending: the sampled users
    eligible_users: int
    train: pl.DataFrame  # (user_id, movie_id, rating, timestamp) of the sampled users, test movies removed
    test: pl.DataFrame  # (user_id, movie_id), `holdout` rows per sampled user

    def leaked_pairs(self) -> int:
        """(user, movie) pairs present in both test and train: 0 when the split is sound."""
        return self.test.join(self.train, on=["user_id", "movie_id"], how="semi").height


def eligible_users(ratings: pl.LazyFrame, holdout: int, min_rating: float, min_train: int) -> np.ndarray:
    """Ascending ids of users with >= holdout positives and >= min_train other ratings (one lazy aggregate)."""
    per_user = (
        ratings.group_by("user_id")
        .agg(total=pl.len(), positives=(pl.col("rating") >= min_rating).sum())
        .filter((pl.col("positives") >= holdout) & (pl.col("total") - holdout >= min_train))
        .select("user_id")
        .sort("user_id")
        .collect()
    )
    return per_user["user_id"].to_numpy().astype(np.int32)


def sample_users(eligible: np.ndarray, count: int, seed: int) -> np.ndarray:
    """min(count, eligible) users drawn without replacement with a seeded generator, ascending."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(eligible, size=min(count, eligible.size), replace=False) if eligible.size else eligible
    return np.sort(chosen).astype(np.int32)


def split_holdout(
    ratings: pl.LazyFrame,
    count: int,
    seed: int,
    holdout: int = 10,
    min_rating: float = 4.0,
    min_train: int = 10,
) -> HoldoutSplit:
    """Sample users and split their ratings; only the sampled users' rows are collected."""
    eligible = eligible_users(ratings, holdout, min_rating, min_train)
    users = sample_users(eligible, count, seed)
    chosen = pl.DataFrame({"user_id": users}).lazy()
    theirs = (
        ratings.select("user_id", "movie_id", "rating", "timestamp")
        .join(chosen, on="user_id", how="semi")
        .sort("user_id", "timestamp", "movie_id", descending=[False, True, True])
        .with_columns(
            positive_rank=pl.when(pl.col("rating") >= min_rating)
            .then((pl.col("rating") >= min_rating).cum_sum().over("user_id"))
            .otherwise(None)
        )
        .collect()
    )
    is_test = pl.col("positive_rank").is_not_null() & (pl.col("positive_rank") <= holdout)
    test = theirs.filter(is_test).select("user_id", "movie_id").sort("user_id", "movie_id")
    train = (
        theirs.filter(~is_test.fill_null(False))
        .select("user_id", "movie_id", "rating", "timestamp")
        .join(test, on=["user_id", "movie_id"], how="anti")
        .sort("user_id", "movie_id")
    )
    return HoldoutSplit(users, int(eligible.size), train, test)


def score(recommended: pl.DataFrame, test: pl.DataFrame, users: int, catalogue: int, k: int = K) -> dict[str, float]:
    """HR@k, NDCG@k and coverage of `recommended` (user_id, rank 1..k, movie_id) against `test`."""
    recs = recommended.filter(pl.col("rank") <= k)
    # Sorted, groups in order: float sums taken in the join's varying row order differ in the last bit
    # from run to run, and the report must be byte-identical for the same inputs.
    hits = recs.join(test, on=["user_id", "movie_id"], how="semi").sort("user_id", "rank")
    dcg = hits.group_by("user_id", maintain_order=True).agg(
        dcg=(1.0 / (pl.col("rank").cast(pl.Float64) + 1.0).log(2)).sum()
    )
    ideal_dcg = pl.DataFrame(
        {"n": np.arange(k + 1, dtype=np.uint32), "idcg": np.r_[0.0, np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))]}
    )
    ideal = test.group_by("user_id").agg(n=pl.len().clip(upper_bound=k).cast(pl.UInt32)).join(ideal_dcg, on="n")
    per_user = (
        dcg.join(ideal, on="user_id", how="left").with_columns(ndcg=pl.col("dcg") / pl.col("idcg")).sort("user_id")
    )
    distinct = recs["movie_id"].n_unique()
    return {
        "hr": per_user.height / users if users else 0.0,
        "ndcg": float(per_user["ndcg"].sum()) / users if users else 0.0,
        "coverage": distinct / catalogue if catalogue else 0.0,
        "recommended_items": int(distinct),
    }


def random_hit_rate(test: pl.DataFrame, train: pl.DataFrame, catalogue: int, k: int = K) -> float:
    """Expected HR@k of k movies drawn uniformly from each user's unseen catalogue (hypergeometric)."""
    tested = test.group_by("user_id").agg(t=pl.len())
    seen = train.group_by("user_id").agg(s=pl.len())
    rows = tested.join(seen, on="user_id", how="left").fill_null(0)
    total = 0.0
    for t, s in zip(rows["t"].to_list(), rows["s"].to_list(), strict=True):  # one row per user (<= thousands)
        pool = max(catalogue - s, t)
        draws = min(k, pool)
        misses = pool - t
        if misses < draws:
            total += 1.0
            continue
        log_all_miss = _log_comb(misses, draws) - _log_comb(pool, draws)
        total += 1.0 - math.exp(log_all_miss)
    return total / rows.height if rows.height else 0.0


def _log_comb(n: int, r: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(r + 1) - math.lgamma(n - r + 1)


def ranked(user_ids: np.ndarray, lists: list[list[int]], k: int = K) -> pl.DataFrame:
    """(user_id, rank, movie_id) from one recommendation list per user (first k kept)."""
    lists = [list(items)[:k] for items in lists]
    lengths = np.fromiter((len(items) for items in lists), dtype=np.int64, count=len(lists))
    flat = np.fromiter((m for items in lists for m in items), dtype=np.int64, count=int(lengths.sum()))
    ranks = np.concatenate([np.arange(1, n + 1) for n in lengths]) if lengths.size else np.zeros(0, np.int64)
    return pl.DataFrame(
        {
            "user_id": np.repeat(np.asarray(user_ids, dtype=np.int32), lengths),
            "rank": ranks.astype(np.int16),
            "movie_id": flat.astype(np.int32),
        }
    )


def popularity_ranking(ratings: pl.LazyFrame, test: pl.DataFrame) -> np.ndarray:
    """Movie ids by training rating count, most rated first (ties: lower id first): every rating
    counts except the held-out ones."""
    counts = ratings.group_by("movie_id").agg(n=pl.len()).collect()
    held_out = test.group_by("movie_id").agg(held=pl.len())
    ranking = (
        counts.join(held_out, on="movie_id", how="left")
        .with_columns(n=pl.col("n") - pl.col("held").fill_null(0))
        .filter(pl.col("n") > 0)
        .sort(["n", "movie_id"], descending=[True, False])
    )
    return ranking["movie_id"].to_numpy().astype(np.int32)


def popular_unseen(users: np.ndarray, train: pl.DataFrame, ranking: np.ndarray, k: int = K) -> pl.DataFrame:
    """Per user the k most popular movies they have not rated in training: (user_id, rank, movie_id)."""
    seen = train.group_by("user_id").agg(pl.col("movie_id")).sort("user_id")
    seen_by_user = dict(zip(seen["user_id"].to_list(), seen["movie_id"].to_list(), strict=True))
    lists = []
    for user in users.tolist():  # one small numpy step per sampled user, not per rating
        mine = np.asarray(seen_by_user.get(user, []), dtype=np.int32)
        head = ranking[: k + mine.size]
        lists.append(head[~np.isin(head, mine)][:k].tolist())
    return ranked(users, lists, k)
