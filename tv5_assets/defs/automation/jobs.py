"""The named jobs: the whole graph, or one stage of it, with the executor that suits its steps.

    build_everything      every asset and check                     multiprocess (forkserver)
    ingest                movielens + synthetic                     multiprocess (big parses)
    embeddings            the embedding group (GPU steps)           multiprocess
    load_stores           every store group (milvus, neo4j, ...)    multiprocess
    quality               quality + docs (reports on the stores)    in-process (a few light steps)
    refresh_trends_cache  redis_trends_cache (the schedule's job)   in-process (one small step)

A job reads its upstream assets from their last materialization (the IO manager's files), so
`load_stores` after `ingest` and `embeddings` equals `build_everything`. Launch one with
`dg launch --job <name>` or `dagster job execute -m tv5_assets -j <name>`, or from its page in the UI;
`execution: config: in_process: {}` (or `multiprocess: {...}`) in run config overrides the executor.
"""

from __future__ import annotations

import dagster as dg

from ...conventions import STORE_RUN_TAG
from ...registry import STORES, by_name, listed
from .executors import IN_PROCESS, MULTIPROCESS

STORE_GROUPS = tuple(store.group for store in by_name())  # every store of the registry

# Backups are an operation on the loaded stores, not part of building them: the Neo4j dump stops
# and restarts the server (a minute on a small sample), so they run as their own job.
BACKUPS = dg.AssetSelection.groups("backups")

build_everything = dg.define_asset_job(
    "build_everything",
    selection=dg.AssetSelection.all() - BACKUPS,
    executor_def=MULTIPROCESS,
    tags={STORE_RUN_TAG: "true"},  # its store loads run in it: the store automation ignores its updates
    description="Materialize the whole graph but the backups: MovieLens, synthetic data, embeddings, all stores, "
    "reports (then `backup_stores` for a snapshot of the stores).",
)

backup_stores = dg.define_asset_job(
    "backup_stores",
    selection=BACKUPS,
    executor_def=IN_PROCESS,
    description=f"Snapshot every store ({', '.join(store.name for store in STORES)}) under TV5_DATA_DIR/backups; "
    "the local Neo4j is stopped for its dump and started again.",
)

ingest = dg.define_asset_job(
    "ingest",
    selection=dg.AssetSelection.groups("movielens", "synthetic"),
    executor_def=MULTIPROCESS,
    description="Parse the GroupLens release (TV5_MOVIELENS_DIR) and generate the synthetic tables, with their checks.",
)

embeddings = dg.define_asset_job(
    "embeddings",
    selection=dg.AssetSelection.groups("embeddings"),
    executor_def=MULTIPROCESS,
    description="Encode the movie texts and the users (the GPU steps, pool `gpu`) from the ingested tables.",
)

load_stores = dg.define_asset_job(
    "load_stores",
    selection=dg.AssetSelection.groups(*STORE_GROUPS),
    executor_def=MULTIPROCESS,
    tags={STORE_RUN_TAG: "true"},
    description=f"Load {listed(store.name for store in by_name())} from the last ingested tables and embeddings.",
)

quality = dg.define_asset_job(
    "quality",
    selection=dg.AssetSelection.groups("quality", "docs"),
    executor_def=IN_PROCESS,
    description="Cross-store counts, query benchmarks, recommendation quality and the data dictionary, read from the live stores.",
)

refresh_trends_cache = dg.define_asset_job(
    "refresh_trends_cache",
    selection=dg.AssetSelection.assets("redis_trends_cache"),
    executor_def=IN_PROCESS,
    description="Rewrite the Redis trend keys (15-minute TTL) from the last `trends` table; run by the trends schedule.",
)
