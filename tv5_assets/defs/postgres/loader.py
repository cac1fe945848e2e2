"""Atomic bulk loads into PostgreSQL: staging tables, binary COPY, keys built after, one-transaction swap.

Readers of `<schema>.<table>` see the previous contents until the swap commits, then the new ones;
never a half-loaded or empty table. A failed load leaves the live table untouched and removes its
staging tables.

Plain load (`load_table`, used for policies), all in one transaction:
    CREATE staging; COPY (binary); ADD PRIMARY KEY, CREATE INDEX; ANALYZE;
    DROP live; RENAME staging (and its key and indexes) to the live names; COMMIT.

Partitioned load (`load_partitioned`, used for episodes): PostgreSQL parses COPY input on one core
per connection, and parsing JSONB is what bounds the episodes load, so several connections each
load one range partition of the new table in parallel:
    worker k: BEGIN; CREATE <table>__staging_<tag>_p<k> with a CHECK on its key range;
              COPY its batches; build its primary key and indexes; ANALYZE; COMMIT
    then, in ONE transaction: CREATE the partitioned parent; ATTACH every partition (the CHECK
    spares the validation scan); ADD PRIMARY KEY / CREATE INDEX on the parent (they adopt the
    partitions' matching indexes instead of rebuilding); DROP live; RENAME into place; COMMIT.
Each staging table is created in the transaction that COPYs into it, so with `wal_level=minimal`
(the local server's setting) its rows skip the WAL and are synced once at commit.

A session-level advisory lock per table serialises loads of the same table; staging tables left
behind by a crashed process are dropped by the next load under that lock.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from . import schema as model
from .binary_copy import HEADER, TRAILER, encode_tuples, fixed_width_first

# psycopg and SQLAlchemy are imported where used: the defs folder imports every module when the code
# location loads, and only the PostgreSQL steps need them (fast code-location start).
if TYPE_CHECKING:
    import psycopg
    import sqlalchemy as sa

WRITE_BLOCK_BYTES = 1 << 20
DEFAULT_SWAP_LOCK_TIMEOUT_S = 120


@dataclass
class LoadReport:
    table: str
    rows: int = 0
    batches: int = 0
    partitions: int = 1
    seconds: float = 0.0
    """Wall time of the whole load (staging, COPY, keys, swap)."""
    copy_seconds: float = 0.0
    """Wall time until every row was in a staging table (batch building included)."""
    index_seconds: float = 0.0
    """Primary key and index builds, summed over partitions (they run in parallel)."""
    swap_seconds: float = 0.0
    build_seconds: float = 0.0
    """Computing the batches, summed over workers."""
    encode_seconds: float = 0.0
    """Encoding them to binary COPY format, summed over workers."""
    send_seconds: float = 0.0
    """Inside COPY writes (the server parsing and storing rows), summed over workers."""
    index_breakdown: dict[str, float] = field(default_factory=dict)
    deleted_rows: int = 0
    """Rows a user-range load deleted before writing its range again."""

    def add_copy(self, stats: _CopyStats) -> None:
        self.rows += stats.rows
        self.batches += stats.batches
        self.build_seconds += stats.build_seconds
        self.encode_seconds += stats.encode_seconds
        self.send_seconds += stats.send_seconds

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    @property
    def copy_rows_per_second(self) -> float:
        return self.rows / self.copy_seconds if self.copy_seconds > 0 else 0.0

    def metadata(self) -> dict[str, float | int]:
        """Numeric metadata for a materialization (plotted across runs in the UI)."""
        return {
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second),
            "copy_seconds": round(self.copy_seconds, 3),
            "copy_rows_per_second": round(self.copy_rows_per_second),
            "index_build_seconds": round(self.index_seconds, 3),
            "swap_seconds": round(self.swap_seconds, 3),
            "batch_build_seconds": round(self.build_seconds, 3),
            "encode_seconds": round(self.encode_seconds, 3),
            "copy_send_seconds": round(self.send_seconds, 3),
            "partitions": self.partitions,
            "batches": self.batches,
        }


class LoadCancelled(RuntimeError):
    """Another partition's worker failed; this one stopped early."""


