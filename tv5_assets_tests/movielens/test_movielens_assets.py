"""The `movielens` group end to end on generated and hand-made releases (real Dagster runs).

Every run here uses a private TV5_DATA_DIR, so the session's shared materialization is untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from movielens_files import (
    check_results,
    copy_release,
    materialize,
    output_metadata,
    read_table,
    replace_lines,
    step_failures,
    write_release,
)

from tv5_assets.defs.movielens.checks import CONTRACTS
from tv5_assets.generator import DUPLICATE_TITLES, TRAIT_TAGS, TRAIT_TITLES
from tv5_assets.schemas import movielens as schemas

INGESTION = ["links", "movies", "ratings", "tags", "genome_tags", "genome_scores"]
FILES = {
    "links": "links.csv",
    "movies": "movies.csv",
    "ratings": "ratings.csv",
    "tags": "tags.csv",
    "genome_tags": "genome-tags.csv",
    "genome_scores": "genome-scores.csv",
}


def data_lines(path: Path) -> int:
    return len(path.read_bytes().rstrip(b"\r\n").split(b"\r\n")) - 1


@pytest.fixture(scope="module")
def sample_run(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, Path]]:
    data = tmp_path_factory.mktemp("movielens-data")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TV5_MOVIELENS_DIR", str(sample_dir))
        env.setenv("TV5_DATA_DIR", str(data))
        yield materialize("group:movielens"), data


# ------------------------------------------------------------------------------ generated sample


def test_every_check_passes_on_generated_data(sample_run) -> None:
    result, _ = sample_run
    checks = check_results(result)
    failed = {key: e.metadata for key, e in checks.items() if not e.passed}
    assert not failed
    for asset in CONTRACTS:
        assert (asset, "schema_matches_contract") in checks
    for asset in INGESTION:
        assert (asset, "no_rejected_rows") in checks
    assert {
        ("ratings", "on_half_star_grid"),
        ("genome_scores", "genome_complete"),
        ("tags", "movies_known"),
    } <= checks.keys()


def test_tables_have_contract_schemas_and_every_row(sample_run, sample_dir: Path) -> None:
    result, data = sample_run
    for asset, contract in CONTRACTS.items():
        table = read_table(data, asset)
        assert dict(table.schema) == dict(contract), asset
        if asset in FILES:
            assert table.height == data_lines(sample_dir / FILES[asset]), asset
            assert read_table(data, f"{asset}_rejects").height == 0
            meta = output_metadata(result, asset)
            assert meta["rejected_rows"] == 0 and meta["parse_seconds"] >= 0 and "read_method" in meta


def test_movies_parse_the_planted_titles(sample_run) -> None:
    _, data = sample_run
    movies = read_table(data, "movies")
    for raw, expected in TRAIT_TITLES:
        rows = movies.filter(pl.col("raw_title") == raw)
        assert rows.height >= 1, raw
        got = rows.select("title", "display_title", "alt_title", "year").row(0, named=True)
        assert got == expected, raw
    for raw in DUPLICATE_TITLES:
        assert movies.filter(pl.col("raw_title") == raw).height == 2
    assert (movies["year"] == 0).sum() == 0 and movies["year"].null_count() > 0
    first = movies.row(0, named=True)
    assert first["media_id"] == f"ml_{first['movie_id']}"
    assert first["internal_id"] == f"media_{first['movie_id']:08d}"
    assert (first["language"], first["country"]) == ("en", "US")
    assert movies["imdb_id"].str.contains(r"^\d{7,8}$").all()


def test_tags_keep_planted_raw_text(sample_run) -> None:
    _, data = sample_run
    tags = read_table(data, "tags")
    present = set(tags["tag"].unique().to_list())
    assert set(TRAIT_TAGS) <= present
    variants = (
        tags.filter(pl.col("tag").is_in(["sci-fi", "Sci-Fi", "SCI-FI", "Sci-fi"]))["tag_normalized"].unique().to_list()
    )
    assert variants == ["sci-fi"]


def test_ratings_time_of_day_matches_the_utc_hour(sample_run) -> None:
    _, data = sample_run
    ratings = read_table(data, "ratings")
    hour = ratings["timestamp"].dt.hour()
    expected = pl.select(
        pl.when(hour < 5)
        .then(pl.lit("late_night"))
        .when(hour < 12)
        .then(pl.lit("morning"))
        .when(hour < 17)
        .then(pl.lit("afternoon"))
        .when(hour < 21)
        .then(pl.lit("evening"))
        .otherwise(pl.lit("night"))
    ).to_series()
    assert (ratings["time_of_day"].cast(pl.String) == expected).all()


def test_movie_genome_keeps_strong_tags_most_relevant_first(sample_run) -> None:
    _, data = sample_run
    genome = read_table(data, "movie_genome")
    scores = read_table(data, "genome_scores")
    assert genome.height == scores["movie_id"].n_unique()
    flat = genome.explode(["tag_ids", "relevances"]).drop_nulls("tag_ids")
    assert (flat["relevances"] > 0.5).all()
    expected = scores.filter(pl.col("relevance") > 0.5).height
    assert flat.height == expected


# ------------------------------------------------------------------------------ bad input

# Planted in a copy of the generated release: (file, line) -> (text, rule)
PLANTED = {
    ("ratings.csv", 7): ("1,1,4.2,1147880044", "rating is not a half star between 0.5 and 5.0"),
    ("ratings.csv", 40): ("7,99999999,4.0,1147880044", "movieId not in movies.csv"),
    ("ratings.csv", 100): ("7,3,4.0", "expected 4 fields (userId,movieId,rating,timestamp), found 3"),
    ("tags.csv", 12): ("5,1,nice,yesterday", "timestamp is not an integer"),
    ("genome-scores.csv", 30): ("99999999,1,0.5", "movieId not in movies.csv"),
    ("genome-scores.csv", 31): ("20,2,1.5", "relevance is not a number in [0, 1]"),
}


@pytest.fixture(scope="module")
def corrupted_release(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = copy_release(sample_dir, tmp_path_factory.mktemp("corrupt") / "ml")
    for name in {file for file, _ in PLANTED}:
        replace_lines(folder / name, {line: text for (file, line), (text, _) in PLANTED.items() if file == name})
    return folder


def test_bad_rows_fail_their_asset_with_file_line_and_rule(corrupted_release: Path, private_env) -> None:
    private_env(corrupted_release)
    result = materialize("group:movielens", raise_on_error=False)
    failures = step_failures(result)
    assert {"ratings", "tags", "genome_scores"} <= failures.keys()
    for step, file, first_line in [
        ("ratings", "ratings.csv", 7),
        ("tags", "tags.csv", 12),
        ("genome_scores", "genome-scores.csv", 30),
    ]:
        text = failures[step]
        assert "BadInputError" in text
        assert f"{corrupted_release / file}, line {first_line}: {PLANTED[(file, first_line)][1]}" in text
        assert "quarantine: true" in text
    assert "2 more row(s)" in failures["ratings"]
    assert "links" not in failures and "movies" not in failures


def test_quarantine_moves_bad_rows_to_rejects_and_warns(corrupted_release: Path, private_env, sample_dir: Path) -> None:
    data = private_env(corrupted_release)
    quarantine = {"config": {"quarantine": True}}
    result = materialize(
        "group:movielens",
        raise_on_error=False,
        run_config={"ops": {"ratings": quarantine, "tags": quarantine, "genome_scores": quarantine}},
    )
    for asset, file in [("ratings", "ratings.csv"), ("tags", "tags.csv"), ("genome_scores", "genome-scores.csv")]:
        planted = sorted((line, text, rule) for (f, line), (text, rule) in PLANTED.items() if f == file)
        rejects = read_table(data, f"{asset}_rejects")
        assert dict(rejects.schema) == dict(schemas.REJECTS)
        assert rejects.select("line", "raw", "rule").rows() == planted, asset
        assert read_table(data, asset).height == data_lines(sample_dir / file) - len(planted)
        assert output_metadata(result, asset)["rejected_rows"] == len(planted)
        check = check_results(result)[(asset, "no_rejected_rows")]
        assert not check.passed and check.severity.value == "WARN"
        assert check.metadata["rejected_rows"].value == len(planted)
    # a genome movie lost a score: the blocking completeness check fails and stops movie_genome
    assert not check_results(result)[("genome_scores", "genome_complete")].passed
    materialized = {
        e.event_specific_data.materialization.asset_key.to_user_string()
        for e in result.get_asset_materialization_events()
    }
    assert "movie_genome" not in materialized
    assert check_results(result)[("ratings", "unique_key")].passed


def test_missing_folder_says_where_and_what_to_do(tmp_path: Path, private_env) -> None:
    private_env(tmp_path / "nowhere" / "ml-25m")
    result = materialize("links", raise_on_error=False)
    text = step_failures(result)["links"]
    assert str(tmp_path / "nowhere" / "ml-25m") in text
    assert "https://grouplens.org/datasets/movielens/" in text
    assert "tv5 sample --scale 0.01 --out" in text and "TV5_MOVIELENS_DIR" in text


def test_missing_file_is_named(tmp_path: Path, private_env) -> None:
    release = write_release(tmp_path / "ml")
    (release / "links.csv").unlink()
    private_env(release)
    text = step_failures(materialize("links", raise_on_error=False))["links"]
    assert f"{release / 'links.csv'} not found" in text and "tv5 sample" in text


def test_half_a_genome_is_an_error(tmp_path: Path, private_env) -> None:
    release = write_release(tmp_path / "ml")
    (release / "genome-scores.csv").unlink()
    private_env(release)
    text = step_failures(materialize("genome_tags", raise_on_error=False))["genome_tags"]
    assert "genome-tags.csv is present but genome-scores.csv is missing" in text


# ------------------------------------------------------------------------------ hand-made releases


def test_release_without_genome_gives_empty_genome_tables(tmp_path: Path, private_env) -> None:
    data = private_env(write_release(tmp_path / "ml", genome=False))
    result = materialize("group:movielens")
    assert all(e.passed for e in result.get_asset_check_evaluations())
    for asset in ("genome_tags", "genome_scores", "movie_genome"):
        table = read_table(data, asset)
        assert table.height == 0 and dict(table.schema) == dict(CONTRACTS[asset])
        assert "no genome" in output_metadata(result, asset)["note"].lower()
    assert read_table(data, "movies").height == 7 and read_table(data, "ratings").height == 6


def test_handmade_release_and_genome_threshold_config(tmp_path: Path, private_env) -> None:
    data = private_env(write_release(tmp_path / "ml"))
    result = materialize(
        "group:movielens", run_config={"ops": {"movie_genome": {"config": {"relevance_threshold": 0.7}}}}
    )
    assert all(e.passed for e in result.get_asset_check_evaluations())
    genome = read_table(data, "movie_genome").sort("movie_id")
    assert genome["tag_ids"].to_list() == [[2, 3], []]
    assert genome["tags"].to_list() == [["dark", "funny"], []]
    assert output_metadata(result, "movie_genome")["relevance_threshold"] == 0.7
    movies = read_table(data, "movies").sort("movie_id")
    assert movies["display_title"].to_list()[1] == "The City of Lost Children"
    assert movies["alt_title"].to_list()[1] == "La Cité des enfants perdus"
    assert movies["year"].to_list()[3] is None and movies["year"].to_list()[5] == 2007
    assert movies["tmdb_id"].to_list()[2] is None and movies["imdb_id"].to_list()[0] == "0114709"
    assert movies["genres"].to_list()[3] == []
    assert output_metadata(result, "movies")["without_year"] == 1
