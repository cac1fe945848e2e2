"""The exports' plain modules: streaming atomic writers, record layouts and what the checks verify."""

import errno
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tv5_assets.defs.exports import layouts, verify, writers
from tv5_assets.defs.synthetic.schemas import PLATFORM_AVAILABILITY, USER_PROFILES
from tv5_assets.schemas.movielens import MOVIES, RATINGS

HARD_TITLES = [
    'Quote "inside" and a \\ backslash',
    "Line\nbreak, CR\r, tab\t and a line separator\u2028here",
    "Amélie, 千と千尋の神隠し, Сталкер 😀",
    "City of Lost Children, The",
]


def hard_movies() -> pl.DataFrame:
    n = len(HARD_TITLES)
    return pl.DataFrame(
        {
            "movie_id": [1, 2, 3, 70_000],
            "media_id": ["ml_1", "ml_2", "ml_3", "ml_70000"],
            "internal_id": ["media_00000001", "media_00000002", "media_00000003", "media_00070000"],
            "title": HARD_TITLES,
            "display_title": HARD_TITLES[:3] + ["The City of Lost Children"],
            "alt_title": [None, "La Cité", None, "La Cité des enfants perdus"],
            "year": [1995, None, 2001, 1995],
            "genres": [["Comedy"], [], ["Drama", "Fantasy"], ["Sci-Fi"]],
            "imdb_id": ["0114709", None, "0211915", "0112682"],
            "tmdb_id": [862, None, 194, None],
            "language": ["en"] * n,
            "country": ["US"] * n,
            "raw_title": [f"{t} (1995)" for t in HARD_TITLES],
        },
        schema=MOVIES,
    )


def export_of(name: str) -> layouts.JsonlExport:
    return next(e for e in layouts.EXPORTS if e.name == name)


def write(export: layouts.JsonlExport, frame: pl.DataFrame, path: Path) -> writers.Written:
    return writers.write_jsonl(export.records(frame.lazy()).drop(layouts.LINE), path)


