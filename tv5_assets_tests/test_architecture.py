"""The package's shape: each group lives in the defs/ folder of its name.

Checked here rather than by review, because a reader (and `dg scaffold defs ... <group>/...`) finds an
asset by its group name: `tv5_assets/defs/<group>/`.
"""

from __future__ import annotations

import importlib
from collections import defaultdict

import dagster as dg

from tv5_assets.definitions import defs as load_defs
from tv5_assets.definitions import defs_modules


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
