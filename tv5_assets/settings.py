"""Paths and knobs read from the environment, in one place.

Every setting has a documented default (docs/configuration.md), so a fresh clone works without
any variable set; a user points the platform at real data or real servers by exporting them.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_MOVIELENS_DIR = "data/raw/ml-25m"
DEFAULT_DATA_DIR = "data"


def data_dir() -> Path:
    """Root under which assets, exports and the local services' files live (`TV5_DATA_DIR`)."""
    return Path(os.environ.get("TV5_DATA_DIR", DEFAULT_DATA_DIR)).expanduser().absolute()


def movielens_dir() -> Path:
    """The GroupLens release folder the ingestion assets read (`TV5_MOVIELENS_DIR`)."""
    return Path(os.environ.get("TV5_MOVIELENS_DIR", DEFAULT_MOVIELENS_DIR)).expanduser().absolute()


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


# The stores' endpoints (the URL variables, the local stack's ports and URLs) are in endpoints.py.


def services_dir() -> Path:
    """Where the local services keep data, logs and pid files."""
    return data_dir() / "services"
