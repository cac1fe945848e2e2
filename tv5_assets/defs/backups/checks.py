"""Check of the `backups` group (blocking): the backup holds what the stores held when it was taken.

`backup_matches_live_stores` reads the folder of the latest `store_backups` materialization: every
file the manifest lists is there with its size and sha256, and per store the counts the backup
holds equal the counts read from the live store at backup time (a store skipped on purpose, such
as an external Neo4j, is reported, not failed).
"""

from pathlib import Path

import dagster as dg

from ...backups import read_manifest
from ...backups.common import verify_files
from .assets import store_backups


def _folder(context: dg.AssetCheckExecutionContext) -> Path | None:
    event = context.instance.get_latest_materialization_event(store_backups.key)
    if event is None or event.asset_materialization is None:
        return None
    path = event.asset_materialization.metadata.get("path")
    return Path(path.value) if path is not None else None


@dg.asset_check(
    asset=store_backups,
    blocking=True,
    description="The manifest's files exist with their sha256, and each store's backup counts equal its live counts.",
)
def backup_matches_live_stores(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    folder = _folder(context)
    if folder is None or not folder.exists():
        return dg.AssetCheckResult(passed=False, description=f"no backup folder found ({folder}): materialize it")
    manifest = read_manifest(folder)
    problems, skipped = [], []
    for store, entry in manifest["stores"].items():
        if entry["skipped"]:
            skipped.append(f"{store}: {entry['skipped']}")
            continue
        problems += [f"{store}: {p}" for p in verify_files(folder, entry)]
        if entry["counts"] != entry["live_counts"]:
            problems.append(f"{store}: backup holds {entry['counts']}, the store held {entry['live_counts']}")
    metadata = {"stores_checked": len(manifest["stores"]) - len(skipped), "stores_skipped": len(skipped)}
    if skipped:
        metadata["skipped"] = dg.MetadataValue.md("\n".join(f"- {s}" for s in skipped))
    return dg.AssetCheckResult(
        passed=not problems, metadata=metadata, description="; ".join(problems) if problems else None
    )


CHECKS = [backup_matches_live_stores]
