"""Group `redis`: the platform and trends caches; see assets.py (assets), checks.py (their checks)
and cache.py (key layout, atomic refresh and the reader helpers).

The `redis` resource reads TV5_REDIS_URL through dg.EnvVar when it is set, else it points at the
local server from `tv5 services up`.
"""
