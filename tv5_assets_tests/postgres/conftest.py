"""Fixtures for the `postgres` group: upstream tables stored where the IO manager reads them, and a
PostgreSQL resource writing into a schema private to the session (dropped afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from agentdb_frames import build_movies, build_ratings, build_user_profiles

from tv5_assets.endpoints import POSTGRES
from tv5_assets.io_managers import Tv5IOManager
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets_tests.conftest import require_service


@dataclass
class AgentdbInputs:
    assets_dir: Path
    movies: pl.DataFrame
    ratings: pl.DataFrame
    user_profiles: pl.DataFrame

    def io_manager(self) -> Tv5IOManager:
        return Tv5IOManager(base_dir=str(self.assets_dir))


@pytest.fixture(scope="session")
def agentdb_inputs(tmp_path_factory: pytest.TempPathFactory) -> AgentdbInputs:
    assets_dir = tmp_path_factory.mktemp("agentdb-assets")
    ratings = build_ratings()
    inputs = AgentdbInputs(assets_dir, build_movies(), ratings, build_user_profiles(ratings))
    for name in ("movies", "ratings", "user_profiles"):
        getattr(inputs, name).write_parquet(assets_dir / f"{name}.parquet")
    return inputs


@pytest.fixture(scope="session")
def postgres_resource() -> Iterator[PostgresResource]:
    """The configured server (TV5_POSTGRES_URL or the local stack), in a schema private to this session."""
    resource = PostgresResource(
        url=POSTGRES.url(),
        schema_name=f"t_{uuid.uuid4().hex[:10]}",
    )
    require_service("postgres", resource.ping)
    yield resource
    with resource.connection(autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{resource.schema_name}" CASCADE')
