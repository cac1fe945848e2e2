"""Fixtures for the `neo4j` group: a driver on the configured Neo4j (TV5_NEO4J_URI or the local
stack), an emptied database to load into, and the upstream tables where the IO manager reads them.

Neo4j Community has one user database, so graph tests empty it. They refuse to do so when it
holds a graph that tests did not write (a developer's own load on the default port) unless
TV5_REQUIRE_SERVICES=1 (scripts/test.sh and CI, which run a private stack on test ports) or
TV5_NEO4J_TESTS_MAY_WIPE=1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import neo4j
import pytest
from neo4j_frames import MARKER, upstream_frames, wipe

from tv5_assets.resources.neo4j import Neo4jResource
from tv5_assets_tests.conftest import neo4j_resource_now, require_service


@pytest.fixture(scope="session")
def graph_resource() -> Neo4jResource:
    """The platform's resource with the values resolved from the environment now."""
    return neo4j_resource_now()


def _may_wipe(driver: neo4j.Driver, database: str) -> bool:
    if os.environ.get("TV5_REQUIRE_SERVICES") == "1" or os.environ.get("TV5_NEO4J_TESTS_MAY_WIPE") == "1":
        return True
    records, _, _ = driver.execute_query(
        f"OPTIONAL MATCH (m:{MARKER}) WITH count(m) AS marked OPTIONAL MATCH (n) RETURN marked, count(n) AS nodes",
        database_=database,
    )
    return records[0]["marked"] > 0 or records[0]["nodes"] == 0


@pytest.fixture(scope="session")
def graph_driver(graph_resource: Neo4jResource) -> Iterator[neo4j.Driver]:
    def connect() -> neo4j.Driver:
        driver = neo4j.GraphDatabase.driver(graph_resource.uri, auth=graph_resource._auth(), connection_timeout=5)
        try:
            driver.execute_query("RETURN 1", database_=graph_resource.database)
        except Exception:
            driver.close()
            raise
        return driver

    driver = require_service("neo4j", connect)
    if not _may_wipe(driver, graph_resource.database):
        driver.close()
        pytest.skip(
            f"the Neo4j at {graph_resource.address} holds a graph that tests did not write; run the tests on "
            "the test stack (scripts/test.sh) or set TV5_NEO4J_TESTS_MAY_WIPE=1 to let them empty it"
        )
    yield driver
    driver.close()


@pytest.fixture
def empty_graph(graph_driver: neo4j.Driver, graph_resource: Neo4jResource) -> neo4j.Driver:
    """The database emptied (constraints kept) before the test."""
    wipe(graph_driver, graph_resource.database)
    return graph_driver


@pytest.fixture(scope="session")
def frames() -> dict:
    return upstream_frames()


@pytest.fixture(scope="session")
def stored_frames(frames: dict, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The upstream tables as Parquet where `Tv5IOManager(base_dir=...)` reads them."""
    assets_dir = tmp_path_factory.mktemp("neo4j-assets")
    for name, frame in frames.items():
        frame.write_parquet(assets_dir / f"{name}.parquet")
    return assets_dir
