"""The data dictionary's generator and its completeness test, from the definitions alone (no servers)."""

from __future__ import annotations

import pytest

from tv5_assets.defs.docs.assets import asset_entries
from tv5_assets.defs.docs.dictionary import Part, asset_part, missing_terms, render, sections
from tv5_assets.defs.docs.stores import milvus_required, neo4j_required, postgres_part, redis_part, required_terms
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets.resources.redis import RedisResource


@pytest.fixture(scope="module")
def entries():
    from tv5_assets.definitions import defs

    return asset_entries(defs().resolve_asset_graph(), None)


def _declared_only(required: dict[str, list[str]]) -> Part:
    """Milvus and Neo4j sections from the required terms alone (what a server-less test can render)."""
    part = Part("Declared store objects")
    for heading, terms in (milvus_required() | neo4j_required()).items():
        part.sections[heading] = [f"- `{t}`" for t in terms]
    return part


@pytest.fixture(scope="module")
def text(entries) -> str:
    required = required_terms(entries)
    parts = [
        asset_part(entries),
        _declared_only(required),
        postgres_part(None, PostgresResource()),
        redis_part(None, RedisResource()),
    ]
    return render(parts, "test")


def test_every_asset_and_column_is_listed(entries, text: str) -> None:
    assert len(entries) > 40
    with_columns = [e for e in entries if e.columns]
    assert with_columns, "some assets declare a column schema"
    found = sections(text)
    for entry in with_columns:
        body = found[f"asset `{entry.key}`"]
        assert all(f"`{c.name}`" in body for c in entry.columns), entry.key
    assert missing_terms(text, required_terms(entries)) == []


def test_store_objects_are_listed(text: str) -> None:
    found = sections(text)
    assert "`q_values`" in found["PostgreSQL table `agentdb.policies`"]
    assert "JSONB" in found["PostgreSQL table `agentdb.episodes`"]
    assert "86,400 s" in found["Redis key `tv5:platform:{media_id}`"]
    assert "900 s" in found["Redis key `tv5:trending`"]


def test_a_dropped_column_is_detected(entries, text: str) -> None:
    victim = next(e for e in entries if e.key == "movies")
    column = victim.columns[1].name
    lines = text.splitlines()
    start = lines.index("### asset `movies`")
    cut = next(i for i in range(start, len(lines)) if lines[i].startswith(f"| `{column}` |"))
    damaged = "\n".join(lines[:cut] + lines[cut + 1 :])
    assert missing_terms(damaged, required_terms(entries)) == [f"asset `movies`: `{column}` is missing"]


def test_a_name_elsewhere_does_not_count_and_a_lost_section_is_reported(entries, text: str) -> None:
    without_table = text.replace("### PostgreSQL table `agentdb.episodes`", "### something else")
    problems = missing_terms(without_table, required_terms(entries))
    assert problems == ["section 'PostgreSQL table `agentdb.episodes`' is missing"]
    without_field = text.replace("| `popularity_score` |", "| popularity |")
    assert any("`popularity_score` is missing" in p for p in missing_terms(without_field, required_terms(entries)))


def test_cells_stay_on_one_line() -> None:
    from tv5_assets.defs.docs.dictionary import AssetEntry, Column

    entry = AssetEntry("x", "g", "a | b\nc", columns=(Column("c", "Int64", "one | two\nthree"),))
    body = sections(asset_part([entry]).render())["asset `x`"]
    assert "| `c` | Int64 | one \\| two three |" in body
