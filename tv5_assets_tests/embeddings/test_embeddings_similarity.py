"""similar_movies' blockwise top-k against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest

from tv5_assets.defs.embeddings.similarity import neighbours_frame, top_k_neighbours
from tv5_assets.schemas.embeddings import SIMILAR_MOVIES


def brute_force(vectors: np.ndarray, k: int, threshold: float) -> list[list[tuple[int, float]]]:
    """Full n x n scores in float64, a plain sort per row."""
    scores = vectors.astype(np.float64) @ vectors.astype(np.float64).T
    result = []
    for i in range(len(vectors)):
        row = [(j, scores[i, j]) for j in range(len(vectors)) if j != i and scores[i, j] >= threshold]
        row.sort(key=lambda item: (-item[1], item[0]))
        result.append(row[:k])
    return result


def clustered_unit_vectors(n: int, d: int, clusters: int, spread: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d))
    v = centres[rng.integers(0, clusters, n)] + spread * rng.standard_normal((n, d))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def as_lists(found, n: int) -> list[list[tuple[int, float]]]:
    out: list[list[tuple[int, float]]] = [[] for _ in range(n)]
    for r, c, s, rank in zip(found.rows, found.cols, found.scores, found.ranks):
        assert rank == len(out[r]) + 1
        out[r].append((int(c), float(s)))
    return out


@pytest.mark.parametrize(
    ("k", "threshold", "block_rows"), [(5, 0.8, 37), (20, 0.8, 64), (3, -1.0, 50), (500, 0.5, 1000)]
)
def test_blockwise_equals_brute_force(k: int, threshold: float, block_rows: int) -> None:
    vectors = clustered_unit_vectors(n=300, d=32, clusters=12, spread=0.35, seed=k)
    found = as_lists(top_k_neighbours(vectors, k, threshold, block_rows=block_rows, device="cpu"), len(vectors))
    expected = brute_force(vectors, k, threshold)
    compared = 0
    for mine, reference in zip(found, expected):
        assert [j for j, _ in mine] == [j for j, _ in reference]
        np.testing.assert_allclose([s for _, s in mine], [s for _, s in reference], atol=1e-5)
        compared += len(mine)
    assert compared > 300  # the case is not vacuous


def test_self_is_excluded_and_duplicates_tie_break_by_id() -> None:
    base = np.eye(6, 16, dtype=np.float32)  # orthogonal: only exact duplicates reach 0.99
    vectors = np.vstack([base[0], base[0], base[0], base[1:]])  # rows 0, 1, 2 identical
    found = top_k_neighbours(vectors, k=1, threshold=0.99, device="cpu")
    pairs = list(zip(found.rows.tolist(), found.cols.tolist()))
    assert pairs == [(0, 1), (1, 0), (2, 0)]  # ties at score 1.0 go to the smallest other id
    assert not np.any(found.rows == found.cols)


def test_k_larger_than_the_catalogue_and_tiny_inputs() -> None:
    vectors = clustered_unit_vectors(n=4, d=8, clusters=1, spread=0.01, seed=2)
    found = top_k_neighbours(vectors, k=10, threshold=0.0, device="cpu")
    assert np.bincount(found.rows).tolist() == [3, 3, 3, 3]
    assert top_k_neighbours(vectors[:1], k=5, threshold=0.0, device="cpu").rows.size == 0
    with pytest.raises(ValueError, match="top_k"):
        top_k_neighbours(vectors, k=0, threshold=0.0, device="cpu")


def test_frame_uses_movie_ids_and_the_contract() -> None:
    vectors = clustered_unit_vectors(n=50, d=16, clusters=3, spread=0.2, seed=3)
    ids = np.arange(1000, 1050, dtype=np.int32)
    frame = neighbours_frame(ids, top_k_neighbours(vectors, k=4, threshold=0.5, device="cpu"))
    assert frame.schema == SIMILAR_MOVIES
    assert frame["movie_id"].min() >= 1000 and frame["similar_movie_id"].max() < 1050
    assert frame.group_by("movie_id").len()["len"].max() <= 4
    assert (frame["score"] >= np.float32(0.5)).all()


def test_a_pair_has_one_score_both_ways() -> None:
    """Each pair is scored once (the upper part of the symmetric score matrix) and mirrored."""
    vectors = clustered_unit_vectors(n=300, d=32, clusters=12, spread=0.35, seed=3)
    found = top_k_neighbours(vectors, k=300, threshold=-1.0, block_rows=41, device="cpu")
    score = {(int(r), int(c)): float(s) for r, c, s in zip(found.rows, found.cols, found.scores)}
    assert len(score) == 300 * 299
    assert all(score[(a, b)] == score[(b, a)] for a, b in score)
