"""Atomic bulk loads into PostgreSQL: staging tables, binary COPY, keys built after, one-transaction swap.

Readers of `<schema>.<table>` see the previous contents until the swap commits, then the new ones;
never a half-loaded or empty table. A failed load leaves the live table untouched and removes its
staging tables.

Plain load (`load_table`, used for policies), all in one transaction:
    CREATE staging; COPY (binary); ADD PRIMARY KEY, CREATE INDEX; ANALYZE;
    DROP live; RENAME staging (and its key and indexes) to the live names; COMMIT.

Partitioned load (`load_partitioned`, used for episodes: one connection per range partition):
partitioned_load.py, on the staging, COPY, key and swap steps of this module.

Each staging table is created in the transaction that COPYs into it, so with `wal_level=minimal`
(the local server's setting) its rows skip the WAL and are synced once at commit.

A session-level advisory lock per table serialises loads of the same table; staging tables left
behind by a crashed process are dropped by the next load under that lock.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from ... import load_locks
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

    def add_copy(self, stats: CopyStats) -> None:
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
    """Session advisory lock on a dedicated connection: one load per table at a time. A load that
    finds it held logs whom it waits for (load_locks.py); its own session's application_name names
    it (`tv5-load run <tag>`) for the next one."""

    try_sql = "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))"
    lock_sql = "SELECT pg_advisory_lock(hashtextextended(%s, 0))"
    unlock_sql = "SELECT pg_advisory_unlock(hashtextextended(%s, 0))"

    def __init__(self, conn: psycopg.Connection, schema: str, table: str, tag: str = ""):
        self.conn, self.key, self.what, self.tag = conn, _lock_key(schema, table), f"{schema}.{table}", tag

    def __enter__(self) -> _TableLock:
        self.conn.execute(
            "SELECT set_config('application_name', %s, false)", (f"tv5-load {load_locks.owner(self.tag)}",)
        )
        if not self.conn.execute(self.try_sql, (self.key,)).fetchone()[0]:
            load_locks.waiting("PostgreSQL", self.what, _lock_holders(self.conn, self.key))
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


def _lock_holders(conn: psycopg.Connection, key: str) -> str:
    """Who holds the advisory lock `key` now: their application_name, backend pid and start time."""
    rows = conn.execute(
        "SELECT a.application_name, a.pid, a.backend_start FROM pg_locks l "
        "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = hashtextextended(%s, 0)",
        (key,),
    ).fetchall()
    conn.commit()
    if not rows:
        return "another load (it has just finished)"
    return ", ".join(
        f"{name.removeprefix('tv5-load ') or 'another session'} (backend pid {pid}, connected at {started:%H:%M:%S %Z})"
        for name, pid, started in rows
    )


@contextlib.contextmanager
def load_session(
    connect: Callable[[], psycopg.Connection], schema: str, table: sa.Table, tag: str = ""
) -> Iterator[psycopg.Connection]:
    """A connection holding the table's load lock, the schema created, earlier loads' staging swept."""
    with connect() as conn, _TableLock(conn, schema, table.name, tag):
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {model.quoted(schema)}")
        conn.commit()
        _sweep_staging(conn, schema, table)
        yield conn


@dataclass
class CopyStats:
    rows: int = 0
    batches: int = 0
    build_seconds: float = 0.0  # waiting for the next batch (computing it)
    encode_seconds: float = 0.0
    send_seconds: float = 0.0  # in COPY writes: the server parsing and storing, seen from here


def copy_batches(
    conn: psycopg.Connection,
    table: sa.Table,
    schema: str,
    target: str,
    batches: Iterable[pl.DataFrame],
    cancel: threading.Event | None = None,
) -> CopyStats:
    """COPY every batch into `target` in binary format."""
    types = pg_types(table)
    columns = ", ".join(model.quoted(c) for c in types)
    stats = CopyStats()
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


def build_keys(conn: psycopg.Connection, table: sa.Table, schema: str, target: str, report: dict[str, float]) -> float:
    total = 0.0
    for label, statement in model.keys_ddl(table, schema, target):
        started = time.perf_counter()
        conn.execute(statement)
        elapsed = time.perf_counter() - started
        report[label] = report.get(label, 0.0) + elapsed
        total += elapsed
    return total


def swap_in(conn: psycopg.Connection, table: sa.Table, schema: str, staged: str, lock_timeout_s: int) -> None:
    """In the open transaction: drop the live table, rename the staged one (and its keys) into place."""
    conn.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_s)}s'")
    if _live_exists(conn, schema, table.name):
        conn.execute(f"DROP TABLE {model.qualified(schema, table.name)}")
    for statement in model.rename_ddl(table, schema, staged, table.name):
        conn.execute(statement)
    for statement in model.comments_ddl(table, schema, table.name):
        conn.execute(statement)


def lock_timeout_message(schema: str, table: str, seconds: int) -> str:
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
    with load_session(connect, schema, table, tag) as conn:
        try:
            conn.execute(model.create_staging_ddl(table, schema, staged))
            report.add_copy(copy_batches(conn, table, schema, staged, batches))
            report.copy_seconds = time.perf_counter() - started
            report.index_seconds = build_keys(conn, table, schema, staged, report.index_breakdown)
            conn.execute(f"ANALYZE {model.qualified(schema, staged)}")
            swap_started = time.perf_counter()
            swap_in(conn, table, schema, staged, lock_timeout_s)
            conn.commit()
            report.swap_seconds = time.perf_counter() - swap_started
        except psycopg.errors.LockNotAvailable as error:
            conn.rollback()
            raise RuntimeError(lock_timeout_message(schema, table.name, lock_timeout_s)) from error
        except BaseException:
            conn.rollback()  # the staging table was created in this transaction: it disappears
            raise
    report.seconds = time.perf_counter() - started
    return report


# ------------------------------------------------------------------------- user-range load
# A partitioned deployment (tv5_assets/partitions.py) loads one user range per step, several at
# once. Each holds the table's load lock in SHARED mode (range loads run side by side; a full
# load's swap, which takes it EXCLUSIVE, waits for them and they for it) and replaces exactly its
# users' rows in ONE transaction: readers see the range's old rows until COMMIT, then the new ones.
class _SharedTableLock(_TableLock):
    try_sql = "SELECT pg_try_advisory_lock_shared(hashtextextended(%s, 0))"
    lock_sql = "SELECT pg_advisory_lock_shared(hashtextextended(%s, 0))"
    unlock_sql = "SELECT pg_advisory_unlock_shared(hashtextextended(%s, 0))"


def ensure_table(connect: Callable[[], psycopg.Connection], table: sa.Table, schema: str) -> bool:
    """Create `<schema>.<table>` with its keys, indexes and comments when missing; True if created.

    The exclusive load lock is taken only when the table is missing: range loads in progress hold it
    shared, and a load of another range must not wait for them just to find the table there."""
    with connect() as conn:
        if _live_exists(conn, schema, table.name):
            return False
    with load_session(connect, schema, table) as conn:
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
            report.add_copy(copy_batches(conn, table, schema, table.name, batches))
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
