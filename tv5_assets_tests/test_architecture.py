"""The package's shape: each group lives in the defs/ folder of its name, no module grows past
MAX_MODULE_LINES, the layers hold (import-linter's contracts in pyproject.toml), and the modules
import each other without cycles.

Checked here rather than by review: a reader (and `dg scaffold defs ... <group>/...`) finds an asset
by its group name, `tv5_assets/defs/<group>/`; and every module that grew past the limit held more
than one concern, which is easier to see and to split while it is small.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from pathlib import Path

import dagster as dg
import grimp

from tv5_assets.definitions import defs as load_defs
from tv5_assets.executor_settings import defs_modules

PACKAGE = Path(__file__).resolve().parents[1] / "tv5_assets"
MAX_MODULE_LINES = 500


def assets_by_folder() -> dict[str, set[dg.AssetKey]]:
    """Every asset key held by a module of defs/<folder>/, per folder (defined there, or imported from a sibling)."""
    found: dict[str, set[dg.AssetKey]] = defaultdict(set)
    for name in defs_modules():
        parts = name.split(".")  # tv5_assets.defs.<folder>.<module>
        if len(parts) < 4:
            continue  # a module beside the folders (defs/resources.py) belongs to no group
        for value in vars(importlib.import_module(name)).values():
            # as Dagster's loader sees them: a definition, or a list of them (factories build lists)
            for item in value if type(value) in (list, tuple) else [value]:
                if isinstance(item, dg.AssetsDefinition):
                    found[parts[2]].update(item.keys)
    return found


def test_every_group_is_named_after_its_defs_folder() -> None:
    by_folder = assets_by_folder()
    misplaced = {}
    for spec in load_defs().resolve_all_asset_specs():
        if spec.key not in by_folder.get(spec.group_name, set()):
            holders = sorted(folder for folder, keys in by_folder.items() if spec.key in keys)
            misplaced[spec.key.to_user_string()] = f"group {spec.group_name!r}, found in defs/{holders}"
    assert not misplaced, f"assets outside tv5_assets/defs/<their group>/: {misplaced}"


def test_no_module_exceeds_the_line_limit() -> None:
    sizes = {path.relative_to(PACKAGE).as_posix(): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    oversized = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert not oversized, (
        f"modules over {MAX_MODULE_LINES} lines: {dict(sorted(oversized.items()))}; split them along their concerns"
    )


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, imports inside functions included (grimp reads them all).

    `definitions.py` loads the defs folder with `dg.load_from_defs_folder`, which imports every module
    of it without an import statement: those edges are added, so a defs module that imports
    `definitions` (at call time or not) closes a cycle here as it does at run time. So are the
    modules the store registry imports by name (`registry_modules`).
    """
    graph = grimp.build_graph("tv5_assets", include_external_packages=False)
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    edges["tv5_assets.definitions"] |= set(defs_modules())
    edges["tv5_assets.registry"] |= registry_modules()
    return edges


def registry_modules() -> set[str]:
    """The modules the store registry names by a "module:attribute" string and imports when asked."""
    from tv5_assets import registry

    fields = ("resource", "transient_classifier", "service", "backup")
    return {getattr(store, field).partition(":")[0] for store in registry.STORES for field in fields}


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: each group of two or more modules that reach one another."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            child = next(successors, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_the_search_finds_a_cycle_through_a_function_level_import() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(edges) == [["a", "b", "c"]]


def test_the_package_has_no_import_cycles() -> None:
    cycles = strongly_connected(import_graph())
    assert not cycles, (
        f"modules that import one another, directly or through others: {cycles}; move what they share "
        "to a lower module that both import"
    )


def test_the_layer_contracts_hold(capsys) -> None:
    from importlinter import configuration
    from importlinter.application.use_cases import lint_imports

    configuration.configure()
    kept = lint_imports(config_filename=str(PACKAGE.parent / "pyproject.toml"))
    report = capsys.readouterr().out
    assert kept, f"an import breaks a layer contract ([tool.importlinter] in pyproject.toml):\n{report}"
