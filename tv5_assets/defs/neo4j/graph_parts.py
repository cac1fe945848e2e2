"""The graph, part by part: one function per asset, so the assets, the tests and the benchmark load
the graph the same way (no Dagster here). Which tables make which nodes and relationships comes
from model.py; how each is written (batched, idempotent) from loader.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import polars as pl

from ...stores.neo4j import model
from ...stores.neo4j.loader import (
    BatchHook,
    KeyRange,
    LoadStats,
    RelationshipLoad,
    create_constraints,
    replace_relationships,
    upsert_nodes,
)

if TYPE_CHECKING:
    import neo4j


def load_movies(
    driver: neo4j.Driver,
    database: str,
    movies: pl.DataFrame,
    batch_size: int = 20_000,
    writers: int = 1,
    on_batch: BatchHook | None = None,
) -> list[LoadStats]:
    genres = upsert_nodes(driver, database, model.GENRE, model.genre_nodes(movies), batch_size)
    movie_nodes = upsert_nodes(driver, database, model.MOVIE, model.movie_nodes(movies), batch_size, on_batch)
    has_genre = replace_relationships(
        driver, database, model.HAS_GENRE, model.has_genre_rels(movies), batch_size, writers, on_batch
    )
    return [movie_nodes, genres, has_genre]


def load_movie_tags(
    driver: neo4j.Driver,
    database: str,
    genome_tags: pl.DataFrame,
    movie_genome: pl.DataFrame,
    batch_size: int = 20_000,
    writers: int = 1,
    on_batch: BatchHook | None = None,
) -> list[LoadStats]:
    tags = upsert_nodes(driver, database, model.TAG, model.tag_nodes(genome_tags), batch_size)
    has_tag = replace_relationships(
        driver, database, model.HAS_TAG, model.has_tag_rels(movie_genome), batch_size, writers, on_batch
    )
    return [tags, has_tag]


def load_users(
    driver: neo4j.Driver,
    database: str,
    user_profiles: pl.DataFrame,
    batch_size: int = 20_000,
    on_batch: BatchHook | None = None,
) -> list[LoadStats]:
    return [upsert_nodes(driver, database, model.USER, model.user_nodes(user_profiles), batch_size, on_batch)]


def user_chunks(ratings: pl.LazyFrame, chunk_rows: int) -> list[tuple[int, int]]:
    """Inclusive user_id ranges of about `chunk_rows` ratings each (whole users per chunk)."""
    per_user = ratings.group_by("user_id").agg(pl.len().alias("n")).sort("user_id").collect()
    if per_user.height == 0:
        return []
    starts = per_user["n"].cum_sum() - per_user["n"]
    ranges = (
        per_user.with_columns((starts // chunk_rows).alias("chunk"))
        .group_by("chunk", maintain_order=True)
        .agg(pl.col("user_id").min().alias("lo"), pl.col("user_id").max().alias("hi"))
    )
    return list(zip(ranges["lo"].to_list(), ranges["hi"].to_list(), strict=True))


def load_ratings(
    driver: neo4j.Driver,
    database: str,
    ratings: pl.LazyFrame | pl.DataFrame,
    batch_size: int = 20_000,
    writers: int = 1,
    on_batch: BatchHook | None = None,
    chunk_rows: int = 2_000_000,
    log: Callable[[str], None] | None = None,
    key_range: KeyRange | None = None,
) -> list[LoadStats]:
    """RATED edges, streaming whole users from `ratings` in chunks of about `chunk_rows`.

    With `key_range` (a user-range partition; `ratings` holds only its users) the final prune
    touches only users in that range, so the other partitions' edges stay as they are."""
    lazy = ratings.lazy() if isinstance(ratings, pl.DataFrame) else ratings
    chunks = user_chunks(lazy, chunk_rows)
    total = lazy.select(pl.len()).collect().item()
    if log:
        log(f"RATED: {total:,} ratings in {len(chunks)} chunk(s) of whole users")
    load = RelationshipLoad(driver, database, model.RATED, pl.String, pl.String)
    for lo, hi in chunks:
        frame = model.rated_rels(lazy.filter(pl.col("user_id").is_between(lo, hi)))
        before = load.stats.rows

        def hook(batch: int, done: int, _total: int, before: int = before) -> None:
            if on_batch:
                on_batch(batch, before + done, total)

        load.write(frame, batch_size, writers, hook)
        del frame
    return [load.prune(key_range)]


def load_similarity(
    driver: neo4j.Driver,
    database: str,
    similar_movies: pl.DataFrame,
    min_score: float = 0.0,
    batch_size: int = 20_000,
    writers: int = 1,
    on_batch: BatchHook | None = None,
) -> list[LoadStats]:
    frame = model.similar_to_rels(similar_movies, min_score)
    return [replace_relationships(driver, database, model.SIMILAR_TO, frame, batch_size, writers, on_batch)]


def load_platforms(
    driver: neo4j.Driver,
    database: str,
    platform_availability: pl.DataFrame,
    batch_size: int = 20_000,
    writers: int = 1,
    on_batch: BatchHook | None = None,
) -> list[LoadStats]:
    platforms = upsert_nodes(driver, database, model.PLATFORM, model.platform_nodes(platform_availability), batch_size)
    available = replace_relationships(
        driver,
        database,
        model.AVAILABLE_ON,
        model.available_on_rels(platform_availability),
        batch_size,
        writers,
        on_batch,
    )
    return [platforms, available]


def load_graph(
    driver: neo4j.Driver,
    database: str,
    frames: dict[str, pl.DataFrame | pl.LazyFrame],
    batch_size: int = 20_000,
    writers: int = 1,
    on_batch: BatchHook | None = None,
) -> list[LoadStats]:
    """Constraints and every part, in the assets' order (tests and benchmarks)."""
    create_constraints(driver, database)
    return [
        *load_movies(driver, database, frames["movies"], batch_size, writers, on_batch),
        *load_movie_tags(
            driver, database, frames["genome_tags"], frames["movie_genome"], batch_size, writers, on_batch
        ),
        *load_users(driver, database, frames["user_profiles"], batch_size, on_batch),
        *load_ratings(driver, database, frames["ratings"], batch_size, writers, on_batch),
        *load_similarity(driver, database, frames["similar_movies"], 0.0, batch_size, writers, on_batch),
        *load_platforms(driver, database, frames["platform_availability"], batch_size, writers, on_batch),
    ]