def after_batch(table: str, batch_index: int, rows_so_far: int) -> None:
    """Called inside the batch loop after each batch is written to a staging table; does nothing.

    A seam for tests (monkeypatch it to raise and watch a load fail half-way).
    """


def pg_types(table: sa.Table) -> dict[str, str]:
    """Column -> PostgreSQL type name understood by the binary COPY encoder."""
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    types: dict[str, str] = {}
    for column in table.columns:
        kind = column.type
        if isinstance(kind, postgresql.JSONB):
            name = "jsonb"
        elif isinstance(kind, sa.BigInteger):
            name = "int8"
        elif isinstance(kind, sa.SmallInteger):
            name = "int2"
        elif isinstance(kind, sa.Integer):
            name = "int4"
        elif isinstance(kind, sa.REAL):
            name = "float4"
        elif isinstance(kind, sa.Float):
            name = "float8"
        elif isinstance(kind, sa.Boolean):
            name = "bool"
        elif isinstance(kind, sa.DateTime) and kind.timezone:
            name = "timestamptz"
        elif isinstance(kind, sa.String):
            name = "text"
        else:
            raise TypeError(f"{table.name}.{column.name}: no binary COPY encoding for {kind!r}")
        types[column.name] = name
    return fixed_width_first(types)


# ------------------------------------------------------------------------------------ helpers
def _lock_key(schema: str, table: str) -> str:
    return f"tv5-load:{schema}.{table}"


def _live_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", (model.qualified(schema, table),)).fetchone()
    return row is not None and row[0] is not None


def _sweep_staging(conn: psycopg.Connection, schema: str, table: sa.Table) -> list[str]:
    """Drop staging tables of earlier loads that died (we hold the table's load lock)."""
    pattern = (table.name + model.STAGING_INFIX).replace("_", r"\_") + "%"
    names = [
        row[0]
        for row in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname LIKE %s AND c.relkind IN ('r', 'p') ORDER BY c.relkind DESC",
            (schema, pattern),
        ).fetchall()
    ]
    for name in names:
        conn.execute(f"DROP TABLE IF EXISTS {model.qualified(schema, name)} CASCADE")
    conn.commit()
    return names


class _TableLock:
    """Session advisory lock on a dedicated connection: one load per table at a time."""

    lock_sql = "SELECT pg_advisory_lock(hashtextextended(%s, 0))"
    unlock_sql = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"

    def __init__(self, conn: psycopg.Connection, schema: str, table: str):
        self.conn, self.key = conn, _lock_key(schema, table)

    def __enter__(self) -> _TableLock:
        self.conn.execute(self.lock_sql, (self.key,))
        self.conn.commit()
        return self

    def __exit__(self, *exc: object) -> None:
        import psycopg

        try:
            if not self.conn.closed:
                self.conn.rollback()
                self.conn.execute(self.unlock_sql, (self.key,))
                self.conn.commit()
        except psycopg.Error:
            pass  # closing the session releases the lock anyway


@contextlib.contextmanager
def _load_session(
    connect: Callable[[], psycopg.Connection], schema: str, table: sa.Table
) -> Iterator[psycopg.Connection]:
    """A connection holding the table's load lock, the schema created, earlier loads' staging swept."""
    with connect() as conn, _TableLock(conn, schema, table.name):
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {model.quoted(schema)}")
        conn.commit()
        _sweep_staging(conn, schema, table)
        yield conn


@dataclass
class _CopyStats:
    rows: int = 0
    batches: int = 0
    build_seconds: float = 0.0  # waiting for the next batch (computing it)
    encode_seconds: float = 0.0
    send_seconds: float = 0.0  # in COPY writes: the server parsing and storing, seen from here


