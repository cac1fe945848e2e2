"""The `synthetic` group through Dagster: materialization, stored Parquet, checks and config."""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from synthetic_frames import build_movies, build_ratings

from tv5_assets.defs.synthetic.assets import ASSETS
from tv5_assets.defs.synthetic.checks import CHECKS
from tv5_assets.io_managers import Tv5IOManager

SYNTHETIC_KEYS = [
    "user_profiles",
    "platform_availability",
    "viewing_contexts",
    "subtitle_features",
    "subtitle_segments",
    "trends",
]
SMALL_CONTEXTS = {"ops": {"viewing_contexts": {"config": {"count": 20_000}}}}


def write_inputs(data_dir: Path) -> Path:
    """movies and ratings stored where the IO manager reads them, as the movielens group would."""
    assets_dir = data_dir / "assets"
    assets_dir.mkdir(parents=True, exist_ok=True)
    movies = build_movies(1_200, seed=21)
    movies.write_parquet(assets_dir / "movies.parquet")
    build_ratings(movies, n_users=300, mean_per_user=60, seed=21).write_parquet(assets_dir / "ratings.parquet")
    return assets_dir


def materialize_synthetic(
    assets_dir: Path,
    run_config: dict | None = None,
    selection="group:synthetic",
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*ASSETS, *CHECKS, dg.AssetSpec("movies"), dg.AssetSpec("ratings")],
        selection=selection,
        resources={"io_manager": Tv5IOManager(base_dir=str(assets_dir))},
        run_config=run_config if run_config is not None else (SMALL_CONTEXTS if selection == "group:synthetic" else {}),
        instance=instance,
        raise_on_error=raise_on_error,
    )


def materialize_code_location(selection: str, run_config: dict) -> dg.ExecuteInProcessResult:
    """Like conftest.materialize: the real code location's assets, checks and resources. (Not
    imported: several test folders have a conftest.py, so `import conftest` is ambiguous.)"""
    from tv5_assets.definitions import defs as load_defs

    defs = load_defs()

    return dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        selection=selection,
        resources=defs.resources,
        run_config=run_config,
    )


def check_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.asset_check_key.name: e.passed for e in result.get_asset_check_evaluations()}


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dg.ExecuteInProcessResult]:
    assets_dir = write_inputs(tmp_path_factory.mktemp("synthetic-a"))
    return assets_dir, materialize_synthetic(assets_dir)


def test_group_materializes_with_every_check_green(first_run) -> None:
    assets_dir, result = first_run
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == set(SYNTHETIC_KEYS)
    outcomes = check_outcomes(result)
    assert len(outcomes) == len(CHECKS)
    assert all(outcomes.values()), {name: ok for name, ok in outcomes.items() if not ok}
    for key in SYNTHETIC_KEYS:
        assert (assets_dir / f"{key}.parquet").exists()


def test_materializations_record_seed_hash_and_distributions(first_run) -> None:
    _, result = first_run
    metadata = {
        e.asset_key.to_user_string(): e.event_specific_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    for key in SYNTHETIC_KEYS:
        assert metadata[key]["seed"].value == 42
        assert len(metadata[key]["content_hash"].value) == 64
        assert metadata[key]["dagster/row_count"].value > 0
    assert "| cinephile |" in metadata["user_profiles"]["archetypes"].value
    assert metadata["viewing_contexts"]["dagster/row_count"].value == 20_000
    assert metadata["user_profiles"]["dagster/row_count"].value == 300


def test_same_inputs_and_seed_give_byte_identical_parquet(first_run, tmp_path: Path) -> None:
    first_dir, _ = first_run
    second_dir = write_inputs(tmp_path)
    materialize_synthetic(second_dir)
    for key in SYNTHETIC_KEYS:
        assert (first_dir / f"{key}.parquet").read_bytes() == (second_dir / f"{key}.parquet").read_bytes(), key


def test_another_seed_gives_another_valid_world(first_run, tmp_path: Path) -> None:
    first_dir, _ = first_run
    assets_dir = write_inputs(tmp_path)
    config = {
        "ops": {"viewing_contexts": {"config": {"count": 20_000, "seed": 7}}, "user_profiles": {"config": {"seed": 7}}}
    }
    result = materialize_synthetic(assets_dir, config, selection=["viewing_contexts", "user_profiles"])
    assert all(check_outcomes(result).values())
    for key in ("viewing_contexts", "user_profiles"):
        other = pl.read_parquet(assets_dir / f"{key}.parquet")
        assert not other.equals(pl.read_parquet(first_dir / f"{key}.parquet"))
        assert other.height == pl.read_parquet(first_dir / f"{key}.parquet").height


def test_determinism_check_fails_when_stored_data_is_not_what_the_seed_makes(tmp_path: Path) -> None:
    assets_dir = write_inputs(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    materialize_synthetic(assets_dir, SMALL_CONTEXTS, selection="viewing_contexts", instance=instance)
    stored = pl.read_parquet(assets_dir / "viewing_contexts.parquet")
    # Valid values, different world: e.g. a generator that forgot its seed would produce this.
    stored.with_columns(mood=pl.col("mood").shuffle(seed=1)).write_parquet(assets_dir / "viewing_contexts.parquet")
    result = materialize_synthetic(
        assets_dir,
        selection=dg.AssetSelection.checks_for_assets("viewing_contexts"),
        instance=instance,
        raise_on_error=False,  # the failing check is non-blocking, but be explicit
    )
    outcomes = check_outcomes(result)
    assert outcomes["viewing_contexts_values_in_domain"]
    assert not outcomes["viewing_contexts_deterministic"]


def test_coverage_check_fails_when_a_rater_has_no_profile(tmp_path: Path) -> None:
    """A profile set that misses raters (here: stored before new ratings arrived) fails coverage."""
    assets_dir = write_inputs(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    materialize_synthetic(assets_dir, selection="user_profiles", instance=instance)
    ratings = pl.read_parquet(assets_dir / "ratings.parquet")
    extra = ratings.head(25).with_columns(pl.lit(999_999, dtype=pl.Int32).alias("user_id"))
    pl.concat([ratings, extra]).write_parquet(assets_dir / "ratings.parquet")
    result = materialize_synthetic(
        assets_dir,
        selection=dg.AssetSelection.checks_for_assets("user_profiles"),
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success  # blocking: the run fails, so nothing downstream would run
    assert not check_outcomes(result)["user_profiles_cover_every_rater"]


def test_group_on_the_generated_movielens_sample(movielens_materialized: Path) -> None:
    """End to end: generator -> movielens ingestion -> synthetic group, through the real code location."""
    result = materialize_code_location("group:synthetic", SMALL_CONTEXTS)
    outcomes = check_outcomes(result)
    assert outcomes and all(outcomes.values()), {name: ok for name, ok in outcomes.items() if not ok}
    profiles = pl.read_parquet(movielens_materialized / "assets" / "user_profiles.parquet")
    ratings = pl.read_parquet(movielens_materialized / "assets" / "ratings.parquet")
    assert profiles.height == ratings["user_id"].n_unique()
