"""The fingerprint of a GroupLens release folder, as the release sensor keeps it in its cursor.

Each `.csv` file is known by (size, mtime_ns, sha256). A file whose size and mtime are unchanged keeps
its recorded checksum; only a new or touched file is hashed, so a tick over an unchanged ml-25m folder
(about 1 GB) costs a few `stat` calls. The sha256 is the one the source assets observe and the
release check compares (`movielens.sources.file_digests`, cached in $TV5_DATA_DIR/cache): a file the
sensor hashed is not read again by the run it starts. The release changed when a file was added,
removed, or its checksum differs; touching a file without changing it is not a change.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..movielens.sources import file_digests


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    sha256: str


def scan(folder: Path, known: dict[str, FileState]) -> tuple[dict[str, FileState], list[str]]:
    """(state of every `.csv` file in `folder`, names hashed now): a file whose size and mtime match
    `known` keeps its recorded checksum unread."""
    states: dict[str, FileState] = {}
    touched: list[tuple[Path, os.stat_result]] = []
    for path in sorted(folder.glob("*.csv")):
        if not path.is_file():
            continue
        stat = path.stat()
        before = known.get(path.name)
        if before is not None and (before.size, before.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            states[path.name] = before
        else:
            touched.append((path, stat))
    digests, _ = file_digests(path for path, _ in touched)
    for path, stat in touched:
        states[path.name] = FileState(stat.st_size, stat.st_mtime_ns, digests[path])
    return dict(sorted(states.items())), [path.name for path, _ in touched]


def changed_files(before: dict[str, FileState], now: dict[str, FileState]) -> list[str]:
    """Names added, removed or with another checksum (a touched, unchanged file is not listed)."""
    names = sorted(set(before) | set(now))
    return [n for n in names if n not in before or n not in now or before[n].sha256 != now[n].sha256]


def release_digest(states: dict[str, FileState]) -> str:
    """One checksum for the whole release: the names and checksums of its files."""
    lines = "".join(f"{name}\t{state.sha256}\n" for name, state in sorted(states.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def to_cursor(states: dict[str, FileState]) -> str:
    return json.dumps({"files": {name: asdict(state) for name, state in sorted(states.items())}})


def from_cursor(cursor: str | None) -> dict[str, FileState] | None:
    """The recorded states, or None before the first tick (or from an unreadable cursor)."""
    if not cursor:
        return None
    try:
        return {name: FileState(**state) for name, state in json.loads(cursor)["files"].items()}
    except (ValueError, KeyError, TypeError):
        return None
