"""The store chapters of the data dictionary: the definitions, completed by what each live server says.

Each `<store>_part` takes a connected client (or none, for PostgreSQL's definitions alone) and
returns a `dictionary.Part`; each `<store>_required` lists the terms its sections must show, and
`required_terms` adds them to the assets' (here, not in dictionary.py, which the store parts build on).
Each store's `StoreChapter` (at the end) pairs the two; the store registry names it, and
`store_parts` / `required_terms` go through every store of the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from ... import registry
from ...stores.milvus.collections import MEDIA_COLLECTION, USER_COLLECTION, VECTOR_FIELD, CollectionSpec
from ...stores.neo4j.model import NODES, RELATIONSHIPS, NodeSpec, constraint_name
from ..redis.cache import PLATFORM_FIELDS, PLATFORM_TTL_S, TREND_FIELDS, TRENDS_TTL_S, glob_escape, scan_keys
from .dictionary import AssetEntry, Part, asset_heading, code, count, table

COLLECTIONS: tuple[CollectionSpec, ...] = (MEDIA_COLLECTION, USER_COLLECTION)
LOCK_TIMEOUT_S = 600  # cache.refresh_family's lock timeout


# ------------------------------------------------------------------------------------ Milvus
def milvus_heading(spec: CollectionSpec) -> str:
    return f"Milvus collection {code(spec.logical_name)}"


def milvus_required() -> dict[str, list[str]]:
    return {milvus_heading(s): [f.name for f in s.fields] + [VECTOR_FIELD, s.index.index_type] for s in COLLECTIONS}


def _live_type(field: dict) -> str:
    kind = field.get("type")
    name = getattr(kind, "name", str(kind))
    params = field.get("params") or {}
    shown = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
    return f"{name}({shown})" if shown else name


def milvus_part(client, resource) -> Part:
    """Each collection's fields (declared and live), its index and its entity count, through the alias."""
    from ...stores.milvus.indexes import describe_vector_index, normalise_index_description
    from ...stores.milvus.loading import alias_target, count_entities

    part = Part("Milvus", f"Server {resource.address}. Each name is an alias onto a versioned collection.")
    for spec in COLLECTIONS:
        alias = resource.collection_name(spec.logical_name)
        target = alias_target(client, alias)
        live: dict[str, dict] = {}
        index: dict = {}
        entities = None
        if target is not None:
            live = {f["name"]: f for f in client.describe_collection(target)["fields"]}
            entities = count_entities(client, alias)
            described = describe_vector_index(client, target)
            index = normalise_index_description(described, spec.index) if described else {}
        schema = spec.table_schema()
        rows = [
            [code(c.name), c.type, _live_type(live[c.name]) if c.name in live else "-", c.description or ""]
            for c in schema.columns
        ]
        part.sections[milvus_heading(spec)] = [
            f"{spec.description}. Alias {code(alias)} -> collection {code(target or 'not created yet')}; "
            f"entities: {count(entities)}.",
            f"Index on {code(VECTOR_FIELD)}: {code(spec.index.index_type)} as declared ({spec.index.describe()}); "
            f"the server reports {index or 'no index'}.",
            "",
            *table(["field", "declared type", "live type", "meaning"], rows),
        ]
    return part


# ------------------------------------------------------------------------------------- Neo4j
def label_heading(label: str) -> str:
    return f"Neo4j label {code(label)}"


def rel_heading(rel_type: str) -> str:
    return f"Neo4j relationship {code(rel_type)}"


def neo4j_required() -> dict[str, list[str]]:
    labels = {label_heading(n.label): [n.key, constraint_name(n)] for n in NODES}
    rels = {rel_heading(r.type): [r.source.label, r.target.label, *r.properties] for r in RELATIONSHIPS}
    return labels | rels


def _query(driver, database: str, cypher: str) -> list[dict]:
    # Notifications off: the schema procedures warn about a future output format on every call.
    with driver.session(database=database, notifications_min_severity="OFF") as session:
        return session.run(cypher).data()


def neo4j_live(driver, database: str) -> dict:
    """Labels, types, constraints, properties and counts as the server reports them."""
    labels = [r["label"] for r in _query(driver, database, "CALL db.labels() YIELD label RETURN label")]
    types = [
        r["t"] for r in _query(driver, database, "CALL db.relationshipTypes() YIELD relationshipType AS t RETURN t")
    ]
    node_counts = {
        label: _query(driver, database, f"MATCH (n:`{label.replace('`', '``')}`) RETURN count(n) AS c")[0]["c"]
        for label in labels
    }
    rel_counts = {
        t: _query(driver, database, f"MATCH ()-[r:`{t.replace('`', '``')}`]->() RETURN count(r) AS c")[0]["c"]
        for t in types
    }
    constraints = _query(driver, database, "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties RETURN *")
    node_props = _query(
        driver,
        database,
        "CALL db.schema.nodeTypeProperties() YIELD nodeLabels, propertyName, propertyTypes, mandatory RETURN *",
    )
    rel_props = _query(
        driver,
        database,
        "CALL db.schema.relTypeProperties() YIELD relType, propertyName, propertyTypes, mandatory RETURN *",
    )
    return {
        "node_counts": node_counts,
        "rel_counts": rel_counts,
        "constraints": constraints,
        "node_props": node_props,
        "rel_props": rel_props,
    }


