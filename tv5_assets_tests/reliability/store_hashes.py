"""A content hash per store: what a load left behind, independent of how it got there.

Each function returns a `StoreDigest`: counts per object (table, key family, collection, label or
relationship type), one sha256 over the canonical contents, and the staging objects found (what a
failed load may leave behind; a finished load must leave none). Two stores holding the same data
give the same digest whatever the physical layout (Milvus segments, Redis encodings, Neo4j element
ids, PostgreSQL row order on disk).

Canonical forms:
- PostgreSQL: every table of the schema (staging tables apart) as `COPY (SELECT * ... ORDER BY
  <primary key>) TO STDOUT`, text format, plus its column list.
- Redis: every key of the namespace, sorted, with its type, its value in a canonical form (string
  as is, hash fields sorted, sorted set in rank order with scores, set sorted, list in order) and
  whether it has a TTL (the remaining seconds vary by when one looks, the presence does not).
- Milvus: each alias of the prefix, the collection it points at read whole (every field, vectors
  as float32 bytes) ordered by primary key; versioned collections no alias points at are staging.
- Neo4j: nodes by label ordered by their key with every property; relationships by type as
  (source key, target key, properties) sorted; properties as canonical JSON (sorted keys).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np


@dataclass
class StoreDigest:
    store: str
    counts: dict[str, int] = field(default_factory=dict)
    sha256: str = ""
    staging: list[str] = field(default_factory=list)

    def same_contents(self, other: StoreDigest) -> bool:
        return self.counts == other.counts and self.sha256 == other.sha256

    def describe(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in sorted(self.counts.items()))
        return f"{self.store}: {counts}; sha256 {self.sha256[:16]}; staging {self.staging or 'none'}"


def _canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode()


# ----------------------------------------------------------------------------------- PostgreSQL
def postgres_digest(connect, schema: str) -> StoreDigest:
    """`connect()` gives a psycopg connection (the resource's `connect`)."""
    from tv5_assets.defs.postgres.schema import STAGING_INFIX

    digest = StoreDigest("PostgreSQL")
    sha = hashlib.sha256()
    with connect(autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname",
                (schema,),
            )
        ]
        for table in tables:
            if STAGING_INFIX in table:
                digest.staging.append(f"{schema}.{table}")
                continue
            columns, key = _pg_columns(conn, schema, table)
            order = ", ".join(f'"{c}"' for c in (key or columns))
            digest.counts[table] = 0
            sha.update(_canonical([table, columns]))
            query = f'COPY (SELECT * FROM "{schema}"."{table}" ORDER BY {order}) TO STDOUT'
            with conn.cursor().copy(query) as copy:
                for block in copy:
                    sha.update(block)
                    digest.counts[table] += bytes(block).count(b"\n")
    digest.sha256 = sha.hexdigest()
    return digest


def _pg_columns(conn, schema: str, table: str) -> tuple[list[str], list[str]]:
    regclass = f'"{schema}"."{table}"'
    columns = [
        r[0]
        for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum",
            (regclass,),
        )
    ]
    key = [
        r[0]
        for r in conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary "
            "ORDER BY array_position(i.indkey, a.attnum)",
            (regclass,),
        )
    ]
    return columns, key


# ---------------------------------------------------------------------------------------- Redis
def redis_digest(client, namespace: str) -> StoreDigest:
    """`client`: a redis-py client (bytes responses)."""
    from tv5_assets.defs.redis.cache import glob_escape

    digest = StoreDigest("Redis")
    sha = hashlib.sha256()
    keys = sorted(k.decode() for k in client.scan_iter(match=f"{glob_escape(namespace)}:*", count=10_000))
    for key in keys:
        family = key[len(namespace) + 1 :].split(":", 1)[0]
        if family in ("staging", "lock"):
            digest.staging.append(key)
            continue
        kind = client.type(key).decode()
        value = _redis_value(client, key, kind)
        if value is None:  # expired between SCAN and read
            continue
        has_ttl = client.pttl(key) > 0
        digest.counts[family] = digest.counts.get(family, 0) + 1
        sha.update(_canonical([key, kind, value, has_ttl]))
    digest.sha256 = sha.hexdigest()
    return digest


def _redis_value(client, key: str, kind: str):
    def text(v):
        return v.decode() if isinstance(v, bytes) else v

    if kind == "string":
        raw = client.get(key)
        return None if raw is None else text(raw)
    if kind == "hash":
        return sorted((text(k), text(v)) for k, v in client.hgetall(key).items()) or None
    if kind == "zset":
        return [(text(m), repr(float(s))) for m, s in client.zrange(key, 0, -1, withscores=True)] or None
    if kind == "set":
        return sorted(text(m) for m in client.smembers(key)) or None
    if kind == "list":
        return [text(v) for v in client.lrange(key, 0, -1)] or None
    return None


