"""The data dictionary written by the `data_dictionary` asset after the stores were loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tv5_assets.definitions import defs
from tv5_assets.defs.docs.assets import RELATIVE_PATH, asset_entries
from tv5_assets.defs.docs.dictionary import missing_terms, sections
from tv5_assets.defs.docs.stores import required_terms

pytestmark = [pytest.mark.services, pytest.mark.slow]


@pytest.fixture(scope="module")
def text(loaded_stack: Path) -> str:
    return (loaded_stack / RELATIVE_PATH).read_text(encoding="utf-8")


def test_everything_declared_is_in_its_section(text: str) -> None:
    entries = asset_entries(defs().resolve_asset_graph(), None)
    assert missing_terms(text, required_terms(entries)) == []


def test_live_store_details_are_shown(text: str) -> None:
    found = sections(text)
    media = found["Milvus collection `media_embeddings`"]
    assert "-> collection `media_embeddings__v" in media and "FLOAT_VECTOR(dim=384)" in media
    assert "entities: unknown" not in media
    movie = found["Neo4j label `Movie`"]
    assert "`tv5_movie_media_id_unique`" in movie and "UNIQUENESS" in movie and "`display_title`" in movie
    assert "String" in found["Neo4j relationship `AVAILABLE_ON`"]
    assert "Rows: about" in found["PostgreSQL table `agentdb.episodes`"]
    live_keys = found["Redis key `tv5:platform:{media_id}`"]
    assert "Live keys: 0." not in live_keys and "(with its TTL set)" in live_keys


def test_row_counts_come_from_the_run(text: str) -> None:
    movies = sections(text)["asset `movies`"]
    assert "rows: unknown" not in movies


def test_removing_a_column_from_the_file_is_caught(text: str) -> None:
    entries = asset_entries(defs().resolve_asset_graph(), None)
    damaged = text.replace("| `view_count_estimate` |", "| view count |")
    problems = missing_terms(damaged, required_terms(entries))
    assert problems and all("`view_count_estimate` is missing" in p for p in problems)


def test_the_blocking_check_fails_on_a_damaged_file(loaded_stack: Path, text: str) -> None:
    import dagster as dg

    from tv5_assets.defs.docs.checks import dictionary_lists_everything
    from tv5_assets.registry import STORES
    from tv5_assets.resources.code_location import RESOURCE_KEY, code_location_resource

    path = loaded_stack / RELATIVE_PATH

    def check() -> dg.AssetCheckResult:  # the check reads every store's resource and the graph, as in a run
        resources = {store.key: store.resource_from_env() for store in STORES}
        resources[RESOURCE_KEY] = code_location_resource(defs)
        return dictionary_lists_everything(dg.build_asset_check_context(resources=resources))

    assert check().passed
    try:
        path.write_text(text.replace("| `is_terminal` |", "| terminal |"), encoding="utf-8")
        result = check()
        assert not result.passed
        assert result.metadata["problem_count"].value >= 1  # the table, and any asset declaring the column
        problems = result.metadata["problems"].value.splitlines()
        assert all("`is_terminal` is missing" in p for p in problems)
        assert any("PostgreSQL table `agentdb.episodes`" in p for p in problems)
    finally:
        path.write_text(text, encoding="utf-8")
