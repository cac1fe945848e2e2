"""Batched, idempotent writes of the graph over Bolt (no Dagster here; the assets call these).

How a load stays idempotent and never leaves a node half-written:
- Nodes: `UNWIND` + `MERGE` on the key (backed by a uniqueness constraint) + `SET` of every
  property, so a second load changes nothing; nodes whose key left the upstream table are removed
  afterwards (`DETACH DELETE`).
- Relationships: rows are sorted by their source key and cut into batches on source boundaries
  (`model.batch_bounds`); one transaction per batch deletes the batch's sources' relationships of
  that type and creates them again. A reader sees a source's old edges or its new ones, never a
  mix, a rerun after a failure converges to the same graph, and no parallel edges can appear
  (unlike `CREATE` alone; `MERGE` on relationships costs a scan of the node's edges per row).
  Sources absent from the upstream table lose their edges of that type at the end.
- Parameters are columnar lists of primitives (one list per column, indexed with
  `UNWIND range(...)`), far cheaper to pack than a list of maps. Endpoints are matched by the
  element ids resolved once per load (a node-by-id seek costs less than an index seek per row).
  A load is the only writer of its label (Dagster pool `neo4j` admits one step at a time), so the
  ids cannot be recycled under it.

The graph's parts (movies, tags, users, ratings, ...) as the assets load them: graph_parts.py.
Throughput on the 2-core development machine: see benchmarks/bench_neo4j.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from . import model
from .model import NodeSpec, RelSpec

if TYPE_CHECKING:
    import neo4j

# (batch index, rows written so far, rows in total); raising from it aborts the load (tests use
# this to fail half-way); the assets log progress through it.
BatchHook = Callable[[int, int, int], None]
# Cypher notifications are per statement; deprecations of `id` etc. are not the user's concern.
_QUIET = {"notifications_min_severity": "OFF"}


@dataclass
class LoadStats:
    name: str
    rows: int = 0  # rows in the frame
    written: int = 0  # nodes merged or relationships created
    skipped: int = 0  # relationship rows whose endpoint node is not in the graph
    removed: int = 0  # stale nodes or relationships deleted after the load
    batches: int = 0
    seconds: float = 0.0
    skipped_examples: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0

    def metadata(self, prefix: str) -> dict[str, float | int]:
        return {
            f"{prefix}_rows": self.rows,
            f"{prefix}_written": self.written,
            f"{prefix}_skipped": self.skipped,
            f"{prefix}_removed": self.removed,
            f"{prefix}_batches": self.batches,
            f"{prefix}_seconds": round(self.seconds, 3),
            f"{prefix}_per_second": round(self.per_second, 1),
        }


def session(driver: neo4j.Driver, database: str) -> neo4j.Session:
    return driver.session(database=database, **_QUIET)


def _columns(frame: pl.DataFrame) -> dict[str, list]:
    return {name: frame[name].to_list() for name in frame.columns}


# -------------------------------------------------------------------------------- constraints
def create_constraints(driver: neo4j.Driver, database: str, nodes: Sequence[NodeSpec] = model.NODES) -> list[str]:
    """Uniqueness constraint (and so an index) on every node key; idempotent."""
    with session(driver, database) as s:
        for node in nodes:
            s.run(
                f"CREATE CONSTRAINT {model.constraint_name(node)} IF NOT EXISTS "
                f"FOR (n:{node.label}) REQUIRE n.{node.key} IS UNIQUE"
            ).consume()
        # The constraints' indexes must be online before the first MERGE relies on them.
        s.run("CALL db.awaitIndexes(300)").consume()
    return [model.constraint_name(node) for node in nodes]


def existing_uniqueness(driver: neo4j.Driver, database: str) -> set[tuple[str, str]]:
    """(label, property) of every single-property uniqueness constraint on nodes."""
    with session(driver, database) as s:
        records = s.run(
            "SHOW CONSTRAINTS YIELD type, entityType, labelsOrTypes, properties "
            "WHERE type IN ['UNIQUENESS', 'NODE_KEY'] AND entityType = 'NODE' AND size(properties) = 1 "
            "RETURN labelsOrTypes[0] AS label, properties[0] AS key"
        ).data()
    return {(r["label"], r["key"]) for r in records}


# -------------------------------------------------------------------------------------- nodes
def _run_batches(
    driver: neo4j.Driver,
    database: str,
    bounds: list[tuple[int, int]],
    frame: pl.DataFrame,
    work: Callable[[neo4j.ManagedTransaction, dict[str, list]], int],
    stats: LoadStats,
    on_batch: BatchHook | None,
    writers: int,
) -> None:
    """Run `work` once per batch, each in its own write transaction (retried on transient errors)."""

    def one(bound: tuple[int, int]) -> int:
        offset, length = bound
        params = _columns(frame.slice(offset, length))
        with session(driver, database) as s:
            return s.execute_write(work, params)

    done = 0
    if writers <= 1:
        for index, bound in enumerate(bounds):
            stats.written += one(bound)
            done += bound[1]
            stats.batches += 1
            if on_batch:
                on_batch(index, done, frame.height)
        return
    # Parallel writers on disjoint sources: transactions that deadlock on a shared target node
    # are transient errors, retried by execute_write (each batch is idempotent on its own).
    with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="neo4j-writer") as pool:
        for index, (bound, written) in enumerate(zip(bounds, pool.map(one, bounds), strict=True)):
            stats.written += written
            done += bound[1]
            stats.batches += 1
            if on_batch:
                on_batch(index, done, frame.height)


def upsert_nodes(
    driver: neo4j.Driver,
    database: str,
    node: NodeSpec,
    frame: pl.DataFrame,
    batch_size: int = 20_000,
    on_batch: BatchHook | None = None,
    prune: bool = True,
) -> LoadStats:
    """MERGE one node per row on its key and SET every other column; remove nodes no longer listed."""
    started = time.perf_counter()
    stats = LoadStats(node.label, rows=frame.height)
    if frame[node.key].null_count():
        raise ValueError(f"{node.label}.{node.key} has {frame[node.key].null_count()} null key(s)")
    assignments = ", ".join(f"n.{c} = ${c}[i]" for c in frame.columns if c != node.key)
    cypher = (
        f"UNWIND range(0, size(${node.key}) - 1) AS i "
        f"MERGE (n:{node.label} {{{node.key}: ${node.key}[i]}}) "
        + (f"SET {assignments} " if assignments else "")
        + "RETURN count(*) AS written"
    )

    def work(tx: neo4j.ManagedTransaction, params: dict[str, list]) -> int:
        return tx.run(cypher, params).single(strict=True)["written"]

    bounds = [(o, min(batch_size, frame.height - o)) for o in range(0, frame.height, batch_size)]
    _run_batches(driver, database, bounds, frame, work, stats, on_batch, writers=1)
    if prune:
        stats.removed = prune_nodes(driver, database, node, frame[node.key].to_list())
    stats.seconds = time.perf_counter() - started
    return stats


def prune_nodes(driver: neo4j.Driver, database: str, node: NodeSpec, keep: list) -> int:
    """DETACH DELETE the nodes of `node.label` whose key is not in `keep` (in small transactions)."""
    with session(driver, database) as s:
        summary = s.run(
            f"MATCH (n:{node.label}) WHERE NOT n.{node.key} IN $keep "
            "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 1000 ROWS",
            keep=keep,
        ).consume()
    return summary.counters.nodes_deleted


# ------------------------------------------------------------------------------ relationships
def node_ids(driver: neo4j.Driver, database: str, node: NodeSpec, key_dtype: pl.DataType) -> pl.DataFrame:
    """key -> internal node id of every node of the label (one read; 200k nodes take about a second).

    `id()` is deprecated in Cypher 5 in favour of `elementId()`, but element ids are ~45-byte
    strings: for 25M ratings they would cost gigabytes in the frame and on the wire, and a
    node-by-id seek is the cheapest way to match an endpoint.
    """
    with session(driver, database) as s:
        result = s.run(f"MATCH (n:{node.label}) RETURN n.{node.key} AS key, id(n) AS id")
        keys: list = []
        ids: list[int] = []
        for record in result:
            keys.append(record[0])
            ids.append(record[1])
    return pl.DataFrame({"key": keys, "id": ids}, schema={"key": key_dtype, "id": pl.Int64})


class RelationshipLoad:
    """Make the graph's `rel.type` edges equal a frame (sorted by source key), chunk by chunk.

    Endpoint ids are resolved once; `write` may be called for several chunks of sources (the
    ratings asset streams users in chunks to bound memory), then `prune` once with every source.
    Rows whose source or target node is missing are not written but counted in `skipped` (the
    checks compare edge counts with the upstream table, so they surface there too).
    """

    def __init__(
        self, driver: neo4j.Driver, database: str, rel: RelSpec, source_dtype: pl.DataType, target_dtype: pl.DataType
    ) -> None:
        self.driver, self.database, self.rel = driver, database, rel
        self.started = time.perf_counter()
        self.stats = LoadStats(rel.type)
        self.source_ids = node_ids(driver, database, rel.source, source_dtype)
        same = rel.target == rel.source and source_dtype == target_dtype
        self.target_ids = self.source_ids if same else node_ids(driver, database, rel.target, target_dtype)
        self.kept_sources: list[pl.Series] = []
        # On a graph without any edge of this type (the first load) there is nothing to replace.
        with session(driver, database) as s:
            self.existing = s.run(f"MATCH ()-[r:{rel.type}]->() RETURN count(r) AS n").single(strict=True)["n"]
        self.delete_cypher = (
            f"UNWIND $sources AS sid MATCH (s:{rel.source.label}) WHERE id(s) = sid "
            f"MATCH (s)-[r:{rel.type}]->(:{rel.target.label}) DELETE r"
        )
        props = ", ".join(f"{p}: ${p}[i]" for p in rel.properties)
        self.create_cypher = (
            f"UNWIND range(0, size($_src) - 1) AS i "
            f"MATCH (s:{rel.source.label}) WHERE id(s) = $_src[i] "
            f"MATCH (t:{rel.target.label}) WHERE id(t) = $_dst[i] "
            f"CREATE (s)-[:{rel.type}{' {' + props + '}' if props else ''}]->(t) "
            "RETURN count(*) AS written"
        )

    def write(
        self, frame: pl.DataFrame, batch_size: int = 20_000, writers: int = 1, on_batch: BatchHook | None = None
    ) -> LoadStats:
        rel, stats = self.rel, self.stats
        stats.rows += frame.height
        resolved = (
            frame.with_row_index("_row")
            .join(self.source_ids.rename({"key": rel.source_column, "id": "_src"}), on=rel.source_column, how="left")
            .join(self.target_ids.rename({"key": rel.target_column, "id": "_dst"}), on=rel.target_column, how="left")
            .sort("_row")
        )
        missing = resolved.filter(pl.col("_src").is_null() | pl.col("_dst").is_null())
        stats.skipped += missing.height
        if missing.height and len(stats.skipped_examples) < 5:
            stats.skipped_examples += [
                f"{row[rel.source_column]} -> {row[rel.target_column]}"
                for row in missing.head(5).select(rel.source_column, rel.target_column).iter_rows(named=True)
            ][: 5 - len(stats.skipped_examples)]
        writable = resolved.filter(pl.col("_src").is_not_null() & pl.col("_dst").is_not_null()).select(
            "_src", "_dst", *rel.properties
        )
        del resolved
        self.kept_sources.append(writable["_src"].unique())
        delete_cypher, create_cypher, existing = self.delete_cypher, self.create_cypher, self.existing

        def work(tx: neo4j.ManagedTransaction, params: dict[str, list]) -> int:
            if existing:
                tx.run(delete_cypher, sources=list(dict.fromkeys(params["_src"]))).consume()
            return tx.run(create_cypher, params).single(strict=True)["written"]

        bounds = model.batch_bounds(writable["_src"], batch_size)
        _run_batches(self.driver, self.database, bounds, writable, work, stats, on_batch, writers)
        stats.seconds = time.perf_counter() - self.started
        return stats

    def prune(self, key_range: KeyRange | None = None) -> LoadStats:
        """Delete this type's edges of every source node (in `key_range`) that no written chunk listed."""
        if self.existing:
            keep = pl.concat(self.kept_sources).unique().to_list() if self.kept_sources else []
            self.stats.removed = prune_relationships(self.driver, self.database, self.rel, keep, key_range)
        self.stats.seconds = time.perf_counter() - self.started
        return self.stats


