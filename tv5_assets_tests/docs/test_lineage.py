"""The lineage diagrams (README.md's overview, docs/lineage.md's full one): generated from the definitions
and kept current by this test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tv5_assets import lineage
from tv5_assets.cli import main

# A small graph: raw -> clean (same group a), clean -> model (b), model -> report (c), and clean -> report
# directly (a path a -> b -> c exists too, so that edge is dotted).
GROUPS = {"raw": "a", "clean": "a", "model": "b", "report": "c"}
EDGES = {("raw", "clean"), ("clean", "model"), ("model", "report"), ("clean", "report")}


@pytest.mark.parametrize("page", [lineage.README, lineage.PAGE], ids=lambda page: page.name)
def test_each_page_diagram_is_current(page: Path) -> None:
    in_page = lineage.readme_diagram(page.read_text())
    assert in_page is not None, f"{page.name} has no lineage block between {lineage.START!r} and {lineage.END!r}"
    assert in_page == lineage.targets()[page], (
        f"{page.name}'s lineage diagram is out of date with the definitions: regenerate it with `{lineage.REGENERATE}`"
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


def test_the_overview_has_every_group_and_only_the_main_flow() -> None:
    overview = lineage.group_mermaid(GROUPS, EDGES)
    assert (
        overview
        == 'flowchart LR\n  g_a["a: 2 assets"]\n  g_b["b: 1 asset"]\n  g_c["c: 1 asset"]\n  g_a ==> g_b\n  g_b ==> g_c\n'
    )
    groups, edges = lineage.asset_graph()
    lines = set(lineage.group_mermaid(groups, edges).splitlines())
    assert all(any(line.startswith(f'  g_{g}["{g}: ') for line in lines) for g in set(groups.values()))


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


def test_write_all_rewrites_every_page_with_its_own_diagram(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pages = {tmp_path / "README.md": "flowchart LR\n  overview\n", tmp_path / "lineage.md": "flowchart LR\n  full\n"}
    for page in pages:
        page.write_text(f"# {page.stem}\n{lineage.START}\nold\n{lineage.END}\n")
    monkeypatch.setattr(lineage, "targets", lambda: pages)
    assert lineage.write_all() == dict.fromkeys(pages, True)
    assert {page: lineage.readme_diagram(page.read_text()) for page in pages} == pages
    assert lineage.write_all() == dict.fromkeys(pages, False)
