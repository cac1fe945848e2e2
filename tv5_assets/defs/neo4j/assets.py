"""Group `neo4j`: the knowledge graph loaded online over Bolt, plus bulk-import files.

A fresh database on the local server is first built by `neo4j_bulk_import` (neo4j-admin import of
the `neo4j_import_files` CSVs, see bulk_import.py); the online assets of that run then find the
graph written and skip. Otherwise they load online. SIMILAR_TO is always loaded online by
`neo4j_similarity`: it comes from the embeddings, so the files and the import do not wait for the
encoder (the longest step) and run beside it.

Order of the online load (each a separate asset, so a failure reruns only its own part):
    neo4j_import_files -> neo4j_bulk_import -> neo4j_constraints
                      -> neo4j_movies (Movie, Genre, HAS_GENRE) -> neo4j_movie_tags (Tag, HAS_TAG)
                      -> neo4j_users (User) -> neo4j_ratings (RATED)
                         neo4j_movies -> neo4j_similarity (SIMILAR_TO), neo4j_platforms (Platform, AVAILABLE_ON)
`neo4j_import_files` writes the same graph but SIMILAR_TO as `neo4j-admin database import full` CSV
files, for building a fresh database offline at full scale.

How loads stay idempotent and what a failure leaves behind: see loader.py. Run config and what
the assets share (driver, progress, metadata): asset_helpers.py.
"""

import time

import dagster as dg
import polars as pl

from ...conventions import CPU_HEAVY, OWNERS, STORE_LOAD_AUTOMATION
from ...partitions import context_range, user_partitions_def
from ...resources.neo4j import Neo4jResource
from ...settings import data_dir
from ...store_load import NEO4J, store_asset
from ...stores.neo4j import bulk_import, import_files, loader, model
from . import graph_parts
from .asset_helpers import (
    BulkImportConfig,
    Neo4jLoadConfig,
    RatingsLoadConfig,
    SimilarityLoadConfig,
    common_metadata,
    open_graph,
    progress,
    stats_metadata,
    warn_skipped,
    written_by_bulk_import,
)