def replace_relationships(
    driver: neo4j.Driver,
    database: str,
    rel: RelSpec,
    frame: pl.DataFrame,
    batch_size: int = 20_000,
    writers: int = 1,
    on_batch: BatchHook | None = None,
) -> LoadStats:
    """One-frame form of `RelationshipLoad`: write every row, then prune stale sources."""
    load = RelationshipLoad(driver, database, rel, frame.schema[rel.source_column], frame.schema[rel.target_column])
    load.write(frame, batch_size=batch_size, writers=writers, on_batch=on_batch)
    return load.prune()


# Inclusive range of source keys (a user-range partition: `user_{id:08d}` keys, None = no upper
# bound): the part of the graph a partitioned load owns, and the only part its prune may touch.
KeyRange = tuple[str, str | None]


def source_filter(rel: RelSpec, key_range: KeyRange | None) -> tuple[str, dict]:
    """A Cypher predicate on `s` (the source node) for `key_range`, and its parameters."""
    if key_range is None:
        return "true", {}
    first, last = key_range
    if last is None:
        return f"s.{rel.source.key} >= $range_first", {"range_first": first}
    return (
        f"s.{rel.source.key} >= $range_first AND s.{rel.source.key} <= $range_last",
        {"range_first": first, "range_last": last},
    )


