"""Two tiny assets and a check for test_bench.py, in their own module so that the multiprocess
executor's step processes can import them (`dg.reconstructable` needs a module-level function)."""

from __future__ import annotations

import time

import dagster as dg


@dg.asset
def tiny_source() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": 3})


@dg.asset(deps=[tiny_source])
def tiny_sink() -> dg.MaterializeResult:
    time.sleep(0.5)  # the longest step by far, so the critical path is source -> sink
    return dg.MaterializeResult(metadata={"dagster/row_count": 5})


@dg.asset_check(asset=tiny_source)
def tiny_source_is_big() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN)


# forkserver: dagster is imported once and every step forks from it (spawn re-imports it per step,
# seconds each on a busy two-core machine); still one process per step.
FORKSERVER = dg.multiprocess_executor.configured({"start_method": {"forkserver": {}}})


def tiny_job() -> dg.JobDefinition:
    """Every step in its own process, as `dagster asset materialize` runs the real graph."""
    job = dg.define_asset_job("tiny", selection=dg.AssetSelection.all(), executor_def=FORKSERVER)
    defs = dg.Definitions(assets=[tiny_source, tiny_sink], asset_checks=[tiny_source_is_big], jobs=[job])
    return defs.resolve_job_def("tiny")
