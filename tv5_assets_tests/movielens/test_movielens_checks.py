"""Asset checks: they pass on good tables and fail (with explaining metadata) on planted bad data."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from movielens_files import check_results, materialize, read_table, write_release

from tv5_assets.defs.movielens import checks
from tv5_assets.defs.movielens.checks import CHECKS
from tv5_assets.schemas import movielens as schemas

RATINGS = pl.DataFrame(
    {
        "user_id": [1, 1, 2, 3],
        "movie_id": [1, 2, 1, 2],
        "rating": [4.0, 0.5, 5.0, 3.5],
        "timestamp": [datetime(1996, 1, 1, tzinfo=UTC), datetime(2019, 11, 1, tzinfo=UTC)] * 2,
        "time_of_day": ["morning", "night", "evening", "late_night"],
    },
    schema=schemas.RATINGS,
)
MOVIES = pl.LazyFrame({"movie_id": [1, 2, 3]}, schema={"movie_id": pl.Int32})
GENOME_TAGS = pl.LazyFrame({"tag_id": [1, 2], "tag": ["a", "b"]}, schema=schemas.GENOME_TAGS)
SCORES = pl.DataFrame(
    {"movie_id": [1, 1, 2, 2], "tag_id": [1, 2, 1, 2], "relevance": [0.0, 1.0, 0.5, 0.25]}, schema=schemas.GENOME_SCORES
)


def meta(result: dg.AssetCheckResult, key: str):
    value = result.metadata[key]
    return getattr(value, "value", value)


def test_schema_check() -> None:
    assert checks.schema_result(RATINGS.lazy(), schemas.RATINGS).passed
    wrong = RATINGS.with_columns(pl.col("rating").cast(pl.Float64), pl.col("time_of_day").cast(pl.String)).drop(
        "user_id"
    )
    result = checks.schema_result(wrong.with_columns(extra=pl.lit(1)).lazy(), schemas.RATINGS)
    assert not result.passed
    assert meta(result, "missing_columns") == "user_id"
    assert meta(result, "extra_columns") == "extra"
    assert "rating: Float64 (expected Float32)" in meta(result, "wrong_dtypes")
    assert "time_of_day: String" in meta(result, "wrong_dtypes")
    reordered = RATINGS.select(["movie_id", "user_id", "rating", "timestamp", "time_of_day"])
    assert not checks.schema_result(reordered.lazy(), schemas.RATINGS).passed


def test_unique_key_check_sorted_and_unsorted() -> None:
    assert checks.unique_key_result(RATINGS.lazy(), ["user_id", "movie_id"]).passed
    doubled = pl.concat([RATINGS, RATINGS.head(1)])  # unsorted now
    result = checks.unique_key_result(doubled.lazy(), ["user_id", "movie_id"])
    assert not result.passed and meta(result, "repeated_rows") == 1 and "examples" in result.metadata
    sorted_doubled = doubled.sort("user_id", "movie_id")
    assert checks.unique_key_result(sorted_doubled.lazy(), ["user_id", "movie_id"]).metadata["repeated_rows"].value == 1


def test_half_star_check() -> None:
    assert checks.half_star_result(RATINGS.lazy()).passed
    bad = RATINGS.with_columns(rating=pl.Series([4.0, 4.2, 0.0, None], dtype=pl.Float32))
    result = checks.half_star_result(bad.lazy())
    assert not result.passed and meta(result, "off_grid_rows") == 3


def test_timestamp_check_warns_outside_1995_to_now() -> None:
    assert checks.timestamps_result(RATINGS.lazy()).passed
    bad = RATINGS.with_columns(
        timestamp=pl.Series(
            [datetime(1990, 1, 1, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)] * 2, dtype=schemas.UTC_TIMESTAMP
        )
    )
    result = checks.timestamps_result(bad.lazy())
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN and meta(result, "rows_outside") == 4


def test_known_movies_check() -> None:
    assert checks.known_movies_result(RATINGS.lazy(), MOVIES).passed
    result = checks.known_movies_result(RATINGS.lazy(), MOVIES.filter(pl.col("movie_id") != 2))
    assert not result.passed and meta(result, "rows_with_unknown_movie") == 2
    assert "2" in meta(result, "unknown_movie_ids")


def test_relevance_check() -> None:
    assert checks.relevance_result(SCORES.lazy()).passed
    bad = SCORES.with_columns(relevance=pl.Series([1.5, -0.1, float("nan"), 0.5], dtype=pl.Float32))
    result = checks.relevance_result(bad.lazy())
    assert not result.passed and meta(result, "rows_outside_0_1") == 3


def test_genome_completeness_check() -> None:
    assert checks.genome_complete_result(SCORES.lazy(), GENOME_TAGS).passed
    missing = checks.genome_complete_result(SCORES.head(3).lazy(), GENOME_TAGS)
    assert not missing.passed and meta(missing, "incomplete_movies") == 1
    unknown_tag = SCORES.with_columns(tag_id=pl.Series([1, 2, 1, 9], dtype=pl.Int32))
    assert not checks.genome_complete_result(unknown_tag.lazy(), GENOME_TAGS).passed
    empty = checks.genome_complete_result(SCORES.clear().lazy(), GENOME_TAGS.clear())
    assert empty.passed and "no genome" in meta(empty, "note")


def test_movie_years_and_genome_lists_checks() -> None:
    years = pl.LazyFrame(
        {"movie_id": [1, 2, 3], "raw_title": ["a", "b", "c"], "year": [1995, None, 0]},
        schema_overrides={"year": pl.Int16},
    )
    result = checks.movie_years_result(years)
    assert not result.passed and meta(result, "zero_years") == 1 and meta(result, "without_year") == 1
    assert checks.movie_years_result(years.filter(pl.col("year") != 0)).passed
    lists = pl.LazyFrame(
        {"movie_id": [1, 2], "tag_ids": [[1, 2], [3]], "tags": [["a", "b"], ["c"]], "relevances": [[0.9, 0.6], [0.7]]},
        schema=schemas.MOVIE_GENOME,
    )
    assert checks.movie_genome_lists_result(lists).passed
    unsorted = lists.with_columns(relevances=pl.Series([[0.6, 0.9], [0.7]], dtype=pl.List(pl.Float32)))
    assert not checks.movie_genome_lists_result(unsorted).passed
    misaligned = lists.with_columns(tags=pl.Series([["a"], ["c"]]))
    assert meta(checks.movie_genome_lists_result(misaligned), "misaligned_lists") == 1


def test_links_cover_movies_warns() -> None:
    links = pl.LazyFrame({"movie_id": [1, 2, 4]}, schema={"movie_id": pl.Int32})
    result = checks.links_cover_movies_result(MOVIES, links)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert meta(result, "movies_without_link") == 1 and meta(result, "links_for_unknown_movies") == 1


# ------------------------------------------------------------------- the real checks on stored data


def test_stored_checks_fail_on_planted_bad_tables(tmp_path: Path, private_env) -> None:
    """Materialize a hand-made release, corrupt the stored Parquet, re-run only the checks."""
    data = private_env(write_release(tmp_path / "ml"))
    materialize("group:movielens")
    assets = data / "assets"

    def plant(key: str, frame: pl.DataFrame) -> None:
        frame.write_parquet(assets / f"{key}.parquet")

    ratings = read_table(data, "ratings")
    plant(
        "ratings",
        pl.concat(
            [
                ratings,
                ratings.head(1).with_columns(rating=pl.lit(4.2, pl.Float32)),
                ratings.tail(1).with_columns(movie_id=pl.lit(99, pl.Int32)),
            ]
        ),
    )
    scores = read_table(data, "genome_scores")
    plant(
        "genome_scores",
        scores.head(-1).with_columns(
            pl.when(pl.col("tag_id") == 1).then(pl.lit(1.5, pl.Float32)).otherwise("relevance").alias("relevance")
        ),
    )
    tags = read_table(data, "tags")
    plant("tags", tags.with_columns(pl.col("user_id").cast(pl.Int64)))

    result = materialize(dg.AssetSelection.checks(*CHECKS), raise_on_error=False)
    outcome = {key: e.passed for key, e in check_results(result).items()}
    assert outcome[("ratings", "unique_key")] is False
    assert outcome[("ratings", "on_half_star_grid")] is False
    assert outcome[("ratings", "movies_known")] is False
    assert outcome[("genome_scores", "relevance_in_unit_interval")] is False
    assert outcome[("genome_scores", "genome_complete")] is False
    assert outcome[("tags", "schema_matches_contract")] is False
    # the untouched ones still pass
    assert outcome[("links", "unique_key")] and outcome[("genome_tags", "schema_matches_contract")]
    assert outcome[("tags", "movies_known")] and outcome[("movie_genome", "lists_aligned_and_sorted")]
    evaluation = check_results(result)[("ratings", "unique_key")]
    assert evaluation.metadata["repeated_rows"].value == 1

    # a fake year 0 fails movies' blocking check, which stops every check that reads movies
    movies = read_table(data, "movies")
    plant(
        "movies", movies.with_columns(year=pl.when(pl.col("movie_id") == 4).then(pl.lit(0, pl.Int16)).otherwise("year"))
    )
    result = materialize(dg.AssetSelection.checks(*CHECKS), raise_on_error=False)
    outcome = {key: e.passed for key, e in check_results(result).items()}
    assert outcome[("movies", "years_plausible")] is False
    assert ("ratings", "movies_known") not in outcome  # blocked downstream of movies


def test_a_single_asset_can_be_materialized_alone(
    tmp_path: Path, private_env, caplog: pytest.LogCaptureFixture
) -> None:
    data = private_env(write_release(tmp_path / "ml"))
    materialize("group:movielens")
    shutil.rmtree(data / "assets" / "ratings.parquet", ignore_errors=True)
    (data / "assets" / "ratings.parquet").unlink(missing_ok=True)
    result = materialize("ratings")  # without ratings_rejects: the step is subset
    keys = {
        e.event_specific_data.materialization.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
    }
    assert keys == {"ratings"}
    assert read_table(data, "ratings").height == 6
