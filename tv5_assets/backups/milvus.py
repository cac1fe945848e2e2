"""Vector backup: every entity of each collection alias (scalars and the float32 vector) to Parquet.

Export reads the collection behind each alias (`MEDIA_COLLECTION`, `USER_COLLECTION`) with a query
iterator over the primary key (Strong consistency), all fields included, and writes one Parquet
file per alias with the collection's own polars schema (the vector as a fixed-size Float32 array).
Restore builds a new version from the file with the same schema and index and moves the alias to
it (`loading.load_blue_green`), so readers switch from the old version to the restored one whole.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import polars as pl

from ..resources.milvus import MilvusResource
from ..stores.milvus.collections import MEDIA_COLLECTION, USER_COLLECTION, VECTOR_FIELD, CollectionSpec
from ..stores.milvus.loading import alias_target, count_entities, load_blue_green
from .common import BackupError, StoreBackup, file_entries

SPECS = (MEDIA_COLLECTION, USER_COLLECTION)
BATCH_ROWS = 2000


def backup_file(spec: CollectionSpec) -> str:
    return f"milvus/{spec.logical_name}.parquet"


def export_rows(client, collection: str, spec: CollectionSpec, batch_rows: int = BATCH_ROWS) -> pl.DataFrame:
    """Every entity of `collection`, in spec.column_order and spec.polars_schema(), sorted by the key."""
    scalars = [f.name for f in spec.fields]
    iterator = client.query_iterator(
        collection, batch_size=batch_rows, output_fields=[*scalars, VECTOR_FIELD], consistency_level="Strong"
    )
    frames = []
    try:
        while batch := iterator.next():
            vectors = np.asarray([row[VECTOR_FIELD] for row in batch], dtype=np.float32).reshape(-1, spec.dim)
            frame = pl.DataFrame({name: [row[name] for row in batch] for name in scalars})
            frames.append(frame.with_columns(pl.Series(VECTOR_FIELD, vectors)))
    finally:
        iterator.close()
    if not frames:
        return pl.DataFrame(schema=spec.polars_schema())
    rows = pl.concat(frames).select(spec.column_order).cast(dict(spec.polars_schema()))
    return rows.sort(spec.primary_key.name)


def backup_milvus(resource: MilvusResource, root: Path, specs=SPECS) -> StoreBackup:
    """One Parquet file per alias under root/milvus/; an alias that does not exist is an error."""
    started = time.perf_counter()
    (root / "milvus").mkdir(parents=True, exist_ok=True)
    counts, live, files, collections = {}, {}, [], {}
    with resource.get_client() as client:
        for spec in specs:
            alias = resource.collection_name(spec.logical_name)
            target = alias_target(client, alias)
            if target is None:
                raise BackupError(
                    f"Milvus at {resource.address} has no alias {alias}: materialize the milvus group first"
                )
            rows = export_rows(client, target, spec)
            path = root / backup_file(spec)
            rows.write_parquet(path)
            files.append(path)
            counts[spec.logical_name] = rows.height
            live[spec.logical_name] = count_entities(client, target)
            collections[spec.logical_name] = target
        version = client.get_server_version()
    return StoreBackup(
        store="milvus",
        address=resource.address,
        files=file_entries(root, files),
        counts=counts,
        live_counts=live,
        tools={"milvus": str(version)},
        seconds=time.perf_counter() - started,
        extra={"collections": collections},
    )


def restore_milvus(resource: MilvusResource, root: Path, specs=SPECS, log=print) -> dict[str, int]:
    """A new version of each alias from its file (same schema and index), then the alias moves to it."""
    counts = {}
    with resource.get_client() as client:
        for spec in specs:
            rows = pl.read_parquet(root / backup_file(spec)).select(spec.column_order)
            report = load_blue_green(client, spec, rows, resource.collection_name(spec.logical_name), log=log)
            counts[spec.logical_name] = count_entities(client, report.collection)
    return counts
