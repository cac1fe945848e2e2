"""Group `postgres`: the AgentDB in PostgreSQL; see assets.py (assets) and checks.py (their checks).

The `postgres` resource reads TV5_POSTGRES_URL through dg.EnvVar when it is set, else it points at
the local cluster from `tv5 services up`.
"""

import dagster as dg

from ..resources.postgres import postgres_resource_from_env
from .assets import ASSETS
from .checks import CHECKS

defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, resources={"postgres": postgres_resource_from_env()})
