"""Sensors: a changed GroupLens file rebuilds what was made from it; store loads follow upstream changes.

- `movielens_release_sensor` watches TV5_MOVIELENS_DIR (fingerprint.py: size and mtime decide what
  to re-hash; the cursor holds each file's checksum). For the files added, removed or with a new
  checksum it records an observation of their source assets (movielens/sources.py: the sha256 as
  data version, "absent" for a removed file), and requests one `build_everything` run restricted to
  what those files feed: their source assets' downstream within build_everything (a changed tags.csv
  rebuilds tags and what reads it, not ratings nor what reads only ratings). A touched but unchanged
  file does nothing. On its first tick it records the folder; if `movies` was never materialized it
  observes every file and requests the whole of build_everything.
- `store_loads_automation` evaluates the `AutomationCondition` of the four store groups
  (conventions.STORE_LOAD_AUTOMATION: eager, except for updates made by a run that loads the stores
  itself): a store load runs after any of its upstream assets is updated, once the upstream is not
  missing or in progress.
Both are off unless TV5_AUTOMATION=on (switch.py), or turned on in the UI.
"""

from collections.abc import Iterable, Sequence
from pathlib import Path

import dagster as dg

from ...registry import listed
from ...settings import movielens_dir
from ..movielens.sources import SOURCE_KEYS, data_version
from .fingerprint import FileState, changed_files, from_cursor, release_digest, scan, to_cursor
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


def _build(digest: str, previous: str, why: str, selection: Sequence[dg.AssetKey] | None = None) -> dg.RunRequest:
    """One build_everything run: all of it (`selection` None) or the assets in `selection`, with their checks."""
    return dg.RunRequest(
        run_key=f"movielens-{digest[:16]}-after-{previous[:16]}",
        asset_selection=selection,
        tags={"tv5/trigger": RELEASE_SENSOR, "tv5/movielens_release": digest[:16], "tv5/why": why[:200]},
    )


def observations(folder: Path, names: Iterable[str], now: dict[str, FileState]) -> list[dg.AssetObservation]:
    """An observation of each named file's source asset, as `movielens_files` would record it: the
    sha256 as data version ("absent" for a file no longer there). Files no asset reads are skipped."""
    events = []
    for name in names:
        if name not in SOURCE_KEYS:
            continue
        state = now.get(name)
        version = data_version(state.sha256 if state else None).value
        metadata = {"path": dg.MetadataValue.path(str(folder / name)), "observed_by": RELEASE_SENSOR}
        if state:
            metadata.update(size_bytes=state.size, sha256=state.sha256)
        events.append(
            dg.AssetObservation(asset_key=SOURCE_KEYS[name], tags={"dagster/data_version": version}, metadata=metadata)
        )
    return events


def affected_assets(context: dg.SensorEvaluationContext, names: Iterable[str]) -> list[dg.AssetKey]:
    """The assets of build_everything downstream of the named files' source assets (sorted)."""
    sources = [SOURCE_KEYS[name] for name in names if name in SOURCE_KEYS]
    if not sources:
        return []
    assets = {id(a): a for a in context.repository_def.assets_defs_by_key.values()}.values()
    downstream = dg.AssetSelection.assets(*sources).downstream() & build_everything.selection
    return sorted(downstream.resolve(assets), key=lambda key: key.to_user_string())


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
            return dg.SensorResult(
                run_requests=[_build(digest, "none", why)],
                asset_events=observations(folder, SOURCE_KEYS, now),
                cursor=cursor,
            )
        return dg.SensorResult(
            skip_reason=(
                f"recorded {folder} ({len(now)} files, release {digest[:12]}); a changed file starts "
                "build_everything for what reads it"
            ),
            cursor=cursor,
        )
    changed = changed_files(before, now)
    if not changed:
        touched = f"; {', '.join(hashed)} touched, same checksum" if hashed else ""
        return dg.SensorResult(skip_reason=f"no change in {folder} (release {digest[:12]}{touched})", cursor=cursor)
    selection = affected_assets(context, changed)
    if not selection:
        return dg.SensorResult(
            skip_reason=f"changed in {folder}: {', '.join(changed)}, which no asset reads (release {digest[:12]})",
            cursor=cursor,
        )
    why = f"changed in {folder}: {', '.join(changed)}; rebuilding {len(selection)} assets"
    context.log.info(f"{why}: {', '.join(key.to_user_string() for key in selection)}")
    return dg.SensorResult(
        run_requests=[_build(digest, release_digest(before), why, selection)],
        asset_events=observations(folder, changed, now),
        cursor=cursor,
    )


def movielens_release_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name=RELEASE_SENSOR,
        job=build_everything,
        minimum_interval_seconds=60,
        default_status=sensor_status(),
        description=(
            "When a GroupLens file (TV5_MOVIELENS_DIR) is added, removed or gets a new checksum, records its "
            "new data version (an observation of its source asset) and starts build_everything for the assets "
            "downstream of it only; the first build of a folder builds everything. Off unless "
            "TV5_AUTOMATION=on (or turned on here)."
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
            "Runs a store load when its upstream assets update (AutomationCondition.eager on the "
            f"{listed(STORE_GROUPS)} groups; updates by build_everything or load_stores runs, which load the stores "
            "themselves, do not count). Off unless TV5_AUTOMATION=on (or turned on here)."
        ),
    )


@dg.definitions
def sensors() -> dg.Definitions:
    # Built at load time, so the default status follows TV5_AUTOMATION.
    return dg.Definitions(sensors=[movielens_release_sensor(), store_loads_automation()])
