"""Group `movielens`: see assets.py (assets) and checks.py (their checks)."""

import dagster as dg

from .assets import movielens_assets
from .checks import movielens_checks

defs = dg.Definitions(assets=movielens_assets, asset_checks=movielens_checks)
