"""Backups that restore: one consistent snapshot of each store, and the way back.

| store    | backup (under <folder>/)                          | restore                                          |
|----------|---------------------------------------------------|--------------------------------------------------|
| postgres | postgres/agentdb.dump: `pg_dump -Fc` of the schema | schema renamed aside, `pg_restore` in one transaction, old schema dropped |
| redis    | redis/keys.parquet: DUMP + PTTL per key; dump.rdb  | `RESTORE key ttl value REPLACE` per key           |
| milvus   | milvus/<alias>.parquet: all fields, vectors float32 | new version + index, alias moved (blue/green)    |
| neo4j    | neo4j/<db>.dump: `neo4j-admin database dump`       | `neo4j-admin database load --overwrite-destination` |

`backup(...)` writes a folder `$TV5_DATA_DIR/backups/<UTC time>/` atomically (built beside, renamed
in) with a `manifest.json`: per store its files (bytes, sha256), the counts the backup holds, the
live counts read at backup time, tool versions and seconds. `restore(...)` checks the files
against the manifest before it touches a store. Used by `tv5 backup|restore` and the
`store_backups` asset.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import atomic
from ..registry import BY_KEY, STORE_KEYS
from .common import BackupError, StoreBackup, verify_files

STORES = STORE_KEYS  # every store of the registry, in its order
MANIFEST = "manifest.json"


def backups_dir() -> Path:
    return Path(os.environ.get("TV5_DATA_DIR", "data")).expanduser().absolute() / "backups"


def env_resources() -> dict[str, Any]:
    """Every store's resource with the values in use now (the CLI's; assets get theirs from Dagster)."""
    return {key: BY_KEY[key].resource_now() for key in STORES}


def _functions(store: str) -> tuple[Callable, Callable]:
    """The store's backup and restore functions (`backup_<store>`, `restore_<store>` in its module)."""
    return BY_KEY[store].backup_functions()


def backup(resources: dict[str, Any], final: Path, only: list[str] | None = None, log=print) -> dict[str, Any]:
    """Back up the chosen stores into `final` (written beside and renamed in); returns the manifest."""
    stores = only or list(STORES)
    manifest: dict[str, Any] = {"created": datetime.now(UTC).isoformat(), "stores": {}}
    with atomic.replacing(final, folder=True) as staged:
        for store in stores:
            entry: StoreBackup = _functions(store)[0](resources[store], staged)
            manifest["stores"][store] = entry.as_dict()
            log(f"{store:8s} {entry.skipped or _summary(entry)}")
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _summary(entry: StoreBackup) -> str:
    size = sum(item["bytes"] for item in entry.files)
    counts = ", ".join(f"{name} {count:,}" for name, count in entry.counts.items())
    return f"{size / 2**20:.2f} MiB in {entry.seconds:.1f} s ({counts})"


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        raise BackupError(f"{folder} is not a tv5 backup (no readable {MANIFEST}: {error})") from None


def restore(resources: dict[str, Any], folder: Path, only: list[str] | None = None, log=print) -> dict[str, Any]:
    """Restore the chosen stores from `folder` after checking its files; returns the restored counts."""
    manifest = read_manifest(folder)
    stores = only or [s for s in STORES if s in manifest["stores"]]
    for store in stores:  # check everything before changing anything
        entry = manifest["stores"].get(store)
        if entry is None:
            raise BackupError(f"{folder} holds no {store} backup")
        problems = verify_files(folder, entry)
        if problems:
            raise BackupError(f"{folder}: the {store} backup is damaged: {'; '.join(problems)}")
    restored = {}
    for store in stores:
        if manifest["stores"][store].get("skipped"):
            log(f"{store:8s} skipped at backup time: {manifest['stores'][store]['skipped']}")
            continue
        restored[store] = _functions(store)[1](resources[store], folder)
        wanted = manifest["stores"][store]["counts"]
        state = "matches the backup" if restored[store] == wanted else f"DIFFERS from the backup's {wanted}"
        log(f"{store:8s} restored {restored[store]} ({state})")
    return restored
