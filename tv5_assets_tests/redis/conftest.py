"""Fixtures for the `redis` group: upstream tables stored where the IO manager reads them, and a
Redis resource with a key namespace private to the session (its keys are deleted afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from redis_frames import build_platform_availability, build_trends

from tv5_assets.defs.redis.cache import glob_escape
from tv5_assets.endpoints import REDIS
from tv5_assets.io_managers import Tv5IOManager
from tv5_assets.resources.redis import RedisResource
from tv5_assets_tests.conftest import require_service


@dataclass
class CacheInputs:
    assets_dir: Path
    platform_availability: pl.DataFrame
    trends: pl.DataFrame

    def io_manager(self) -> Tv5IOManager:
        return Tv5IOManager(base_dir=str(self.assets_dir))

    def store(self, **frames: pl.DataFrame) -> None:
        for name, frame in frames.items():
            frame.write_parquet(self.assets_dir / f"{name}.parquet")


@pytest.fixture
def cache_inputs(tmp_path: Path) -> CacheInputs:
    inputs = CacheInputs(tmp_path, build_platform_availability(), build_trends())
    inputs.store(platform_availability=inputs.platform_availability, trends=inputs.trends)
    return inputs


def _delete_namespace(resource: RedisResource) -> None:
    client = resource.client()
    try:
        keys = list(client.scan_iter(match=f"{glob_escape(resource.namespace)}:*", count=1000))
        if keys:
            client.unlink(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_resource() -> Iterator[RedisResource]:
    """The configured server (TV5_REDIS_URL or the local stack) with a namespace private to the test."""
    resource = RedisResource(
        url=REDIS.url(),
        namespace=f"t{uuid.uuid4().hex[:10]}",
    )
    require_service("redis", lambda: resource.client().close())
    yield resource
    _delete_namespace(resource)


@pytest.fixture
def redis_client(redis_resource: RedisResource):
    client = redis_resource.client()
    yield client
    client.close()
