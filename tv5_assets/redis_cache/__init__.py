"""Group `redis`: the platform and trends caches; see assets.py (assets), checks.py (their checks)
and cache.py (key layout, atomic refresh and the reader helpers re-exported here).

The `redis` resource reads TV5_REDIS_URL through dg.EnvVar when it is set, else it points at the
local server from `tv5 services up`.
"""

import dagster as dg

from ..resources.redis import redis_resource_from_env
from .assets import ASSETS
from .cache import get_platforms, get_trend, top_trending
from .checks import CHECKS

defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, resources={"redis": redis_resource_from_env()})

__all__ = ["defs", "get_platforms", "get_trend", "top_trending"]
