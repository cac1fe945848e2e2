"""The GroupLens files as observable source assets: sha256 data versions, and what a changed file makes stale."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from movielens_files import write_release

from tv5_assets.definitions import defs as load_defs
from tv5_assets.defs.movielens.sources import ABSENT, SOURCE_KEYS, movielens_files
from tv5_assets.errors import MissingInputError
from tv5_assets.movielens_releases import sha256_of

DEFS = load_defs()
PARSED = ["links", "movies", "ratings", "tags"]


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def release(tmp_path: Path, private_env) -> Path:
    """A hand-made release without genome files in TV5_MOVIELENS_DIR."""
    folder = write_release(tmp_path / "ml", genome=False)
    private_env(folder)
    return folder


def observe(instance: dg.DagsterInstance, *keys: dg.AssetKey) -> dict[str, str]:
    """Observe the files (all, or `keys`) as "Observe sources" does; returns {source asset: data version}."""
    result = dg.materialize([movielens_files], instance=instance, selection=keys or list(SOURCE_KEYS.values()))
    observed = [
        e.event_specific_data.asset_observation for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"
    ]
    return {o.asset_key.to_user_string(): o.tags["dagster/data_version"] for o in observed}


def build(instance: dg.DagsterInstance, *names: str) -> None:
    dg.materialize(
        [*DEFS.assets, *DEFS.asset_checks],
        selection=dg.AssetSelection.assets(*names),
        resources=dict(DEFS.resources or {}),
        instance=instance,
    )


def stale_status(instance: dg.DagsterInstance, *names: str) -> dict[str, str]:
    """What the UI shows for each asset (Dagster's own resolver, the one behind its "Stale" badges and
    "Materialize stale"; private, so used in tests only, never in the package)."""
    from dagster._utils.test.data_versions import get_stale_status_resolver

    resolver = get_stale_status_resolver(instance, list(DEFS.assets))
    return {name: resolver.get_status(dg.AssetKey(name)).value for name in names}


def test_each_parse_asset_depends_on_its_file() -> None:
    graph = DEFS.resolve_asset_graph()
    assert {name: graph.get(key).is_observable for name, key in SOURCE_KEYS.items()} == dict.fromkeys(SOURCE_KEYS, True)
    children = {name: {c.to_user_string() for c in graph.get(key).child_keys} for name, key in SOURCE_KEYS.items()}
    assert children["tags.csv"] == {"tags", "tags_rejects"}
    assert children["genome-scores.csv"] == {"genome_scores", "genome_scores_rejects"}
    assert all(not graph.get(key).is_materializable for key in SOURCE_KEYS.values())


def test_observation_records_each_files_sha256_and_absent_genome(instance, release: Path) -> None:
    versions = observe(instance)
    assert versions == {
        "links_csv": sha256_of(release / "links.csv"),
        "movies_csv": sha256_of(release / "movies.csv"),
        "ratings_csv": sha256_of(release / "ratings.csv"),
        "tags_csv": sha256_of(release / "tags.csv"),
        "genome_tags_csv": ABSENT,
        "genome_scores_csv": ABSENT,
    }


def test_a_missing_required_file_fails_the_observation_saying_what_to_do(instance, release: Path) -> None:
    (release / "tags.csv").unlink()
    with pytest.raises(MissingInputError, match=r"tags\.csv not found.*TV5_MOVIELENS_DIR"):
        observe(instance)


def test_a_changed_file_makes_its_readers_stale_then_their_readers(instance, release: Path) -> None:
    observe(instance)
    everything = (*PARSED, "tags_rejects", "tags_parquet", "ratings_parquet")
    build(instance, *everything)
    assert set(stale_status(instance, *everything).values()) == {"FRESH"}

    with (release / "tags.csv").open("ab") as handle:
        handle.write(b"2,2,another tag,1500000000\r\n")
    # Changing the file is not enough: nothing is stale until the file is observed again.
    assert set(stale_status(instance, *everything).values()) == {"FRESH"}
    assert observe(instance, SOURCE_KEYS["tags.csv"]) == {"tags_csv": sha256_of(release / "tags.csv")}

    # Dagster marks the direct readers of the new data version stale; an asset further down turns
    # stale once its parent has been rebuilt (a new data version for it). Nothing reading ratings.csv is.
    assert stale_status(instance, *everything) == {
        "links": "FRESH",
        "movies": "FRESH",
        "ratings": "FRESH",
        "tags": "STALE",
        "tags_rejects": "STALE",
        "tags_parquet": "FRESH",
        "ratings_parquet": "FRESH",
    }
    build(instance, "tags", "tags_rejects")  # "Materialize stale", first round
    assert stale_status(instance, "tags", "tags_parquet", "ratings_parquet") == {
        "tags": "FRESH",
        "tags_parquet": "STALE",
        "ratings_parquet": "FRESH",
    }
    build(instance, "tags_parquet")
    assert set(stale_status(instance, *everything).values()) == {"FRESH"}


def test_same_bytes_observed_again_leave_everything_fresh(instance, release: Path) -> None:
    observe(instance)
    build(instance, "links", "movies")
    observe(instance)
    assert stale_status(instance, "links", "movies") == {"links": "FRESH", "movies": "FRESH"}


def test_the_release_sensors_observation_marks_the_readers_stale(instance, release: Path) -> None:
    # What the daemon does with a tick: store its observations, then start its run.
    from tv5_assets.defs.automation.sensors import RELEASE_SENSOR

    sensor = DEFS.get_repository_def().get_sensor_def(RELEASE_SENSOR)

    def tick(cursor: str | None):
        result = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=DEFS))
        for event in result.asset_events:
            instance.report_runless_asset_event(event)
        return result

    first = tick(None)  # never built: observes every file and builds everything
    assert first.run_requests[0].asset_selection is None
    build(instance, *PARSED)
    assert set(stale_status(instance, *PARSED).values()) == {"FRESH"}

    with (release / "tags.csv").open("ab") as handle:
        handle.write(b"2,2,another tag,1500000000\r\n")
    changed = tick(first.cursor)
    assert "tags" in {key.to_user_string() for key in changed.run_requests[0].asset_selection}
    assert stale_status(instance, *PARSED) == {"links": "FRESH", "movies": "FRESH", "ratings": "FRESH", "tags": "STALE"}
