"""Backups restore: each store is loaded with a little data, backed up, emptied, restored, and its
counts and a sample of rows (TTLs for Redis) compared with the original. Real servers only."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import polars as pl
import pytest

from tv5_assets import backups
from tv5_assets.backups.common import BackupError
from tv5_assets.endpoints import MILVUS, NEO4J, POSTGRES, REDIS
from tv5_assets.resources.milvus import MilvusResource
from tv5_assets.resources.neo4j import Neo4jResource
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets.resources.redis import RedisResource
from tv5_assets_tests.conftest import require_service

pytestmark = pytest.mark.services


def _only(store: str, resource) -> dict:
    return {store: resource}


# ---------------------------------------------------------------------------------------- postgres
@pytest.fixture
def pg() -> PostgresResource:
    resource = PostgresResource(url=POSTGRES.url(), schema_name=f"b_{uuid.uuid4().hex[:10]}")
    require_service("postgres", resource.ping)
    yield resource
    with resource.connection(autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{resource.schema_name}" CASCADE')


def _pg_rows(resource: PostgresResource) -> list[tuple]:
    with resource.connection(autocommit=True) as conn:
        return conn.execute(f'SELECT * FROM "{resource.schema_name}".episodes ORDER BY id').fetchall()


def test_postgres_backup_restores_into_an_emptied_schema(pg: PostgresResource, tmp_path: Path) -> None:
    schema = pg.schema_name
    with pg.connection() as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(
            f'CREATE TABLE "{schema}".episodes (id bigint PRIMARY KEY, user_id text NOT NULL, '
            "reward real, payload jsonb, at timestamptz) PARTITION BY HASH (id)"
        )  # partitioned like the AgentDB's episodes (pg_restore --clean cannot drop such a schema)
        conn.execute(
            f'CREATE TABLE "{schema}".episodes_p0 PARTITION OF "{schema}".episodes '
            "FOR VALUES WITH (MODULUS 1, REMAINDER 0)"
        )
        conn.execute(f'CREATE INDEX ON "{schema}".episodes (user_id)')
        conn.execute(
            f"INSERT INTO \"{schema}\".episodes SELECT g, 'user_' || (g % 97), g / 7.0, "
            "jsonb_build_object('g', g), timestamptz '2024-01-01' + g * interval '1 minute' "
            "FROM generate_series(1, 5000) g"
        )
        conn.execute(f'CREATE TABLE "{schema}".policies (user_id text PRIMARY KEY, weights real[])')
        conn.execute(f"INSERT INTO \"{schema}\".policies VALUES ('user_1', '{{0.5,0.25}}')")
    before = _pg_rows(pg)
    manifest = backups.backup(_only("postgres", pg), tmp_path / "b", only=["postgres"])
    entry = manifest["stores"]["postgres"]
    assert entry["counts"] == {"episodes": 5000, "policies": 1} == entry["live_counts"]
    indexes = _indexes(pg)

    with pg.connection() as conn:  # the live schema drifts: rows deleted, a table added
        conn.execute(f'DELETE FROM "{schema}".episodes WHERE id > 100')
        conn.execute(f'CREATE TABLE "{schema}".extra (x int)')
    restored = backups.restore(_only("postgres", pg), tmp_path / "b", only=["postgres"])
    assert restored["postgres"] == {"episodes": 5000, "policies": 1}  # the extra table is gone too
    assert _pg_rows(pg) == before
    assert _indexes(pg) == indexes and len(indexes) == 5

    with pg.connection(autocommit=True) as conn:  # and into an empty database: no schema at all
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    assert backups.restore(_only("postgres", pg), tmp_path / "b")["postgres"] == restored["postgres"]
    assert _pg_rows(pg) == before


def _indexes(resource: PostgresResource) -> list[str]:
    with resource.connection(autocommit=True) as conn:
        rows = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s ORDER BY 1", (resource.schema_name,)
        ).fetchall()
    return [row[0] for row in rows]


def test_a_damaged_backup_is_refused_before_any_store_changes(pg: PostgresResource, tmp_path: Path) -> None:
    with pg.connection() as conn:
        conn.execute(f'CREATE SCHEMA "{pg.schema_name}"')
        conn.execute(f'CREATE TABLE "{pg.schema_name}".t AS SELECT 1 AS x')
    backups.backup(_only("postgres", pg), tmp_path / "b", only=["postgres"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind
    dump = tmp_path / "b" / "postgres" / "agentdb.dump"
    dump.write_bytes(dump.read_bytes()[:-10])
    with pytest.raises(BackupError, match="damaged"):
        backups.restore(_only("postgres", pg), tmp_path / "b")


# ------------------------------------------------------------------------------------------- redis
@pytest.fixture
def cache() -> RedisResource:
    resource = RedisResource(url=REDIS.url(), namespace=f"b{uuid.uuid4().hex[:10]}")
    require_service("redis", lambda: resource.client().close())
    yield resource
    client = resource.client()
    keys = list(client.scan_iter(match=f"{resource.namespace}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_redis_backup_restores_values_and_ttls(cache: RedisResource, tmp_path: Path) -> None:
    client = cache.client()
    pipe = client.pipeline()
    for i in range(2500):
        pipe.set(cache.key("s", str(i)), f"value-{i}".encode())
    pipe.hset(cache.key("h"), mapping={"a": "1", "b": b"\x00\xff"})
    pipe.rpush(cache.key("l"), *[str(i) for i in range(100)])
    pipe.set(cache.key("ttl"), b"soon", px=600_000)
    pipe.execute()
    other = f"{cache.namespace}x:outside"  # another namespace is not part of the backup
    client.set(other, b"1")
    manifest = backups.backup(_only("redis", cache), tmp_path / "b", only=["redis"])
    entry = manifest["stores"]["redis"]
    assert entry["counts"] == {"keys": 2503} == entry["live_counts"] and entry["extra"]["keys_with_ttl"] == 1
    assert {Path(f["path"]).name for f in entry["files"]} == {"keys.parquet", "dump.rdb"}

    client.delete(*client.scan_iter(match=f"{cache.namespace}:*"), other)
    client.set(cache.key("written", "after"), b"x")  # not in the backup: the restore removes it
    restored = backups.restore(_only("redis", cache), tmp_path / "b")
    assert restored == {"redis": {"keys": 2503}}
    assert client.get(cache.key("s", "1234")) == b"value-1234"
    assert client.hgetall(cache.key("h")) == {b"a": b"1", b"b": b"\x00\xff"}
    assert client.lrange(cache.key("l"), 0, -1) == [str(i).encode() for i in range(100)]
    assert 500_000 < client.pttl(cache.key("ttl")) <= 600_000
    assert client.pttl(cache.key("s", "1")) == -1
    assert client.exists(other) == 0 and client.exists(cache.key("written", "after")) == 0
    client.close()


# ------------------------------------------------------------------------------------------ milvus
@pytest.fixture
def vectors() -> MilvusResource:
    resource = MilvusResource(
        uri=MILVUS.url(), token=MILVUS.value("TV5_MILVUS_TOKEN"), collection_prefix=f"b{uuid.uuid4().hex[:8]}_"
    )

    def drop(client) -> None:
        for alias in client.list_aliases().get("aliases", []):
            if alias.startswith(resource.collection_prefix):
                client.drop_alias(alias)
        for name in client.list_collections():
            if name.startswith(resource.collection_prefix):
                client.drop_collection(name)

    def connect() -> None:
        with resource.get_client() as client:
            client.list_collections()

    require_service("milvus", connect)
    yield resource
    with resource.get_client() as client:
        drop(client)


def _milvus_rows() -> dict[str, pl.DataFrame]:
    from tv5_assets.stores.milvus.collections import media_rows, user_rows
    from tv5_assets_tests.milvus.milvus_frames import (
        build_media_embeddings,
        build_movies,
        build_user_embeddings,
        build_user_profiles,
    )

    movies, profiles = build_movies(), build_user_profiles()
    return {
        "media_embeddings": media_rows(build_media_embeddings(movies).lazy(), movies.lazy()),
        "user_embeddings": user_rows(build_user_embeddings(profiles).lazy(), profiles.lazy()),
    }


def test_milvus_backup_restores_every_field(vectors: MilvusResource, tmp_path: Path) -> None:
    from tv5_assets.backups.milvus import SPECS
    from tv5_assets.stores.milvus.loading import alias_target, load_blue_green

    rows = _milvus_rows()
    with vectors.get_client() as client:
        for spec in SPECS:
            load_blue_green(client, spec, rows[spec.logical_name], vectors.collection_name(spec.logical_name))
    manifest = backups.backup(_only("milvus", vectors), tmp_path / "b", only=["milvus"])
    entry = manifest["stores"]["milvus"]
    expected = {name: frame.height for name, frame in rows.items()}
    assert entry["counts"] == expected == entry["live_counts"]
    for spec in SPECS:  # the file holds exactly the loaded rows, vectors included
        saved = pl.read_parquet(tmp_path / "b" / "milvus" / f"{spec.logical_name}.parquet")
        original = rows[spec.logical_name].sort(spec.primary_key.name)
        assert saved.equals(original)

    with vectors.get_client() as client:  # empty the store: drop the aliases and their collections
        for spec in SPECS:
            alias = vectors.collection_name(spec.logical_name)
            target = alias_target(client, alias)
            client.drop_alias(alias)
            client.drop_collection(target)
    restored = backups.restore(_only("milvus", vectors), tmp_path / "b", log=lambda _: None)
    assert restored == {"milvus": expected}
    with vectors.get_client() as client:
        spec = SPECS[0]
        key = spec.primary_key.name
        sample = rows[spec.logical_name].sort(key).head(5)
        got = client.query(
            vectors.collection_name(spec.logical_name),
            filter=f"{key} in {sample[key].to_list()}",
            output_fields=["*"],
            consistency_level="Strong",
        )
        got_frame = pl.DataFrame([{k: v for k, v in r.items() if k != "embedding"} for r in got]).sort(key)
        assert got_frame.select(sample.drop("embedding").columns).to_dicts() == sample.drop("embedding").to_dicts()


# ------------------------------------------------------------------------------------------- neo4j
@pytest.fixture
def graph() -> Neo4jResource:
    resource = Neo4jResource(
        uri=NEO4J.url(),
        user=NEO4J.value("TV5_NEO4J_USER") or "neo4j",
        password=NEO4J.value("TV5_NEO4J_PASSWORD") or "",
        database=NEO4J.value("TV5_NEO4J_DATABASE") or "neo4j",
    )
    require_service("neo4j", resource.server_info)
    if NEO4J.external():
        pytest.skip("the Neo4j dump needs tv5's local server (it stops it); TV5_NEO4J_URI is set")
    return resource


def _movies(resource: Neo4jResource) -> list[dict]:
    with resource.driver() as driver:
        records, _, _ = driver.execute_query(
            "MATCH (m:Movie) OPTIONAL MATCH (u:User)-[r:RATED]->(m) "
            "RETURN m.media_id AS id, m.title AS title, count(r) AS ratings ORDER BY id",
            database_=resource.database,
        )
    return [record.data() for record in records]


def test_neo4j_dump_restores_the_graph(graph: Neo4jResource, tmp_path: Path) -> None:
    with graph.driver() as driver:
        with driver.session(database=graph.database) as session:  # IN TRANSACTIONS needs an implicit one
            session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS").consume()
        driver.execute_query(
            "UNWIND range(1, 200) AS i CREATE (:Movie {media_id: 'ml_' + i, title: 'Movie ' + i}) "
            "WITH i WHERE i <= 50 CREATE (:User {user_id: 'user_' + i})",
            database_=graph.database,
        )
        driver.execute_query(
            "MATCH (u:User), (m:Movie) WHERE toInteger(substring(m.media_id, 3)) % 10 = "
            "toInteger(substring(u.user_id, 5)) % 10 CREATE (u)-[:RATED {score: 4.0}]->(m)",
            database_=graph.database,
        )
    before = _movies(graph)
    manifest = backups.backup(_only("neo4j", graph), tmp_path / "b", only=["neo4j"])
    entry = manifest["stores"]["neo4j"]
    assert entry["counts"]["Movie"] == 200 and entry["counts"]["User"] == 50 and entry["counts"]["RATED"] == 1000
    assert entry["counts"] == entry["live_counts"]

    with graph.driver() as driver:
        driver.execute_query("MATCH (n) DETACH DELETE n", database_=graph.database)
    restored = backups.restore(_only("neo4j", graph), tmp_path / "b")
    assert restored["neo4j"] == entry["counts"]
    assert _movies(graph) == before
    assert json.loads((tmp_path / "b" / "manifest.json").read_text())["stores"]["neo4j"]["files"]
