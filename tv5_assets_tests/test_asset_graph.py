"""Snapshot of the asset graph's structure: keys, groups, dependencies, checks, pools, kinds, code versions.

A structural change (a renamed asset, a dropped check, a new dependency) fails this test until the
snapshot is regenerated on purpose:  TV5_UPDATE_SNAPSHOTS=1 pytest tv5_assets_tests/test_asset_graph.py
and the diff of snapshots/asset_graph.json is reviewed with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from tv5_assets.definitions import defs as load_defs

defs = load_defs()

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_structure() -> dict:
    repo = defs.get_repository_def()
    graph = repo.asset_graph
    assets: dict[str, dict] = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "checks": sorted(f"{c.name}{' (blocking)' if graph.get(c).blocking else ''}" for c in node.check_keys),
            "kinds": sorted(node.kinds),
            "pools": sorted(node.pools or []),
            "owners": sorted(node.owners),
            "code_version": node.code_version,  # a bump shows in the snapshot's diff, for review
        }
    return {"assets": assets}


def test_asset_graph_matches_snapshot() -> None:
    current = graph_structure()
    if os.environ.get("TV5_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert current == expected, (
        "The asset graph changed. If intended, regenerate with TV5_UPDATE_SNAPSHOTS=1 and review the diff."
    )


def test_every_asset_is_described_owned_and_grouped() -> None:
    for spec in defs.resolve_all_asset_specs():
        name = spec.key.to_user_string()
        assert spec.description, f"{name} has no description"
        assert spec.owners, f"{name} has no owner"
        assert spec.group_name and spec.group_name != "default", f"{name} is in no group"
        assert spec.kinds, f"{name} has no kinds"


def test_every_asset_has_a_check() -> None:
    graph = defs.get_repository_def().asset_graph
    unchecked = [
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if graph.get(k).is_materializable and not graph.get(k).check_keys
    ]
    assert not unchecked, f"assets without checks: {unchecked}"


def test_definitions_load_through_the_workspace() -> None:
    # `dagster dev` loads workspace.yaml's python_module; the module exposes the one `@dg.definitions`
    # entry point, which builds the same Definitions as the defs folder plus the shared parts.
    import importlib

    module = importlib.import_module("tv5_assets")
    assert module.code_location is load_defs
    assert isinstance(module.code_location(), dg.Definitions)


def test_workspace_yaml_loads_the_code_location(tmp_path: Path) -> None:
    # What `dagster dev` does from the repository root: load workspace.yaml's code location.
    import shutil
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    shutil.copy(root / "dagster.yaml", tmp_path / "dagster.yaml")
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=root,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Validation successful for code location tv5_assets" in result.stdout + result.stderr


def test_dg_check_defs_loads_the_project(tmp_path: Path) -> None:
    # What `dg check defs` / `dg list defs` do from the repository root: find the project through
    # [tool.dg] in pyproject.toml, load the defs folder, and validate every definition.
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    dg_cli = Path(sys.executable).with_name("dg")
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PATH": f"{dg_cli.parent}:{os.environ.get('PATH', '')}"}
    result = subprocess.run(
        [str(dg_cli), "check", "defs"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "All definitions loaded successfully" in result.stdout + result.stderr
    listed = subprocess.run(
        [str(dg_cli), "list", "defs", "--json"], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "milvus_user_collection" in listed.stdout and "neo4j_ratings" in listed.stdout


def test_importing_the_defs_leaves_polars_safe_to_fork(tmp_path: Path) -> None:
    # The executor's forkserver imports every defs module once and forks each step from it. A module
    # that runs any polars computation at import starts polars' thread pools there; the forked steps
    # then hang forever on their first file read. Import everything the forkserver preloads, fork,
    # and read a CSV in the child.
    import subprocess
    import sys

    from tv5_assets.executor_settings import forkserver_preload

    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4\n")
    script = f"""
import importlib, os, signal
for name in {forkserver_preload()!r}:
    importlib.import_module(name)
pid = os.fork()
if pid == 0:
    signal.alarm(20)
    import polars as pl
    os._exit(0 if pl.read_csv({str(tmp_path / "t.csv")!r}).height == 2 else 3)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
raise SystemExit(124 if code < 0 else code)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (
        f"a forked step could not read a file (exit {result.returncode}; 124 = hung): some module under "
        f"tv5_assets/defs runs polars when it is imported\n{result.stderr[-2000:]}"
    )


def test_store_load_assets_lists_every_asset_that_writes_a_store() -> None:
    # Readers of the stores (reports, benchmarks, dictionary, backups) wait for STORE_LOAD_ASSETS: a
    # new load missing from it would let them run before it.
    from tv5_assets.store_load import STORE_LOAD_ASSETS

    graph = defs.get_repository_def().asset_graph
    not_loads = {"neo4j_import_files", "neo4j_bulk_import", "neo4j_constraints"}
    writers = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).group_name in {"milvus", "neo4j", "postgres", "redis"}
    }
    assert sorted(STORE_LOAD_ASSETS) == sorted(writers - not_loads)
