"""The knowledge graph's model, and the polars frames each node label and relationship type is
loaded from (pure functions of the upstream tables, so they are testable without a server).

Nodes (key property first; every key has a uniqueness constraint):
    (:Movie    {media_id, movie_id, title, display_title, year, genres})
    (:Genre    {name})
    (:User     {user_id, archetype, country})            user_id = user_{userId:08d}
    (:Tag      {tag_id, name})                           the genome tags
    (:Platform {platform_id, name, type})
Relationships:
    (:Movie)-[:HAS_GENRE]->(:Genre)
    (:User)-[:RATED {score, timestamp}]->(:Movie)        timestamp: epoch seconds (UTC), as in MovieLens
    (:Movie)-[:HAS_TAG {relevance}]->(:Tag)              genome relevance above movie_genome's threshold
    (:Movie)-[:SIMILAR_TO {score, rank}]->(:Movie)       from similar_movies
    (:Movie)-[:AVAILABLE_ON {region, quality, availability_type, subtitles}]->(:Platform)

Every relationship frame is sorted by its source key, so batches can be cut on source boundaries:
a batch replaces all of a source node's relationships of that type in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ...schemas.movielens import media_id_expr, user_key_expr


@dataclass(frozen=True)
class NodeSpec:
    label: str
    key: str  # property and frame column


@dataclass(frozen=True)
class RelSpec:
    type: str
    source: NodeSpec
    target: NodeSpec
    source_column: str  # frame column holding the source key
    target_column: str  # frame column holding the target key
    properties: tuple[str, ...]  # frame columns written as relationship properties (same names)


MOVIE = NodeSpec("Movie", "media_id")
GENRE = NodeSpec("Genre", "name")
USER = NodeSpec("User", "user_id")
TAG = NodeSpec("Tag", "tag_id")
PLATFORM = NodeSpec("Platform", "platform_id")
NODES: tuple[NodeSpec, ...] = (MOVIE, GENRE, USER, TAG, PLATFORM)

HAS_GENRE = RelSpec("HAS_GENRE", MOVIE, GENRE, "media_id", "genre", ())
RATED = RelSpec("RATED", USER, MOVIE, "user_id", "media_id", ("score", "timestamp"))
HAS_TAG = RelSpec("HAS_TAG", MOVIE, TAG, "media_id", "tag_id", ("relevance",))
SIMILAR_TO = RelSpec("SIMILAR_TO", MOVIE, MOVIE, "media_id", "similar_media_id", ("score", "rank"))
AVAILABLE_ON = RelSpec(
    "AVAILABLE_ON", MOVIE, PLATFORM, "media_id", "platform_id", ("region", "quality", "availability_type", "subtitles")
)
RELATIONSHIPS: tuple[RelSpec, ...] = (HAS_GENRE, RATED, HAS_TAG, SIMILAR_TO, AVAILABLE_ON)


def constraint_name(node: NodeSpec) -> str:
    return f"tv5_{node.label.lower()}_{node.key}_unique"


# ------------------------------------------------------------------------------------- nodes
def movie_nodes(movies: pl.DataFrame) -> pl.DataFrame:
    return movies.select(
        pl.col("media_id"),
        pl.col("movie_id").cast(pl.Int64),
        pl.col("title"),
        pl.col("display_title"),
        pl.col("year").cast(pl.Int64),
        pl.col("genres"),
    ).sort("media_id")


def genre_nodes(movies: pl.DataFrame) -> pl.DataFrame:
    return movies.select(pl.col("genres").explode().alias("name")).drop_nulls().unique().sort("name")


def has_genre_rels(movies: pl.DataFrame) -> pl.DataFrame:
    return (
        movies.select("media_id", pl.col("genres").alias("genre"))
        .explode("genre")
        .drop_nulls("genre")
        .unique()
        .sort("media_id", "genre")
    )


def tag_nodes(genome_tags: pl.DataFrame) -> pl.DataFrame:
    return genome_tags.select(pl.col("tag_id").cast(pl.Int64), pl.col("tag").alias("name")).sort("tag_id")


def has_tag_rels(movie_genome: pl.DataFrame) -> pl.DataFrame:
    """One row per (movie, genome tag) kept by movie_genome's relevance threshold."""
    return (
        movie_genome.select(media_id_expr().alias("media_id"), "tag_ids", "relevances")
        .explode("tag_ids", "relevances")
        .drop_nulls("tag_ids")
        .select(
            "media_id",
            pl.col("tag_ids").cast(pl.Int64).alias("tag_id"),
            pl.col("relevances").cast(pl.Float64).alias("relevance"),
        )
        .unique(["media_id", "tag_id"], keep="first")
        .sort("media_id", "tag_id")
    )


