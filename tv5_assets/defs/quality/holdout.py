"""Temporal hold-out and top-k metrics for `recommendation_quality`: the pure functions live in
`tv5_assets/holdout.py` (no Dagster), so `tv5 compare` (fidelity.py) reuses them without loading the
asset definitions; this module keeps the quality group's import path."""

from ...holdout import (
    HoldoutSplit,
    K,
    eligible_users,
    popular_unseen,
    popularity_ranking,
    random_hit_rate,
    ranked,
    sample_users,
    score,
    split_holdout,
)

__all__ = [
    "K",
    "HoldoutSplit",
    "eligible_users",
    "popular_unseen",
    "popularity_ranking",
    "random_hit_rate",
    "ranked",
    "sample_users",
    "score",
    "split_holdout",
]
