"""TV5 media-recommendation data platform: a Dagster code location.

`tv5_assets.definitions.defs` (`@dg.definitions`) builds it from the `defs/` folder; `dg` finds it
through `[tool.dg]` in pyproject.toml, and `dagster -m tv5_assets` (workspace.yaml) through
`code_location` below. It is imported on first access, so the `tv5` CLI (`tv5 sample`,
`tv5 services`) starts without importing Dagster or the asset graph, and keeps working while a group
is broken. (`tv5_assets.defs` is the folder of groups, not a Definitions object.)
"""

from __future__ import annotations

from typing import Any

__all__ = ["code_location"]


def __getattr__(name: str) -> Any:
    if name == "code_location":
        from .definitions import defs

        return defs
    raise AttributeError(f"module 'tv5_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "code_location"])
