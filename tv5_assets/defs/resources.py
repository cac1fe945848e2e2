"""The four store resources, under the keys the store groups ask for.

Each reads its endpoint from environment variables through `dg.EnvVar` when they are set, else it
points at the local server that `tv5 services up` starts (tv5_assets/endpoints.py lists them).
"""

import dagster as dg

from ..resources.milvus import milvus_resource_from_env
from ..resources.neo4j import neo4j_resource_from_env
from ..resources.postgres import postgres_resource_from_env
from ..resources.redis import redis_resource_from_env


@dg.definitions
def store_resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "milvus": milvus_resource_from_env(),
            "neo4j": neo4j_resource_from_env(),
            "postgres": postgres_resource_from_env(),
            "redis": redis_resource_from_env(),
        }
    )
