"""README's lineage diagram: generated from the definitions and kept current by this test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tv5_assets import lineage
from tv5_assets.cli import main

# A small graph: raw -> clean (same group a), clean -> model (b), model -> report (c), and clean -> report
# directly (a path a -> b -> c exists too, so that edge is dotted).
GROUPS = {"raw": "a", "clean": "a", "model": "b", "report": "c"}
EDGES = {("raw", "clean"), ("clean", "model"), ("model", "report"), ("clean", "report")}


def test_readme_diagram_is_current() -> None:
    text = lineage.README.read_text()
    in_readme = lineage.readme_diagram(text)
    assert in_readme is not None, f"README.md has no lineage block between {lineage.START!r} and {lineage.END!r}"
    assert in_readme == lineage.current_diagram(), (
        f"README.md's lineage diagram is out of date with the definitions: regenerate it with `{lineage.REGENERATE}`"
    )


def test_the_diagram_holds_every_asset_and_group_of_the_definitions() -> None:
    groups, edges = lineage.asset_graph()
    diagram = lineage.mermaid(groups, edges)
    lines = {line.strip() for line in diagram.splitlines()}
    assert diagram.startswith("flowchart LR\n")
    assert {f"subgraph g_{g}[{g}]" for g in groups.values()} <= lines
    assert set(groups) <= lines, "an asset is missing from the diagram"
    crossing = {(groups[a], groups[b]) for a, b in edges if groups[a] != groups[b]}
    drawn = {(a, b) for a, b in crossing if f"g_{a} ==> g_{b}" in lines or f"g_{a} -.-> g_{b}" in lines}
    assert drawn == crossing, f"group edges not drawn: {sorted(crossing - drawn)}"


def test_group_edges_implied_by_a_longer_path_are_dotted() -> None:
    diagram = lineage.mermaid(GROUPS, EDGES)
    assert "  g_a ==> g_b\n  g_b ==> g_c\n  g_a -.-> g_c\n" in diagram
    assert "    raw --> clean\n" in diagram  # asset edges inside a group
    assert "clean --> model" not in diagram  # across groups: the group edge only
    assert diagram.index("subgraph g_a") < diagram.index("subgraph g_b") < diagram.index("subgraph g_c")


def test_write_replaces_only_the_block_between_the_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n{lineage.START}\nold\n{lineage.END}\nafter\n")
    diagram = lineage.mermaid(GROUPS, EDGES)
    assert lineage.write_readme(diagram, readme) is True
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n") and text.endswith("\nafter\n")
    assert lineage.readme_diagram(text) == diagram
    assert lineage.write_readme(diagram, readme) is False  # already current: unchanged


def test_write_without_markers_says_what_to_add(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(SystemExit, match="no lineage markers"):
        lineage.write_readme("flowchart LR\n", readme)


def test_the_command_prints_the_current_diagram(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "lineage"]) == 0
    assert capsys.readouterr().out == lineage.current_diagram()
