"""TV5 media-recommendation data platform: a Dagster code location (`defs`).

`defs` is built on first access, so the `tv5` CLI (`tv5 sample`, `tv5 services`) starts without
importing the whole asset graph (torch, store clients) and keeps working while a group is broken.
Dagster finds it through `dir(module)` as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster import Definitions

    defs: Definitions

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from .definitions import defs

        return defs
    raise AttributeError(f"module 'tv5_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "defs"])