def _prop_rows(props: list[dict], keys: dict[str, str]) -> list[list[str]]:
    rows = {}
    for p in props:
        name = p.get("propertyName")
        if name:
            rows[name] = [code(name), ", ".join(p.get("propertyTypes") or []), "yes" if p.get("mandatory") else "no"]
    for name in keys:
        rows.setdefault(name, [code(name), "-", "-"])
    return [[*row, keys.get(name, "")] for name, row in sorted(rows.items())]


def _label_section(label: str, node: NodeSpec | None, live: dict) -> list[str]:
    constraints = [c for c in live["constraints"] if label in (c.get("labelsOrTypes") or [])]
    keys = {node.key: "key"} if node else {}
    props = [p for p in live["node_props"] if label in (p.get("nodeLabels") or [])]
    lines = [f"Nodes: {count(live['node_counts'].get(label))}." + ("" if node else " Not in the model (model.py).")]
    lines += ["", *table(["property", "types", "mandatory", "note"], _prop_rows(props, keys)), ""]
    declared = [constraint_name(node)] if node else []
    shown = {c["name"]: c for c in constraints}
    for name in declared:
        shown.setdefault(name, {"name": name, "type": "declared, not on the server", "properties": [node.key]})
    lines += table(
        ["constraint", "type", "properties"],
        ([code(c["name"]), c.get("type"), ", ".join(c.get("properties") or [])] for c in shown.values()),
    )
    return lines


def neo4j_part(driver, resource) -> Part:
    live = neo4j_live(driver, resource.database)
    part = Part("Neo4j", f"Server {resource.address}, database {code(resource.database)}.")
    model_nodes = {n.label: n for n in NODES}
    for label in sorted(set(model_nodes) | set(live["node_counts"])):
        part.sections[label_heading(label)] = _label_section(label, model_nodes.get(label), live)
    model_rels = {r.type: r for r in RELATIONSHIPS}
    for rel_type in sorted(set(model_rels) | set(live["rel_counts"])):
        rel = model_rels.get(rel_type)
        shape = f"(:{code(rel.source.label)})-[:{rel_type}]->(:{code(rel.target.label)})" if rel else "not in the model"
        props = [p for p in live["rel_props"] if p.get("relType") == f":`{rel_type}`"]
        keys = {p: "declared" for p in (rel.properties if rel else ())}
        part.sections[rel_heading(rel_type)] = [
            f"{shape}; relationships: {count(live['rel_counts'].get(rel_type))}.",
            "",
            *table(["property", "types", "mandatory", "note"], _prop_rows(props, keys)),
        ]
    return part


# -------------------------------------------------------------------------------- PostgreSQL
def pg_heading(schema: str, table_name: str) -> str:
    return f"PostgreSQL table {code(f'{schema}.{table_name}')}"


def postgres_required(schema: str = "agentdb") -> dict[str, list[str]]:
    from ..postgres.schema import TABLES  # SQLAlchemy, imported where used (fast code-location start)

    return {pg_heading(schema, name): [c.name for c in t.columns] for name, t in TABLES.items()}


def postgres_part(connection, resource) -> Part:
    """Tables from the SQLAlchemy model (types, keys, comments, indexes) with the server's row estimates."""
    from sqlalchemy.dialects import postgresql

    from ..postgres.schema import TABLES

    dialect = postgresql.dialect()
    part = Part("PostgreSQL", f"Server {resource.address}, schema {code(resource.schema_name)} (the AgentDB).")
    for name, model in TABLES.items():
        estimate = None
        if connection is not None:
            row = connection.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                (f"{resource.schema_name}.{name}",),
            ).fetchone()
            estimate = None if row is None or row[0] < 0 else int(row[0])
        rows_text = "unknown (not created or not analysed yet)" if estimate is None else f"about {estimate:,}"
        rows = [
            [
                code(c.name),
                c.type.compile(dialect=dialect),
                "yes" if c.nullable else "no",
                "primary key" if c.primary_key else "",
                c.comment or "",
            ]
            for c in model.columns
        ]
        indexes = ", ".join(
            f"{code(i.name)} ({', '.join(c.name for c in i.columns)})"
            for i in sorted(model.indexes, key=lambda i: i.name)
        )
        part.sections[pg_heading(resource.schema_name, name)] = [
            f"{model.comment or ''} Rows: {rows_text}. Indexes: {indexes or '-'}.",
            "",
            *table(["column", "type", "nullable", "key", "meaning"], rows),
        ]
    return part


