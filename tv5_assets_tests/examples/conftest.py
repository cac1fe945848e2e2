"""The graph up to the data dictionary (every store load and what it reads) materialized once on the session's sample into the stack's default names (Milvus
collections without prefix, schema `agentdb`, namespace `tv5`, the Neo4j database), which is where
the examples and the data dictionary read. It replaces what is there, so it runs only on a test
stack (TV5_REQUIRE_SERVICES=1, as scripts/test.sh and CI set) or with TV5_EXAMPLES_TESTS_MAY_LOAD=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tv5_assets_tests.conftest import materialize


@pytest.fixture(scope="session")
def loaded_stack(data_env: Path) -> Path:
    if os.environ.get("TV5_REQUIRE_SERVICES") != "1" and os.environ.get("TV5_EXAMPLES_TESTS_MAY_LOAD") != "1":
        pytest.skip(
            "loads the default store names: run on the test stack (scripts/test.sh) or set "
            "TV5_EXAMPLES_TESTS_MAY_LOAD=1"
        )
    # Everything the stores are loaded from, the loads and the data dictionary (not the file exports).
    result = materialize("*data_dictionary")
    assert result.success
    return data_env
