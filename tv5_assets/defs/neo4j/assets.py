"""Group `neo4j`: the knowledge graph loaded online over Bolt, plus bulk-import files.

A fresh database on the local server is first built by `neo4j_bulk_import` (neo4j-admin import of
the `neo4j_import_files` CSVs, see bulk_import.py); the online assets of that run then find the
graph written and skip. Otherwise they load online.

Order of the online load (each a separate asset, so a failure reruns only its own part):
    neo4j_import_files -> neo4j_bulk_import -> neo4j_constraints
                      -> neo4j_movies (Movie, Genre, HAS_GENRE) -> neo4j_movie_tags (Tag, HAS_TAG)
                      -> neo4j_users (User) -> neo4j_ratings (RATED)
                         neo4j_movies -> neo4j_similarity (SIMILAR_TO), neo4j_platforms (Platform, AVAILABLE_ON)
`neo4j_import_files` writes the same graph as `neo4j-admin database import full` CSV files, for
building a fresh database offline at full scale.

How loads stay idempotent and what a failure leaves behind: see loader.py.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl
from pydantic import Field

from ...conventions import CPU_HEAVY, OWNERS, STORE_LOAD_AUTOMATION
from ...partitions import context_range, user_partitions_def
from ...resources.neo4j import Neo4jResource
from ...services.neo4j import Neo4jService
from ...settings import data_dir
from ...store_load import NEO4J, store_asset, store_errors
from . import bulk_import, import_files, loader, model

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


def _stats_metadata(*stats: loader.LoadStats) -> dict:
    metadata: dict = {}
    for s in stats:
        prefix = s.name.lower()
        metadata.update(s.metadata(prefix))
        if s.skipped_examples:
            metadata[f"{prefix}_skipped_examples"] = ", ".join(s.skipped_examples)
    return metadata


def _warn_skipped(context: dg.AssetExecutionContext, stats: loader.LoadStats, why: str) -> None:
    if stats.skipped:
        context.log.warning(
            f"{stats.skipped:,} {stats.name} row(s) were not written because {why} (for example "
            f"{'; '.join(stats.skipped_examples)}); the asset's checks will fail on the counts."
        )


def _common(neo4j_resource: Neo4jResource, started: float, written: int) -> dict:
    seconds = time.perf_counter() - started
    return {
        "dagster/row_count": written,  # nodes plus relationships written by this load
        "neo4j_address": neo4j_resource.address,
        "neo4j_database": neo4j_resource.database,
        "seconds": round(seconds, 3),
        "written_per_second": round(written / seconds, 1) if seconds > 0 else 0.0,
    }


def _written_by_bulk_import(
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


# -------------------------------------------------------------------------------------- assets
@store_asset(
    NEO4J,
    op_tags=CPU_HEAVY,
    deps=["neo4j_import_files"],
    description=(
        "Builds a fresh graph offline: when the local server's database is empty and neo4j_import_files "
        "was written in this run, stops the server, runs `neo4j-admin database import full` over those "
        "files, and starts it again; the online assets of the run then skip. Does nothing otherwise "
        "(a graph that holds data, one under `min_graph_size` nodes and relationships, TV5_NEO4J_URI, "
        "`mode: never`): the online assets load as usual."
    ),
)
def neo4j_bulk_import(
    context: dg.AssetExecutionContext, config: BulkImportConfig, neo4j: Neo4jResource
) -> dg.MaterializeResult:
    service, reason = _bulk_import_target(context, config, neo4j)
    if service is None:
        context.log.info(f"no bulk import: {reason}; the online assets load the graph")
        return dg.MaterializeResult(
            metadata={"imported": False, "reason": reason, "dagster/row_count": 0, "neo4j_address": neo4j.address}
        )
    try:
        outcome = bulk_import.bulk_import(
            service, neo4j.driver, data_dir() / "neo4j-import", neo4j.database, context.run.run_id, context.log.info
        )
    except bulk_import.BulkImportError as error:  # the same files fail the same way: no retry
        raise dg.Failure(description=str(error), allow_retries=False) from error
    total = sum(outcome.counts.values())
    return dg.MaterializeResult(
        metadata={
            "imported": True,
            "reason": outcome.reason,
            "counts": dg.MetadataValue.json(outcome.counts),
            "nodes_and_relationships": total,
            "dagster/row_count": total,
            "stop_seconds": round(outcome.stop_seconds, 3),
            "import_seconds": round(outcome.import_seconds, 3),
            "start_seconds": round(outcome.start_seconds, 3),
            "imported_per_second": round(total / outcome.import_seconds, 1) if outcome.import_seconds else 0.0,
            "neo4j_address": neo4j.address,
            "neo4j_database": neo4j.database,
        }
    )


def _graph_size(files: dg.EventLogEntry) -> int:
    """Nodes plus relationships that neo4j_import_files recorded in its materialization."""
    metadata = files.asset_materialization.metadata if files.asset_materialization else {}
    return sum(int(metadata[key].value) for key in ("nodes", "relationships") if key in metadata)


def _bulk_import_target(
    context: dg.AssetExecutionContext, config: BulkImportConfig, neo4j: Neo4jResource
) -> tuple[Neo4jService | None, str]:
    """The local server to import into, or None and why it must not (see bulk_import.py for the rules)."""
    if config.mode == "never":
        return None, "mode: never"
    service = bulk_import.managed_local_server(neo4j.uri)
    if service is None:
        return None, f"{neo4j.address} is not tv5's running local server (only that one may be stopped to import)"
    files = context.instance.get_latest_materialization_event(dg.AssetKey("neo4j_import_files"))
    if files is None or files.run_id != context.run.run_id:
        return None, "neo4j_import_files was not written in this run"
    size = _graph_size(files)
    if size < config.min_graph_size:
        return None, f"{size:,} nodes and relationships, under min_graph_size {config.min_graph_size:,}"
    with open_graph(neo4j, "looking for existing data") as driver:
        if not bulk_import.graph_is_empty(driver, neo4j.database):
            return None, "the database holds data (the import would replace it)"
    return service, ""


@store_asset(
    NEO4J,
    op_tags=CPU_HEAVY,
    deps=[neo4j_bulk_import],
    description=(
        "Uniqueness constraints on every node key of the knowledge graph (Movie.media_id, Genre.name, "
        "User.user_id, Tag.tag_id, Platform.platform_id), created IF NOT EXISTS before any load."
    ),
)
def neo4j_constraints(context: dg.AssetExecutionContext, neo4j: Neo4jResource) -> dg.MaterializeResult:
    with open_graph(neo4j, "creating constraints") as driver:
        names = loader.create_constraints(driver, neo4j.database)
        info = neo4j.server_info()
    context.log.info(f"constraints ready on {neo4j.address}: {', '.join(names)}")
    return dg.MaterializeResult(
        metadata={
            "constraints": dg.MetadataValue.json({n.label: n.key for n in model.NODES}),
            "dagster/row_count": len(names),  # one row per uniqueness constraint
            "server": f"{info['name']} {info['version']} {info['edition']}",
            "neo4j_address": neo4j.address,
            "neo4j_database": neo4j.database,
        }
    )


@store_asset(
    NEO4J,
    op_tags=CPU_HEAVY,
    deps=[neo4j_constraints],
    description=(
        "(:Movie {media_id, movie_id, title, display_title, year, genres}) per movie, (:Genre {name}) per "
        "genre and (:Movie)-[:HAS_GENRE]->(:Genre); movies and genres gone from `movies` are removed."
    ),
)
def neo4j_movies(
    context: dg.AssetExecutionContext, config: Neo4jLoadConfig, neo4j: Neo4jResource, movies: pl.DataFrame
) -> dg.MaterializeResult:
    written = _written_by_bulk_import(context, neo4j, movies="Movie", genres="Genre", has_genre="HAS_GENRE")
    if written is not None:
        return written
    started = time.perf_counter()
    with open_graph(neo4j, "loading movies and genres") as driver:
        movie_stats, genres, has_genre = loader.load_movies(
            driver, neo4j.database, movies, config.batch_size, config.writers, progress(context, "movies")
        )
    _warn_skipped(context, has_genre, "the movie or genre node is missing")
    return dg.MaterializeResult(
        metadata={
            "movies": movie_stats.written,
            "genres": genres.written,
            "has_genre": has_genre.written,
            **_stats_metadata(movie_stats, genres, has_genre),
            **_common(neo4j, started, movie_stats.written + genres.written + has_genre.written),
        }
    )


@store_asset(
    NEO4J,
    op_tags=CPU_HEAVY,
    deps=[neo4j_movies],
    description=(
        "(:Tag {tag_id, name}) per genome tag and (:Movie)-[:HAS_TAG {relevance}]->(:Tag) for the tags "
        "above movie_genome's relevance threshold. Empty when the release has no genome."
    ),
)
def neo4j_movie_tags(
    context: dg.AssetExecutionContext,
    config: Neo4jLoadConfig,
    neo4j: Neo4jResource,
    genome_tags: pl.DataFrame,
    movie_genome: pl.DataFrame,
) -> dg.MaterializeResult:
    written = _written_by_bulk_import(context, neo4j, tags="Tag", has_tag="HAS_TAG")
    if written is not None:
        return written
    started = time.perf_counter()
    with open_graph(neo4j, "loading genome tags") as driver:
        tags, has_tag = loader.load_movie_tags(
            driver,
            neo4j.database,
            genome_tags,
            movie_genome,
            config.batch_size,
            config.writers,
            progress(context, "HAS_TAG"),
        )
    _warn_skipped(context, has_tag, "the movie or tag node is missing")
    return dg.MaterializeResult(
        metadata={
            "tags": tags.written,
            "has_tag": has_tag.written,
            **_stats_metadata(tags, has_tag),
            **_common(neo4j, started, tags.written + has_tag.written),
        }
    )


@store_asset(
    NEO4J,
    op_tags=CPU_HEAVY,
    deps=[neo4j_constraints],
    description=(
        "(:User {user_id: user_{userId:08d}, archetype, country}) per synthetic user profile; users gone "
        "from `user_profiles` are removed with their edges."
    ),
)
def neo4j_users(
    context: dg.AssetExecutionContext, config: Neo4jLoadConfig, neo4j: Neo4jResource, user_profiles: pl.DataFrame
) -> dg.MaterializeResult:
    written = _written_by_bulk_import(context, neo4j, users="User")
    if written is not None:
        return written
    started = time.perf_counter()
    with open_graph(neo4j, "loading users") as driver:
        (users,) = loader.load_users(
            driver, neo4j.database, user_profiles, config.batch_size, progress(context, "User nodes")
        )
    return dg.MaterializeResult(
        metadata={"users": users.written, **_stats_metadata(users), **_common(neo4j, started, users.written)}
    )


@store_asset(
    NEO4J,
    op_tags=CPU_HEAVY,
    deps=[neo4j_users, neo4j_movies],
    description=(
        "(:User)-[:RATED {score, timestamp}]->(:Movie) per rating (timestamp in epoch seconds, UTC). "
        "Streams users in chunks; each batch replaces whole users' ratings in one transaction, so a "
        "second materialization leaves the same graph and a failed one never half-writes a user. With "
        "TV5_USER_PARTITIONS set, partitioned by user-id range: a partition replaces its users' edges only."
    ),
    partitions_def=user_partitions_def(),
)
def neo4j_ratings(
    context: dg.AssetExecutionContext, config: RatingsLoadConfig, neo4j: Neo4jResource, ratings: pl.LazyFrame
) -> dg.MaterializeResult:
    users = context_range(context)
    written = _written_by_bulk_import(context, neo4j, rated="RATED") if users is None else None
    if written is not None:
        return written
    if users is not None:  # one partition: its users' ratings, and a prune limited to its range
        ratings = ratings.filter(users.contains_expr())
        context.log.info(f"RATED, partition {context.partition_key}: {users.describe()}")
    started = time.perf_counter()
    with open_graph(neo4j, "loading ratings") as driver:
        (rated,) = loader.load_ratings(
            driver,
            neo4j.database,
            ratings,
            config.batch_size,
            config.writers,
            progress(context, "RATED"),
            config.chunk_rows,
            context.log.info,
            key_range=None if users is None else users.key_bounds(),
        )
    _warn_skipped(context, rated, "the user or movie node is missing (load neo4j_users and neo4j_movies first)")
    return dg.MaterializeResult(
        metadata={
            "rated": rated.written,
            "rated_relationships_per_second": round(rated.per_second, 1),
            **_stats_metadata(rated),
            **_common(neo4j, started, rated.written),
        }
    )


def _similarity_threshold(context: dg.AssetExecutionContext, min_score: float) -> float:
    """The floor every SIMILAR_TO score obeys: similar_movies' recorded threshold or min_score."""
    upstream = None
    event = context.instance.get_latest_materialization_event(dg.AssetKey("similar_movies"))
    if event is not None and event.asset_materialization is not None:
        value = event.asset_materialization.metadata.get("threshold")
        upstream = getattr(value, "value", None)
    return max(float(upstream), min_score) if isinstance(upstream, int | float) else min_score


