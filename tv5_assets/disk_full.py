"""A full disk, said plainly: which file, which filesystem, how much is free, what to do.

Writers fail on a full filesystem in several voices: Python raises `OSError(ENOSPC)` or
`OSError(EDQUOT)`, polars a `ComputeError` whose text ends in "No space left on device (os error
28)", numpy's `np.save` an `OSError` with no errno ("300000 requested and 131056 written"). The
stores have their own words: PostgreSQL SQLSTATE 53100 (`disk_full`), Redis "MISCONF" (it could not
persist to disk, and refuses writes) or "OOM" (its `maxmemory` is reached), Milvus the operating
system's "No space left on device" or "disk quota exceeded". Neo4j keeps the operating system's words
in its debug.log and tells clients `Neo.DatabaseError.Transaction.TransactionLogError` ("Could not
append transaction ... to log"); it then refuses every transaction ("The database has encountered a
critical error, and needs to be restarted") until it is restarted; the cut transaction may leave
unreadable bytes at the end of its log, which its next start refuses until told to drop them
(measured with its data on a full tmpfs: test_store_disk_full.py).

`atomic.replacing` (every file the platform writes: Parquet assets, exports, embeddings exports,
Neo4j import files, backups) turns the first kind into `DiskFullError`, after removing its staging
path, so the message can truthfully say that the previous version is unchanged. `store_errors`
(store_load.py) asks `store_full` so a store load fails once, saying the store's disk (or memory)
is full, instead of retrying or showing only the engine's words.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from .errors import Tv5Error

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_DISK_FULL_WORDS = (
    "no space left on device",
    "disk quota exceeded",
    "os error 28",  # Rust's io::Error text (polars)
    "os error 122",  # EDQUOT, Rust's text
    "could not extend file",  # PostgreSQL's message with 53100
    "disk full",
)
NEO4J_LOG_APPEND_FAILED = "Neo.DatabaseError.Transaction.TransactionLogError"
NEO4J_NEEDS_RESTART = "needs to be restarted"  # Neo4j's words once its database has panicked
SHORT_WRITE_FREE_BYTES = 1 << 20
"""An `OSError` without errno (numpy's short write) counts as a full disk when less than this is free."""


class DiskFullError(Tv5Error, OSError):
    """A write ran out of space; the message names the file, the filesystem, the free space and the fix."""

    def __init__(self, message: str, path: Path):
        Tv5Error.__init__(self, message)
        self.errno = errno.ENOSPC
        self.path = path

    def __str__(self) -> str:
        return str(self.args[0])


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_disk_full(error: BaseException, path: Path | None = None) -> bool:
    """True when `error` (or one of its causes) says the filesystem is full. With `path`, an
    `OSError` without errno counts too when the filesystem holding `path` has almost nothing free."""
    for cause in _causes(error):
        if isinstance(cause, DiskFullError):
            return True
        if isinstance(cause, OSError) and cause.errno in DISK_FULL_ERRNOS:
            return True
        if any(word in str(cause).lower() for word in _DISK_FULL_WORDS):
            return True
    if path is not None and isinstance(error, OSError) and error.errno is None:
        free = free_bytes(path)
        return free is not None and free < SHORT_WRITE_FREE_BYTES
    return False


def _existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path("/")


def free_bytes(path: Path) -> int | None:
    try:
        return shutil.disk_usage(_existing(path)).free
    except OSError:
        return None


def mount_point(path: Path) -> Path:
    current = _existing(path).resolve()
    while not os.path.ismount(current) and current != current.parent:
        current = current.parent
    return current


def human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover


def describe_space(path: Path) -> str:
    """The filesystem holding `path`, as "the filesystem mounted at /x (now y free of z)"."""
    where = mount_point(path)
    try:
        usage = shutil.disk_usage(where)
    except OSError:
        return f"the filesystem mounted at {where}"
    return f"the filesystem mounted at {where} (now {human(usage.free)} free of {human(usage.total)})"


def disk_full_error(final: Path, error: BaseException) -> DiskFullError:
    """The error to raise when writing the new version of `final` ran out of space (its staging
    path already removed)."""
    return DiskFullError(
        f"Disk full: writing {final} failed: {describe_space(final)} ran out of space "
        f"({type(error).__name__}: {error}). The previous version of {final.name} is unchanged: the new one "
        "was written beside it and has been removed. Free space on that filesystem (old runs, backups, "
        "caches), or point TV5_DATA_DIR at a larger disk, then re-run.",
        final,
    )


def store_full(error: BaseException) -> str | None:
    """What a store's error says is full ("disk" or "memory"), or None when it is another error."""
    found = full_cause(error)
    return None if found is None else found[0]


def full_cause(error: BaseException) -> tuple[str, BaseException] | None:
    """("disk" or "memory", the engine's own error that says so: the innermost), or None."""
    for cause in reversed(_causes(error)):
        if getattr(cause, "sqlstate", None) == "53100":  # PostgreSQL disk_full
            return "disk", cause
        text = str(cause)
        if text.startswith("MISCONF"):  # Redis: persisting to disk failed, writes refused
            return "disk", cause
        if text.startswith("OOM command not allowed"):  # Redis: maxmemory reached
            return "memory", cause
        if isinstance(cause, OSError) and cause.errno in DISK_FULL_ERRNOS:
            return "disk", cause
        if any(word in text.lower() for word in _DISK_FULL_WORDS):
            return "disk", cause
        if getattr(cause, "code", None) == NEO4J_LOG_APPEND_FAILED:
            return "disk", cause
    return None


def needs_restart(error: BaseException) -> bool:
    """The store refuses every transaction until it is restarted (Neo4j after its log append failed)."""
    return any(
        getattr(cause, "code", None) == NEO4J_LOG_APPEND_FAILED or NEO4J_NEEDS_RESTART in str(cause)
        for cause in _causes(error)
    )


def _restart_steps(service: str) -> str:
    """The way back for a store that refuses every transaction until it is restarted."""
    return (
        "Transactions it committed before are kept. Free space on the volume that holds its data folder (for "
        "the local stack, under TV5_DATA_DIR/services), restart the server (the local one: `tv5 services down "
        f"--only {service} && tv5 services up --only {service}`), then re-run."
    )


def restart_advice(store: str, service: str) -> str:
    """What to do when `needs_restart`: the store's data folder may have filled up."""
    return (
        f"{store} refuses every transaction after a critical error until it is restarted; a full disk is "
        f"the usual cause (its debug.log names it). {_restart_steps(service)}"
    )


def store_full_advice(store: str, full: str, engine_error: BaseException | None = None, service: str = "") -> str:
    """What to tell the user; `service` is the store's key for `tv5 services` (where a restart is needed)."""
    if engine_error is not None and getattr(engine_error, "code", None) == NEO4J_LOG_APPEND_FAILED:
        return (
            f"{store}'s disk is full: it could not append this transaction to its transaction log (in practice "
            "a full disk; its debug.log names the cause), so the transaction was not applied, and it now refuses "
            f"every transaction until it is restarted. {_restart_steps(service)} Should the restart say the "
            "transaction log ends in unreadable bytes (the cut transaction), `tv5 services up --only "
            f"{service} --truncate-cut-log` drops them once."
        )
    if full == "memory":
        return (
            f"{store} is out of memory (its maxmemory limit is reached) and refuses writes. The data it "
            "served before this load is unchanged. Raise maxmemory, or free memory in it, then re-run."
        )
    return (
        f"{store}'s disk is full: the server could not write its data files. The data it served before "
        "this load is unchanged (the load wrote beside it). Free space on the volume that holds the "
        f"store's data folder (for the local stack, under TV5_DATA_DIR/services), then re-run."
    )
