"""A small filesystem of a test's own that it can fill: a tmpfs mounted on a folder, then removed.

Mounting needs root (CAP_SYS_ADMIN); where it is not permitted (a normal user, a container without
the capability) the test skips and says why. `fill` writes a filler file until only `leave` bytes
are free; `make_room` deletes it (the "operator frees space" step).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

FILLER = "filler.bin"


@contextmanager
def small_disk(where: Path, size_mb: int, owner: str | None = None) -> Iterator[Path]:
    """A tmpfs of `size_mb` MiB mounted on `where` (created), unmounted after; `owner` chowns its root."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip(f"a full-disk test mounts a {size_mb} MiB tmpfs, which needs root; running as uid {os.geteuid()}")
    mode = "mode=0755" + (",uid=0" if owner is None else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,{mode}", "tmpfs", str(where)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs on {where} here ({mounted.stderr.strip() or mounted.returncode})")
    try:
        if owner is not None:
            shutil.chown(where, owner, owner)
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill(disk: Path, leave: int = 64 * 1024) -> Path:
    """Write a filler file on `disk` until about `leave` bytes are free; returns its path."""
    filler = disk / FILLER
    block = b"\xa5" * (1 << 20)
    with open(filler, "ab") as handle:
        while (free := shutil.disk_usage(disk).free) > leave:
            try:
                handle.write(block[: min(len(block), free - leave)] or block[:4096])
                handle.flush()
            except OSError:
                break
    return filler


def make_room(disk: Path) -> None:
    (disk / FILLER).unlink(missing_ok=True)


def leftovers(folder: Path) -> list[str]:
    """Staging paths atomic.py leaves only when it failed to clean up (`.name.tmp-xxxxxxxx`)."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob(".*.tmp-*"))
