"""User preference vectors: the weighting rule, its fallbacks and the sparse product."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tv5_assets.defs.embeddings.user_vectors import (
    FALLBACK_ALL_RATED,
    LIKED,
    preference_weights,
    user_preference_vectors,
)
from tv5_assets.schemas.embeddings import USER_EMBEDDINGS


def _ratings(rows: list[tuple[int, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"user_id": [r[0] for r in rows], "movie_id": [r[1] for r in rows], "rating": [r[2] for r in rows]},
        schema={"user_id": pl.Int32, "movie_id": pl.Int32, "rating": pl.Float32},
    )


def _unit(rng: np.random.Generator, n: int, d: int = 384) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _weights(rows) -> dict[tuple[int, int], float]:
    frame = preference_weights(_ratings(rows).lazy()).collect()
    return {(u, m): round(w, 6) for u, m, w in frame.select("user_id", "movie_id", "weight").iter_rows()}


def test_weight_is_the_rating_above_the_users_own_mean() -> None:
    weights = _weights([(1, 10, 1.0), (1, 11, 3.0), (1, 12, 5.0), (2, 10, 4.5), (2, 11, 5.0)])
    assert weights == {(1, 10): 0.0, (1, 11): 0.0, (1, 12): 2.0, (2, 10): 0.0, (2, 11): 0.25}
    assert min(weights.values()) >= 0


@pytest.mark.parametrize("rating", [1.0, 3.5, 0.5])
def test_users_with_all_equal_ratings_fall_back_to_unweighted(rating: float) -> None:
    weights = _weights([(7, 10, rating), (7, 11, rating), (7, 12, rating)])
    assert set(weights.values()) == {1.0}


def test_sparse_product_equals_a_naive_loop() -> None:
    rng = np.random.default_rng(0)
    movie_ids = np.array([3, 5, 8, 13, 21, 34], dtype=np.int32)
    vectors = _unit(rng, movie_ids.size, d=8)
    rows = [
        (u, int(m), float(rng.integers(1, 11)) / 2) for u in (4, 9, 2) for m in rng.choice(movie_ids, 4, replace=False)
    ]
    rows += [(6, 3, 1.0), (6, 5, 1.0)]  # the 1.0-only user
    rows += [(5, 8, 3.0), (5, 13, 3.0), (5, 21, 3.0)]  # all equal
    rows += [(11, 34, 4.5)]  # a single rating
    result = user_preference_vectors(_ratings(rows).sample(fraction=1.0, shuffle=True, seed=1), movie_ids, vectors)

    row_of = {int(m): i for i, m in enumerate(movie_ids)}
    expected_users = sorted({r[0] for r in rows})
    assert result.user_ids.tolist() == expected_users
    for position, user in enumerate(expected_users):
        mine = [(m, r) for u, m, r in rows if u == user]
        mean = sum(r for _, r in mine) / len(mine)
        weights = [max(r - mean, 0.0) for _, r in mine]
        weighting = LIKED if sum(weights) > 0 else FALLBACK_ALL_RATED
        if weighting == FALLBACK_ALL_RATED:
            weights = [1.0] * len(mine)
        reference = sum(w * vectors[row_of[m]].astype(np.float64) for w, (m, _) in zip(weights, mine))
        reference /= np.linalg.norm(reference)
        np.testing.assert_allclose(result.vectors[position], reference, atol=1e-5)
        assert result.weighting[position] == weighting
    assert result.stats["users_fallback_all_rated"] == 3  # users 6, 5 and 11
    np.testing.assert_allclose(result.vectors[expected_users.index(11)], vectors[row_of[34]], atol=1e-6)


def test_liked_vectors_that_cancel_out_fall_back_to_all_rated() -> None:
    a = np.zeros(4, np.float32)
    a[0] = 1.0
    c = np.zeros(4, np.float32)
    c[2] = 1.0
    vectors = np.stack([a, -a, c])
    result = user_preference_vectors(_ratings([(1, 1, 5.0), (1, 2, 5.0), (1, 3, 1.0)]), np.array([1, 2, 3]), vectors)
    assert result.weighting.tolist() == [FALLBACK_ALL_RATED]
    np.testing.assert_allclose(result.vectors[0], c, atol=1e-6)


def test_ratings_of_movies_without_a_vector_are_dropped_and_counted() -> None:
    vectors = _unit(np.random.default_rng(1), 2, d=4)
    result = user_preference_vectors(_ratings([(1, 1, 5.0), (1, 2, 2.0), (1, 99, 4.0)]), np.array([1, 2]), vectors)
    assert result.stats["ratings_without_vector"] == 1 and result.stats["ratings_used"] == 2


def test_frame_follows_the_contract() -> None:
    rng = np.random.default_rng(2)
    result = user_preference_vectors(_ratings([(12, 1, 4.0), (3, 2, 2.0)]), np.array([1, 2]), _unit(rng, 2))
    frame = result.frame()
    assert frame.schema == USER_EMBEDDINGS
    assert frame["user_key"].to_list() == ["user_00000003", "user_00000012"]
