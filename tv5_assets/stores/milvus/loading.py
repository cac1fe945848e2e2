"""Blue/green loads into Milvus, and the read-back helpers the checks share.

A load never touches what readers see until the very end:

1. create a new versioned collection `<alias>__v<UTC timestamp>` with the explicit schema;
2. insert the rows in batches of at most `max_batch_bytes` (about 20 MB by default), each built
   column by column with the vectors as one block of bytes (wire.py: 4x pymilvus' row packing);
3. flush (Milvus Lite searches unflushed data by brute force, and a server seals its segments);
4. build the collection's vector index (HNSW for media, IVF_FLAT for users: collections.py) and
   read it back with `describe_index`: the parameters must be the ones asked for, or the load fails
   (some client paths silently drop them, see `create_vector_index`);
5. load the collection and check its entity count;
6. point the alias at it (`create_alias` the first time, `alter_alias` after), then drop older versions.
   Two loads at once (two Dagster instances): the later-started one wins; the other, whose version
   it drops, or which finds the alias already on a newer version, fails saying so.

Any failure before step 6 drops the new collection and re-raises: the alias still serves the previous
version, whole. A crash that skips the clean-up leaves an orphan version, which the next successful
load drops (it removes every version older than the one it just switched to).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from ...errors import Tv5Error
from . import wire
from .collections import VECTOR_FIELD, VERSION_SEPARATOR, CollectionSpec, rows_per_batch
from .indexes import create_vector_index, describe_vector_index, verify_index_params, wait_for_index

DEFAULT_MAX_BATCH_BYTES = 20 * 1024 * 1024


class AliasConflictError(Tv5Error):
    """A real collection already has the name the alias needs."""


class SupersededLoadError(Tv5Error):
    """A load that started later switched the alias first; this load's version was dropped."""


class LoadVerificationError(Tv5Error):
    """The new version does not hold what was inserted."""


@dataclass
class LoadReport:
    alias: str
    collection: str
    rows: int
    batches: int
    rows_per_batch: int
    insert_seconds: float
    flush_seconds: float
    index_seconds: float
    load_seconds: float
    index_params: dict[str, Any]
    previous_collection: str | None
    dropped_versions: list[str] = field(default_factory=list)

    @property
    def insert_rows_per_second(self) -> float:
        return self.rows / self.insert_seconds if self.insert_seconds > 0 else 0.0


