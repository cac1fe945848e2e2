"""What every store's backup shares: file digests, the per-store manifest entry, tool output."""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Tv5Error


class BackupError(Tv5Error):
    """A backup or restore tool failed, or a backup folder does not hold what its manifest says."""


@dataclass
class StoreBackup:
    """One store's part of `manifest.json`."""

    store: str
    address: str  # where it came from, without credentials
    files: list[dict[str, Any]] = field(default_factory=list)  # path (relative), bytes, sha256
    counts: dict[str, int] = field(default_factory=dict)  # what the backup files hold
    live_counts: dict[str, int] = field(default_factory=dict)  # the store, read at backup time
    tools: dict[str, str] = field(default_factory=dict)  # tool -> version
    seconds: float = 0.0
    skipped: str = ""  # why nothing was backed up (an external Neo4j, say)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entries(root: Path, paths: list[Path]) -> list[dict[str, Any]]:
    return [
        {"path": str(path.relative_to(root)), "bytes": path.stat().st_size, "sha256": sha256(path)} for path in paths
    ]


def verify_files(root: Path, entry: dict[str, Any]) -> list[str]:
    """Problems with the files a manifest entry lists (missing, other size, other digest)."""
    problems = []
    for item in entry.get("files", []):
        path = root / item["path"]
        if not path.exists():
            problems.append(f"{item['path']}: missing")
        elif path.stat().st_size != item["bytes"] or sha256(path) != item["sha256"]:
            problems.append(f"{item['path']}: size or sha256 differs from the manifest")
    return problems


def run_tool(command: list[str], what: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a backup tool; a failure raises BackupError with its last output (never its environment)."""
    result = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()[-2000:]
        raise BackupError(f"{what} failed (exit code {result.returncode}): {output}")
    return result.stdout


def tool_version(command: list[str], env: dict[str, str] | None = None) -> str:
    try:
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    except OSError as error:
        return f"unknown ({error})"
    return (result.stdout or result.stderr).strip().splitlines()[0] if (result.stdout or result.stderr) else ""
