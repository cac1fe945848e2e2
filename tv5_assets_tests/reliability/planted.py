"""Planted secrets and where to look for them: helpers for the secrets tests (quick and soak).

Every password a test sets is one of `PLANTED` (distinctive, URL-safe, so no encoding hides one),
and `leaks(...)` searches texts, files and folders (bytes, so a SQLite event log or a Parquet
footer is searched too) for any of them, in the plain and the URL-quoted spelling.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote

PLANTED = {
    "postgres": "plantedPgSecret7f3a91Zq",
    "redis": "plantedRedisSecret5c2e8Wk",
    "neo4j": "plantedNeo4jSecret0b4d62Xy",
    "milvus": "plantedMilvusSecret9d8e13Vu",
}
WRONG = {store: f"wrongGuess{secret[-6:]}" for store, secret in PLANTED.items()}
"""The passwords a failing run tries: planted too, they must not show up either."""


def all_secrets() -> list[str]:
    return [*PLANTED.values(), *WRONG.values()]


def _needles(secrets: Iterable[str]) -> list[bytes]:
    out = []
    for secret in secrets:
        out += [secret.encode(), quote(secret, safe="").encode()]
    return sorted(set(out))


def leaks_in_text(text: str, secrets: Iterable[str] | None = None) -> list[str]:
    """The planted secrets found in `text`."""
    data = text.encode("utf-8", errors="replace")
    return sorted({n.decode() for n in _needles(secrets or all_secrets()) if n in data})


def leaks_in_files(paths: Iterable[Path], secrets: Iterable[str] | None = None) -> dict[str, list[str]]:
    """Path -> the planted secrets in it, for every file under the given files and folders."""
    needles = _needles(secrets or all_secrets())
    found: dict[str, list[str]] = {}
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            hits = sorted({n.decode() for n in needles if n in data})
            if hits:
                found[str(path)] = hits
    return found


def event_log_text(instance, run_id: str) -> str:
    """Every event of a run as stored by the instance (serialized: messages, metadata, errors)."""
    from dagster._serdes import serialize_value

    return "\n".join(serialize_value(entry) for entry in instance.all_logs(run_id))
