"""Hostile strings (issue 13, item 3), quick part: quotes, backslashes, SQL and Cypher injection
text, `$param`, emoji, right-to-left marks, NBSP and zero-width characters planted in a release's
titles, tags and genome tags survive parsing unchanged (titles: whitespace normalised, as the
movies contract says) and come out of the JSONL exports unchanged.

The stores (Neo4j titles and tag names, Milvus titles) are read back after a whole-graph run in
`test_secrets_soak.py` (`-m soak`), which plants the same strings.
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
