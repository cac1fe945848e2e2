"""Group `embeddings`: movie texts and vectors, user preference vectors, similar movies.

Assets in assets.py, checks in checks.py; the pure logic they use lives beside them (text.py,
model.py, user_vectors.py, similarity.py, sanity.py, exports.py) and is testable without Dagster.
"""

import dagster as dg

from . import assets as _assets
from . import checks as _checks

defs = dg.Definitions(assets=_assets.assets, asset_checks=_checks.checks)