def _copy_batches(
    conn: psycopg.Connection,
    table: sa.Table,
    schema: str,
    target: str,
    batches: Iterable[pl.DataFrame],
    cancel: threading.Event | None = None,
) -> _CopyStats:
    """COPY every batch into `target` in binary format."""
    types = pg_types(table)
    columns = ", ".join(model.quoted(c) for c in types)
    stats = _CopyStats()
    with conn.cursor().copy(f"COPY {model.qualified(schema, target)} ({columns}) FROM STDIN (FORMAT binary)") as copy:
        copy.write(HEADER)
        iterator = iter(batches)
        while True:
            started = time.perf_counter()
            batch = next(iterator, None)
            encoded = time.perf_counter()
            stats.build_seconds += encoded - started
            if batch is None:
                break
            if cancel is not None and cancel.is_set():
                raise LoadCancelled(f"load of {schema}.{table.name} cancelled: another partition failed")
            payload = encode_tuples(batch, types)
            sending = time.perf_counter()
            stats.encode_seconds += sending - encoded
            for offset in range(0, len(payload), WRITE_BLOCK_BYTES):
                copy.write(payload[offset : offset + WRITE_BLOCK_BYTES])
            stats.send_seconds += time.perf_counter() - sending
            stats.rows += batch.height
            after_batch(table.name, stats.batches, stats.rows)
            stats.batches += 1
        copy.write(TRAILER)
        closing = time.perf_counter()
    stats.send_seconds += time.perf_counter() - closing  # the server finishing the COPY
    return stats


def _build_keys(conn: psycopg.Connection, table: sa.Table, schema: str, target: str, report: dict[str, float]) -> float:
    total = 0.0
    for label, statement in model.keys_ddl(table, schema, target):
        started = time.perf_counter()
        conn.execute(statement)
        elapsed = time.perf_counter() - started
        report[label] = report.get(label, 0.0) + elapsed
        total += elapsed
    return total


def _swap_in(conn: psycopg.Connection, table: sa.Table, schema: str, staged: str, lock_timeout_s: int) -> None:
    """In the open transaction: drop the live table, rename the staged one (and its keys) into place."""
    conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_s)}s'")
    if _live_exists(conn, schema, table.name):
        conn.execute(f"DROP TABLE {model.qualified(schema, table.name)}")
    for statement in model.rename_ddl(table, schema, staged, table.name):
        conn.execute(statement)
    for statement in model.comments_ddl(table, schema, table.name):
        conn.execute(statement)


def _lock_timeout_message(schema: str, table: str, seconds: int) -> str:
    return (
        f"Could not swap the new {schema}.{table} in: other sessions held the table for more than {seconds} s "
        "(long-running queries or open transactions). The previous contents are unchanged; re-run the load "
        "when they finish."
    )


# --------------------------------------------------------------------------------- plain load
def load_table(
    connect: Callable[[], psycopg.Connection],
    table: sa.Table,
    schema: str,
    batches: Iterable[pl.DataFrame],
    tag: str,
    lock_timeout_s: int = DEFAULT_SWAP_LOCK_TIMEOUT_S,
) -> LoadReport:
    """Replace `<schema>.<table>` with the rows of `batches`, atomically (see module docstring)."""
    import psycopg

    report = LoadReport(table=f"{schema}.{table.name}")
    started = time.perf_counter()
    staged = model.staging_name(table, tag)
    with _load_session(connect, schema, table) as conn:
        try:
            conn.execute(model.create_staging_ddl(table, schema, staged))
            report.add_copy(_copy_batches(conn, table, schema, staged, batches))
            report.copy_seconds = time.perf_counter() - started
            report.index_seconds = _build_keys(conn, table, schema, staged, report.index_breakdown)
            conn.execute(f"ANALYZE {model.qualified(schema, staged)}")
            swap_started = time.perf_counter()
            _swap_in(conn, table, schema, staged, lock_timeout_s)
            conn.commit()
            report.swap_seconds = time.perf_counter() - swap_started
        except psycopg.errors.LockNotAvailable as error:
            conn.rollback()
            raise RuntimeError(_lock_timeout_message(schema, table.name, lock_timeout_s)) from error
        except BaseException:
            conn.rollback()  # the staging table was created in this transaction: it disappears
            raise
    report.seconds = time.perf_counter() - started
    return report


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
    copy: _CopyStats
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
            stats = _copy_batches(conn, table, schema, name, spec.batches(), cancel)
            copy_seconds = time.perf_counter() - started
            index_seconds = _build_keys(conn, table, schema, name, breakdown)
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
    with _load_session(connect, schema, table) as conn:
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
                raise RuntimeError(_lock_timeout_message(schema, table.name, lock_timeout_s)) from error
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
    _swap_in(conn, table, schema, parent, lock_timeout_s)
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


