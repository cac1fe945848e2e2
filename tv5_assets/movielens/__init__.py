"""Group `movielens`: see assets.py (assets) and checks.py (their checks)."""

import dagster as dg

from .assets import assets
from .checks import checks

defs = dg.Definitions(assets=assets, asset_checks=checks)
