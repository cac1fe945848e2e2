"""Group `synthetic`: see assets.py (assets) and checks.py (their checks)."""

import dagster as dg

from .assets import ASSETS
from .checks import CHECKS

defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS)