# ------------------------------------------------------------------------- user-range load
# A partitioned deployment (tv5_assets/partitions.py) loads one user range per step, several at
# once. Each holds the table's load lock in SHARED mode (range loads run side by side; a full
# load's swap, which takes it EXCLUSIVE, waits for them and they for it) and replaces exactly its
# users' rows in ONE transaction: readers see the range's old rows until COMMIT, then the new ones.
class _SharedTableLock(_TableLock):
    lock_sql = "SELECT pg_advisory_lock_shared(hashtextextended(%s, 0))"
    unlock_sql = "SELECT pg_advisory_unlock_shared(hashtextextended(%s, 0))"


def ensure_table(connect: Callable[[], psycopg.Connection], table: sa.Table, schema: str) -> bool:
    """Create `<schema>.<table>` with its keys, indexes and comments when missing; True if created.

    The exclusive load lock is taken only when the table is missing: range loads in progress hold it
    shared, and a load of another range must not wait for them just to find the table there."""
    with connect() as conn:
        if _live_exists(conn, schema, table.name):
            return False
    with _load_session(connect, schema, table) as conn:
        if _live_exists(conn, schema, table.name):
            return False
        conn.execute(model.create_staging_ddl(table, schema, table.name))
        for _label, statement in model.keys_ddl(table, schema, table.name):
            conn.execute(statement)
        for statement in model.comments_ddl(table, schema, table.name):
            conn.execute(statement)
        conn.commit()
        return True


def load_user_range(
    connect: Callable[[], psycopg.Connection],
    table: sa.Table,
    schema: str,
    batches: Iterable[pl.DataFrame],
    first_user: str,
    last_user: str | None,
) -> LoadReport:
    """Replace the rows whose `user_id` is in first_user..last_user (inclusive; None = no upper
    bound) with `batches`, in one transaction: DELETE the range, COPY the new rows, COMMIT.
    A rerun with the same rows leaves the same table; a failure leaves the range as it was."""
    report = LoadReport(table=f"{schema}.{table.name}")
    started = time.perf_counter()
    ensure_table(connect, table, schema)
    target = model.qualified(schema, table.name)
    if last_user is None:
        where, params = "user_id >= %s", [first_user]
    else:
        where, params = "user_id BETWEEN %s AND %s", [first_user, last_user]
    with connect() as conn, _SharedTableLock(conn, schema, table.name):
        try:
            deleted = conn.execute(f"DELETE FROM {target} WHERE {where}", params).rowcount
            report.add_copy(_copy_batches(conn, table, schema, table.name, batches))
            report.copy_seconds = time.perf_counter() - started
            swap_started = time.perf_counter()
            conn.commit()
            report.swap_seconds = time.perf_counter() - swap_started
        except BaseException:
            conn.rollback()
            raise
    report.deleted_rows = deleted
    report.seconds = time.perf_counter() - started
    return report
