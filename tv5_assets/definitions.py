"""The one place that assembles the code location: the `defs/` folder, plus what every group shares.

`dg.load_from_defs_folder` finds each group's assets and checks (`tv5_assets/defs/<group>/`), the
store resources (`defs/resources.py`) and the jobs, schedules and sensors (`defs/automation/`); this
module adds the IO manager, the code location's own graph (for the data dictionary) and the default
executor. `dg` reads `[tool.dg]` in pyproject.toml to
find it; `dagster -m tv5_assets` and workspace.yaml reach the same `defs`.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from .executor_settings import MULTIPROCESS_SETTINGS
from .io_managers import Tv5IOManager
from .k8s import executor_for_environment
from .resources.code_location import RESOURCE_KEY as CODE_LOCATION
from .resources.code_location import code_location_resource

# The default executor (ad-hoc asset runs: `dagster asset materialize`, `dg launch --assets`, automation);
# the named jobs (defs/automation/executors.py) start from these settings and let run config override them:
# - forkserver: each step forks from a server that imported the code location (and the libraries
#   executor_settings.py lists) once, instead of a fresh interpreter importing it again (3 s a step median, 6 s p90
#   measured on 2 cores, 100+ steps);
# - one CPU-heavy step at a time (conventions.CPU_HEAVY): they all use every core, and two at once
#   only slow each other; light steps run beside them.
# On Kubernetes (TV5_EXECUTOR=k8s, set by deploy/helm/values.yaml) it is dagster-k8s'
# `k8s_job_executor` instead: one pod per step, GPU steps on the A100 pool (tv5_assets/k8s.py).
executor = dg.multiprocess_executor.configured(MULTIPROCESS_SETTINGS, name="tv5_multiprocess")


shared = dg.Definitions(
    executor=executor_for_environment(executor),
    # `defs` is looked up when the resource is used, after this module has finished loading.
    resources={"io_manager": Tv5IOManager(), CODE_LOCATION: code_location_resource(lambda: defs())},
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
