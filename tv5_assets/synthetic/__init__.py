"""Group `synthetic`: see assets.py (assets) and checks.py (their checks)."""

import dagster as dg

defs = dg.Definitions()