# --------------------------------------------------------------------------------------- Milvus
def milvus_digest(
    client, prefix: str, aliases: tuple[str, ...] = ("media_embeddings", "user_embeddings")
) -> StoreDigest:
    """`client`: a MilvusClient; reads `prefix + alias` for each alias at Strong consistency."""
    from tv5_assets.stores.milvus.collections import VERSION_SEPARATOR
    from tv5_assets.stores.milvus.loading import alias_target

    digest = StoreDigest("Milvus")
    sha = hashlib.sha256()
    served = set()
    for logical in aliases:
        alias = prefix + logical
        target = alias_target(client, alias)
        if target is None:
            continue
        served.add(target)
        rows = milvus_rows(client, alias)
        digest.counts[logical] = len(rows)
        sha.update(_canonical([logical, len(rows)]))
        for row in rows:
            sha.update(_canonical({k: v for k, v in row.items() if not isinstance(v, np.ndarray)}))
            for name in sorted(k for k, v in row.items() if isinstance(v, np.ndarray)):
                sha.update(row[name].tobytes())
    digest.staging = sorted(
        name
        for name in client.list_collections()
        if name.startswith(prefix) and VERSION_SEPARATOR in name and name not in served
    )
    digest.sha256 = sha.hexdigest()
    return digest


def milvus_rows(client, collection: str) -> list[dict]:
    """Every entity of `collection` (every field; vectors as float32 arrays), ordered by primary key."""
    schema = client.describe_collection(collection)
    key = next(f["name"] for f in schema["fields"] if f.get("is_primary"))
    vectors = {f["name"] for f in schema["fields"] if "VECTOR" in str(f.get("type")).upper()}
    iterator = client.query_iterator(collection, batch_size=1000, output_fields=["*"], consistency_level="Strong")
    rows = []
    try:
        while batch := iterator.next():
            rows.extend(batch)
    finally:
        iterator.close()
    out = []
    for row in sorted(rows, key=lambda r: r[key]):
        out.append({k: (np.asarray(v, dtype=np.float32) if k in vectors else v) for k, v in dict(row).items()})
    return out


# ---------------------------------------------------------------------------------------- Neo4j
def neo4j_digest(driver, database: str) -> StoreDigest:
    """`driver`: a neo4j driver; every label and relationship type of the database."""
    from tv5_assets.stores.neo4j import model

    keys = {spec.label: spec.key for spec in model.NODES}
    digest = StoreDigest("Neo4j")
    sha = hashlib.sha256()
    with driver.session(database=database) as s:
        labels = sorted(r[0] for r in s.run("CALL db.labels() YIELD label RETURN label"))
        for label in labels:
            rows = s.run(f"MATCH (n:`{label}`) RETURN properties(n) AS p").value("p")
            key = keys.get(label)
            canon = sorted(_canonical(p) for p in rows) if key is None else None
            if canon is None:
                canon = [_canonical(p) for p in sorted(rows, key=lambda p: str(p.get(key)))]
            digest.counts[f"node:{label}"] = len(canon)
            sha.update(_canonical(["node", label, len(canon)]))
            for line in canon:
                sha.update(line)
        types = sorted(
            r[0] for r in s.run("CALL db.relationshipTypes() YIELD relationshipType RETURN relationshipType")
        )
        for rel_type in types:
            records = s.run(
                f"MATCH (a)-[r:`{rel_type}`]->(b) RETURN labels(a) AS la, properties(a) AS pa, "
                "labels(b) AS lb, properties(b) AS pb, properties(r) AS pr"
            )
            canon = sorted(
                _canonical([_node_id(r["la"], r["pa"], keys), _node_id(r["lb"], r["pb"], keys), r["pr"]])
                for r in records
            )
            if not canon:
                continue
            digest.counts[f"rel:{rel_type}"] = len(canon)
            sha.update(_canonical(["rel", rel_type, len(canon)]))
            for line in canon:
                sha.update(line)
    digest.sha256 = sha.hexdigest()
    return digest


def _node_id(labels: list[str], props: dict, keys: dict[str, str]) -> list:
    label = sorted(labels)[0] if labels else ""
    key = keys.get(label)
    return [label, props.get(key)] if key else [label, props]


# ---------------------------------------------------------------------------------------- files
# What the assets write under TV5_DATA_DIR (services/ is the stores' own data, backups/ is named by time).
ASSET_FOLDERS = ("assets", "embeddings", "processed", "synthetic", "docs", "neo4j-import")


def file_digests(data_dir, folders: tuple[str, ...] = ASSET_FOLDERS) -> dict[str, str]:
    """relative path -> sha256 of every file the assets wrote (Parquet, .npy, JSONL, CSV, markdown)."""
    from pathlib import Path

    root = Path(data_dir)
    out = {}
    for folder in folders:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file():
                sha = hashlib.sha256()
                with open(path, "rb") as handle:
                    for block in iter(lambda h=handle: h.read(1 << 20), b""):
                        sha.update(block)
                out[str(path.relative_to(root))] = sha.hexdigest()
    return out