@store_asset(
    NEO4J,
    op_tags=CPU_HEAVY,
    deps=[neo4j_movies],
    description=(
        "(:Movie)-[:SIMILAR_TO {score, rank}]->(:Movie) from similar_movies (cosine similarity at or above "
        "its threshold, and `min_score` when set)."
    ),
)
def neo4j_similarity(
    context: dg.AssetExecutionContext,
    config: SimilarityLoadConfig,
    neo4j: Neo4jResource,
    similar_movies: pl.DataFrame,
) -> dg.MaterializeResult:
    written = _written_by_bulk_import(context, neo4j, similar_to="SIMILAR_TO") if config.min_score <= 0.0 else None
    if written is not None:
        return written
    started = time.perf_counter()
    threshold = _similarity_threshold(context, config.min_score)
    with open_graph(neo4j, "loading similar movies") as driver:
        (similar,) = loader.load_similarity(
            driver,
            neo4j.database,
            similar_movies,
            config.min_score,
            config.batch_size,
            config.writers,
            progress(context, "SIMILAR_TO"),
        )
    loaded = similar_movies.filter(pl.col("score") >= config.min_score)["score"]
    _warn_skipped(context, similar, "a movie node is missing")
    return dg.MaterializeResult(
        metadata={
            "similar_to": similar.written,
            "score_threshold": threshold,
            "min_score": config.min_score,
            **({"lowest_score_loaded": float(loaded.min())} if loaded.len() else {}),
            **_stats_metadata(similar),
            **_common(neo4j, started, similar.written),
        }
    )