# -------------------------------------------------------------------------------------- assets
@store_asset(
    NEO4J,
    code_version="2",
    op_tags=CPU_HEAVY,
    deps=["neo4j_import_files"],
    description=(
        "Builds the graph offline: when the local server's database holds nothing tv5 does not write (empty, "
        "or tv5's own graph, whose SIMILAR_TO edges are carried over) and neo4j_import_files was written in "
        "this run, stops the server, runs `neo4j-admin database import full` over those files, and starts it "
        "again; the online assets of the run then skip. Does nothing otherwise (other labels or relationship "
        "types in the database, a graph under `min_graph_size` nodes and relationships, TV5_NEO4J_URI, "
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
            "carried_similar_to": outcome.carried_similar_to,
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
) -> tuple[bulk_import.LocalServer | None, str]:
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
    with open_graph(neo4j, "looking for data tv5 does not write") as driver:
        foreign = bulk_import.foreign_content(driver, neo4j.database)
    if foreign:
        return None, f"the database holds data tv5 does not write ({', '.join(foreign)}); the import would replace it"
    return service, ""


@store_asset(
    NEO4J,
    code_version="1",
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
    code_version="1",
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
    written = written_by_bulk_import(context, neo4j, movies="Movie", genres="Genre", has_genre="HAS_GENRE")
    if written is not None:
        return written
    started = time.perf_counter()
    with open_graph(neo4j, "loading movies and genres") as driver:
        movie_stats, genres, has_genre = graph_parts.load_movies(
            driver, neo4j.database, movies, config.batch_size, config.writers, progress(context, "movies")
        )
    warn_skipped(context, has_genre, "the movie or genre node is missing")
    return dg.MaterializeResult(
        metadata={
            "movies": movie_stats.written,
            "genres": genres.written,
            "has_genre": has_genre.written,
            **stats_metadata(movie_stats, genres, has_genre),
            **common_metadata(neo4j, started, movie_stats.written + genres.written + has_genre.written),
        }
    )


@store_asset(
    NEO4J,
    code_version="1",
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
    written = written_by_bulk_import(context, neo4j, tags="Tag", has_tag="HAS_TAG")
    if written is not None:
        return written
    started = time.perf_counter()
    with open_graph(neo4j, "loading genome tags") as driver:
        tags, has_tag = graph_parts.load_movie_tags(
            driver,
            neo4j.database,
            genome_tags,
            movie_genome,
            config.batch_size,
            config.writers,
            progress(context, "HAS_TAG"),
        )
    warn_skipped(context, has_tag, "the movie or tag node is missing")
    return dg.MaterializeResult(
        metadata={
            "tags": tags.written,
            "has_tag": has_tag.written,
            **stats_metadata(tags, has_tag),
            **common_metadata(neo4j, started, tags.written + has_tag.written),
        }
    )


@store_asset(
    NEO4J,
    code_version="1",
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
    written = written_by_bulk_import(context, neo4j, users="User")
    if written is not None:
        return written
    started = time.perf_counter()
    with open_graph(neo4j, "loading users") as driver:
        (users,) = graph_parts.load_users(
            driver, neo4j.database, user_profiles, config.batch_size, progress(context, "User nodes")
        )
    return dg.MaterializeResult(
        metadata={"users": users.written, **stats_metadata(users), **common_metadata(neo4j, started, users.written)}
    )


@store_asset(
    NEO4J,
    code_version="1",
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
    written = written_by_bulk_import(context, neo4j, rated="RATED") if users is None else None
    if written is not None:
        return written
    if users is not None:  # one partition: its users' ratings, and a prune limited to its range
        ratings = ratings.filter(users.contains_expr())
        context.log.info(f"RATED, partition {context.partition_key}: {users.describe()}")
    started = time.perf_counter()
    with open_graph(neo4j, "loading ratings") as driver:
        (rated,) = graph_parts.load_ratings(
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
    warn_skipped(context, rated, "the user or movie node is missing (load neo4j_users and neo4j_movies first)")
    return dg.MaterializeResult(
        metadata={
            "rated": rated.written,
            "rated_relationships_per_second": round(rated.per_second, 1),
            **stats_metadata(rated),
            **common_metadata(neo4j, started, rated.written),
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
    code_version="1",
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
    # Always online: the bulk import leaves SIMILAR_TO out so that it need not wait for the embeddings.
    started = time.perf_counter()
    threshold = _similarity_threshold(context, config.min_score)
    with open_graph(neo4j, "loading similar movies") as driver:
        (similar,) = graph_parts.load_similarity(
            driver,
            neo4j.database,
            similar_movies,
            config.min_score,
            config.batch_size,
            config.writers,
            progress(context, "SIMILAR_TO"),
        )
    loaded = similar_movies.filter(pl.col("score") >= config.min_score)["score"]
    warn_skipped(context, similar, "a movie node is missing")
    return dg.MaterializeResult(
        metadata={
            "similar_to": similar.written,
            "score_threshold": threshold,
            "min_score": config.min_score,
            **({"lowest_score_loaded": float(loaded.min())} if loaded.len() else {}),
            **stats_metadata(similar),
            **common_metadata(neo4j, started, similar.written),
        }
    )


@store_asset(
    NEO4J,
    code_version="1",
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
    written = written_by_bulk_import(context, neo4j, platforms="Platform", available_on="AVAILABLE_ON")
    if written is not None:
        return written
    started = time.perf_counter()
    with open_graph(neo4j, "loading platforms") as driver:
        platforms, available = graph_parts.load_platforms(
            driver,
            neo4j.database,
            platform_availability,
            config.batch_size,
            config.writers,
            progress(context, "AVAILABLE_ON"),
        )
    warn_skipped(context, available, "the movie or platform node is missing")
    return dg.MaterializeResult(
        metadata={
            "platforms": platforms.written,
            "available_on": available.written,
            **stats_metadata(platforms, available),
            **common_metadata(neo4j, started, platforms.written + available.written),
        }
    )


@dg.asset(  # files, not a store load: no pool, no retries
    code_version="1",
    group_name=NEO4J.group,
    kinds={"neo4j", "csv"},
    owners=OWNERS,
    op_tags=CPU_HEAVY,
    automation_condition=STORE_LOAD_AUTOMATION,  # the first step of the Neo4j loads, which follow upstream
    description=(
        "The graph but SIMILAR_TO (loaded online by neo4j_similarity, so that the import need not wait for the "
        "embeddings) as `neo4j-admin database import full` CSV files (ID spaces for movies and users, "
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
