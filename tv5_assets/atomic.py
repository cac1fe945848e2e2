"""Atomic replacement of files and folders: readers see the old version or the new, never half.

Write into a staging path beside the final one (same filesystem, so the rename is atomic), then
swap it in; a failed write removes its staging path and leaves the old version untouched. A write
that ran out of space raises `DiskFullError` (disk_full.py), naming the file, the filesystem, its free
space and the fix.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .disk_full import disk_full_error, is_disk_full


def staging_path(final: Path, suffix: str = "") -> Path:
    """A fresh hidden path beside `final` (`.name.tmp-xxxxxxxx`)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    return final.with_name(f".{final.name}.tmp-{uuid.uuid4().hex[:8]}{suffix}")


def swap_in(staged: Path, final: Path) -> None:
    """Move `staged` (file or folder) to `final`, replacing what was there."""
    if final.is_dir() and not final.is_symlink():
        trash = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        final.rename(trash)
        staged.rename(final)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staged, final)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def replacing(final: Path, folder: bool = False, suffix: str = "") -> Iterator[Path]:
    """Yield a staging path to write; on success it replaces `final`, on failure it is removed."""
    staged = staging_path(final, suffix)
    if folder:
        staged.mkdir()
    try:
        yield staged
    except BaseException as error:
        full = is_disk_full(error, final)  # before the clean-up frees the partial file's space
        remove(staged)
        if full:
            raise disk_full_error(final, error) from error
        raise
    swap_in(staged, final)


@contextmanager
def replacing_file_from_threads(final: Path) -> Iterator[Path]:
    """`replacing` for a file whose writer may still create it after raising (polars' sink_parquet
    writes on its own threads: under load the file appeared after the failed write's cleanup). The
    file is written inside a private staging folder; on failure the folder goes, and a late create
    then fails (no folder) instead of leaving a file beside `final`."""
    folder = staging_path(final)
    folder.mkdir()
    staged = folder / final.name
    try:
        yield staged
        os.replace(staged, final)
    except BaseException as error:
        full = is_disk_full(error, final)
        shutil.rmtree(folder, ignore_errors=True)
        if full:
            raise disk_full_error(final, error) from error
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
