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
from .io_managers import Tv5IOManager

shared = dg.Definitions(
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
