"""The executor of each job: multiprocess (forkserver) by default or in-process, overridable in run config.

`tv5_executor("multiprocess")` starts with the code location's default executor settings
(`tv5_assets.executor_settings.MULTIPROCESS_SETTINGS`: forkserver that preloads the defs modules, one
CPU-heavy step at a time); `tv5_executor("in_process")` runs every step in the run's own process,
which saves the few seconds a step's process costs when the steps are tiny. Either mode can be
chosen per run, as with Dagster's `multi_or_in_process_executor`:

    execution:
      config:
        in_process: {}              # or
        multiprocess:
          max_concurrent: 1         # the forkserver and the CPU-heavy limit stay unless given here

Both are Dagster's own `multi_or_in_process_executor`, `configured` with a config function: the run's
choice, with the multiprocess settings it leaves out filled in from the defaults, becomes that
executor's config, so Dagster checks it against its own schema before the run starts and picks the
executor (and, for multiprocess, its requirements: a reconstructable job, a persistent instance).
"""

from __future__ import annotations

from typing import Any, Literal

import dagster as dg

from ...executor_settings import MULTIPROCESS_SETTINGS
from ...k8s import executor_for_environment

Mode = Literal["multiprocess", "in_process"]
MODES: tuple[Mode, ...] = ("multiprocess", "in_process")


def default_multiprocess_config() -> dict[str, Any]:
    """The settings of the code location's default executor (executor_settings.py), as run config."""
    return dict(MULTIPROCESS_SETTINGS)


def resolve_executor_config(executor_config: dict[str, Any]) -> tuple[Mode, dict[str, Any]]:
    """(mode, settings) from a run's `execution.config`; multiprocess settings the run leaves out
    (start method, tag limits, max_concurrent) come from the default executor."""
    mode, given = next(iter(executor_config.items()))
    given = dict(given or {})
    if mode == "in_process":
        return "in_process", given
    defaults = default_multiprocess_config()
    merged = {**defaults, **{k: v for k, v in given.items() if v is not None}}
    return "multiprocess", merged


def _selected_config(executor_config: dict[str, Any]) -> dict[str, Any]:
    """The config function of `configured`: this executor's config -> multi_or_in_process_executor's."""
    mode, settings = resolve_executor_config(executor_config)
    return {mode: settings}


def tv5_executor(default_mode: Mode) -> dg.ExecutorDefinition:
    """An executor that runs `default_mode` unless the run config picks the other (see above)."""
    # Each mode takes any settings here: Dagster validates them, defaults merged in, against
    # multi_or_in_process_executor's schema when it applies the config function (before the run).
    modes = {mode: dg.Field(dg.Permissive(), default_value={}, is_required=False) for mode in MODES}
    return dg.multi_or_in_process_executor.configured(
        _selected_config,
        name=f"tv5_job_{default_mode}",
        config_schema=dg.Field(dg.Selector(modes), default_value={default_mode: {}}),
        description=f"{default_mode} by default; `execution: config: in_process|multiprocess` in run config overrides it.",
    )


# On Kubernetes (TV5_EXECUTOR=k8s) the multiprocess jobs take `k8s_job_executor` instead: one pod per
# step, the GPU steps on the A100 pool (tv5_assets/k8s.py). In-process jobs stay in their run's pod.
MULTIPROCESS = executor_for_environment(tv5_executor("multiprocess"))
IN_PROCESS = tv5_executor("in_process")
