"""Settings every group shares: who owns the assets, and how store loads retry."""

from __future__ import annotations

import dagster as dg

OWNERS = ["team:tv5-data"]

# Store loads retry transient failures (a server restarting, a dropped connection) with growing,
# jittered delays; store_load.store_errors decides what is transient and fails at once on data or code errors.
STORE_LOAD_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=3, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

# Steps that keep every core of the machine busy: the CPU encoder, bulk store loads, the big parses.
# The default executor (definitions.py) runs one of them at a time, so they do not starve each other
# (measured on 2 cores at full scale: the encoder ran 156 texts/s alone, 40-60 beside the Neo4j
# load), while light steps (checks, small assets) fill the other slots.
CPU_HEAVY_TAG = "tv5/cpu"
CPU_HEAVY = {CPU_HEAVY_TAG: "heavy"}
# The embedding chain (media_text -> media_embeddings -> user_embeddings -> Milvus) is the critical
# path of the whole graph: among ready steps the executor starts higher priorities first.
CRITICAL_PATH = {"dagster/priority": "10"}

# Store loads follow upstream changes when the `store_loads_automation` sensor runs (off unless
# TV5_AUTOMATION=on, defs/automation/): Dagster's eager condition (a load runs on the tick after an
# upstream asset updated, or with an upstream the sensor requests on the same tick; not while one is
# missing or in progress), except that updates made by a run that loads the stores itself do not
# count. Such runs (build_everything, load_stores) carry STORE_RUN_TAG: eager alone recognises only
# runs that name their assets, not job runs, and would load the stores a second time after them.
STORE_RUN_TAG = "tv5/loads_stores"
_UPDATED_OUTSIDE_A_STORE_RUN = (
    dg.AutomationCondition.newly_updated()
    & ~dg.AutomationCondition.executed_with_root_target()
    & ~dg.AutomationCondition.executed_with_tags(tag_keys={STORE_RUN_TAG})
).with_label("newly_updated_outside_a_store_run")
STORE_LOAD_AUTOMATION = (
    dg.AutomationCondition.eager()
    .replace(
        "any_deps_updated",
        dg.AutomationCondition.any_deps_match(
            _UPDATED_OUTSIDE_A_STORE_RUN | dg.AutomationCondition.will_be_requested()
        ).with_label("any_deps_updated_outside_a_store_run"),
    )
    .with_label("eager, outside store runs")
)