def test_hard_titles_round_trip_and_the_missing_folder_is_created(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "movies.jsonl"
    written = write(export_of("movies_jsonl"), hard_movies(), path)
    assert written.rows == 4 and written.bytes == path.stat().st_size
    with open(path, encoding="utf-8") as handle:  # how the plan's scripts read it: one line per record
        records = [json.loads(line) for line in handle]
    assert [r["metadata"]["title"] for r in records] == HARD_TITLES
    assert records[0]["identifiers"] == {
        "movielens_id": 1,
        "internal_id": "media_00000001",
        "imdb_id": "0114709",
        "tmdb_id": 862,
    }
    assert records[1]["metadata"]["year"] is None and records[1]["classification"]["genres"] == []
    export = export_of("movies_jsonl")
    verdict = verify.verify_jsonl(path, export.records(hard_movies().lazy()), export.schema())
    assert verdict.counts_match and verdict.sampled == 4 and not verdict.mismatches


def test_rating_line_has_the_plans_shape(tmp_path: Path) -> None:
    ratings = pl.DataFrame(
        {
            "user_id": [1, 162_541],
            "movie_id": [2628, 5],
            "rating": [4.0, 0.5],
            "timestamp": [datetime(2017, 6, 7, 14, 48, 55, tzinfo=UTC)] * 2,
            "time_of_day": ["afternoon", "late_night"],
        },
        schema=RATINGS,
    )
    path = tmp_path / "ratings.jsonl"
    write(export_of("ratings_jsonl"), ratings, path)
    first, second = path.read_text().splitlines()
    assert json.loads(first) == {
        "interaction_id": "int_0",
        "user_id": "user_00000001",
        "media_id": "ml_2628",
        "timestamp": 1496846935,
        "interaction_type": "Rate",
        "rating": 4.0,
        "context": {"time_of_day": "afternoon"},
    }
    assert json.loads(second)["interaction_id"] == "int_1" and json.loads(second)["user_id"] == "user_00162541"


def random_profiles(n: int) -> pl.DataFrame:
    rng = np.random.default_rng(3)
    floats = {name: rng.random(n, dtype=np.float32) for name, dtype in USER_PROFILES.items() if dtype == pl.Float32}
    return pl.DataFrame(
        {
            "user_id": np.arange(1, n + 1),
            "user_key": [f"user_{i:08d}" for i in range(1, n + 1)],
            "archetype": "casual",
            "age_range": "25-34",
            "country": "FR",
            "timezone": "Europe/Paris",
            "languages": [["fr", "en"]] * n,
            "display_name": "Zoé L'Hôte",
            "city": "Saint-Étienne",
            "cultural_context": [["mainstream"]] * n,
            **floats,
        },
        schema=USER_PROFILES,
    )


def test_float32_values_parse_back_exactly(tmp_path: Path) -> None:
    profiles = random_profiles(3_000)
    path = tmp_path / "demographics.jsonl"
    write(export_of("demographics_jsonl"), profiles, path)
    parsed = [json.loads(line) for line in path.read_text().splitlines()]
    written = np.array([p["preferences"]["device_preferences"]["tv"] for p in parsed], dtype=np.float32)
    assert np.array_equal(written, profiles["device_tv"].to_numpy())
    export = export_of("demographics_jsonl")
    verdict = verify.verify_jsonl(path, export.records(profiles.lazy()), export.schema())
    assert verdict.counts_match and verdict.sampled == verify.SAMPLE_LINES and not verdict.mismatches


def test_availability_has_one_line_per_movie_with_its_platforms_in_order(tmp_path: Path) -> None:
    rows = pl.DataFrame(
        {
            "movie_id": [1, 1, 7],
            "media_id": ["ml_1", "ml_1", "ml_7"],
            "platform_id": ["tv5monde", "mubi", "netflix"],
            "platform_name": ["TV5MONDE", "MUBI", "Netflix"],
            "availability_type": ["free", "subscription", "subscription"],
            "region": ["FR", "EU", "US"],
            "quality": [["HD"], ["HD", "4K"], ["4K"]],
            "subtitles": [["fr"], ["en", "fr"], []],
        },
        schema=PLATFORM_AVAILABILITY,
    )
    path = tmp_path / "availability.jsonl"
    assert write(export_of("availability_jsonl"), rows, path).rows == 2
    first = json.loads(path.read_text().splitlines()[0])
    assert first["media_id"] == "ml_1" and [p["platform_id"] for p in first["platforms"]] == ["tv5monde", "mubi"]
    assert first["platforms"][1] == {
        "platform_id": "mubi",
        "name": "MUBI",
        "availability_type": "subscription",
        "region": "EU",
        "quality": ["HD", "4K"],
        "subtitles": ["en", "fr"],
    }


def test_empty_table_gives_an_empty_file_and_an_empty_parquet_copy(tmp_path: Path) -> None:
    empty = MOVIES.to_frame().lazy()
    written = writers.write_jsonl(layouts.movies_records(empty).drop(layouts.LINE), tmp_path / "movies.jsonl")
    assert written.rows == 0 and (tmp_path / "movies.jsonl").read_bytes() == b""
    schema = export_of("movies_jsonl").schema()
    verdict = verify.verify_jsonl(tmp_path / "movies.jsonl", layouts.movies_records(empty), schema)
    assert verdict.counts_match and verdict.sampled == 0 and not verdict.mismatches
    copy = writers.write_parquet(empty, tmp_path / "movies.parquet")
    assert copy.rows == 0 and verify.parquet_problems(tmp_path / "movies.parquet", empty) == ([], 0)


def test_a_failed_write_names_the_path_and_leaves_the_previous_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "movies.jsonl"
    path.write_text('{"previous": true}\n')

    def disk_full(frame: pl.LazyFrame, staged: Path, **kwargs) -> None:
        Path(staged).write_text('{"half": ')
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pl.LazyFrame, "sink_ndjson", disk_full)
    with pytest.raises(writers.ExportError, match="No space left on device") as failure:
        write(export_of("movies_jsonl"), hard_movies(), path)
    assert str(path) in str(failure.value)
    assert path.read_text() == '{"previous": true}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["movies.jsonl"]  # no staging file left behind


@pytest.mark.parametrize("chunk_bytes", [1, 7, 64, writers.CHUNK_BYTES])
def test_scan_lines_finds_lines_across_chunk_boundaries(tmp_path: Path, monkeypatch, chunk_bytes: int) -> None:
    monkeypatch.setattr(writers, "CHUNK_BYTES", chunk_bytes)
    lines = [b"", b"a", b'{"x": "long line ' + b"z" * 100 + b'"}', b"", b"last, no newline"]
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"\n".join(lines))
    count, found = writers.scan_lines(path, range(7))
    assert count == 5 and found == dict(enumerate(lines))