def user_nodes(user_profiles: pl.DataFrame) -> pl.DataFrame:
    return user_profiles.select(pl.col("user_key").alias("user_id"), "archetype", "country").sort("user_id")


def platform_nodes(platform_availability: pl.DataFrame) -> pl.DataFrame:
    """Platforms that carry at least one movie; `type` is the platform's availability type."""
    return (
        platform_availability.group_by("platform_id")
        .agg(
            pl.col("platform_name").first().alias("name"),
            pl.col("availability_type").mode().sort().first().alias("type"),
        )
        .sort("platform_id")
    )


# ----------------------------------------------------------------------------- relationships
def rated_rels(ratings: pl.LazyFrame | pl.DataFrame) -> pl.DataFrame:
    """Ratings as (user_id key, media_id, score, timestamp epoch seconds), sorted by user.

    One edge per (user, movie): MovieLens has one rating per pair; should a release repeat one,
    the latest rating wins so the graph never holds parallel RATED edges.
    """
    frame = ratings.lazy() if isinstance(ratings, pl.DataFrame) else ratings
    return (
        frame.select(
            "user_id",
            "movie_id",
            pl.col("rating").cast(pl.Float64).alias("score"),
            pl.col("timestamp").dt.epoch("s").alias("timestamp"),
        )
        .sort("user_id", "movie_id", "timestamp")
        .unique(["user_id", "movie_id"], keep="last", maintain_order=True)
        .select(
            user_key_expr().alias("user_id"),
            media_id_expr().alias("media_id"),
            "score",
            "timestamp",
        )
        .collect()
    )


def similar_to_rels(similar_movies: pl.DataFrame, min_score: float = 0.0) -> pl.DataFrame:
    return (
        similar_movies.filter(pl.col("score") >= min_score)
        .select(
            media_id_expr("movie_id").alias("media_id"),
            media_id_expr("similar_movie_id").alias("similar_media_id"),
            pl.col("score").cast(pl.Float64),
            pl.col("rank").cast(pl.Int64),
        )
        .unique(["media_id", "similar_media_id"], keep="first")
        .sort("media_id", "similar_media_id")
    )


def available_on_rels(platform_availability: pl.DataFrame) -> pl.DataFrame:
    return (
        platform_availability.select("media_id", "platform_id", "region", "quality", "availability_type", "subtitles")
        .unique(["media_id", "platform_id"], keep="first")
        .sort("media_id", "platform_id")
    )


# ----------------------------------------------------------------------------------- batching
def batch_bounds(keys: pl.Series, batch_size: int) -> list[tuple[int, int]]:
    """(offset, length) slices of about `batch_size` rows that never split a run of equal keys.

    `keys` must be sorted (grouped). A run is never split: a batch grows past `batch_size` to hold
    the run it starts, so one source node's relationships are always replaced in one transaction.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n = keys.len()
    if n == 0:
        return []
    runs = keys.rle()  # struct{len, value} in order
    lengths = runs.struct.field("len").cast(pl.Int64)
    starts = lengths.cum_sum() - lengths
    batch_of_run = starts // batch_size
    grouped = (
        pl.DataFrame({"batch": batch_of_run, "start": starts, "len": lengths})
        .group_by("batch", maintain_order=True)
        .agg(pl.col("start").first(), pl.col("len").sum())
    )
    return list(zip(grouped["start"].to_list(), grouped["len"].to_list(), strict=True))


def cypher_name(name: str) -> str:
    """A label or relationship type read from the server (db.labels()), as a quoted Cypher name:
    labels cannot be parameters, so it is backtick-quoted with its own backticks doubled."""
    return "`" + name.replace("`", "``") + "`"
