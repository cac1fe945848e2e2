"""`tv5 checks`: the asset-check results of a run, as a table, for CI logs and terminals.

Exit status 1 when a check failed with ERROR severity (or a step failed), so a CI job that runs
`dagster asset materialize` can fail on data-quality problems, not only on crashes.
"""

from __future__ import annotations

import sys

import dagster as dg
from dagster._core.events import DagsterEventType


def report(run_id: str | None = None, out=sys.stdout, instance: dg.DagsterInstance | None = None) -> int:
    instance = instance or dg.DagsterInstance.get()
    if run_id is None:
        runs = instance.get_runs(limit=1)
        if not runs:
            print("no runs in this Dagster instance (is DAGSTER_HOME the one the run used?)", file=out)
            return 1
        run = runs[0]
    else:
        run = instance.get_run_by_id(run_id)
        if run is None:
            print(f"run {run_id} not found in this Dagster instance", file=out)
            return 1

    records = instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    failed_errors = 0
    rows = []
    for record in records:
        evaluation = record.dagster_event.event_specific_data
        severity = evaluation.severity.value if evaluation.severity else "ERROR"
        state = "passed" if evaluation.passed else ("FAILED" if severity == "ERROR" else "warn")
        failed_errors += state == "FAILED"
        rows.append((evaluation.asset_key.to_user_string(), evaluation.check_name, state))
    width = max((len(a) + len(c) for a, c, _ in rows), default=20) + 3
    for asset, check, state in sorted(rows):
        print(f"{(asset + ' / ' + check):<{width}} {state}", file=out)
    step_failures = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE)
    print(
        f"run {run.run_id[:8]} {run.status.value}: {len(rows)} check results, {failed_errors} failed, "
        f"{len(step_failures)} failed steps",
        file=out,
    )
    ok = run.status == dg.DagsterRunStatus.SUCCESS and failed_errors == 0 and not step_failures
    return 0 if ok else 1
