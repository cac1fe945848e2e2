"""The fingerprint of a GroupLens release folder, as the release sensor keeps it in its cursor.

Each `.csv` file is known by (size, mtime_ns, sha256). A file whose size and mtime are unchanged keeps
its recorded checksum; only a new or touched file is read and hashed, so a tick over an unchanged
ml-25m folder (about 1 GB) costs a few `stat` calls. The release changed when a file was added,
removed, or its checksum differs; touching a file without changing it is not a change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileState:
    size: int
    mtime_ns: int
    sha256: str


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def scan(folder: Path, known: dict[str, FileState]) -> tuple[dict[str, FileState], list[str]]:
    """(state of every `.csv` file in `folder`, names hashed now): a file whose size and mtime match
    `known` keeps its recorded checksum unread."""
    states: dict[str, FileState] = {}
    hashed: list[str] = []
    for path in sorted(folder.glob("*.csv")):
        if not path.is_file():
            continue
        stat = path.stat()
        before = known.get(path.name)
        if before is not None and (before.size, before.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            states[path.name] = before
            continue
        states[path.name] = FileState(stat.st_size, stat.st_mtime_ns, _sha256(path))
        hashed.append(path.name)
    return states, hashed


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
