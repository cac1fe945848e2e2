"""The store resources, one per store of the registry, under the keys the store groups ask for.

Each reads its endpoint from environment variables through `dg.EnvVar` when they are set, else it
points at the local server that `tv5 services up` starts (tv5_assets/endpoints.py lists them).
"""

import dagster as dg

from ..registry import STORES


@dg.definitions
def store_resources() -> dg.Definitions:
    return dg.Definitions(resources={store.key: store.resource_from_env() for store in STORES})
