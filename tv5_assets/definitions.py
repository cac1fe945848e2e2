"""The one place that assembles the code location: every group's assets, checks and resources.

Each group lives in its own package (`tv5_assets/<group>/`, assets in assets.py, checks in
checks.py) and exposes a `defs`; this module merges them and adds what all of them share.
"""

from __future__ import annotations

import dagster as dg

from . import (
    embeddings,
    milvus_vectors,
    movielens,
    neo4j_graph,
    postgres_agentdb,
    redis_cache,
    synthetic,
)
from .conventions import CPU_HEAVY_TAG
from .io_managers import Tv5IOManager

# The default executor of every job, `dagster asset materialize` included:
# - forkserver: each step forks from a server that imported the code location once, instead of a
#   fresh interpreter importing it again (3 s a step median, 6 s p90 measured on 2 cores, 100+ steps);
# - one CPU-heavy step at a time (conventions.CPU_HEAVY): they all use every core, and two at once
#   only slow each other; light steps run beside them.
executor = dg.multiprocess_executor.configured(
    {
        "start_method": {"forkserver": {"preload_modules": ["tv5_assets.definitions"]}},
        "tag_concurrency_limits": [{"key": CPU_HEAVY_TAG, "value": "heavy", "limit": 1}],
    },
    name="tv5_multiprocess",
)

shared = dg.Definitions(
    executor=executor,
    resources={"io_manager": Tv5IOManager()},
    jobs=[
        dg.define_asset_job(
            "build_everything",
            selection=dg.AssetSelection.all(),
            description="Materialize the whole graph: MovieLens, synthetic data, embeddings and all stores.",
        )
    ],
)

defs = dg.Definitions.merge(
    shared,
    movielens.defs,
    synthetic.defs,
    embeddings.defs,
    milvus_vectors.defs,
    postgres_agentdb.defs,
    redis_cache.defs,
    neo4j_graph.defs,
)
