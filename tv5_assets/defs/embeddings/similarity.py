"""Top-k most similar movies by cosine, computed blockwise so memory stays at block x n.

For each block of rows: scores = block @ all.T (unit vectors, so the dot product is the cosine),
the row's own column is set to -inf, `topk` finds each row's k-th best score, and every column
scoring at least max(k-th score, threshold) becomes a candidate. Candidates are ordered by
(score desc, neighbour id asc) and the first k kept: ties at the k-th place are broken by id, so
the output is a pure function of the vectors (topk's own tie order never leaks out).

Runs with torch on CUDA when present, otherwise torch on CPU (multi-threaded BLAS).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from ...schemas.embeddings import SIMILAR_MOVIES

DEFAULT_TOP_K = 20
DEFAULT_THRESHOLD = 0.8
DEFAULT_CPU_BLOCK_ROWS = 1024  # 1024 x 62k float32 scores = 250 MB on the shared machine
DEFAULT_GPU_BLOCK_ROWS = 8192


@dataclass
class Neighbours:
    rows: np.ndarray  # int64 row index of the movie
    cols: np.ndarray  # int64 row index of the neighbour
    scores: np.ndarray  # float32 cosine
    ranks: np.ndarray  # int16, 1 = most similar
    seconds: float
    device: str
    block_rows: int


def resolve_block_rows(block_rows: int, device: str) -> int:
    if block_rows > 0:
        return block_rows
    return DEFAULT_GPU_BLOCK_ROWS if device.startswith("cuda") else DEFAULT_CPU_BLOCK_ROWS


def top_k_neighbours(
    vectors: np.ndarray,
    k: int = DEFAULT_TOP_K,
    threshold: float = DEFAULT_THRESHOLD,
    block_rows: int = 0,
    device: str = "cpu",
    log: Callable[[str], None] | None = None,
) -> Neighbours:
    """Each row's up to k nearest other rows with cosine >= threshold (float32 comparison)."""
    import torch

    if k < 1:
        raise ValueError(f"top_k must be at least 1 (got {k})")
    started = time.perf_counter()
    n = int(vectors.shape[0])
    block = resolve_block_rows(block_rows, device)
    empty = Neighbours(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.int16), 0.0, device, block
    )
    if n < 2:
        return empty
    kk = min(k, n - 1)
    all_vectors = torch.from_numpy(np.require(vectors, np.float32, ["C", "W"])).to(device)
    floor = torch.tensor(np.float32(threshold), device=device)
    rows_out, cols_out, scores_out = [], [], []
    next_log = 0.0
    with torch.inference_mode():
        for start in range(0, n, block):
            stop = min(start + block, n)
            r, c, s = _block_candidates(all_vectors, start, stop, kk, floor)
            rows_out.append(r)
            cols_out.append(c)
            scores_out.append(s)
            if log is not None and time.perf_counter() - started >= next_log:
                log(f"similarity: {stop:,}/{n:,} movies scored ({time.perf_counter() - started:,.1f} s)")
                next_log = time.perf_counter() - started + 10.0
    rows = np.concatenate(rows_out).astype(np.int64)
    cols = np.concatenate(cols_out).astype(np.int64)
    scores = np.concatenate(scores_out).astype(np.float32)
    # Order by row, score desc, neighbour asc; keep the first k per row (candidates include ties).
    order = np.lexsort((cols, -scores, rows))
    rows, cols, scores = rows[order], cols[order], scores[order]
    ranks = _rank_within_rows(rows)
    keep = ranks <= k
    return Neighbours(
        rows[keep], cols[keep], scores[keep], ranks[keep].astype(np.int16), time.perf_counter() - started, device, block
    )


def _block_candidates(all_vectors, start: int, stop: int, kk: int, floor) -> tuple[np.ndarray, ...]:
    """(row, col, score) of the pairs of rows start..stop-1 scoring at least both the row's kk-th best
    other row and the threshold `floor` (ties at the kk-th score included; self pairs excluded)."""
    import torch

    scores = all_vectors[start:stop] @ all_vectors.T
    local = torch.arange(stop - start, device=all_vectors.device)
    scores[local, local + start] = -torch.inf
    kth = torch.topk(scores, kk, dim=1, largest=True, sorted=False).values.min(dim=1).values
    cutoff = torch.maximum(kth, floor)
    r, c = torch.nonzero(scores >= cutoff[:, None], as_tuple=True)
    return (r + start).cpu().numpy(), c.cpu().numpy(), scores[r, c].float().cpu().numpy()


def _rank_within_rows(sorted_rows: np.ndarray) -> np.ndarray:
    """1-based position of each element within its run of equal (sorted) row values."""
    if sorted_rows.size == 0:
        return np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
    run_lengths = np.diff(np.r_[starts, sorted_rows.size])
    first_index = np.repeat(starts, run_lengths)
    return np.arange(sorted_rows.size) - first_index + 1


def neighbours_frame(movie_ids: np.ndarray, found: Neighbours) -> pl.DataFrame:
    """The `similar_movies` table (schema SIMILAR_MOVIES), sorted by movie_id then rank."""
    ids = np.asarray(movie_ids)
    frame = pl.DataFrame(
        {
            "movie_id": ids[found.rows],
            "similar_movie_id": ids[found.cols],
            "score": found.scores,
            "rank": found.ranks,
        }
    ).cast(dict(SIMILAR_MOVIES))
    return frame.sort("movie_id", "rank").select(list(SIMILAR_MOVIES))
