"""`tv5 bench`: the critical path, the table, the process-tree memory sampler, and the report read
back from a real (tiny) multiprocess Dagster run. The end-to-end command needs the local stack and
minutes; these pieces are what it is built from."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from tv5_assets.bench import release_stale_slots
from tv5_assets.bench_format import format_summary, format_table
from tv5_assets.bench_report import AssetFigures, CheckSummary, RunReport, build_report, critical_path
from tv5_assets.procmem import TreeSampler, subtree_sums, tree_pids
from tv5_assets_tests.bench_tiny_job import tiny_job, tiny_source

MB = 1024


# ---------------------------------------------------------------------------- critical path
def test_critical_path_takes_the_heaviest_chain() -> None:
    #   a(1) -> b(5) -> d(1)
    #   a(1) -> c(2) -> d(1)      e(6) alone      f(0.5) <- b
    weights = {"a": 1.0, "b": 5.0, "c": 2.0, "d": 1.0, "e": 6.0, "f": 0.5}
    upstream = {"b": ["a"], "c": ["a"], "d": ["b", "c"], "f": ["b"]}
    assert critical_path(weights, upstream) == (["a", "b", "d"], 7.0)


def test_critical_path_ignores_edges_to_unknown_steps_and_handles_empty() -> None:
    assert critical_path({"x": 2.0}, {"x": ["not_in_run"]}) == (["x"], 2.0)
    assert critical_path({}, {}) == ([], 0.0)


def test_critical_path_breaks_ties_the_same_way_every_time() -> None:
    weights = {"a": 1.0, "b": 1.0, "c": 1.0}
    upstream = {"c": ["b", "a"]}
    assert critical_path(weights, upstream) == critical_path(dict(reversed(weights.items())), upstream)


# ----------------------------------------------------------------------------------- the table
def _asset(
    name: str, start: float | None, seconds: float | None, rows: int | None, step: str | None = None
) -> AssetFigures:
    rate = rows / seconds if rows is not None and seconds else None
    return AssetFigures(name, step or name, "materialized", start, seconds, rows, rate, 120.5, 4242)


def test_table_is_fixed_width_and_in_start_order() -> None:
    report = RunReport(
        run_id="r1",
        status="SUCCESS",
        start=100.0,
        end=130.0,
        wall_s=30.0,
        steps=[],
        assets=[
            _asset("ratings", 105.0, 10.0, 25_000),
            _asset("links", 100.5, 0.5, None),
            _asset("ratings_rejects", 105.0, 10.0, 0, step="ratings"),
            _asset("never_ran", None, None, None),
        ],
        checks=CheckSummary(2, 1.5, [("movies_unique_key", 1.0)], [], 2, []),
        critical_path=["links", "ratings"],
        critical_path_s=10.5,
        memory={},
    )
    lines = format_table(report).splitlines()
    assert lines[0].split()[:4] == ["start", "s", "wall", "s"]
    assert [line.split()[2] for line in lines[1:]] == ["links", "ratings", "ratings_rejects", "never_ran"]
    assert "ratings_rejects [ratings]" in lines[3]
    assert len({len(line) for line in lines}) == 1  # every line as wide as the header
    assert lines[2].split()[0] == "5.0" and "25,000" in lines[2] and "2,500" in lines[2]
    assert lines[4].split()[:2] == ["-", "-"]
    summary = format_summary(report)
    assert "critical path: 10.5 s of 30.0 s wall: links (0.0) -> ratings (0.0)" in summary
    assert "movies_unique_key 1.00 s" in summary


# ------------------------------------------------------------------------------ memory sampler
def test_tree_helpers_on_a_hand_made_process_table() -> None:
    parents = {1: 0, 10: 1, 11: 10, 12: 10, 13: 12, 99: 1}
    assert sorted(tree_pids(10, parents)) == [10, 11, 12, 13]
    order = tree_pids(10, parents)
    sums = subtree_sums(order, parents, {10: 1, 11: 2, 12: 4, 13: 8})
    assert sums == {10: 15, 11: 2, 12: 12, 13: 8}


def test_sampler_sees_a_grandchilds_memory() -> None:
    """The allocating process is a child of the sampled root's child: the walk must reach it."""
    allocate = "import time; block = b'x' * (200 * 1024 * 1024); time.sleep(1.5)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {allocate!r}], check=True)"
    child = subprocess.Popen([sys.executable, "-c", parent])
    with TreeSampler(child.pid, interval_s=0.1) as sampler:
        assert child.wait(timeout=30) == 0
    peaks = sampler.peaks
    others = {pid: kb for pid, kb in peaks.peak_rss_kb.items() if pid != child.pid}
    assert max(others.values()) >= 150 * MB
    assert peaks.peak_rss_kb[child.pid] < 100 * MB  # the intermediate process itself stays small
    assert peaks.peak_subtree_kb[child.pid] >= 150 * MB
    assert peaks.peak_tree_kb >= 150 * MB
    assert peaks.peak_system_used_kb >= peaks.peak_tree_kb // 2


# ------------------------------------------------------------------- report from a real run
@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_report_of_a_multiprocess_run(dagster_home: Path) -> None:
    with dg.DagsterInstance.get() as instance:
        with TreeSampler(os.getpid(), interval_s=0.05) as sampler:
            result = dg.execute_job(dg.reconstructable(tiny_job), instance=instance)
        assert result.success
        report = build_report(instance, result.run_id, sampler.peaks)

    assert report.status == "SUCCESS" and report.succeeded
    steps = {s.key: s for s in report.steps}
    source, sink = steps["tiny_source"], steps["tiny_sink"]
    assert source.status == sink.status == "success"
    assert source.upstream == [] and sink.upstream == ["tiny_source"]
    assert sink.seconds >= 0.5 and source.end <= sink.start
    # each step ran in its own process, not in the test's
    assert len(source.pids) == len(sink.pids) == 1
    assert source.pids != sink.pids and os.getpid() not in source.pids + sink.pids
    assert sink.peak_rss_mb is not None and sink.peak_rss_mb > 20

    assets = {a.asset: a for a in report.assets}
    assert (assets["tiny_source"].rows, assets["tiny_sink"].rows) == (3, 5)
    assert assets["tiny_sink"].rows_per_s == pytest.approx(5 / sink.seconds, rel=0.01)
    assert assets["tiny_sink"].pid == sink.pids[0]

    assert report.checks.steps == 1 and report.checks.evaluations == 1
    assert [(f.asset, f.check, f.state) for f in report.checks.failed] == [
        ("tiny_source", "tiny_source_is_big", "warn")
    ]
    assert report.critical_path == ["tiny_source", "tiny_sink"]
    assert report.critical_path_s == pytest.approx(source.seconds + sink.seconds, abs=0.01)
    assert report.wall_s >= report.critical_path_s
    assert "tiny_sink" in format_table(report)


def test_slots_of_ended_runs_are_released(dagster_home: Path) -> None:
    """A killed CLI run keeps its pool slot; the next bench must not wait on it forever."""
    with dg.DagsterInstance.get() as instance:
        ended = dg.materialize([tiny_source], instance=instance).run_id
        storage = instance.event_log_storage
        storage.set_concurrency_slots("neo4j", 1)
        assert storage.claim_concurrency_slot("neo4j", ended, "neo4j_movies").is_claimed
        assert release_stale_slots(instance) == [ended]
        assert storage.get_concurrency_info("neo4j").claimed_slots == []
        assert release_stale_slots(instance) == []
