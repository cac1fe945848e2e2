"""The code location loads without the heavy libraries that only steps use (fast steps).

Behavioural, not timed: the import time itself is printed by benchmarks/import_time.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from tv5_assets.executor_settings import FORKSERVER_LIBRARIES, STEP_LIBRARIES, forkserver_preload

LOADED = """
import json, sys
{imports}
print(json.dumps(sorted(name for name in {names!r} if name in sys.modules)))
"""


def heavy_modules_after(imports: str) -> list[str]:
    """The STEP_LIBRARIES in sys.modules after running `imports` in a fresh interpreter."""
    script = LOADED.format(imports=imports, names=list(STEP_LIBRARIES))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_loading_the_code_location_leaves_the_step_libraries_unimported() -> None:
    loaded = heavy_modules_after("from tv5_assets.definitions import defs\ndefs()")
    assert loaded == [], (
        f"loading the code location imported {loaded}: import them inside the functions that use them "
        "(with `if TYPE_CHECKING:` for type hints), so `dagster dev`, `dg` and every run worker start fast"
    )


def test_the_probe_sees_a_step_library_once_a_step_module_imports_it() -> None:
    # The test above could pass by not seeing anything: the same probe after a store call's import.
    assert "neo4j" in heavy_modules_after("from tv5_assets.definitions import defs\ndefs()\nimport neo4j")


@pytest.mark.parametrize("name", FORKSERVER_LIBRARIES)
def test_every_library_the_forkserver_preloads_is_installed(name: str) -> None:
    # A missing module would fail the forkserver, hence every step of every run.
    assert importlib.util.find_spec(name) is not None, f"{name} (forkserver preload) is not installed"


def test_the_forkserver_preloads_the_code_location_first() -> None:
    preload = forkserver_preload()
    assert preload[0] == "tv5_assets.definitions"
    assert set(FORKSERVER_LIBRARIES) <= set(preload)


def test_the_declared_agentdb_column_schemas_match_the_sqlalchemy_model() -> None:
    # The postgres assets read column_schemas.json when the code location loads (no SQLAlchemy then);
    # it must say what schema.py defines. Regenerate on purpose with TV5_UPDATE_SNAPSHOTS=1.
    from tv5_assets.defs.postgres import assets, schema

    computed = {name: schema.column_rows(table) for name, table in schema.TABLES.items()}
    if os.environ.get("TV5_UPDATE_SNAPSHOTS"):
        assets.COLUMN_SCHEMAS.write_text(json.dumps(computed, indent=2, ensure_ascii=False) + "\n")
    assert json.loads(assets.COLUMN_SCHEMAS.read_text()) == computed
    policies = assets.column_schema("policies")
    assert [c.name for c in policies.columns] == [c.name for c in schema.policies.columns]


def test_the_forkserver_builds_the_definitions_once_for_its_steps_and_freezes_them() -> None:
    # In the forkserver every forked step gets the prebuilt definitions and a frozen heap; anywhere
    # else defs() builds afresh (resources read the environment when they are built).
    script = """
import gc, json
from tv5_assets.definitions import defs
fresh = defs() is not defs()
import tv5_assets.forkserver
print(json.dumps([fresh, defs() is defs(), gc.get_freeze_count() > 100_000]))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, True, True]
