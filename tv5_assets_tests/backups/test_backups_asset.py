"""The `store_backups` asset and its check, on the real servers (PostgreSQL and Redis here: the
Milvus and Neo4j backups are exercised in test_backups.py)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import dagster as dg
import pytest

from tv5_assets.defs.backups.assets import store_backups
from tv5_assets.defs.backups.checks import backup_matches_live_stores
from tv5_assets.endpoints import POSTGRES, REDIS
from tv5_assets.resources.milvus import MilvusResource
from tv5_assets.resources.neo4j import Neo4jResource
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets.resources.redis import RedisResource
from tv5_assets.store_load import STORE_LOAD_ASSETS
from tv5_assets_tests.conftest import require_service

pytestmark = pytest.mark.services


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TV5_DATA_DIR", str(tmp_path))
    pg = PostgresResource(url=POSTGRES.url(), schema_name=f"b_{uuid.uuid4().hex[:10]}")
    cache = RedisResource(url=REDIS.url(), namespace=f"b{uuid.uuid4().hex[:10]}")
    require_service("postgres", pg.ping)
    require_service("redis", lambda: cache.client().close())
    with pg.connection() as conn:
        conn.execute(f'CREATE SCHEMA "{pg.schema_name}"')
        conn.execute(f'CREATE TABLE "{pg.schema_name}".t AS SELECT g AS x FROM generate_series(1, 300) g')
    client = cache.client()
    client.mset({cache.key("k", str(i)): str(i) for i in range(40)})
    yield {"postgres": pg, "redis": cache, "milvus": MilvusResource(), "neo4j": Neo4jResource(uri="bolt://unused:1")}
    client.delete(*client.scan_iter(match=f"{cache.namespace}:*"))
    client.close()
    with pg.connection(autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{pg.schema_name}" CASCADE')


def _run(resources: dict, stores: list[str], keep: int = 3) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*(dg.AssetSpec(key) for key in STORE_LOAD_ASSETS), store_backups, backup_matches_live_stores],
        selection=[store_backups.key],
        resources=resources,
        run_config={"ops": {"store_backups": {"config": {"stores": stores, "keep": keep}}}},
        raise_on_error=False,
    )


def test_store_backups_writes_a_manifest_that_its_check_accepts(stores: dict, tmp_path: Path) -> None:
    result = _run(stores, ["postgres", "redis"])
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.passed, check.description
    metadata = result.asset_materializations_for_node("store_backups")[0].metadata
    folder = Path(metadata["path"].value)
    assert folder.parent == tmp_path / "backups"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["stores"]["postgres"]["counts"] == {"t": 300}
    assert manifest["stores"]["redis"]["counts"]["keys"] == 40
    assert metadata["dagster/row_count"].value == 340
    assert metadata["postgres_bytes"].value > 0 and metadata["redis_bytes"].value > 0


def test_older_backups_beyond_keep_are_removed(stores: dict, tmp_path: Path) -> None:
    for _ in range(3):
        assert _run(stores, ["postgres"], keep=2).success
    assert len([p for p in (tmp_path / "backups").iterdir()]) == 2


def test_an_unknown_store_fails_the_asset(stores: dict) -> None:
    result = _run(stores, ["postgres", "mysql"])
    assert not result.success
