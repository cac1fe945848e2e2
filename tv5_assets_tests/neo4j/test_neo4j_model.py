"""The graph's source frames, batching and import files (pure polars, no server)."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from tv5_assets.schemas.movielens import RATINGS
from tv5_assets.stores.neo4j import import_files, model


def test_batch_bounds_cover_every_row_and_never_split_a_source():
    keys = pl.Series(["a"] * 3 + ["b"] * 5 + ["c"] * 1 + ["d"] * 4 + ["e"] * 2)
    bounds = model.batch_bounds(keys, 4)
    assert [o for o, _ in bounds] == sorted(o for o, _ in bounds)
    assert sum(n for _, n in bounds) == keys.len()
    assert all(o1 + n1 == o2 for (o1, n1), (o2, _) in zip(bounds, bounds[1:]))  # contiguous
    for offset, length in bounds:
        batch = keys.slice(offset, length)
        outside = pl.concat([keys.slice(0, offset), keys.slice(offset + length)])
        assert not set(batch.to_list()) & set(outside.to_list()), f"a source was split at {offset}"


def test_batch_bounds_grow_a_batch_to_hold_an_oversized_source():
    keys = pl.Series(["a"] * 2 + ["big"] * 10 + ["c"] * 2 + ["d"] * 3)
    assert model.batch_bounds(keys, 3) == [(0, 12), (12, 5)]
    assert model.batch_bounds(pl.Series([], dtype=pl.String), 3) == []
    with pytest.raises(ValueError):
        model.batch_bounds(keys, 0)


def test_rated_rels_use_platform_keys_epoch_seconds_and_keep_one_edge_per_pair():
    ts = [datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC), datetime(2019, 5, 5, tzinfo=UTC)]
    ratings = pl.DataFrame(
        {
            "user_id": [7, 7, 2],
            "movie_id": [10, 10, 3],
            "rating": [3.0, 4.5, 1.0],
            "timestamp": ts,
            "time_of_day": ["night", "night", "morning"],
        },
        schema=RATINGS,
    )
    rels = model.rated_rels(ratings)
    assert rels.to_dicts() == [
        {"user_id": "user_00000002", "media_id": "ml_3", "score": 1.0, "timestamp": 1557014400},
        {"user_id": "user_00000007", "media_id": "ml_10", "score": 4.5, "timestamp": 1609459200},
    ]


def test_has_tag_rels_explode_movie_genome(frames):
    genome = frames["movie_genome"]
    rels = model.has_tag_rels(genome)
    assert rels.height == int(genome["tag_ids"].list.len().sum())
    first = genome.filter(pl.col("tag_ids").list.len() > 0).row(0, named=True)
    got = rels.filter(pl.col("media_id") == f"ml_{first['movie_id']}").sort("tag_id")
    want = sorted(zip(first["tag_ids"], first["relevances"], strict=True))
    assert got["tag_id"].to_list() == [t for t, _ in want]
    assert got["relevance"].to_list() == pytest.approx([r for _, r in want])


def test_platform_nodes_take_the_platform_type(frames):
    nodes = model.platform_nodes(frames["platform_availability"])
    assert nodes.to_dicts() == [
        {"platform_id": "netflix", "name": "Netflix", "type": "subscription"},
        {"platform_id": "tv5monde", "name": "TV5MONDE", "type": "free"},
    ]


def _import_inputs(frames: dict) -> dict:
    return {name: frame for name, frame in frames.items() if name != "similar_movies"}


def test_import_files_have_typed_headers_id_spaces_and_the_command(frames, tmp_path):
    folder = tmp_path / "neo4j-import"
    written = import_files.write_import_files(folder, **_import_inputs(frames), log=lambda _: None)
    header = {name: (folder / name).read_text().splitlines()[0] for name in written.files}
    assert header["movies.csv"] == "media_id:ID(Movie),movie_id:long,title,display_title,year:int,genres:string[]"
    assert header["users.csv"] == "user_id:ID(User),archetype,country"
    assert header["tags.csv"] == ":ID(Tag),tag_id:long,name"
    assert header["rated.csv"] == ":START_ID(User),:END_ID(Movie),score:double,timestamp:long"
    assert "similar_to.csv" not in written.files  # loaded online by neo4j_similarity, after the embeddings
    assert header["available_on.csv"].endswith("quality:string[],availability_type,subtitles:string[]")
    movies = pl.read_csv(folder / "movies.csv")
    with_two = frames["movies"].filter(pl.col("genres").list.len() == 2).row(0, named=True)
    row = movies.filter(pl.col("media_id:ID(Movie)") == with_two["media_id"]).row(0, named=True)
    assert row["genres:string[]"] == ";".join(with_two["genres"])
    assert written.files["rated.csv"]["rows"] == frames["ratings"].height
    assert pl.read_csv(folder / "rated.csv").height == frames["ratings"].height
    assert written.relationships == sum(
        v["rows"] for k, v in written.files.items() if k not in import_files.NODE_FILES.values()
    )
    script = (folder / "import.sh").read_text()
    assert "neo4j-admin database import full neo4j" in script
    assert f"--relationships=RATED={folder / 'rated.csv'}" in script
    assert not list(tmp_path.glob(".neo4j-import.*")), "temporary folders must not be left behind"


def test_import_files_check_finds_missing_and_truncated_files(frames, tmp_path):
    from tv5_assets.defs.neo4j.checks import import_files_problems

    folder = tmp_path / "neo4j-import"
    import_files.write_import_files(folder, **_import_inputs(frames), log=lambda _: None)
    inputs = (frames["movies"], frames["user_profiles"], frames["ratings"])
    problems, rows = import_files_problems(folder, *inputs)
    assert problems == []
    assert rows["rated.csv"] == frames["ratings"].height

    rated = folder / "rated.csv"
    rated.write_text("\n".join(rated.read_text().splitlines()[:-1]) + "\n")  # drop the last rating
    (folder / "genres.csv").unlink()
    problems, _ = import_files_problems(folder, *inputs)
    assert "genres.csv is missing" in problems
    assert any(p.startswith("rated.csv: ") and "upstream implies" in p for p in problems)