# ------------------------------------------------------------------------------- names, aliases
def version_name(alias: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d_%H%M%S_%f")
    return f"{alias}{VERSION_SEPARATOR}{stamp}"


def versions_of(client, alias: str) -> list[str]:
    """The alias's versioned collections, oldest first (the timestamp sorts as text)."""
    prefix = f"{alias}{VERSION_SEPARATOR}"
    return sorted(name for name in client.list_collections() if name.startswith(prefix))


def alias_target(client, alias: str) -> str | None:
    """The collection the alias points at, or None (listing avoids the client's error log on a miss)."""
    if alias not in client.list_aliases().get("aliases", []):
        return None
    return client.describe_alias(alias)["collection_name"]


def count_entities(client, collection: str) -> int:
    """Live entity count with strong consistency (works on Milvus Lite and server alike)."""
    result = client.query(collection, filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(result[0]["count(*)"])


# ---------------------------------------------------------------------------------------- insert
def insert_batch(client, collection: str, spec: CollectionSpec, batch: pl.DataFrame) -> int:
    """One insert request (a module-level function so tests can make a load fail half-way)."""
    return wire.send_insert(client, wire.insert_request(collection, spec, batch))


# ------------------------------------------------------------------------------------------ load
def load_blue_green(
    client,
    spec: CollectionSpec,
    rows: pl.DataFrame,
    alias: str,
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    index_timeout_s: float = 3600.0,
    log: Callable[[str], None] = print,
) -> LoadReport:
    """Build a new version of `alias` from `rows` (in `spec.column_order`), then switch the alias to it."""
    if alias in client.list_collections() and alias_target(client, alias) is None:
        raise AliasConflictError(
            f"Milvus already has a collection named {alias!r} (not an alias). The platform serves {alias} "
            f"through an alias onto versioned collections; drop or rename that collection (for example "
            f"`MilvusClient.drop_collection({alias!r})`) and re-run."
        )
    previous = alias_target(client, alias)
    name = version_name(alias)
    while client.has_collection(name):  # two loads within one microsecond: take the next stamp
        time.sleep(0.001)
        name = version_name(alias)

    batch_rows = rows_per_batch(rows, spec, max_batch_bytes)
    # Readers get Bounded consistency by default: a version is complete before the alias points at it,
    # and Strong makes a Milvus server wait for the next time tick (up to 200 ms) on every search.
    # The load's own read-backs ask for Strong explicitly.
    client.create_collection(name, schema=spec.milvus_schema(), consistency_level="Bounded")
    log(
        f"created {name}; inserting {rows.height:,} rows in batches of {batch_rows:,} rows (<= {max_batch_bytes / 2**20:.0f} MiB)"
    )
    try:
        filled = _fill_version(client, name, spec, rows, batch_rows, index_timeout_s)
    except Exception as error:
        _drop_quietly(client, name, log)
        if (superseded := _superseded(client, alias, name)) is not None:
            raise superseded from error  # the newer load dropped this version while it was being filled
        raise
    except BaseException:
        _drop_quietly(client, name, log)
        raise

    # Two loads at once (two Dagster instances: one instance's `milvus` pool queues them): a load that
    # started after this one and switched first wins; this one steps back rather than moving the
    # alias back to an older build.
    if (superseded := _superseded(client, alias, name)) is not None:
        _drop_quietly(client, name, log)
        raise superseded
    # The switch: one metadata operation; searches through the alias move from old to new whole.
    if previous is None:
        client.create_alias(name, alias)
    else:
        client.alter_alias(name, alias)
    log(f"alias {alias} -> {name} (was {previous})")
    return LoadReport(
        alias=alias,
        collection=name,
        rows=rows.height,
        rows_per_batch=batch_rows,
        previous_collection=previous,
        dropped_versions=_drop_older_versions(client, alias, name, log),
        **filled,
    )


def _fill_version(
    client, name: str, spec: CollectionSpec, rows: pl.DataFrame, batch_rows: int, index_timeout_s: float
) -> dict[str, Any]:
    """Steps 2 to 5 on the new collection `name`: insert, flush, index, load, each verified.
    Returns the LoadReport fields they measure."""
    started = time.perf_counter()
    inserted = batches = 0
    for offset in range(0, rows.height, batch_rows):
        inserted += insert_batch(client, name, spec, rows.slice(offset, batch_rows))
        batches += 1
    insert_seconds = time.perf_counter() - started
    if inserted != rows.height:
        raise LoadVerificationError(f"Milvus acknowledged {inserted:,} of {rows.height:,} rows inserted into {name}")

    started = time.perf_counter()
    client.flush(name)
    flush_seconds = time.perf_counter() - started

    started = time.perf_counter()
    create_vector_index(client, name, spec.index)
    wait_for_index(client, name, rows.height, index_timeout_s)
    index_params = verify_index_params(client, name, spec.index)
    index_seconds = time.perf_counter() - started

    started = time.perf_counter()
    client.load_collection(name)
    load_seconds = time.perf_counter() - started

    stored = count_entities(client, name)
    if stored != rows.height:
        raise LoadVerificationError(
            f"Milvus collection {name} holds {stored:,} entities after the load, expected {rows.height:,}"
        )
    return {
        "batches": batches,
        "insert_seconds": insert_seconds,
        "flush_seconds": flush_seconds,
        "index_seconds": index_seconds,
        "load_seconds": load_seconds,
        "index_params": index_params,
    }


def _superseded(client, alias: str, name: str) -> SupersededLoadError | None:
    """The error for a load whose alias already serves a version newer than its own `name`, else None
    (also when Milvus cannot be asked: the load's own error then stands)."""
    try:
        current = alias_target(client, alias)
    except Exception:
        return None
    if current is None or current <= name:
        return None
    return SupersededLoadError(
        f"Milvus {alias} already serves {current}, built by a load that started after this one ({name}) "
        f"and finished first: two loads of {alias} ran at once. This load's version was dropped; the "
        "alias serves the newer one, whole. Nothing to do (Dagster's `milvus` pool queues the loads of "
        "one instance; two instances loading one Milvus are not queued)."
    )


def _drop_older_versions(client, alias: str, name: str, log: Callable[[str], None]) -> list[str]:
    """Drop the alias's versions older than `name`; a newer one belongs to a load that started after
    us. An older load still being filled loses its version and fails saying so (`_superseded`); the
    version the alias serves is never dropped (an older load that switched it just now keeps it)."""
    dropped = []
    for old in versions_of(client, alias):
        if old < name and not _serves(client, alias, old):
            _drop_quietly(client, old, log)
            dropped.append(old)
    return dropped


def _serves(client, alias: str, name: str) -> bool:
    """Whether `alias` points at `name` now (True when Milvus cannot say: keep it, the next load drops it)."""
    try:
        return alias_target(client, alias) == name
    except Exception:
        return True


def _drop_quietly(client, name: str, log: Callable[[str], None]) -> None:
    try:
        if client.has_collection(name):
            client.drop_collection(name)
            log(f"dropped {name}")
    except Exception as error:  # the original failure matters more; the next load removes it
        log(f"could not drop {name} ({error}); the next successful load removes it")


# ------------------------------------------------------------------------------------- read-back
def self_search_misses(
    client, collection: str, spec: CollectionSpec, ids: list[int], top_k: int = 5
) -> list[dict[str, Any]]:
    """Search each stored vector; a miss is an id that is not the best hit (ties with an equal vector pass)."""
    if not ids:
        return []
    primary_key = spec.primary_key.name
    stored = client.get(collection, ids=ids, output_fields=[primary_key, VECTOR_FIELD])
    by_id = {int(row[primary_key]): np.asarray(row[VECTOR_FIELD], dtype=np.float32) for row in stored}
    misses = [{"id": i, "reason": "not found by primary key"} for i in ids if i not in by_id]
    found = [i for i in ids if i in by_id]
    if not found:
        return misses
    results = client.search(
        collection,
        data=[by_id[i] for i in found],
        limit=top_k,
        search_params=spec.index.search_params,
        output_fields=[primary_key],
        consistency_level="Strong",
    )
    for query_id, hits in zip(found, results, strict=True):
        hits = list(hits)
        if not hits:
            misses.append({"id": query_id, "reason": "no hits"})
            continue
        best = float(hits[0]["distance"])
        # Hits are keyed by the primary key's name in pymilvus 3, by "id" in older clients.
        tied = [int(_hit_id(hit, primary_key)) for hit in hits if float(hit["distance"]) >= best - 1e-5]
        if query_id not in tied:
            misses.append({"id": query_id, "reason": f"best hits {tied} at {best:.4f}"})
    return misses


def _hit_id(hit, primary_key: str):
    value = hit.get(primary_key)
    return value if value is not None else hit.get("id")


# ------------------------------------------------------------------------------ user-range load
# A partitioned deployment (tv5_assets/partitions.py) writes one primary-key range per step into the
# collection the alias serves, several ranges at once. Milvus has no multi-row transactions: each
# upserted entity is replaced whole (a search sees its old or its new row, never neither), then the
# range's entities that are no longer upstream are deleted. So during a range load a reader sees
# every current entity, some old and some new; after it, exactly the new range.
FIRST_VERSION_STAMP = "00000000_000000_000000"


@dataclass
class RangeReport:
    collection: str
    rows: int = 0
    batches: int = 0
    rows_per_batch: int = 0
    stale_deleted_gaps: int = 0
    stored_in_range: int = 0
    upsert_seconds: float = 0.0
    flush_seconds: float = 0.0
    created: bool = False


def ensure_served_collection(
    client, spec: CollectionSpec, alias: str, log: Callable[[str], None] = print
) -> tuple[str, bool]:
    """The collection `alias` serves; when none, an empty first version, indexed, loaded and aliased.
    Its name is fixed, so range loads racing to create it meet on one collection; a later full
    (blue/green) load sorts after it and replaces it. Returns (name, created)."""
    target = alias_target(client, alias)
    if target is not None:
        return target, False
    name = f"{alias}{VERSION_SEPARATOR}{FIRST_VERSION_STAMP}"
    _tolerate_race(
        lambda: client.create_collection(name, schema=spec.milvus_schema(), consistency_level="Bounded"),
        lambda: client.has_collection(name),
    )
    _tolerate_race(
        lambda: create_vector_index(client, name, spec.index), lambda: describe_vector_index(client, name) is not None
    )
    client.load_collection(name)
    _tolerate_race(lambda: client.create_alias(name, alias), lambda: alias_target(client, alias) is not None)
    log(f"created {name} behind alias {alias} for range loads")
    return alias_target(client, alias) or name, True


def _tolerate_race(action: Callable[[], Any], done: Callable[[], bool]) -> None:
    """Run `action` unless `done`; an error is ignored only if another loader did it meanwhile."""
    if done():
        return
    try:
        action()
    except Exception:
        if not done():
            raise


def range_filter(primary_key: str, first: int, last: int | None) -> str:
    return f"{primary_key} >= {int(first)}" + ("" if last is None else f" and {primary_key} <= {int(last)}")


def stale_filters(primary_key: str, ids: np.ndarray, first: int, last: int | None, per_filter: int = 200) -> list[str]:
    """Filters matching the keys in first..last that are NOT in `ids` (sorted): the gaps between
    consecutive kept keys, so no list of every key goes to the server."""
    sentinel_low = np.array([first - 1], dtype=np.int64)
    sentinel_high = np.array([np.iinfo(np.int64).max if last is None else last + 1], dtype=np.int64)
    bounds = np.concatenate([sentinel_low, ids.astype(np.int64), sentinel_high])
    lows, highs = bounds[:-1], bounds[1:]
    gaps = np.nonzero(highs - lows > 1)[0]
    terms = []
    for low, high in zip(lows[gaps], highs[gaps]):
        upper = "" if last is None and high == sentinel_high[0] else f" and {primary_key} < {int(high)}"
        terms.append(f"({primary_key} > {int(low)}{upper})")
    return [" or ".join(terms[i : i + per_filter]) for i in range(0, len(terms), per_filter)]


def count_in_range(client, collection: str, primary_key: str, first: int, last: int | None) -> int:
    result = client.query(
        collection,
        filter=range_filter(primary_key, first, last),
        output_fields=["count(*)"],
        consistency_level="Strong",
    )
    return int(result[0]["count(*)"])


def upsert_range(
    client,
    spec: CollectionSpec,
    rows: pl.DataFrame,
    alias: str,
    first: int,
    last: int | None,
    max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
    log: Callable[[str], None] = print,
) -> RangeReport:
    """Make the served collection's entities with keys in first..last equal `rows` (see above)."""
    key = spec.primary_key.name
    outside = rows.filter(
        (pl.col(key) < first) | (pl.col(key) > (last if last is not None else np.iinfo(np.int64).max))
    )
    if outside.height:
        raise LoadVerificationError(
            f"{outside.height} row(s) outside the range {first}..{last} (first: {outside[key][0]})"
        )
    collection, created = ensure_served_collection(client, spec, alias, log)
    report = RangeReport(collection=collection, rows=rows.height, created=created)
    started = time.perf_counter()
    if rows.height:
        report.rows_per_batch = rows_per_batch(rows, spec, max_batch_bytes)
        for offset in range(0, rows.height, report.rows_per_batch):
            batch = rows.slice(offset, report.rows_per_batch)
            wire.send_upsert(client, wire.upsert_request(collection, spec, batch))
            report.batches += 1
    report.upsert_seconds = time.perf_counter() - started
    filters = stale_filters(key, rows[key].sort().to_numpy(), first, last)
    for expression in filters:
        client.delete(collection, filter=expression)
    report.stale_deleted_gaps = sum(f.count(" or ") + 1 for f in filters)
    started = time.perf_counter()
    client.flush(collection)
    report.flush_seconds = time.perf_counter() - started
    report.stored_in_range = count_in_range(client, collection, key, first, last)
    if report.stored_in_range != rows.height:
        raise LoadVerificationError(
            f"Milvus collection {collection} holds {report.stored_in_range:,} entities with {key} in {first}..{last} "
            f"after the range load, expected {rows.height:,}"
        )
    return report