@store_asset(
    NEO4J,
    op_tags=CPU_HEAVY,
    deps=[neo4j_movies],
    description=(
        "(:Platform {platform_id, name, type}) per streaming platform and (:Movie)-[:AVAILABLE_ON {region, "
        "quality, availability_type, subtitles}]->(:Platform) per row of platform_availability."
    ),
)
def neo4j_platforms(
    context: dg.AssetExecutionContext,
    config: Neo4jLoadConfig,
    neo4j: Neo4jResource,
    platform_availability: pl.DataFrame,
) -> dg.MaterializeResult:
    written = _written_by_bulk_import(context, neo4j, platforms="Platform", available_on="AVAILABLE_ON")
    if written is not None:
        return written
    started = time.perf_counter()
    with open_graph(neo4j, "loading platforms") as driver:
        platforms, available = loader.load_platforms(
            driver,
            neo4j.database,
            platform_availability,
            config.batch_size,
            config.writers,
            progress(context, "AVAILABLE_ON"),
        )
    _warn_skipped(context, available, "the movie or platform node is missing")
    return dg.MaterializeResult(
        metadata={
            "platforms": platforms.written,
            "available_on": available.written,
            **_stats_metadata(platforms, available),
            **_common(neo4j, started, platforms.written + available.written),
        }
    )


