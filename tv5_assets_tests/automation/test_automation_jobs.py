"""The named jobs: what each selects, which executor it runs, and how run config overrides it."""

from __future__ import annotations

from types import SimpleNamespace

import dagster as dg
import pytest

from tv5_assets.definitions import defs as load_defs
from tv5_assets.defs.automation.executors import IN_PROCESS, MULTIPROCESS, resolve_executor_config
from tv5_assets.executor_settings import MULTIPROCESS_SETTINGS
from tv5_assets.registry import STORES

defs = load_defs()
GRAPH = defs.get_repository_def().asset_graph

EXPECTED_GROUPS = {
    "ingest": {"movielens", "synthetic"},
    "embeddings": {"embeddings"},
    "load_stores": {store.group for store in STORES},  # milvus, neo4j, postgres, redis
    "quality": {"quality", "docs"},
    "backup_stores": {"backups"},
}


def job_assets(name: str) -> set[dg.AssetKey]:
    return set(defs.resolve_job_def(name).asset_layer.executable_asset_keys)


def test_build_everything_selects_every_asset_but_the_backups() -> None:
    every = {k for k in GRAPH.get_all_asset_keys() if GRAPH.get(k).is_materializable}
    backups = {k for k in every if GRAPH.get(k).group_name == "backups"}
    assert backups, "no backup asset found"
    assert job_assets("build_everything") == every - backups
    assert job_assets("backup_stores") == backups


@pytest.mark.parametrize("job", sorted(EXPECTED_GROUPS))
def test_stage_jobs_select_exactly_their_groups(job: str) -> None:
    groups = {GRAPH.get(k).group_name for k in job_assets(job)}
    assert groups == EXPECTED_GROUPS[job]
    # The materializable assets: a job does not observe the GroupLens files' source assets (movielens group).
    in_groups = {
        k
        for k in GRAPH.get_all_asset_keys()
        if GRAPH.get(k).is_materializable and GRAPH.get(k).group_name in EXPECTED_GROUPS[job]
    }
    assert job_assets(job) == in_groups


def test_refresh_trends_cache_is_the_one_cache_step() -> None:
    assert job_assets("refresh_trends_cache") == {dg.AssetKey("redis_trends_cache")}


@pytest.mark.parametrize(
    ("job", "executor_name"),
    [
        ("build_everything", "tv5_job_multiprocess"),
        ("ingest", "tv5_job_multiprocess"),
        ("embeddings", "tv5_job_multiprocess"),
        ("load_stores", "tv5_job_multiprocess"),
        ("quality", "tv5_job_in_process"),
        ("refresh_trends_cache", "tv5_job_in_process"),
        ("backup_stores", "tv5_job_in_process"),
    ],
)
def test_each_job_runs_its_executor(job: str, executor_name: str) -> None:
    assert defs.resolve_job_def(job).executor_def.name == executor_name


def _create(executor_def: dg.ExecutorDefinition, run_config: dict | None) -> str:
    """The kind of executor a run gets (Dagster's class name: MultiprocessExecutor, InProcessExecutor):
    the job's executor config from run config (defaults and the config function applied), then the
    executor's own creation function."""
    job = defs.resolve_job_def("load_stores").with_executor_def(executor_def)
    resolved = dg.validate_run_config(job, run_config or {})
    config = resolved["execution"][executor_def.name]
    return type(executor_def.executor_creation_fn(SimpleNamespace(executor_config=config))).__name__


def test_multiprocess_jobs_default_to_the_forkserver_settings_of_the_code_location() -> None:
    assert _create(MULTIPROCESS, None) == "MultiprocessExecutor"
    expected = MULTIPROCESS_SETTINGS
    assert "forkserver" in expected["start_method"]
    _, settings = resolve_executor_config({"multiprocess": {}})
    assert settings["start_method"] == expected["start_method"]
    assert settings["tag_concurrency_limits"] == expected["tag_concurrency_limits"]


def test_run_config_switches_a_multiprocess_job_to_in_process() -> None:
    assert _create(MULTIPROCESS, {"execution": {"config": {"in_process": {}}}}) == "InProcessExecutor"


def test_run_config_switches_an_in_process_job_to_multiprocess_keeping_the_defaults() -> None:
    assert _create(IN_PROCESS, None) == "InProcessExecutor"
    created = _create(IN_PROCESS, {"execution": {"config": {"multiprocess": {"max_concurrent": 1}}}})
    assert created == "MultiprocessExecutor"
    mode, settings = resolve_executor_config({"multiprocess": {"max_concurrent": 1}})
    assert (mode, settings["max_concurrent"]) == ("multiprocess", 1)
    assert "forkserver" in settings["start_method"]


def test_run_config_can_replace_the_start_method() -> None:
    _, settings = resolve_executor_config({"multiprocess": {"start_method": {"spawn": {}}}})
    assert settings["start_method"] == {"spawn": {}}


def test_bad_executor_config_is_rejected_before_the_run() -> None:
    job = defs.resolve_job_def("quality")
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(job, {"execution": {"config": {"threads": {}}}})


def test_bad_settings_of_a_mode_are_rejected_by_dagsters_own_schema_before_the_run() -> None:
    job = defs.resolve_job_def("quality")
    with pytest.raises(dg.DagsterInvalidConfigError, match="max_concurrent"):
        dg.validate_run_config(job, {"execution": {"config": {"multiprocess": {"max_concurrent": "two"}}}})


def test_only_multiprocess_runs_carry_the_multiprocess_requirements() -> None:
    job = defs.resolve_job_def("quality")
    for mode, expected in (("multiprocess", dg.multiple_process_executor_requirements()), ("in_process", [])):
        resolved = dg.validate_run_config(job, {"execution": {"config": {mode: {}}}})
        assert IN_PROCESS.get_requirements(resolved["execution"][IN_PROCESS.name]) == expected
