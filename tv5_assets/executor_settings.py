"""The default executor's settings: what its forkserver preloads, and its multiprocess run config.

A module of its own, below both users: `definitions.py` builds the default executor from it, and the
named jobs' executors (`defs/automation/executors.py`) fill in what a run's config leaves out from
it, without importing the module that loads the defs folder they live in.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

from .conventions import CPU_HEAVY_TAG

# Heavy libraries that only steps use. The code location (webserver, daemon, `dg`, run workers) loads
# without them: every module imports them inside the functions that use them, and a test keeps them
# out of `sys.modules` after `defs()`. The executor's forkserver preloads the first group once, so a
# forked step finds them imported; torch and sentence-transformers stay with the embedding steps
# (seconds to import, and the model is loaded by those steps anyway).
FORKSERVER_LIBRARIES = (
    "neo4j",
    "pymilvus",
    "redis",
    "psycopg",
    "sqlalchemy",
    "sqlalchemy.dialects.postgresql",
    "pyarrow",
    "pyarrow.compute",
    "scipy.sparse",
    "faker",
)
# A forked step first re-runs the parent's main script (multiprocessing does that for a script
# parent): the `dagster` script imports its CLI (0.13 s of CPU a step), unless the server already has.
# Which module that is comes from the script's entry point in dagster's package metadata.
DAGSTER_SCRIPT = "dagster"
STEP_LIBRARIES = (*FORKSERVER_LIBRARIES, "torch", "sentence_transformers", "transformers", "pandas", "grpc")


def defs_modules() -> list[str]:
    """Every module of the defs folder: the forkserver imports them once, before it forks steps."""
    root = Path(__file__).parent  # the package: defs/ is beside this module
    files = sorted((root / "defs").rglob("*.py"))
    return [
        ".".join((root.name, *path.relative_to(root).with_suffix("").parts))
        for path in files
        if path.name != "__init__.py"
    ]


def cli_modules() -> list[str]:
    """The module(s) the `dagster` console script imports, read from dagster's entry points."""
    try:
        scripts = metadata.distribution("dagster").entry_points.select(group="console_scripts", name=DAGSTER_SCRIPT)
    except metadata.PackageNotFoundError:  # dagster imported from a source tree: no script to match
        return []
    return [script.module for script in scripts]


def forkserver_preload() -> list[str]:
    """What the forkserver imports before it forks steps: the code location, then the step libraries."""
    return ["tv5_assets.definitions", *defs_modules(), *FORKSERVER_LIBRARIES, *cli_modules(), "tv5_assets.forkserver"]


# The default executor's settings, as `multiprocess` run config; the named jobs' executors
# (defs/automation/executors.py) fill in from them what a run's config leaves out.
MULTIPROCESS_SETTINGS: dict[str, Any] = {
    "start_method": {"forkserver": {"preload_modules": forkserver_preload()}},
    "tag_concurrency_limits": [{"key": CPU_HEAVY_TAG, "value": "heavy", "limit": 1}],
}