# ------------------------------------------------------------------------------------- Redis
def redis_patterns(ns: str) -> list[dict]:
    return [
        {
            "pattern": f"{ns}:platform:{{media_id}}",
            "scan": "platform:*",
            "type": "string (JSON list)",
            "ttl": PLATFORM_TTL_S,
            "fields": PLATFORM_FIELDS,
            "meaning": "the platforms a movie streams on",
        },
        {
            "pattern": f"{ns}:trend:{{media_id}}",
            "scan": "trend:*",
            "type": "hash",
            "ttl": TRENDS_TTL_S,
            "fields": TREND_FIELDS,
            "meaning": "the latest day's trend figures of a movie",
        },
        {
            "pattern": f"{ns}:trending",
            "scan": "trending",
            "type": "sorted set",
            "ttl": TRENDS_TTL_S,
            "fields": ["media_id", "popularity_score"],
            "meaning": "top movies; member media_id, score popularity_score",
        },
        {
            "pattern": f"{ns}:lock:{{family}}",
            "scan": "lock:*",
            "type": "string (lock token)",
            "ttl": LOCK_TIMEOUT_S,
            "fields": [],
            "meaning": "held while a refresh of `platform` or `trend` runs",
        },
        {
            "pattern": f"{ns}:staging:{{tag}}:{{suffix}}",
            "scan": "staging:*",
            "type": "as the live key",
            "ttl": None,
            "fields": [],
            "meaning": "a refresh's new keys before the atomic switch; the live key's TTL",
        },
    ]


def redis_heading(pattern: str) -> str:
    return f"Redis key {code(pattern)}"


def redis_required(ns: str = "tv5") -> dict[str, list[str]]:
    return {redis_heading(p["pattern"]): list(p["fields"]) for p in redis_patterns(ns)}


def redis_part(client, resource) -> Part:
    """Each key pattern with its type, TTL and fields, plus the live key count and whether a live key
    has its TTL (not the seconds left, which change by the second: the dictionary of an unchanged
    store stays byte-identical)."""
    ns = resource.namespace
    part = Part("Redis", f"Server {resource.address}, namespace {code(ns)}.")
    for p in redis_patterns(ns):
        keys = scan_keys(client, f"{glob_escape(ns)}:{p['scan']}") if client is not None else None
        ttl_left = client.ttl(min(keys)) if keys else None
        ttl = "the live key's" if p["ttl"] is None else f"{p['ttl']:,} s"
        lines = [
            f"{p['type']}; TTL {ttl}; {p['meaning']}. Live keys: {count(None if keys is None else len(keys))}"
            + ("" if ttl_left is None else " (with its TTL set)" if ttl_left > 0 else " (one has no TTL!)")
            + ".",
        ]
        if p["fields"]:
            lines += ["", *table(["field"], ([code(f)] for f in p["fields"]))]
        part.sections[redis_heading(p["pattern"])] = lines
    return part


# ------------------------------------------------------------------------------ every store
@dataclass(frozen=True)
class StoreChapter:
    """One store's chapter (in CHAPTERS by its registry key): `part(resource)` reads the live server;
    `required(resource or None)` lists the sections and terms the chapter must show (None: the defaults)."""

    part: Callable[[Any], Part]
    required: Callable[[Any], dict[str, list[str]]]


def _milvus_chapter(resource) -> Part:
    with resource.get_client() as client:
        return milvus_part(client, resource)


def _neo4j_chapter(resource) -> Part:
    with resource.driver() as driver, resource.translate_errors("reading the graph's schema"):
        return neo4j_part(driver, resource)


def _postgres_chapter(resource) -> Part:
    with resource.connection(autocommit=True) as connection:
        return postgres_part(connection, resource)


def _redis_chapter(resource) -> Part:
    with closing(resource.client()) as client:
        return redis_part(client, resource)


MILVUS_CHAPTER = StoreChapter(_milvus_chapter, lambda resource: milvus_required())
NEO4J_CHAPTER = StoreChapter(_neo4j_chapter, lambda resource: neo4j_required())
POSTGRES_CHAPTER = StoreChapter(
    _postgres_chapter, lambda resource: postgres_required(*([resource.schema_name] if resource else []))
)
REDIS_CHAPTER = StoreChapter(
    _redis_chapter, lambda resource: redis_required(*([resource.namespace] if resource else []))
)
# By registry key: the registry names nothing of defs/ (tv5_assets_tests/test_store_registry.py asks
# that every registered store has a chapter here).
CHAPTERS: dict[str, StoreChapter] = {
    registry.MILVUS.key: MILVUS_CHAPTER,
    registry.NEO4J.key: NEO4J_CHAPTER,
    registry.POSTGRES.key: POSTGRES_CHAPTER,
    registry.REDIS.key: REDIS_CHAPTER,
}


def store_parts(resources: dict[str, Any]) -> list[Part]:
    """Every store's chapter, each read from its live server, in the registry's order by name."""
    return [CHAPTERS[store.key].part(resources[store.key]) for store in registry.by_name()]


def required_terms(entries: Iterable[AssetEntry], resources: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """What the file must show: every asset with its columns, and every store object the definitions
    declare (with the namespace and schema of `resources`, by store key, when given; else the defaults)."""
    required = {asset_heading(e.key): [c.name for c in e.columns or ()] for e in entries}
    for store in registry.by_name():
        required.update(CHAPTERS[store.key].required((resources or {}).get(store.key)))
    return required
