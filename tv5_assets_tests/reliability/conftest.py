"""The reliability suite: every test here carries the `reliability` mark.

`pytest -m reliability` runs the quick part (CI runs it with the rest); `pytest -m soak` runs the long
part, deselected by default (pyproject's addopts). Reusable helpers: `corpus.py` (bad-input corpus,
in-process runs of the real code location).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import fault_stack
import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.reliability)


# The fault and idempotency tests share one private stack (fault_stack.py: its own ports and data
# folder, since they kill its servers), started once per session.
@pytest.fixture(scope="session")
def reliability_stack():
    stack = fault_stack.acquire_stack()
    yield stack
    fault_stack.release_stack()


@pytest.fixture(scope="module")
def stack_instance(reliability_stack, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The private stack active for this module, with a persistent Dagster instance."""
    with (
        reliability_stack.activate(sample_dir),
        dg.instance_for_test(temp_dir=str(tmp_path_factory.mktemp("dh"))) as inst,
    ):
        fault_stack.prepare(reliability_stack, inst)
        yield reliability_stack, inst
