"""The reliability suite (issue 13): every test here carries the `reliability` mark.

`pytest -m reliability` runs the quick part (CI runs it with the rest); `pytest -m soak` runs the long
part, deselected by default (pyproject's addopts). Reusable helpers: `corpus.py` (bad-input corpus,
in-process runs of the real code location).
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.reliability)
