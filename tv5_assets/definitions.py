"""The one place that assembles the code location: the `defs/` folder, plus what every group shares.

`dg.load_from_defs_folder` finds each group's assets and checks (`tv5_assets/defs/<group>/`), the
store resources (`defs/resources.py`) and the jobs, schedules and sensors (`defs/automation/`); this
module adds the IO manager and the default executor. `dg` reads `[tool.dg]` in pyproject.toml to
find it; `dagster -m tv5_assets` and workspace.yaml reach the same `defs`.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import dagster as dg

from .conventions import CPU_HEAVY_TAG
from .io_managers import Tv5IOManager
from .k8s import executor_for_environment

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

# The default executor (ad-hoc asset runs: `dagster asset materialize`, `dg launch --assets`, automation);
# the named jobs (defs/automation/executors.py) start from these settings and let run config override them:
# - forkserver: each step forks from a server that imported the code location (and the libraries
#   above) once, instead of a fresh interpreter importing it again (3 s a step median, 6 s p90
#   measured on 2 cores, 100+ steps);
# - one CPU-heavy step at a time (conventions.CPU_HEAVY): they all use every core, and two at once
#   only slow each other; light steps run beside them.
# On Kubernetes (TV5_EXECUTOR=k8s, set by deploy/helm/values.yaml) it is dagster-k8s'
# `k8s_job_executor` instead: one pod per step, GPU steps on the A100 pool (tv5_assets/k8s.py).


def defs_modules() -> list[str]:
    """Every module of the defs folder: the forkserver imports them once, before it forks steps."""
    root = Path(__file__).parent
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
executor = dg.multiprocess_executor.configured(MULTIPROCESS_SETTINGS, name="tv5_multiprocess")


shared = dg.Definitions(
    executor=executor_for_environment(executor),
    resources={"io_manager": Tv5IOManager()},
)


def build_defs() -> dg.Definitions:
    return dg.Definitions.merge(shared, dg.load_from_defs_folder(path_within_project=Path(__file__).parent))


# Set only in the executor's forkserver (tv5_assets/forkserver.py): the definitions it built once, which
# every step forked from it reuses instead of rebuilding ~150 asset and check definitions. Elsewhere
# each defs() call builds afresh (resources read their settings from the environment when built).
_prebuilt: dg.Definitions | None = None


def warm_up() -> None:
    """Build the definitions and resolve the repository and its jobs (the implicit asset job of
    `dagster asset materialize` included), for the steps forked from this process to reuse."""
    global _prebuilt
    _prebuilt = build_defs()
    _prebuilt.get_repository_def().get_all_jobs()


@dg.definitions
def defs() -> dg.Definitions:
    return _prebuilt if _prebuilt is not None else build_defs()