def prune_relationships(
    driver: neo4j.Driver, database: str, rel: RelSpec, keep_sources: list[int], key_range: KeyRange | None = None
) -> int:
    """Delete `rel.type` edges of source nodes whose id is not in `keep_sources` (within `key_range`)."""
    where, params = source_filter(rel, key_range)
    with session(driver, database) as s:
        summary = s.run(
            f"MATCH (s:{rel.source.label})-[r:{rel.type}]->(:{rel.target.label}) "
            f"WHERE {where} AND NOT id(s) IN $keep "
            "CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS",
            keep=keep_sources,
            **params,
        ).consume()
    return summary.counters.relationships_deleted


def relationships_in_range(driver: neo4j.Driver, database: str, rel: RelSpec, key_range: KeyRange) -> int:
    """`rel.type` edges whose source key is in `key_range` (a partition's share of the graph)."""
    where, params = source_filter(rel, key_range)
    with session(driver, database) as s:
        record = s.run(
            f"MATCH (s:{rel.source.label}) WHERE {where} "
            f"RETURN coalesce(sum(COUNT {{ (s)-[:{rel.type}]->(:{rel.target.label}) }}), 0) AS n",
            **params,
        ).single(strict=True)
    return int(record["n"])


# ------------------------------------------------------------------------------------ reading
def label_counts(driver: neo4j.Driver, database: str) -> dict[str, int]:
    """Nodes per label of the model (from the count store: constant time)."""
    counts = {}
    with session(driver, database) as s:
        for node in model.NODES:
            counts[node.label] = s.run(f"MATCH (n:{node.label}) RETURN count(n) AS n").single(strict=True)["n"]
    return counts


def relationship_counts(driver: neo4j.Driver, database: str) -> dict[str, int]:
    counts = {}
    with session(driver, database) as s:
        for rel in model.RELATIONSHIPS:
            counts[rel.type] = s.run(f"MATCH ()-[r:{rel.type}]->() RETURN count(r) AS n").single(strict=True)["n"]
    return counts


def duplicate_relationships(
    driver: neo4j.Driver, database: str, rel: RelSpec, key_range: KeyRange | None = None
) -> int:
    """Edges beyond the first between the same (source, target): count minus distinct pairs.

    Walks each source node's edges on its own, so memory stays per node even at 25M edges.
    """
    where, params = source_filter(rel, key_range)
    with session(driver, database) as s:
        record = s.run(
            f"MATCH (s:{rel.source.label}) WHERE {where} "
            f"CALL (s) {{ MATCH (s)-[r:{rel.type}]->(t:{rel.target.label}) "
            "WITH t, count(r) AS c WHERE c > 1 RETURN sum(c - 1) AS extra } "
            "RETURN coalesce(sum(extra), 0) AS duplicates",
            **params,
        ).single(strict=True)
    return int(record["duplicates"])
