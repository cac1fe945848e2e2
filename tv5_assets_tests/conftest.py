"""Shared fixtures: a generated MovieLens-format sample and a private data folder per session.

Tests that need the local stack are marked `services`; they use `require_service`, which skips
when a store is unreachable on a developer's machine but fails when `TV5_REQUIRE_SERVICES=1`
(set by the test command and CI), so CI can never pass by skipping the real engines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import dagster as dg
import pytest

SAMPLE_SCALE = 0.002
SAMPLE_SEED = 7

T = TypeVar("T")


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated MovieLens-format release (with genome), written once per session."""
    from tv5_assets.generator import write_sample

    out = tmp_path_factory.mktemp("ml-sample")
    write_sample(out, scale=SAMPLE_SCALE, seed=SAMPLE_SEED, genome=True)
    return out


@contextmanager
def environment(values: Mapping[str, str], unset: Iterable[str] = ()) -> Iterator[None]:
    """Set `values` and remove `unset` in os.environ while the block runs; every name is restored after
    (for fixtures wider than a test, where pytest's monkeypatch cannot reach)."""
    unset = tuple(unset)
    saved = {name: os.environ.get(name) for name in (*values, *unset)}
    for name in unset:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def data_env(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point TV5_MOVIELENS_DIR at the sample and TV5_DATA_DIR at a private folder for the session."""
    data = tmp_path_factory.mktemp("tv5-data")
    with environment({"TV5_MOVIELENS_DIR": str(sample_dir), "TV5_DATA_DIR": str(data)}):
        yield data


def materialize(selection: str, resources: dict | None = None, raise_on_error: bool = True, run_config=None):
    """Materialize a selection of the real code location (assets and their checks)."""
    from tv5_assets.definitions import defs as load_defs

    defs = load_defs()

    all_resources = dict(defs.resources or {})
    all_resources.update(resources or {})
    return dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        selection=selection,
        resources=all_resources,
        raise_on_error=raise_on_error,
        run_config=run_config,
    )


@pytest.fixture(scope="session")
def movielens_materialized(data_env: Path) -> Path:
    """The `movielens` group materialized once from the sample; returns TV5_DATA_DIR."""
    materialize("group:movielens")
    return data_env


def neo4j_resource_now():
    """The platform's Neo4j resource with its values resolved from the environment now (tests call
    its driver directly, outside a run, where `dg.EnvVar` values are not resolved)."""
    from tv5_assets.resources.neo4j import Neo4jResource, neo4j_resource_from_env

    configured = neo4j_resource_from_env()
    return Neo4jResource(
        uri=os.environ.get("TV5_NEO4J_URI", "").strip() or configured.uri,
        user=os.environ.get("TV5_NEO4J_USER", "neo4j"),
        password=os.environ.get("TV5_NEO4J_PASSWORD", ""),
        database=os.environ.get("TV5_NEO4J_DATABASE", "neo4j"),
    )


def require_service(name: str, connect: Callable[[], T]) -> T:
    """Return `connect()`; when the store is down, skip locally but fail under TV5_REQUIRE_SERVICES=1."""
    try:
        return connect()
    except Exception as error:  # the store's own client error says what is wrong
        message = f"{name} is not reachable ({error}); start the local stack with `tv5 services up`"
        if os.environ.get("TV5_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)


def drop_milvus_prefixed(client, prefix: str) -> None:
    """Drop a test's Milvus aliases and collections: every name that starts with `prefix`."""
    for alias in client.list_aliases().get("aliases", []):
        if alias.startswith(prefix):
            client.drop_alias(alias)
    for name in client.list_collections():
        if name.startswith(prefix):
            client.drop_collection(name)
