"""What the exports' checks verify, as plain functions (testable without Dagster).

JSONL: the file has one line per upstream record, and a seeded sample of lines, parsed with the
standard `json` module (what a consumer uses, not polars' reader), equals the records rebuilt from
the upstream rows at those positions. Values are compared with their JSON types (a number
written as a string fails), and a float32 written as `0.45231` must parse back to exactly the
stored float32.
Parquet: the copy has the upstream's schema and row count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .layouts import LINE
from .writers import sample_positions, scan_lines

SAMPLE_LINES = 1_000
SAMPLE_SEED = 20_251_201
SHOWN = 5  # mismatching lines quoted in a failed check
SHOWN_CHARS = 400


@dataclass
class JsonlVerdict:
    path: Path
    lines: int
    expected_lines: int
    sampled: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def counts_match(self) -> bool:
        return self.lines == self.expected_lines


def verify_jsonl(
    path: Path, records: pl.LazyFrame, schema: pl.Schema, sample: int = SAMPLE_LINES, seed: int = SAMPLE_SEED
) -> JsonlVerdict:
    """Count the lines of `path` and compare a sample with `records` (a layouts.*_records frame)."""
    expected_lines = records.select(pl.len()).collect().item()
    positions = sample_positions(expected_lines, sample, seed)
    lines, found = scan_lines(path, positions)
    # The filter on LINE is pushed below the record-building select: only the sampled rows are built.
    rebuilt = records.filter(pl.col(LINE).is_in(positions)).collect()
    verdict = JsonlVerdict(path, lines, expected_lines, sampled=len(positions))
    for line, expected in zip(rebuilt[LINE].to_list(), rebuilt.drop(LINE).iter_rows(named=True)):
        problem = _line_problem(found.get(line), expected, schema)
        if problem:
            verdict.mismatches.append(f"line {line + 1}: {problem}")
    return verdict


def _line_problem(text: bytes | None, expected: dict, schema: pl.Schema) -> str | None:
    """Why one line differs from its expected record, or None when it parses back to the same values."""
    if text is None:
        return "missing (the file is shorter than the upstream table)"
    try:
        parsed = json.loads(text)
    except ValueError as error:
        return f"not valid JSON ({error}): {_quote(text)}"
    if not isinstance(parsed, dict) or list(parsed) != schema.names():
        keys = list(parsed) if isinstance(parsed, dict) else type(parsed).__name__
        return f"fields {keys}, expected {schema.names()}"
    if not same_value(parsed, expected, pl.Struct(schema)):
        upstream = json.dumps(expected, ensure_ascii=False, default=str)
        return f"{_quote(text)} parses to other values than the upstream row {_quote(upstream.encode())}"
    return None


def same_value(parsed: Any, expected: Any, dtype: pl.DataType) -> bool:
    """`parsed` (from json) is `expected` (from polars) of type `dtype`: same JSON types, same fields
    in the same order, and float32 values equal once rounded to float32 (their shortest form)."""
    if parsed is None or expected is None:
        return parsed is None and expected is None
    if isinstance(dtype, pl.Struct):
        fields = dtype.to_schema()
        return (
            isinstance(parsed, dict)
            and list(parsed) == list(fields)
            and all(same_value(parsed[name], expected[name], inner) for name, inner in fields.items())
        )
    if isinstance(dtype, (pl.List, pl.Array)):
        return (
            isinstance(parsed, list)
            and len(parsed) == len(expected)
            and all(same_value(p, e, dtype.inner) for p, e in zip(parsed, expected))
        )
    if dtype.is_float():
        cast = np.float32 if dtype == pl.Float32 else float
        return type(parsed) in (int, float) and cast(parsed) == cast(expected)
    return type(parsed) is type(expected) and parsed == expected  # int is not bool, str is not int


def _quote(text: bytes) -> str:
    decoded = text.decode("utf-8", errors="replace")
    return decoded if len(decoded) <= SHOWN_CHARS else decoded[: SHOWN_CHARS - 1] + "…"


def parquet_problems(path: Path, upstream: pl.LazyFrame) -> tuple[list[str], int]:
    """What differs between the Parquet copy at `path` and its upstream table, and the copy's rows."""
    if not path.exists():
        return [f"{path} does not exist"], 0
    copy = pl.scan_parquet(path)
    rows = copy.select(pl.len()).collect().item()
    expected_rows = upstream.select(pl.len()).collect().item()
    problems = []
    if rows != expected_rows:
        problems.append(f"{path.name}: {rows:,} rows, upstream has {expected_rows:,}")
    if copy.collect_schema() != upstream.collect_schema():
        problems.append(
            f"{path.name}: schema {dict(copy.collect_schema())} != upstream {dict(upstream.collect_schema())}"
        )
    return problems, rows
