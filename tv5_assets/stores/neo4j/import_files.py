"""The graph as `neo4j-admin database import full` CSV files: the offline bulk path.

Online loading replaces a live graph transaction by transaction; for building a *fresh* database
at full scale Neo4j's importer is far faster (it writes the store files directly). This module
writes one CSV per node label and relationship type, with import headers:

    movies.csv        media_id:ID(Movie),movie_id:long,title,display_title,year:int,genres:string[]
    genres.csv        name:ID(Genre)
    users.csv         user_id:ID(User),archetype,country
    tags.csv          :ID(Tag),tag_id:long,name
    platforms.csv     platform_id:ID(Platform),name,type
    has_genre.csv     :START_ID(Movie),:END_ID(Genre)
    rated.csv         :START_ID(User),:END_ID(Movie),score:double,timestamp:long
    has_tag.csv       :START_ID(Movie),:END_ID(Tag),relevance:double
    available_on.csv  :START_ID(Movie),:END_ID(Platform),region,quality:string[],availability_type,subtitles:string[]

Labels and relationship types come from the command line (`--nodes=Movie=...`), arrays use `;`.
Named ID columns are stored as properties (media_id, user_id, ...), exactly as the online load
writes them; tag ids are integers online, so the Tag ID column is anonymous and `tag_id:long`
carries the property. One difference: a movie without genres gets no `genres` property here (the
importer skips empty fields) where the online load stores an empty list.
After an import, materialize `neo4j_constraints` (the importer creates no constraints).

SIMILAR_TO is not in the files: it comes from the movie embeddings, the slowest step of the graph,
and `neo4j_similarity` loads it online after the import (a few seconds at full scale). Leaving it
out lets the files and the import start as soon as the parsed tables exist, beside the encoder.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ... import atomic
from ...schemas.movielens import media_id_expr, user_key_expr
from . import model

ARRAY_DELIMITER = ";"
# The replaced graph's SIMILAR_TO edges, written beside the folder by the bulk import (bulk_import.py).
CARRIED_SIMILAR_TO = "carried-similar-to.csv"
NODE_FILES = {
    "Movie": "movies.csv",
    "Genre": "genres.csv",
    "User": "users.csv",
    "Tag": "tags.csv",
    "Platform": "platforms.csv",
}
REL_FILES = {
    "HAS_GENRE": "has_genre.csv",
    "RATED": "rated.csv",
    "HAS_TAG": "has_tag.csv",
    "AVAILABLE_ON": "available_on.csv",
}


@dataclass
class ImportFiles:
    folder: Path
    command: str
    files: dict[str, dict[str, int]] = field(default_factory=dict)  # file -> {rows, bytes}
    nodes: int = 0
    relationships: int = 0
    bytes: int = 0
    seconds: float = 0.0


def _joined(column: str) -> pl.Expr:
    return pl.col(column).list.join(ARRAY_DELIMITER)


def admin_arguments(folder: Path, database: str = "neo4j") -> list[str]:
    """`neo4j-admin` arguments (after the program name) that import `folder` into `database`."""
    args = [
        "database",
        "import",
        "full",
        database,
        "--overwrite-destination=true",
        f"--array-delimiter={ARRAY_DELIMITER}",
    ]
    args += [f"--nodes={label}={folder / name}" for label, name in NODE_FILES.items()]
    args += [f"--relationships={rel}={folder / name}" for rel, name in REL_FILES.items()]
    return args


def documented_command(folder: Path, database: str = "neo4j") -> str:
    """The shell command for a Neo4j install, and its equivalent for the tv5 local server."""
    arguments = [shlex.quote(a) for a in admin_arguments(folder, database)]
    args = " ".join(arguments[:4]) + " \\\n  " + " \\\n  ".join(arguments[4:])
    return (
        "# Stop the server first (the database must not be in use), then:\n"
        f"neo4j-admin {args}\n"
        "# With tv5's local server (tv5 services down --only neo4j first), from the repository root:\n"
        "#   NEO4J_HOME=$TV5_DATA_DIR/services/neo4j/home java -cp 'deploy/neo4j/lib/*' "
        "org.neo4j.cli.AdminTool <the same arguments>\n"
        "# Then start the server and materialize neo4j_constraints, then neo4j_similarity (SIMILAR_TO)."
    )


def write_import_files(
    folder: Path,
    *,
    movies: pl.DataFrame,
    genome_tags: pl.DataFrame,
    movie_genome: pl.DataFrame,
    user_profiles: pl.DataFrame,
    ratings: pl.LazyFrame | pl.DataFrame,
    platform_availability: pl.DataFrame,
    log: Callable[[str], None] = print,
) -> ImportFiles:
    """Write every file into a fresh folder beside `folder`, then swap it in (readers never see half)."""
    started = time.perf_counter()
    folder = Path(folder)
    result = ImportFiles(folder=folder, command=documented_command(folder))
    with atomic.replacing(folder, folder=True) as tmp:
        frames = _import_frames(
            movies,
            genome_tags,
            movie_genome,
            user_profiles,
            platform_availability,
        )
        for name, frame in frames.items():
            frame.write_csv(tmp / name)
            result.files[name] = {"rows": frame.height, "bytes": (tmp / name).stat().st_size}
        result.files["rated.csv"] = _write_rated(tmp / "rated.csv", ratings, log)
        (tmp / "import.sh").write_text(
            "#!/bin/sh\n# Written by the neo4j_import_files asset.\n"
            + result.command.replace(str(tmp), str(folder))
            + "\n"
        )
    node_files = set(NODE_FILES.values())
    result.nodes = sum(v["rows"] for k, v in result.files.items() if k in node_files)
    result.relationships = sum(v["rows"] for k, v in result.files.items() if k not in node_files)
    result.bytes = sum(v["bytes"] for v in result.files.values())
    result.seconds = time.perf_counter() - started
    log(
        f"neo4j import files: {result.nodes:,} nodes and {result.relationships:,} relationships "
        f"({result.bytes / 1e6:.0f} MB) in {result.seconds:.1f} s under {folder}"
    )
    return result


def _import_frames(
    movies: pl.DataFrame,
    genome_tags: pl.DataFrame,
    movie_genome: pl.DataFrame,
    user_profiles: pl.DataFrame,
    platform_availability: pl.DataFrame,
) -> dict[str, pl.DataFrame]:
    """Every file but rated.csv, by name, with the importer's column headers."""
    return {
        "movies.csv": model.movie_nodes(movies)
        .with_columns(_joined("genres"))
        .rename(
            {
                "media_id": "media_id:ID(Movie)",
                "movie_id": "movie_id:long",
                "year": "year:int",
                "genres": "genres:string[]",
            }
        ),
        "genres.csv": model.genre_nodes(movies).rename({"name": "name:ID(Genre)"}),
        "users.csv": model.user_nodes(user_profiles).rename({"user_id": "user_id:ID(User)"}),
        "tags.csv": model.tag_nodes(genome_tags).select(
            pl.col("tag_id").alias(":ID(Tag)"), pl.col("tag_id").alias("tag_id:long"), "name"
        ),
        "platforms.csv": model.platform_nodes(platform_availability).rename(
            {"platform_id": "platform_id:ID(Platform)"}
        ),
        "has_genre.csv": model.has_genre_rels(movies).rename(
            {"media_id": ":START_ID(Movie)", "genre": ":END_ID(Genre)"}
        ),
        "has_tag.csv": model.has_tag_rels(movie_genome).rename(
            {"media_id": ":START_ID(Movie)", "tag_id": ":END_ID(Tag)", "relevance": "relevance:double"}
        ),
        "available_on.csv": model.available_on_rels(platform_availability)
        .with_columns(_joined("quality"), _joined("subtitles"))
        .rename(
            {
                "media_id": ":START_ID(Movie)",
                "platform_id": ":END_ID(Platform)",
                "quality": "quality:string[]",
                "subtitles": "subtitles:string[]",
            }
        ),
    }


def _write_rated(path: Path, ratings: pl.LazyFrame | pl.DataFrame, log: Callable[[str], None]) -> dict[str, int]:
    """Ratings stream from Parquet to CSV without being collected (25M rows at full scale)."""
    started = time.perf_counter()
    lazy = ratings.lazy() if isinstance(ratings, pl.DataFrame) else ratings
    lazy.select(
        user_key_expr().alias(":START_ID(User)"),
        media_id_expr().alias(":END_ID(Movie)"),
        pl.col("rating").cast(pl.Float64).alias("score:double"),
        pl.col("timestamp").dt.epoch("s").alias("timestamp:long"),
    ).sink_csv(path)
    rows = lazy.select(pl.len()).collect().item()
    log(f"neo4j import files: rated.csv {rows:,} rows in {time.perf_counter() - started:.1f} s")
    return {"rows": rows, "bytes": path.stat().st_size}
