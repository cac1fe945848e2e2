"""Sensors: a new GroupLens release starts `build_everything`; store loads follow upstream changes.

- `movielens_release_sensor` watches TV5_MOVIELENS_DIR (fingerprint.py: size and mtime decide what
  to re-hash; the cursor holds each file's checksum). A file added, removed or with a new checksum
  requests one `build_everything` run; a touched but unchanged file does not. On its first tick it
  records the folder, and requests a run only if `movies` was never materialized.
- `store_loads_automation` evaluates the `AutomationCondition` of the four store groups
  (conventions.STORE_LOAD_AUTOMATION: eager, except for updates made by a run that loads the stores
  itself): a store load runs after any of its upstream assets is updated, once the upstream is not
  missing or in progress.
Both are off unless TV5_AUTOMATION=on (switch.py), or turned on in the UI.
"""

import dagster as dg

from ...settings import movielens_dir
from .fingerprint import changed_files, from_cursor, release_digest, scan, to_cursor
from .jobs import STORE_GROUPS, build_everything
from .switch import sensor_status

RELEASE_SENSOR = "movielens_release_sensor"
STORE_AUTOMATION_SENSOR = "store_loads_automation"


def _missing_folder(folder) -> dg.SensorResult:
    return dg.SensorResult(
        skip_reason=(
            f"TV5_MOVIELENS_DIR={folder} does not exist or holds no .csv file: download a GroupLens release "
            "(https://grouplens.org/datasets/movielens/) or generate one (`tv5 sample --scale 0.01 --out <dir>`) "
            "and point TV5_MOVIELENS_DIR at it; the sensor watches it from then on."
        )
    )


def _build(digest: str, previous: str, why: str) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"movielens-{digest[:16]}-after-{previous[:16]}",
        tags={"tv5/trigger": RELEASE_SENSOR, "tv5/movielens_release": digest[:16], "tv5/why": why[:200]},
    )


def evaluate_release(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    folder = movielens_dir()
    if not folder.is_dir():
        return _missing_folder(folder)
    before = from_cursor(context.cursor)
    now, hashed = scan(folder, before or {})
    if not now:
        return _missing_folder(folder)
    digest, cursor = release_digest(now), to_cursor(now)
    if before is None:
        if context.instance.get_latest_materialization_event(dg.AssetKey("movies")) is None:
            why = f"first look at {folder}: {len(now)} files, never built"
            return dg.SensorResult(run_requests=[_build(digest, "none", why)], cursor=cursor)
        return dg.SensorResult(
            skip_reason=f"recorded {folder} ({len(now)} files, release {digest[:12]}); a change starts build_everything",
            cursor=cursor,
        )
    changed = changed_files(before, now)
    if not changed:
        touched = f"; {', '.join(hashed)} touched, same checksum" if hashed else ""
        return dg.SensorResult(skip_reason=f"no change in {folder} (release {digest[:12]}{touched})", cursor=cursor)
    why = f"changed in {folder}: {', '.join(changed)}"
    context.log.info(f"{why}; requesting build_everything")
    return dg.SensorResult(run_requests=[_build(digest, release_digest(before), why)], cursor=cursor)


def movielens_release_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name=RELEASE_SENSOR,
        job=build_everything,
        minimum_interval_seconds=60,
        default_status=sensor_status(),
        description=(
            "Starts build_everything when the GroupLens folder (TV5_MOVIELENS_DIR) changes: a file added, "
            "removed or with a new checksum. Off unless TV5_AUTOMATION=on (or turned on here)."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext):
        return evaluate_release(context)

    return _sensor


def store_loads_automation() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        STORE_AUTOMATION_SENSOR,
        target=dg.AssetSelection.groups(*STORE_GROUPS),
        default_status=sensor_status(),
        minimum_interval_seconds=30,
        description=(
            "Runs a store load when its upstream assets update (AutomationCondition.eager on the milvus, neo4j, "
            "postgres and redis groups; updates by build_everything or load_stores runs, which load the stores "
            "themselves, do not count). Off unless TV5_AUTOMATION=on (or turned on here)."
        ),
    )


@dg.definitions
def sensors() -> dg.Definitions:
    # Built at load time, so the default status follows TV5_AUTOMATION.
    return dg.Definitions(sensors=[movielens_release_sensor(), store_loads_automation()])
