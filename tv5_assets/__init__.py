"""TV5 media-recommendation data platform: a Dagster code location (`defs`)."""

from .definitions import defs

__all__ = ["defs"]
