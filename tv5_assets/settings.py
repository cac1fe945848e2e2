"""Paths and knobs read from the environment, in one place.

Every setting has a documented default (README, "Configuration"), so a fresh clone works without
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


# Local stack started by `tv5 services up` (private ports, localhost only). An env var pointing at
# another server always wins: TV5_POSTGRES_URL, TV5_REDIS_URL, TV5_MILVUS_URI, TV5_NEO4J_URI.
LOCAL_POSTGRES_PORT = int(os.environ.get("TV5_LOCAL_POSTGRES_PORT", "55432"))
LOCAL_REDIS_PORT = int(os.environ.get("TV5_LOCAL_REDIS_PORT", "56379"))
LOCAL_MILVUS_PORT = int(os.environ.get("TV5_LOCAL_MILVUS_PORT", "59530"))
LOCAL_NEO4J_BOLT_PORT = int(os.environ.get("TV5_LOCAL_NEO4J_PORT", "57687"))

LOCAL_POSTGRES_URL = f"postgresql://tv5@127.0.0.1:{LOCAL_POSTGRES_PORT}/tv5"
LOCAL_REDIS_URL = f"redis://127.0.0.1:{LOCAL_REDIS_PORT}/0"
LOCAL_MILVUS_URI = f"http://127.0.0.1:{LOCAL_MILVUS_PORT}"
LOCAL_NEO4J_URI = f"bolt://127.0.0.1:{LOCAL_NEO4J_BOLT_PORT}"


def services_dir() -> Path:
    """Where the local services keep data, logs and pid files."""
    return data_dir() / "services"
