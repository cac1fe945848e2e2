"""`tv5 checks`: the asset-check results of a run, as a table, for CI logs and terminals.

Exit status 1 when a check failed with ERROR severity (or a step failed), so a CI job that runs
`dagster asset materialize` can fail on data-quality problems, not only on crashes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import dagster as dg
from dagster import DagsterEventType


@dataclass(frozen=True)
class CheckResult:
    """One asset-check evaluation of a run; `state` is passed, warn (failed, WARN) or FAILED (ERROR)."""

    asset: str
    check: str
    state: str
    step_key: str | None


def check_results(instance: dg.DagsterInstance, run_id: str) -> list[CheckResult]:
    """Every check evaluation of the run, as `tv5 checks` and `tv5 bench` both report them."""
    results = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        evaluation = record.dagster_event.event_specific_data
        severity = evaluation.severity.value if evaluation.severity else "ERROR"
        state = "passed" if evaluation.passed else ("FAILED" if severity == "ERROR" else "warn")
        results.append(
            CheckResult(evaluation.asset_key.to_user_string(), evaluation.check_name, state, record.step_key)
        )
    return results


# Without --run-id, the latest run that finished: with the daemon on, a queued or running run of a
# schedule or sensor can be newer than the build whose checks the user wants.
FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE]


def report(
    run_id: str | None = None,
    out=sys.stdout,
    instance: dg.DagsterInstance | None = None,
    job: str | None = None,
) -> int:
    instance = instance or dg.DagsterInstance.get()
    if run_id is None:
        runs = instance.get_runs(filters=dg.RunsFilter(statuses=FINISHED, job_name=job), limit=1)
        if not runs:
            of_job = f" of job {job}" if job else ""
            print(f"no finished run{of_job} in this Dagster instance (is DAGSTER_HOME the one the run used?)", file=out)
            return 1
        run = runs[0]
    else:
        run = instance.get_run_by_id(run_id)
        if run is None:
            print(f"run {run_id} not found in this Dagster instance", file=out)
            return 1

    rows = [(r.asset, r.check, r.state) for r in check_results(instance, run.run_id)]
    failed_errors = sum(state == "FAILED" for _, _, state in rows)
    width = max((len(a) + len(c) for a, c, _ in rows), default=20) + 3
    for asset, check, state in sorted(rows):
        print(f"{(asset + ' / ' + check):<{width}} {state}", file=out)
    step_failures = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_FAILURE)
    print(
        f"run {run.run_id[:8]} ({run.job_name}) {run.status.value}: {len(rows)} check results, {failed_errors} failed, "
        f"{len(step_failures)} failed steps",
        file=out,
    )
    ok = run.status == dg.DagsterRunStatus.SUCCESS and failed_errors == 0 and not step_failures
    return 0 if ok else 1