def test_sample_positions_are_seeded_distinct_and_bounded() -> None:
    picked = writers.sample_positions(25_000_095, 1_000, seed=5)
    assert picked == writers.sample_positions(25_000_095, 1_000, seed=5)
    assert picked != writers.sample_positions(25_000_095, 1_000, seed=6)
    assert len(set(picked)) == 1_000 and picked == sorted(picked) and 0 <= picked[0] and picked[-1] < 25_000_095
    assert writers.sample_positions(3, 1_000, seed=5) == [0, 1, 2] and writers.sample_positions(0, 10, seed=5) == []


@pytest.mark.parametrize(
    "tamper, expected",
    [
        (lambda lines: lines[:-1], "missing"),
        (lambda lines: [lines[0].replace(b'"ml_1"', b'"ml_9"'), *lines[1:]], "other values"),
        (lambda lines: [lines[0][:-1] + b',"extra":1}', *lines[1:]], "fields"),
        (lambda lines: [lines[0][:20], *lines[1:]], "not valid JSON"),
        (lambda lines: [lines[0].replace(b'"year":1995', b'"year":"1995"'), *lines[1:]], "other values"),
    ],
)
def test_verify_reports_a_tampered_line(tmp_path: Path, tamper, expected: str) -> None:
    export, path = export_of("movies_jsonl"), tmp_path / "movies.jsonl"
    write(export, hard_movies(), path)
    path.write_bytes(b"".join(line + b"\n" for line in tamper(path.read_bytes().splitlines())))
    verdict = verify.verify_jsonl(path, export.records(hard_movies().lazy()), export.schema())
    assert verdict.mismatches and expected in verdict.mismatches[0], verdict.mismatches


def test_parquet_problems_name_rows_and_schema(tmp_path: Path) -> None:
    movies = hard_movies()
    movies.head(2).drop("raw_title").write_parquet(tmp_path / "movies.parquet")
    problems, rows = verify.parquet_problems(tmp_path / "movies.parquet", movies.lazy())
    assert rows == 2 and any("2 rows, upstream has 4" in p for p in problems) and any("schema" in p for p in problems)
    absent = tmp_path / "absent.parquet"
    assert verify.parquet_problems(absent, movies.lazy()) == ([f"{absent} does not exist"], 0)


def test_descriptions_list_every_field() -> None:
    assert layouts.field_list(export_of("availability_jsonl").schema()) == (
        "media_id, platforms[{platform_id, name, availability_type, region, quality, subtitles}]"
    )
    assert [e.path for e in layouts.EXPORTS] == [
        "processed/media/movies.jsonl",
        "processed/interactions/ratings.jsonl",
        "processed/interactions/tags.jsonl",
        "synthetic/users/demographics.jsonl",
        "synthetic/platforms/availability.jsonl",
        "synthetic/contexts/viewing_contexts.jsonl",
        "synthetic/subtitles/segments.jsonl",
    ]


def test_same_value_keeps_json_types_and_float32_exactness() -> None:
    stored = float(np.float32(0.45231))  # what polars hands back for the stored float32
    assert verify.same_value(0.45231, stored, pl.Float32)
    assert not verify.same_value(0.4523, stored, pl.Float32)  # a rounded-off float is another value
    assert not verify.same_value("3", 3, pl.Int16) and not verify.same_value(True, 1, pl.Int8)
    assert not verify.same_value({"b": 1, "a": 2}, {"a": 2, "b": 1}, pl.Struct({"a": pl.Int8, "b": pl.Int8}))
    assert verify.same_value([None, "x"], [None, "x"], pl.List(pl.String))


def test_the_declared_line_schemas_match_the_layouts() -> None:
    # The asset definitions read line_schemas.json (no polars at import time); it must say what the
    # layouts really write. Regenerate on purpose with TV5_UPDATE_SNAPSHOTS=1.
    computed = layouts.line_schemas()
    if os.environ.get("TV5_UPDATE_SNAPSHOTS"):
        layouts.LINE_SCHEMAS.write_text(json.dumps(computed, indent=2, ensure_ascii=False) + "\n")
    assert json.loads(layouts.LINE_SCHEMAS.read_text()) == computed
