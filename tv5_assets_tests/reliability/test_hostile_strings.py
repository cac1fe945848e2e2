"""Hostile strings, quick part: quotes, backslashes, SQL and Cypher injection
text, `$param`, emoji, right-to-left marks, NBSP and zero-width characters planted in a release's
titles, tags and genome tags survive parsing unchanged (titles: whitespace normalised, as the
movies contract says) and come out of the JSONL exports unchanged.

Soak part (`-m soak`, the local stack): the same strings through the store loads, read back from
Neo4j (Movie.title, Tag.name) and Milvus (title).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from tv5_assets.io_managers import read_frame
from tv5_assets_tests.reliability import corpus, hostile


def test_hostile_strings_survive_parsing_and_the_jsonl_exports(
    sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = Path(shutil.copytree(sample_dir, tmp_path / "ml"))
    planted = hostile.plant(release)
    data = tmp_path / "data"
    monkeypatch.setenv("TV5_MOVIELENS_DIR", str(release))
    monkeypatch.setenv("TV5_DATA_DIR", str(data))
    selection = dg.AssetSelection.assets("movies_jsonl", "tags_jsonl", "genome_tags").upstream()
    result = corpus.materialize(selection)
    assert result.success, corpus.step_errors(result)

    movies = read_frame("movies", lazy=False, base_dir=data / "assets")
    stored = dict(movies.select("movie_id", "title").iter_rows())
    assert {k: stored[k] for k in planted.titles} == planted.titles
    raw = dict(movies.select("movie_id", "raw_title").iter_rows())
    assert {k: raw[k].removesuffix(" (2001)") for k in planted.titles} == dict(
        zip(planted.titles, hostile.HOSTILE.values())
    )  # raw_title keeps even the NBSP
    tags = read_frame("tags", lazy=False, base_dir=data / "assets")["tag"].to_list()
    assert {row: tags[row] for row in planted.tags} == planted.tags
    genome = dict(read_frame("genome_tags", lazy=False, base_dir=data / "assets").iter_rows())
    assert {k: genome[k] for k in planted.genome_tags} == planted.genome_tags

    titles, jsonl_tags = hostile.jsonl_values(data, planted)
    assert titles == planted.titles
    assert jsonl_tags == planted.tags


STORE_SELECTION = dg.AssetSelection.assets(
    "neo4j_movies", "neo4j_movie_tags", "milvus_media_collection", "movies_jsonl", "tags_jsonl"
).upstream()


@pytest.mark.soak
@pytest.mark.services
def test_hostile_strings_round_trip_through_the_stores(
    sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The graph from the movielens files to Neo4j (Movie.title, Tag.name), Milvus (title) and the
    JSONL exports, on the stack the environment names (it replaces that stack's movies graph and
    media collection, as a run would): every planted string comes back unchanged."""
    from tv5_assets.resources.milvus import milvus_resource_from_env
    from tv5_assets_tests.conftest import neo4j_resource_now, require_service

    neo4j = neo4j_resource_now()
    require_service("Neo4j", neo4j.server_info)
    milvus = milvus_resource_from_env().process_config_and_initialize()
    release = Path(shutil.copytree(sample_dir, tmp_path / "ml"))
    planted = hostile.plant(release)
    monkeypatch.setenv("TV5_MOVIELENS_DIR", str(release))
    monkeypatch.setenv("TV5_DATA_DIR", str(tmp_path / "data"))
    result = corpus.materialize(STORE_SELECTION)
    assert result.success, corpus.step_errors(result)

    titles, tag_names = hostile.neo4j_values(neo4j, planted)
    assert titles == planted.titles
    assert tag_names == planted.genome_tags
    assert hostile.milvus_values(milvus, planted) == planted.titles
    assert hostile.jsonl_values(tmp_path / "data", planted) == (planted.titles, planted.tags)
