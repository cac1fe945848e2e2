"""The trends schedule, the GroupLens release sensor and the one switch, through Dagster's testing APIs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tv5_assets.definitions import defs as load_defs
from tv5_assets.defs.automation.fingerprint import from_cursor, scan
from tv5_assets.defs.automation.schedules import REFRESH_EVERY_MINUTES, TRENDS_CACHE_SCHEDULE
from tv5_assets.defs.automation.sensors import RELEASE_SENSOR, STORE_AUTOMATION_SENSOR
from tv5_assets.defs.redis.cache import TRENDS_TTL_S
from tv5_assets.movielens_releases import sha256_of

defs = load_defs()
REPO = defs.get_repository_def()


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small GroupLens-like folder in TV5_MOVIELENS_DIR (the sensor only reads bytes)."""
    folder = tmp_path / "ml-release"
    folder.mkdir()
    (folder / "movies.csv").write_text("movieId,title,genres\n1,Toy Story (1995),Animation\n")
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,964982703\n")
    (folder / "README.txt").write_text("not watched: only .csv files are inputs\n")
    monkeypatch.setenv("TV5_MOVIELENS_DIR", str(folder))
    monkeypatch.setenv("TV5_DATA_DIR", str(tmp_path / "data"))  # the sha256 cache
    return folder


def observed(result) -> dict[str, str]:
    """{source asset: data version} of the observations a tick records."""
    events = [e for e in result.asset_events if isinstance(e, dg.AssetObservation)]
    return {e.asset_key.to_user_string(): e.tags["dagster/data_version"] for e in events}


def selected(request: dg.RunRequest) -> set[str]:
    return {key.to_user_string() for key in request.asset_selection}


def built(instance: dg.DagsterInstance, key: str = "movies") -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(key))


def tick(instance: dg.DagsterInstance, cursor: str | None):
    sensor = REPO.get_sensor_def(RELEASE_SENSOR)
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return sensor.evaluate_tick(context)


# -- the trends schedule ---------------------------------------------------------------------------


def test_schedule_refreshes_the_trend_cache_inside_its_ttl() -> None:
    schedule = REPO.get_schedule_def(TRENDS_CACHE_SCHEDULE)
    assert schedule.cron_schedule == f"*/{REFRESH_EVERY_MINUTES} * * * *"
    assert 0 < REFRESH_EVERY_MINUTES * 60 < TRENDS_TTL_S
    assert schedule.job_name == "refresh_trends_cache"


def test_schedule_skips_until_trends_exist_then_requests_the_refresh(instance: dg.DagsterInstance) -> None:
    schedule = REPO.get_schedule_def(TRENDS_CACHE_SCHEDULE)
    skipped = schedule.evaluate_tick(dg.build_schedule_context(instance=instance))
    assert not skipped.run_requests
    assert "trends" in skipped.skip_message and "build_everything" in skipped.skip_message

    built(instance, "trends")
    requested = schedule.evaluate_tick(dg.build_schedule_context(instance=instance))
    assert len(requested.run_requests) == 1
    assert requested.run_requests[0].tags["tv5/trigger"] == TRENDS_CACHE_SCHEDULE


# -- the GroupLens release sensor ------------------------------------------------------------------


