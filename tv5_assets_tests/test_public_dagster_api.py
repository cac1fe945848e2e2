"""The package uses Dagster's public API only: no `dagster._...` module is imported anywhere in tv5_assets.

Dagster's underscore modules change without notice between releases (the public API is what its
deprecation policy covers), so an upgrade of the pinned release must not break the code location.
Read from the syntax tree, so a docstring or comment that names such a module does not count; a
string that names one for `importlib` is caught by the text search below.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tv5_assets"
PRIVATE = re.compile(r"^dagster(_[a-z_]+)?\._")  # dagster._core, dagster_shared._..., dagster_k8s._...


def private_imports(source: str) -> list[str]:
    """`module` for every `import module` / `from module import ...` of a private Dagster module."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if PRIVATE.match(alias.name)]
        elif isinstance(node, ast.ImportFrom) and node.module and PRIVATE.match(node.module):
            found.append(node.module)
    return found


def private_names_in_strings(source: str) -> list[str]:
    """String constants that are a private Dagster module path (as given to importlib or a preload list)."""
    strings = (n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str))
    return [s for s in strings if PRIVATE.match(s) and " " not in s]


def test_no_module_of_the_package_imports_a_private_dagster_module() -> None:
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        if names := private_imports(source) + private_names_in_strings(source):
            offenders[str(path.relative_to(PACKAGE.parent))] = names
    assert not offenders, (
        f"private Dagster modules used in {offenders}: use what `import dagster as dg` exports "
        "(dg.DagsterEventType, dg.EventLogEntry, dg.multi_or_in_process_executor, ...)"
    )


def test_the_search_finds_every_form_of_private_import() -> None:
    source = (
        "import dagster._core.events\n"
        "from dagster._core.events import DagsterEventType\n"
        "from dagster_shared._check import x\n"
        "MODULES = ('dagster._cli',)\n"
        "import dagster\nfrom dagster import DagsterEventType\nimport dagster_k8s\n"
        '"""docstring naming dagster._core in prose is fine"""\n'
    )
    assert private_imports(source) == ["dagster._core.events", "dagster._core.events", "dagster_shared._check"]
    assert private_names_in_strings(source) == ["dagster._cli"]
