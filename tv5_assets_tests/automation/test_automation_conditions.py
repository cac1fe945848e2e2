"""The store loads' declarative automation (AutomationCondition.eager), evaluated tick by tick with
`dg.evaluate_automation_conditions` against a test instance."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry

from tv5_assets.conventions import STORE_RUN_TAG
from tv5_assets.definitions import defs as load_defs
from tv5_assets.defs.automation.jobs import STORE_GROUPS
from tv5_assets.defs.automation.sensors import STORE_AUTOMATION_SENSOR

defs = load_defs()
GRAPH = defs.get_repository_def().asset_graph
STORE_ASSETS = {k for k in GRAPH.get_all_asset_keys() if GRAPH.get(k).group_name in STORE_GROUPS}
UPSTREAM = {p for k in STORE_ASSETS for p in GRAPH.get(k).parent_keys} - STORE_ASSETS


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


def report(instance: dg.DagsterInstance, keys) -> None:
    for key in keys:
        instance.report_runless_asset_event(dg.AssetMaterialization(key))


def test_every_store_asset_follows_upstream_and_only_they_do() -> None:
    automated = {k for k in GRAPH.get_all_asset_keys() if GRAPH.get(k).automation_condition is not None}
    assert automated == STORE_ASSETS
    repo = defs.get_repository_def()
    # One sensor evaluates them (no implicit default automation sensor, which would start RUNNING).
    assert [s.name for s in repo.sensor_defs if isinstance(s, dg.AutomationConditionSensorDefinition)] == [
        STORE_AUTOMATION_SENSOR
    ]


def test_store_loads_run_after_upstream_updates_and_not_again(instance: dg.DagsterInstance) -> None:
    selection = dg.AssetSelection.assets(*STORE_ASSETS)
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=selection)
    assert first.total_requested == 0  # upstream missing: nothing to load

    report(instance, UPSTREAM)
    second = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=selection, cursor=first.cursor
    )
    # Every load, the Neo4j chain included (its later steps wait in the same run for the earlier ones).
    assert {k for k in STORE_ASSETS if second.get_num_requested(k)} == STORE_ASSETS

    report(instance, STORE_ASSETS)
    third = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=selection, cursor=second.cursor
    )
    assert third.total_requested == 0  # the loads are newer than their upstream

    report(instance, [dg.AssetKey("trends")])
    fourth = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=selection, cursor=third.cursor
    )
    assert {k for k in STORE_ASSETS if fourth.get_num_requested(k)} == {dg.AssetKey("redis_trends_cache")}


def start_run(instance: dg.DagsterInstance, job: str) -> str:
    """A run of `job` with the job's own tags, as the CLI or the UI starts it: a job run, whose
    `asset_selection` is empty."""
    run_id = str(uuid.uuid4())
    tags = dict(defs.resolve_job_def(job).run_tags)
    instance.add_run(dg.DagsterRun(job_name=job, run_id=run_id, tags=tags, status=dg.DagsterRunStatus.STARTED))
    return run_id


def materialized_in(instance: dg.DagsterInstance, run_id: str, job: str, keys: Iterable[dg.AssetKey]) -> None:
    for key in keys:
        event = DagsterEvent(
            DagsterEventType.ASSET_MATERIALIZATION.value,
            job_name=job,
            event_specific_data=StepMaterializationData(dg.AssetMaterialization(key)),
        )
        entry = EventLogEntry(
            error_info=None, level="debug", user_message="", run_id=run_id, timestamp=time.time(), dagster_event=event
        )
        instance.store_event(entry)


def test_jobs_that_load_the_stores_carry_the_tag() -> None:
    tagged = {name for name in ("build_everything", "load_stores", "ingest", "embeddings", "quality")}
    tagged = {name for name in tagged if defs.resolve_job_def(name).run_tags.get(STORE_RUN_TAG)}
    assert tagged == {"build_everything", "load_stores"}


def test_a_build_everything_run_is_not_followed_by_a_second_load(instance: dg.DagsterInstance) -> None:
    # Seen in `dagster dev` with plain eager: while a build_everything run (a job run) was going, its
    # embeddings updated on one tick and the sensor requested the Milvus loads that the same run was
    # about to do.
    selection = dg.AssetSelection.assets(*STORE_ASSETS)
    tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, asset_selection=selection)
    build = start_run(instance, "build_everything")
    materialized_in(instance, build, "build_everything", UPSTREAM)
    tick = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=selection, cursor=tick.cursor
    )
    assert tick.total_requested == 0
    materialized_in(instance, build, "build_everything", STORE_ASSETS)
    tick = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=selection, cursor=tick.cursor
    )
    assert tick.total_requested == 0

    ingest = start_run(instance, "ingest")
    materialized_in(instance, ingest, "ingest", [dg.AssetKey("ratings")])
    tick = dg.evaluate_automation_conditions(
        defs=defs, instance=instance, asset_selection=selection, cursor=tick.cursor
    )
    ratings_loads = {k for k in STORE_ASSETS if dg.AssetKey("ratings") in GRAPH.get(k).parent_keys}
    requested = {k for k in STORE_ASSETS if tick.get_num_requested(k)}
    assert ratings_loads and ratings_loads <= requested
    assert dg.AssetKey("milvus_media_collection") not in requested