def test_missing_folder_is_named_and_keeps_the_cursor(
    instance: dg.DagsterInstance, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TV5_MOVIELENS_DIR", str(tmp_path / "nowhere"))
    result = tick(instance, cursor='{"files": {}}')
    assert not result.run_requests
    assert str(tmp_path / "nowhere") in result.skip_message and "tv5 sample" in result.skip_message
    assert result.cursor == '{"files": {}}'


def test_first_tick_builds_a_never_built_release(instance: dg.DagsterInstance, release: Path) -> None:
    result = tick(instance, cursor=None)
    assert len(result.run_requests) == 1  # of the sensor's one job, build_everything
    assert result.run_requests[0].asset_selection is None  # all of it
    assert REPO.get_sensor_def(RELEASE_SENSOR).job_name == "build_everything"
    assert set(from_cursor(result.cursor)) == {"movies.csv", "ratings.csv"}
    # Every file's data version is recorded before that first build; files not there are "absent".
    assert observed(result) == {
        "links_csv": "absent",
        "movies_csv": sha256_of(release / "movies.csv"),
        "ratings_csv": sha256_of(release / "ratings.csv"),
        "tags_csv": "absent",
        "genome_tags_csv": "absent",
        "genome_scores_csv": "absent",
    }


def test_first_tick_over_a_built_release_only_records_it(instance: dg.DagsterInstance, release: Path) -> None:
    built(instance)
    result = tick(instance, cursor=None)
    assert not result.run_requests
    assert "recorded" in result.skip_message
    assert from_cursor(result.cursor) is not None


def test_unchanged_or_touched_folder_starts_nothing(instance: dg.DagsterInstance, release: Path) -> None:
    built(instance)
    cursor = tick(instance, cursor=None).cursor
    same = tick(instance, cursor)
    assert not same.run_requests and "no change" in same.skip_message
    assert same.cursor == cursor

    ratings = release / "ratings.csv"
    stat = ratings.stat()
    os.utime(ratings, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    touched = tick(instance, cursor)
    assert not touched.run_requests
    assert "ratings.csv touched, same checksum" in touched.skip_message
    assert from_cursor(touched.cursor)["ratings.csv"].mtime_ns == stat.st_mtime_ns + 5_000_000_000


def test_changed_checksum_requests_build_everything_once(instance: dg.DagsterInstance, release: Path) -> None:
    built(instance)
    cursor = tick(instance, cursor=None).cursor
    with (release / "ratings.csv").open("a") as handle:
        handle.write("2,1,3.5,964982704\n")
    changed = tick(instance, cursor)
    assert len(changed.run_requests) == 1
    request = changed.run_requests[0]
    assert request.run_key and request.tags["tv5/trigger"] == RELEASE_SENSOR
    assert "ratings.csv" in request.tags["tv5/why"]
    assert {"ratings", "agentdb_episodes"} <= selected(request) and "movies" not in selected(request)
    assert observed(changed) == {"ratings_csv": sha256_of(release / "ratings.csv")}
    assert from_cursor(changed.cursor)["ratings.csv"].sha256 != from_cursor(cursor)["ratings.csv"].sha256
    # The next tick, with the new cursor, sees no change.
    assert not tick(instance, changed.cursor).run_requests


def test_new_file_is_a_new_release(instance: dg.DagsterInstance, release: Path) -> None:
    built(instance)
    cursor = tick(instance, cursor=None).cursor
    (release / "tags.csv").write_text("userId,movieId,tag,timestamp\n1,1,funny,964982703\n")
    result = tick(instance, cursor)
    assert len(result.run_requests) == 1 and "tags.csv" in result.run_requests[0].tags["tv5/why"]


def test_a_changed_file_rebuilds_only_what_reads_it(instance: dg.DagsterInstance, release: Path) -> None:
    (release / "tags.csv").write_text("userId,movieId,tag,timestamp\n1,1,funny,964982703\n")
    built(instance)
    cursor = tick(instance, cursor=None).cursor
    assert not tick(instance, cursor).run_requests  # unchanged: no run

    with (release / "tags.csv").open("a") as handle:
        handle.write("1,1,dark,964982704\n")
    result = tick(instance, cursor)
    (request,) = result.run_requests
    chosen = selected(request)
    assert {"tags", "tags_rejects", "tags_parquet", "tags_jsonl"} <= chosen
    # Nothing upstream of tags.csv, nothing that reads only ratings.csv, and no backup or source asset.
    assert not chosen & {"links", "movies", "ratings", "agentdb_episodes", "ratings_parquet", "store_backups"}
    assert not any(name.endswith("_csv") for name in chosen)
    assert observed(result) == {"tags_csv": sha256_of(release / "tags.csv")}
    # A valid part of build_everything, with the checks of the selected assets.
    subset = defs.resolve_job_def("build_everything").get_subset(asset_selection=set(request.asset_selection))
    checks = {
        key.name for key in subset.asset_layer.asset_graph.asset_check_keys if key.asset_key == dg.AssetKey("tags")
    }
    assert "no_rejected_rows" in checks


def test_a_csv_file_no_asset_reads_starts_nothing(instance: dg.DagsterInstance, release: Path) -> None:
    built(instance)
    cursor = tick(instance, cursor=None).cursor
    (release / "notes.csv").write_text("a,b\n1,2\n")
    result = tick(instance, cursor)
    assert not result.run_requests and not result.asset_events
    assert "notes.csv, which no asset reads" in result.skip_message


def test_scan_hashes_only_new_or_touched_files(release: Path) -> None:
    states, hashed = scan(release, {})
    assert hashed == ["movies.csv", "ratings.csv"]
    again, hashed_again = scan(release, states)
    assert hashed_again == [] and again == states


# -- the one switch ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "running"), [(None, False), ("off", False), ("on", True), ("1", True)])
def test_one_switch_turns_every_schedule_and_sensor_on(
    monkeypatch: pytest.MonkeyPatch, value: str | None, running: bool
) -> None:
    if value is None:
        monkeypatch.delenv("TV5_AUTOMATION", raising=False)
    else:
        monkeypatch.setenv("TV5_AUTOMATION", value)
    repo = load_defs().get_repository_def()
    sensor_state = dg.DefaultSensorStatus.RUNNING if running else dg.DefaultSensorStatus.STOPPED
    schedule_state = dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED
    assert {s.name: s.default_status for s in repo.sensor_defs} == {
        RELEASE_SENSOR: sensor_state,
        STORE_AUTOMATION_SENSOR: sensor_state,
    }
    assert {s.name: s.default_status for s in repo.schedule_defs} == {TRENDS_CACHE_SCHEDULE: schedule_state}
