"""Asset of the `backups` group: one folder per run under $TV5_DATA_DIR/backups/, with manifest.json.

    agentdb_*, redis_*_cache, milvus_*_collection, neo4j_* loads --> store_backups

It runs after the store loads and their blocking checks, in the `neo4j` pool: the Neo4j dump stops
the local server for a minute or two, and no other Neo4j step may run meanwhile. Older backup
folders beyond `keep` are removed once the new one is in place.
"""

import shutil
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from ...backups import STORES, backup, backups_dir
from ...conventions import OWNERS
from ...registry import store_kinds
from ...store_load import STORE_LOAD_ASSETS

GROUP = "backups"
# Assets that query the live stores in the same run: the Neo4j dump stops the local server, so the
# backup waits for them (and is the run's last step).
STORE_READERS = ["recommendation_quality", "data_dictionary", "query_benchmarks", "cross_store_report"]


class BackupConfig(dg.Config):
    stores: list[str] = Field(default=list(STORES), description=f"Stores to back up: {', '.join(STORES)}.")
    keep: int = Field(default=3, description="Backup folders to keep (the newest), this one included.")


def _prune(keep: int, current: str) -> list[str]:
    """Remove the oldest folders beyond `keep`, never `current` (the one just written). Names start
    with their UTC second; backups within one second are told apart by their folder's mtime."""
    others = sorted(
        (p for p in backups_dir().iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != current),
        key=lambda p: (p.name.partition("-")[0], p.stat().st_mtime_ns),
    )
    removed = others[: max(len(others) - (keep - 1), 0)]
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return [folder.name for folder in removed]


def _metadata(manifest: dict, folder) -> dict:
    metadata: dict = {"path": dg.MetadataValue.path(str(folder)), "stores": len(manifest["stores"])}
    for store, entry in manifest["stores"].items():
        metadata[f"{store}_bytes"] = sum(item["bytes"] for item in entry["files"])
        metadata[f"{store}_seconds"] = round(entry["seconds"], 3)
        metadata[f"{store}_items"] = sum(entry["counts"].values())
        if entry["skipped"]:
            metadata[f"{store}_skipped"] = entry["skipped"]
    metadata["total_bytes"] = sum(metadata.get(f"{s}_bytes", 0) for s in manifest["stores"])
    metadata["dagster/row_count"] = sum(metadata.get(f"{s}_items", 0) for s in manifest["stores"])
    return metadata


@dg.asset(
    code_version="1",
    group_name=GROUP,
    kinds=store_kinds(),
    owners=OWNERS,
    required_resource_keys=set(STORES),
    pool="neo4j",
    deps=[*STORE_LOAD_ASSETS, *STORE_READERS],
    description=(
        "A restorable snapshot of every store in $TV5_DATA_DIR/backups/<UTC time>-<run>/: pg_dump -Fc of the "
        "AgentDB schema, the Redis namespace as DUMP/PTTL pairs (plus the RDB file of the local server), each "
        "Milvus alias's rows and vectors as Parquet, and a neo4j-admin dump of the local graph (the server is "
        "stopped meanwhile). manifest.json lists files, sizes, sha256, counts and tool versions; "
        "`tv5 restore --from <folder>` loads it back."
    ),
)
def store_backups(
    context: dg.AssetExecutionContext,
    config: BackupConfig,
) -> dg.MaterializeResult:
    unknown = sorted(set(config.stores) - set(STORES))
    if unknown:
        raise dg.Failure(f"Unknown stores {unknown} in the config; choose from {list(STORES)}", allow_retries=False)
    name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{context.run.run_id[:8]}"
    folder = backups_dir() / name
    resources = {store: getattr(context.resources, store) for store in STORES}
    manifest = backup(resources, folder, only=[s for s in STORES if s in config.stores], log=context.log.info)
    removed = _prune(config.keep, name)
    if removed:
        context.log.info(f"removed older backups: {', '.join(removed)}")
    return dg.MaterializeResult(metadata=_metadata(manifest, folder))


ASSETS = [store_backups]
