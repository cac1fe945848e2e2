"""The store loads' declarative automation (AutomationCondition.eager), evaluated tick by tick with
`dg.evaluate_automation_conditions` against a test instance."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest

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
