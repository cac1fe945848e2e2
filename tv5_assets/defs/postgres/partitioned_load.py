"""The partitioned load (`load_partitioned`, used for episodes): several connections, one range each.

PostgreSQL parses COPY input on one core per connection, and parsing JSONB is what bounds the
episodes load, so several connections each load one range partition of the new table in parallel:
    worker k: BEGIN; CREATE <table>__staging_<tag>_p<k> with a CHECK on its key range;
              COPY its batches; build its primary key and indexes; ANALYZE; COMMIT
    then, in ONE transaction: CREATE the partitioned parent; ATTACH every partition (the CHECK
    spares the validation scan); ADD PRIMARY KEY / CREATE INDEX on the parent (they adopt the
    partitions' matching indexes instead of rebuilding); DROP live; RENAME into place; COMMIT.
The staging, COPY, key and swap steps are loader.py's, shared with the plain load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from . import schema as model
from .loader import (
    DEFAULT_SWAP_LOCK_TIMEOUT_S,
    CopyStats,
    LoadCancelled,
    LoadReport,
    build_keys,
    copy_batches,
    load_session,
    lock_timeout_message,
    swap_in,
)

# psycopg and SQLAlchemy are imported where used, as in loader.py (fast code-location start).
if TYPE_CHECKING:
    import psycopg
    import sqlalchemy as sa


# --------------------------------------------------------------------------- partitioned load
@dataclass(frozen=True)
class PartitionSpec:
    """One range partition of the new table: keys in [lower, upper) (None = unbounded) and its rows."""

    lower: int | None
    upper: int | None
    batches: Callable[[], Iterator[pl.DataFrame]]

    def check(self, key: str) -> str:
        parts = []
        if self.lower is not None:
            parts.append(f'"{key}" >= {int(self.lower)}')
        if self.upper is not None:
            parts.append(f'"{key}" < {int(self.upper)}')
        return " AND ".join(parts) if parts else "TRUE"

    def bounds(self) -> str:
        lower = "MINVALUE" if self.lower is None else str(int(self.lower))
        upper = "MAXVALUE" if self.upper is None else str(int(self.upper))
        return f"FROM ({lower}) TO ({upper})"


@dataclass
class _PartitionResult:
    copy: CopyStats
    copy_seconds: float
    index_seconds: float
    index_breakdown: dict[str, float]


def _load_partition(
    connect: Callable[[], psycopg.Connection],
    table: sa.Table,
    schema: str,
    name: str,
    spec: PartitionSpec,
    key: str,
    cancel: threading.Event,
    started: float,
) -> _PartitionResult:
    breakdown: dict[str, float] = {}
    try:
        with connect() as conn:
            conn.execute(model.create_staging_ddl(table, schema, name, check=spec.check(key)))
            stats = copy_batches(conn, table, schema, name, spec.batches(), cancel)
            copy_seconds = time.perf_counter() - started
            index_seconds = build_keys(conn, table, schema, name, breakdown)
            conn.execute(f"ANALYZE {model.qualified(schema, name)}")
            conn.commit()
    except BaseException:
        cancel.set()
        raise
    return _PartitionResult(stats, copy_seconds, index_seconds, breakdown)


def load_partitioned(
    connect: Callable[[], psycopg.Connection],
    table: sa.Table,
    schema: str,
    partitions: Sequence[PartitionSpec],
    tag: str,
    lock_timeout_s: int = DEFAULT_SWAP_LOCK_TIMEOUT_S,
) -> LoadReport:
    """Replace `<schema>.<table>` by a table range-partitioned on its primary key, loaded in parallel.

    `partitions` must cover the key space in order (first lower and last upper None, each upper the
    next lower); each partition's batches are built and COPYed by its own worker and connection.
    """
    import psycopg

    (key,) = [c.name for c in table.primary_key.columns]
    _validate_partitions(partitions)
    report = LoadReport(table=f"{schema}.{table.name}", partitions=len(partitions))
    started = time.perf_counter()
    parent = model.staging_name(table, tag)
    names = [f"{parent}_p{k}" for k in range(len(partitions))]
    with load_session(connect, schema, table, tag) as conn:
        cancel = threading.Event()
        try:
            results = _load_partitions(connect, table, schema, names, partitions, key, cancel, started)
            _add_partition_results(report, results)
            swap_started = time.perf_counter()
            _attach_and_swap(conn, table, schema, parent, names, partitions, key, lock_timeout_s)
            conn.commit()
            report.swap_seconds = time.perf_counter() - swap_started
        except BaseException as error:
            cancel.set()
            conn.rollback()
            _drop_quietly(conn, schema, names)
            if isinstance(error, psycopg.errors.LockNotAvailable):
                raise RuntimeError(lock_timeout_message(schema, table.name, lock_timeout_s)) from error
            raise
    report.seconds = time.perf_counter() - started
    return report


def _load_partitions(
    connect: Callable[[], psycopg.Connection],
    table: sa.Table,
    schema: str,
    names: list[str],
    partitions: Sequence[PartitionSpec],
    key: str,
    cancel: threading.Event,
    started: float,
) -> list[_PartitionResult]:
    """Every partition loaded into its staging table `names[k]` by its own worker and connection."""
    with ThreadPoolExecutor(max_workers=len(partitions), thread_name_prefix=f"load-{table.name}") as pool:
        futures = [
            pool.submit(_load_partition, connect, table, schema, name, spec, key, cancel, started)
            for name, spec in zip(names, partitions)
        ]
        try:
            return [f.result() for f in _first_error_first(futures)]
        except BaseException:
            cancel.set()  # before the pool's exit waits for the workers: stop them at their next batch
            raise


def _add_partition_results(report: LoadReport, results: list[_PartitionResult]) -> None:
    for result in results:
        report.add_copy(result.copy)
    report.copy_seconds = max(r.copy_seconds for r in results)
    report.index_seconds = sum(r.index_seconds for r in results)
    for result in results:
        for label, seconds in result.index_breakdown.items():
            report.index_breakdown[label] = report.index_breakdown.get(label, 0.0) + seconds


def _attach_and_swap(
    conn: psycopg.Connection,
    table: sa.Table,
    schema: str,
    parent: str,
    names: list[str],
    partitions: Sequence[PartitionSpec],
    key: str,
    lock_timeout_s: int,
) -> None:
    """In the open transaction: the partitioned parent over the loaded partitions, swapped into place."""
    conn.execute(model.create_staging_ddl(table, schema, parent, partition_by=f'RANGE ("{key}")'))
    for name, spec in zip(names, partitions):
        conn.execute(
            f"ALTER TABLE {model.qualified(schema, parent)} ATTACH PARTITION "
            f"{model.qualified(schema, name)} FOR VALUES {spec.bounds()}"
        )
        # The partition bound now enforces the range; the CHECK only served the attach.
        conn.execute(f"ALTER TABLE {model.qualified(schema, name)} DROP CONSTRAINT {model.quoted(f'{name}_range')}")
    for _label, statement in model.keys_ddl(table, schema, parent):
        conn.execute(statement)  # adopts the partitions' indexes
    conn.execute(f"ANALYZE {model.qualified(schema, parent)}")
    swap_in(conn, table, schema, parent, lock_timeout_s)
    for k, name in enumerate(names):
        for statement in model.rename_ddl(table, schema, name, f"{table.name}_p{k}"):
            conn.execute(statement)


def split_contiguous(weights: list[int], parts: int) -> list[range]:
    """Split items (in order) into at most `parts` contiguous, non-empty runs of about equal weight."""
    total = sum(weights)
    if not weights:
        return []
    parts = max(1, min(parts, len(weights)))
    runs: list[range] = []
    start, before = 0, 0
    for index, weight in enumerate(weights):
        # Cut after this item when the running weight reaches the next share.
        before += weight
        remaining_items = len(weights) - index - 1
        remaining_parts = parts - len(runs) - 1
        if remaining_parts == 0:
            break
        if before >= total * (len(runs) + 1) / parts or remaining_items == remaining_parts:
            runs.append(range(start, index + 1))
            start = index + 1
    runs.append(range(start, len(weights)))
    return [r for r in runs if len(r)]


def _validate_partitions(partitions: Sequence[PartitionSpec]) -> None:
    if not partitions:
        raise ValueError("a partitioned load needs at least one partition")
    if partitions[0].lower is not None or partitions[-1].upper is not None:
        raise ValueError("the first partition must start at MINVALUE and the last end at MAXVALUE")
    for left, right in zip(partitions, partitions[1:]):
        if left.upper is None or left.upper != right.lower:
            raise ValueError(f"partitions must be contiguous: {left.upper} != {right.lower}")


def _first_error_first(futures: list) -> list:
    """Wait for all futures; if any failed, re-raise the root failure rather than a LoadCancelled."""
    errors = [f.exception() for f in futures]
    root = next((e for e in errors if e is not None and not isinstance(e, LoadCancelled)), None)
    root = root or next((e for e in errors if e is not None), None)
    if root is not None:
        raise root
    return futures


def _drop_quietly(conn: psycopg.Connection, schema: str, names: Sequence[str]) -> None:
    """Remove committed staging partitions of a failed load (best effort; the next load sweeps)."""
    import psycopg

    try:
        for name in names:
            conn.execute(f"DROP TABLE IF EXISTS {model.qualified(schema, name)}")
        conn.commit()
    except psycopg.Error:
        conn.rollback()
