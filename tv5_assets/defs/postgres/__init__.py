"""Group `postgres`: the AgentDB in PostgreSQL; see assets.py (assets) and checks.py (their checks).

The `postgres` resource reads TV5_POSTGRES_URL through dg.EnvVar when it is set, else it points at
the local cluster from `tv5 services up`.
"""
