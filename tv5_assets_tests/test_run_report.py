"""`tv5 checks` fails a CI job on ERROR-severity check failures, and only on those."""

from __future__ import annotations

import io

import dagster as dg
import pytest

from tv5_assets.run_report import report


def _run_with_check(passed: bool, severity: dg.AssetCheckSeverity):
    @dg.asset
    def thing() -> None:
        return None

    @dg.asset_check(asset=thing)
    def thing_is_good() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=passed, severity=severity)

    instance = dg.DagsterInstance.ephemeral()
    dg.materialize([thing, thing_is_good], instance=instance)
    out = io.StringIO()
    return report(out=out, instance=instance), out.getvalue()


@pytest.mark.parametrize(
    ("passed", "severity", "expected_exit", "word"),
    [
        (True, dg.AssetCheckSeverity.ERROR, 0, "passed"),
        (False, dg.AssetCheckSeverity.WARN, 0, "warn"),
        (False, dg.AssetCheckSeverity.ERROR, 1, "FAILED"),
    ],
)
def test_exit_status_follows_error_failures(passed, severity, expected_exit, word) -> None:
    code, text = _run_with_check(passed, severity)
    assert code == expected_exit
    assert "thing / thing_is_good" in text and word in text


def test_the_latest_finished_run_is_reported_not_a_queued_one() -> None:
    # With the daemon on, a schedule's queued run can be newer than the build the user checks.
    instance = dg.DagsterInstance.ephemeral()

    @dg.asset
    def thing() -> None:
        return None

    @dg.asset_check(asset=thing)
    def thing_is_good() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=True)

    built = dg.materialize([thing, thing_is_good], instance=instance)
    # A newer run that has not finished (STARTED: a queued run needs a code location origin).
    instance.add_run(
        dg.DagsterRun(job_name="refresh_trends_cache", run_id="q" * 36, status=dg.DagsterRunStatus.STARTED)
    )
    out = io.StringIO()
    assert report(out=out, instance=instance) == 0
    assert f"run {built.run_id[:8]} (__ephemeral_asset_job__) SUCCESS: 1 check results" in out.getvalue()
    out = io.StringIO()
    assert report(out=out, instance=instance, job="build_everything") == 1
    assert "no finished run of job build_everything" in out.getvalue()
