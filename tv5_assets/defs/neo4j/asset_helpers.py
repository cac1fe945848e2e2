"""What the `neo4j` assets share: their run config, a verified driver, progress logging, load
metadata, and the answer to "did the bulk import already write this in the run?".
"""

# No `from __future__ import annotations` here: Dagster reads Config fields from the evaluated
# annotations (a string annotation makes it reject the Config class).

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from ...resources.neo4j import Neo4jResource
from ...store_load import NEO4J, store_errors
from ...stores.neo4j import bulk_import, loader

if TYPE_CHECKING:
    import neo4j

PROGRESS_EVERY_S = 10.0


class Neo4jLoadConfig(dg.Config):
    batch_size: int = Field(
        default=20_000,
        ge=1_000,
        le=100_000,
        description="Rows per write transaction (UNWIND batch); 10k-50k balances round trips and heap.",
    )
    writers: int = Field(
        default=2,
        ge=1,
        le=8,
        description="Concurrent write transactions for relationship batches (disjoint sources). Each "
        "transaction runs on one server core: 2 measured 80k RATED/s against 50k with 1 on 2 cores.",
    )


class RatingsLoadConfig(Neo4jLoadConfig):
    chunk_rows: int = Field(
        default=2_000_000,
        ge=100,
        description="Ratings read from Parquet per chunk (whole users), bounding the load's memory.",
    )


class SimilarityLoadConfig(Neo4jLoadConfig):
    min_score: float = Field(
        default=0.0,
        ge=-1.0,
        le=1.0,
        description="Extra floor on SIMILAR_TO scores on top of similar_movies' own threshold.",
    )


class BulkImportConfig(dg.Config):
    mode: str = Field(
        default="auto",
        pattern="^(auto|never)$",
        description="auto: build a fresh, empty database on tv5's local server with neo4j-admin import "
        "(when the graph is at least `min_graph_size`); never: always load online.",
    )
    min_graph_size: int = Field(
        default=2_000_000,
        ge=0,
        description="Nodes plus relationships in the import files below which `auto` loads online: stopping, "
        "importing and restarting the server costs a fixed minute or more (three JVM starts), which the "
        "online load (~60k relationships/s) only repays above about two million (3 minutes at the 0.01 "
        "sample against seconds online). 0 imports whatever the size.",
    )


# ----------------------------------------------------------------------------------- helpers
@contextmanager
def open_graph(neo4j_resource: Neo4jResource, doing: str) -> Iterator["neo4j.Driver"]:
    """A verified driver; the resource words the driver's errors, store_errors decides what is retried."""
    unavailable = partial(neo4j_resource.unavailable, doing=doing)
    with store_errors(NEO4J, neo4j_resource.address, doing, unavailable):
        with neo4j_resource.driver() as driver, neo4j_resource.translate_errors(doing):
            yield driver


def progress(context: dg.AssetExecutionContext, what: str) -> loader.BatchHook:
    """Log rows written, rate and ETA every PROGRESS_EVERY_S seconds and at the end."""
    started = time.perf_counter()
    last = [started]

    def hook(batch: int, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] < PROGRESS_EVERY_S and done < total:
            return
        last[0] = now
        rate = done / (now - started) if now > started else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        context.log.info(
            f"{what}: {done:,}/{total:,} rows ({100 * done / max(total, 1):.0f}%), batch {batch + 1}, "
            f"{rate:,.0f} rows/s, about {eta:.0f} s left"
        )

    return hook


def stats_metadata(*stats: loader.LoadStats) -> dict:
    metadata: dict = {}
    for s in stats:
        prefix = s.name.lower()
        metadata.update(s.metadata(prefix))
        if s.skipped_examples:
            metadata[f"{prefix}_skipped_examples"] = ", ".join(s.skipped_examples)
    return metadata


def warn_skipped(context: dg.AssetExecutionContext, stats: loader.LoadStats, why: str) -> None:
    if stats.skipped:
        context.log.warning(
            f"{stats.skipped:,} {stats.name} row(s) were not written because {why} (for example "
            f"{'; '.join(stats.skipped_examples)}); the asset's checks will fail on the counts."
        )


def common_metadata(neo4j_resource: Neo4jResource, started: float, written: int) -> dict:
    seconds = time.perf_counter() - started
    return {
        "dagster/row_count": written,  # nodes plus relationships written by this load
        "neo4j_address": neo4j_resource.address,
        "neo4j_database": neo4j_resource.database,
        "seconds": round(seconds, 3),
        "written_per_second": round(written / seconds, 1) if seconds > 0 else 0.0,
    }


def written_by_bulk_import(
    context: dg.AssetExecutionContext, neo4j: Neo4jResource, **names: str
) -> dg.MaterializeResult | None:
    """When neo4j_bulk_import built the graph in this run: nothing to write (the checks still verify it)."""
    recorded = bulk_import.imported_in_run(neo4j.uri, neo4j.database, context.run.run_id)
    if recorded is None:
        return None
    counts = bulk_import.imported_counts(recorded, *names.values())
    context.log.info(f"written by neo4j_bulk_import in this run ({counts}); nothing to load online")
    return dg.MaterializeResult(
        metadata={
            "written_by": "neo4j_bulk_import",
            **{key: counts[name] for key, name in names.items()},
            "dagster/row_count": sum(counts[name] for name in names.values()),
            "neo4j_address": neo4j.address,
            "neo4j_database": neo4j.database,
        }
    )
