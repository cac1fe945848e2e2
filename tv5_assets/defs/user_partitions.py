"""The backfill job of the partitioned deployment: the user-growing assets over user-id ranges.

It exists only when TV5_USER_PARTITIONS is set (tv5_assets/partitions.py); the default,
unpartitioned code location has no such job. `dagster job backfill -j user_partitions --all`
(or the UI's backfill dialog) submits one run per range; with the K8s run launcher each run is a
pod, and `k8s_job_executor` gives each step its own.
"""

import dagster as dg

from ..partitions import user_partitions_def

USER_PARTITIONED_ASSETS = ["user_embeddings", "agentdb_episodes", "neo4j_ratings", "milvus_user_collection"]

_partitions = user_partitions_def()
if _partitions is not None:
    user_partitions = dg.define_asset_job(
        "user_partitions",
        selection=dg.AssetSelection.assets(*USER_PARTITIONED_ASSETS),
        partitions_def=_partitions,
        description="One user-id range of the user-growing assets (embeddings, episodes, RATED edges, the "
        "Milvus user collection) and their checks; backfill it over every range.",
    )
