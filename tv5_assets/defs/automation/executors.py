"""The executor of each job: multiprocess (forkserver) by default or in-process, overridable in run config.

`tv5_executor("multiprocess")` starts with the code location's default executor settings
(`tv5_assets.definitions.executor`: forkserver that preloads the defs modules, one CPU-heavy step
at a time); `tv5_executor("in_process")` runs every step in the run's own process, which saves the
few seconds a step's process costs when the steps are tiny. Either mode can be chosen per run, like
Dagster's `multi_or_in_process_executor`:

    execution:
      config:
        in_process: {}              # or
        multiprocess:
          max_concurrent: 1         # the forkserver and the CPU-heavy limit stay unless given here
"""

from __future__ import annotations

from typing import Any, Literal

import dagster as dg
from dagster._core.definitions.executor_definition import (
    IN_PROC_CONFIG,
    MULTI_PROC_CONFIG,
    _core_in_process_executor_creation,
    _core_multiprocess_executor_creation,
    multiple_process_executor_requirements,
)

from ...k8s import executor_for_environment

Mode = Literal["multiprocess", "in_process"]


def default_multiprocess_config() -> dict[str, Any]:
    """The settings of the code location's default executor (definitions.py), as run config."""
    from ...definitions import executor  # at call time: definitions.py loads this folder

    return executor.apply_config_mapping({}).value["config"]


def resolve_executor_config(executor_config: dict[str, Any]) -> tuple[Mode, dict[str, Any]]:
    """(mode, settings) from a run's `execution.config`; multiprocess settings the run leaves out
    (start method, tag limits, max_concurrent) come from the default executor."""
    mode, given = next(iter(executor_config.items()))
    if mode == "in_process":
        return "in_process", given
    defaults = default_multiprocess_config()
    merged = {**defaults, **{k: v for k, v in given.items() if v is not None}}
    return "multiprocess", merged


def _requirements(executor_config: dict[str, Any]):
    return multiple_process_executor_requirements() if "multiprocess" in executor_config else []


def tv5_executor(default_mode: Mode) -> dg.ExecutorDefinition:
    """An executor that runs `default_mode` unless the run config picks the other (see above)."""

    def create(init_context: dg.InitExecutorContext):
        mode, settings = resolve_executor_config(dict(init_context.executor_config))
        if mode == "in_process":
            return _core_in_process_executor_creation(settings)
        return _core_multiprocess_executor_creation(settings)

    return dg.ExecutorDefinition(
        name=f"tv5_job_{default_mode}",
        config_schema=dg.Field(
            dg.Selector({"multiprocess": MULTI_PROC_CONFIG, "in_process": IN_PROC_CONFIG}),
            default_value={default_mode: {}},
        ),
        executor_creation_fn=create,
        requirements=_requirements,
        description=f"{default_mode} by default; `execution: config: in_process|multiprocess` in run config overrides it.",
    )


# On Kubernetes (TV5_EXECUTOR=k8s) the multiprocess jobs take `k8s_job_executor` instead: one pod per
# step, the GPU steps on the A100 pool (tv5_assets/k8s.py). In-process jobs stay in their run's pod.
MULTIPROCESS = executor_for_environment(tv5_executor("multiprocess"))
IN_PROCESS = tv5_executor("in_process")