@dg.asset(  # files, not a store load: no pool, no retries
    group_name=NEO4J.group,
    kinds={"neo4j", "csv"},
    owners=OWNERS,
    op_tags=CPU_HEAVY,
    automation_condition=STORE_LOAD_AUTOMATION,  # the first step of the Neo4j loads, which follow upstream
    description=(
        "The whole graph as `neo4j-admin database import full` CSV files (ID spaces for movies and users, "
        "typed properties) under $TV5_DATA_DIR/neo4j-import/, with import.sh holding the command: the "
        "fastest way to build a fresh database at full scale, offline. See the `command` metadata."
    ),
)
def neo4j_import_files(
    context: dg.AssetExecutionContext,
    movies: pl.DataFrame,
    genome_tags: pl.DataFrame,
    movie_genome: pl.DataFrame,
    user_profiles: pl.DataFrame,
    ratings: pl.LazyFrame,
    similar_movies: pl.DataFrame,
    platform_availability: pl.DataFrame,
) -> dg.MaterializeResult:
    target = data_dir() / "neo4j-import"
    written = import_files.write_import_files(
        target,
        movies=movies,
        genome_tags=genome_tags,
        movie_genome=movie_genome,
        user_profiles=user_profiles,
        ratings=ratings,
        similar_movies=similar_movies,
        platform_availability=platform_availability,
        log=context.log.info,
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "command": dg.MetadataValue.md(f"```\n{written.command}\n```"),
            "files": dg.MetadataValue.json(written.files),
            "nodes": written.nodes,
            "relationships": written.relationships,
            "dagster/row_count": written.nodes + written.relationships,  # CSV data rows
            "size_mb": round(written.bytes / 1e6, 1),
            "seconds": round(written.seconds, 3),
            "rows_per_second": round((written.nodes + written.relationships) / written.seconds, 1)
            if written.seconds
            else 0.0,
        }
    )


ASSETS = [
    neo4j_bulk_import,
    neo4j_constraints,
    neo4j_movies,
    neo4j_movie_tags,
    neo4j_users,
    neo4j_ratings,
    neo4j_similarity,
    neo4j_platforms,
    neo4j_import_files,
]
