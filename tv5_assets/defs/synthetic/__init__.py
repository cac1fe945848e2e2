"""Group `synthetic`: see assets.py (assets) and checks.py (their checks)."""
