"""Shared building blocks of the synthetic generators: seeded random streams, vectorized sampling,
a canonical content digest and small formatting helpers.

Nothing here imports Dagster, so the generators stay plain functions of (inputs, seed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import polars as pl

SEED_MASK = (1 << 63) - 1


def rng_for(seed: int, *stream: str) -> np.random.Generator:
    """An independent PCG64 stream for `(seed, *stream)`, e.g. `rng_for(42, "user_profiles", "names")`.

    The stream names are hashed with BLAKE2 (stable across processes, unlike `hash()`), so each
    asset, and each part of an asset, draws from its own stream: adding a draw to one part never
    shifts the numbers another part sees.
    """
    if seed < 0:
        raise ValueError(f"seed must be >= 0 (got {seed}); set a non-negative seed in the asset config")
    words = [seed & SEED_MASK]
    for name in stream:
        words.append(int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little"))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def categorical(rng: np.random.Generator, probabilities: Sequence[float], size: int) -> np.ndarray:
    """`size` draws of category indices with fixed probabilities (normalised here)."""
    p = np.asarray(probabilities, dtype=np.float64)
    return rng.choice(p.size, size=size, p=p / p.sum()).astype(np.int64)


def categorical_by_row(rng: np.random.Generator, table: np.ndarray, row_group: np.ndarray) -> np.ndarray:
    """One draw per row from `table[row_group[i]]` (a probability table with one row per group).

    Inverse CDF on a small table: `(u > cdf).sum()` picks the category without a Python loop.
    """
    table = np.asarray(table, dtype=np.float64)
    cdf = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(row_group.shape[0])
    picks = (u[:, None] > cdf[row_group]).sum(axis=1)
    return np.minimum(picks, table.shape[1] - 1).astype(np.int64)


def weighted_order(rng: np.random.Generator, weights: np.ndarray, force_first: np.ndarray | None = None) -> np.ndarray:
    """Random order of the columns of `weights` per row, as weighted sampling without replacement.

    Gumbel-top-k: the first k columns of the returned order are a weighted sample of k items
    without replacement (zero weight = never chosen before every positive one). `force_first`
    (a column index per row, -1 for none) puts that column first regardless of weight.
    """
    with np.errstate(divide="ignore"):
        keys = np.log(np.asarray(weights, dtype=np.float64)) + rng.gumbel(size=weights.shape)
    if force_first is not None:
        rows = np.flatnonzero(force_first >= 0)
        keys[rows, force_first[rows]] = np.inf
    return np.argsort(-keys, axis=1, kind="stable")


def zscore(values: np.ndarray, clip: float = 3.0) -> np.ndarray:
    """Standardise across entities and clip; a constant feature gives zeros (no signal, no NaN)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    std = values.std()
    if not np.isfinite(std) or std < 1e-12:
        return np.zeros_like(values)
    return np.clip((values - values.mean()) / std, -clip, clip)


def rank_percentile(values: np.ndarray, ties: str = "average") -> np.ndarray:
    """Rank scaled to [0, 1]; ties share a rank, so equal histories get equal weights.

    ties="average" puts a tied block in its middle; ties="min" puts it at its lowest rank, so the
    many users with a zero share (never rate at that time) sit at the bottom, not mid-table.
    """
    if values.size == 0:
        return np.zeros(0)
    if values.size == 1:
        return np.full(1, 0.5)
    ranks = pl.Series(values).rank(ties).to_numpy().astype(np.float64)
    return (ranks - 1) / (values.size - 1)


def lists_from_codes(options: Sequence[Sequence[str]], codes: np.ndarray) -> pl.Series:
    """A `List(String)` column from integer codes into a small table of list values (vectorized)."""
    table = pl.Series("options", [list(option) for option in options], dtype=pl.List(pl.String))
    return table.gather(pl.Series(codes.astype(np.int64)))


def bitmask_lists(labels: Sequence[str]) -> list[list[str]]:
    """All subsets of `labels` indexed by bitmask (bit i = labels[i]), labels kept in given order."""
    return [[label for bit, label in enumerate(labels) if mask & (1 << bit)] for mask in range(1 << len(labels))]


# --------------------------------------------------------------------------- content digest
def frame_digest(df: pl.DataFrame) -> str:
    """SHA-256 of a frame's logical content: column names, dtypes and values in row order.

    Canonical by construction (values, list lengths and null masks are hashed, not Arrow buffers,
    whose layout depends on how a column was built), so a frame read back from Parquet hashes the
    same as the one that was written. Used to prove determinism: same inputs + seed -> same digest.
    """
    digest = hashlib.sha256()
    digest.update(f"rows={df.height};".encode())
    for name, dtype in df.schema.items():
        digest.update(f"{name}:{dtype};".encode())
        _hash_series(digest, df.get_column(name))
    return digest.hexdigest()


def _hash_series(digest: hashlib._Hash, series: pl.Series) -> None:
    series = series.rechunk()
    if series.null_count():
        digest.update(b"nulls")
        digest.update(np.packbits(series.is_null().to_numpy()).tobytes())
    dtype = series.dtype
    if dtype == pl.String:
        filled = series.fill_null("")
        digest.update(np.ascontiguousarray(filled.str.len_bytes().to_numpy()).tobytes())
        digest.update(filled.str.join("").item().encode())
    elif isinstance(dtype, pl.List):
        digest.update(np.ascontiguousarray(series.list.len().fill_null(0).to_numpy()).tobytes())
        _hash_series(digest, series.explode(empty_as_null=False))
    elif isinstance(dtype, pl.Array):
        digest.update(np.ascontiguousarray(series.to_numpy()).tobytes())
    elif dtype.is_numeric() or dtype == pl.Boolean or dtype.is_temporal():
        physical = series.to_physical()
        if physical.null_count():
            physical = physical.fill_null(0)
        digest.update(np.ascontiguousarray(physical.to_numpy()).tobytes())
    else:
        raise TypeError(f"frame_digest does not support column {series.name!r} of type {dtype}")


# --------------------------------------------------------------------------- metadata helpers
def share_table(values: pl.Series, label: str) -> str:
    """Markdown table of value shares (sorted by value), e.g. archetype distribution."""
    counts = values.value_counts(sort=False).sort(values.name)
    total = max(int(counts["count"].sum()), 1)
    lines = [f"| {label} | rows | share |", "|---|---:|---:|"]
    for value, count in counts.iter_rows():
        lines.append(f"| {value} | {count:,} | {count / total:.3f} |")
    return "\n".join(lines)


def check_schema(df: pl.DataFrame, expected: pl.Schema, table: str) -> None:
    """Raise if a generator's output drifts from its published column contract."""
    actual = df.schema
    missing = [c for c in expected.names() if c not in actual]
    wrong = [f"{c}: {actual[c]} (contract {t})" for c, t in expected.items() if c in actual and actual[c] != t]
    if missing or wrong:
        raise AssertionError(
            f"{table} breaks its contract in tv5_assets/defs/synthetic/schemas.py: missing {missing}, "
            f"wrong dtypes {wrong}. Fix the generator (the store loads depend on the contract)."
        )
