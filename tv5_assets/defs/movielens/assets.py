"""Group `movielens`: a GroupLens release folder parsed into typed tables (schemas.py).

Each file becomes one asset plus a `<asset>_rejects` table (a second output of the same step, so it
always describes the latest run). A bad row fails the asset with file, line and rule
(`BadInputError`) unless the asset's config sets `quarantine: true`: then bad rows go to the rejects
table, their count goes to metadata, and the `no_rejected_rows` check warns. Nothing is dropped
silently. Before parsing, each reader checks the folder against the official GroupLens release it
holds (movielens_releases.py, docs/releases.md): a cut or altered file fails there, not as a smaller
release. Parsing itself lives in parsing.py (the MovieLens files) and csv_reader.py (the validator); this module wires files, config and metadata.
"""

# No `from __future__ import annotations` here: Dagster reads Config and input types from the
# live annotations, and a string annotation makes it reject the config class.
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dagster as dg
import polars as pl
from pydantic import Field

from ... import movielens_releases, settings
from ...conventions import CPU_HEAVY, OWNERS
from ...errors import MissingInputError
from ...io_managers import markdown_preview, table_schema
from ...schemas import movielens as schemas
from . import csv_reader, parsing
from .csv_spec import FileSpec

GROUP = "movielens"
KINDS = {"polars", "parquet"}
GROUPLENS_URL = "https://grouplens.org/datasets/movielens/"

COLUMN_DESCRIPTIONS: dict[str, str] = {
    "movie_id": "MovieLens movieId",
    "user_id": "MovieLens userId",
    "media_id": "platform-wide media id, ml_{movieId}",
    "internal_id": "media_{movieId:08d}",
    "title": "title without the year, spaces normalised, moved article kept as written",
    "display_title": "title with a moved article put back in front",
    "alt_title": "parenthesised alternate title, article restored; null if none",
    "year": "first release year; null when the title has none",
    "genres": "genres as listed; empty for (no genres listed)",
    "imdb_id": "IMDb id, zero-padded as in links.csv; null without a link row",
    "tmdb_id": "TMDB id; null when blank",
    "language": "default 'en' (MovieLens has no language)",
    "country": "default 'US' (MovieLens has no country)",
    "raw_title": "title field exactly as in movies.csv",
    "rating": "half stars 0.5..5.0",
    "timestamp": "UTC time of the rating or tag",
    "time_of_day": "part of day from the UTC hour: morning 05-11, afternoon 12-16, evening 17-20, night 21-23, late_night 00-04",
    "tag": "tag text exactly as in the file (mojibake and trailing spaces kept)",
    "tag_normalized": "NFC, whitespace collapsed, trimmed, lower-cased",
    "tag_id": "genome tagId",
    "relevance": "genome relevance in [0, 1]",
    "tag_ids": "genome tags above the threshold, most relevant first",
    "tags": "their tag texts, same order",
    "relevances": "their relevances, same order",
    "line": "1-based line in the source file (header = 1)",
    "rule": "the first rule the row breaks",
    "value": "the offending field text (whole record for shape errors)",
    "raw": "the record as written",
}


def column_schema(schema: pl.Schema) -> dg.TableSchema:
    return table_schema(schema, COLUMN_DESCRIPTIONS)


class IngestConfig(dg.Config):
    quarantine: bool = Field(
        default=False,
        description="Move bad rows to the <asset>_rejects table (and warn) instead of failing on the first one.",
    )
    verify_release: bool = Field(
        default=True,
        description=(
            "Before parsing, check the folder against the official GroupLens release its files belong to "
            "(published sizes and sha256, docs/releases.md) and fail on a cut or altered file. false (or "
            "TV5_VERIFY_RELEASE=0) skips the check; a folder that matches no release is accepted either way."
        ),
    )


class MovieGenomeConfig(dg.Config):
    relevance_threshold: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Keep a movie's genome tags with relevance strictly above this."
    )


# ----------------------------------------------------------------------------------------- files


def release_dir() -> Path:
    folder = settings.movielens_dir()
    if not folder.is_dir():
        raise MissingInputError(
            f"MovieLens folder {folder} does not exist. Download a GroupLens release ({GROUPLENS_URL}, "
            f"e.g. ml-25m or ml-latest-small) and unzip it there, or generate one with "
            f"`tv5 sample --scale 0.01 --out <dir>`; then set TV5_MOVIELENS_DIR=<dir>."
        )
    return folder


def source_file(spec: FileSpec) -> Path | None:
    """The file's path; None for a missing optional (genome) file; MissingInputError otherwise."""
    path = release_dir() / spec.file_name
    if path.is_file():
        return path
    if spec.optional:
        return None
    raise MissingInputError(
        f"{path} not found: a GroupLens release folder holds movies.csv, ratings.csv, tags.csv and "
        f"links.csv. Download a release ({GROUPLENS_URL}) or generate one with "
        f"`tv5 sample --scale 0.01 --out <dir>`, and set TV5_MOVIELENS_DIR=<dir> (now {path.parent})."
    )


def source_asset_key(spec: FileSpec) -> dg.AssetKey:
    """The observable source asset of a GroupLens file (sources.py): `genome-tags.csv` -> `genome_tags_csv`."""
    return dg.AssetKey(spec.file_name.removesuffix(".csv").replace("-", "_") + "_csv")


def genome_files() -> tuple[Path | None, Path | None]:
    """(genome-tags.csv, genome-scores.csv): both or neither, since one is useless without the other."""
    tags, scores = source_file(parsing.GENOME_TAGS_FILE), source_file(parsing.GENOME_SCORES_FILE)
    if (tags is None) != (scores is None):
        present, missing = (tags, "genome-scores.csv") if tags else (scores, "genome-tags.csv")
        raise MissingInputError(
            f"{present} is present but {missing} is missing in {present.parent}: a tag genome needs both "
            "files. Restore the missing one from the same GroupLens release, or remove both to ingest "
            "the release without a genome."
        )
    return tags, scores


def check_release(context: dg.AssetExecutionContext, config: IngestConfig) -> movielens_releases.ReleaseCheck:
    """The folder against its GroupLens release, before any parsing (movielens_releases.py). Every reader
    runs it, so a subset run is checked too; after the first step of a run it costs a stat per file
    (sha256 cached in $TV5_DATA_DIR/cache). A cut or altered file raises ReleaseMismatchError."""
    release = movielens_releases.check_release(release_dir(), verify=config.verify_release)
    context.log.info(f"MovieLens release check: {release.note}")
    return release


NO_GENOME_NOTE = (
    "No genome files (genome-tags.csv, genome-scores.csv) in this release (ml-latest-small and "
    "ml-32m have none): the genome tables are empty, with their full schema."
)

# ----------------------------------------------------------------------------------------- ingest


def _outs(name: str, description: str, schema: pl.Schema) -> dict[str, dg.AssetOut]:
    return {
        name: dg.AssetOut(
            description=description,
            is_required=False,  # the step can be subset; it emits what was selected
            kinds=KINDS,
            owners=OWNERS,
            metadata={"dagster/column_schema": column_schema(schema)},
        ),
        f"{name}_rejects": dg.AssetOut(
            description=(
                f"Rows of the {name} source file set aside by a `quarantine: true` run (line, rule, value, raw). "
                "Empty after a strict run, which fails on the first bad row instead."
            ),
            is_required=False,
            kinds=KINDS,
            owners=OWNERS,
            metadata={"dagster/column_schema": column_schema(schemas.REJECTS)},
        ),
    }


def _rejects_check(name: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        "no_rejected_rows",
        asset=name,
        description=f"Warns when a quarantine run set rows of the {name} file aside (see {name}_rejects).",
    )


def _file_asset(name: str, description: str, schema: pl.Schema, *, code_version: str, **kwargs) -> Callable:
    """`dg.multi_asset` of one source file: the table and its rejects (both optional outputs, so the
    step can be subset), the no_rejected_rows check, in the movielens group. `code_version` is the
    table's and its rejects'. `kwargs`: ins, op_tags, deps (the file's source asset, sources.py)."""
    return dg.multi_asset(
        outs=_outs(name, description, schema),
        code_version=code_version,
        group_name=GROUP,
        can_subset=True,
        check_specs=[_rejects_check(name)],
        **kwargs,
    )


def _ingest(
    context: dg.AssetExecutionContext,
    name: str,
    spec: FileSpec,
    config: IngestConfig,
    build: Callable[[pl.DataFrame], pl.DataFrame],
    references: dict[str, pl.Series] | None = None,
    extra_metadata: Callable[[pl.DataFrame], dict] | None = None,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """Read one file by `spec`, fail or quarantine bad rows, emit the table, its rejects and the check."""
    release = check_release(context, config)
    started = time.perf_counter()
    path = source_file(spec)
    if path is None:  # an optional (genome) file absent from this release
        frame, rejects, method = build(pl.DataFrame(schema=spec.read_schema)), schemas.REJECTS.to_frame(), "absent"
    else:
        parsed = csv_reader.read_file(path, spec, references)
        if not config.quarantine:
            parsed.raise_if_rejected()
        frame, rejects, method = build(parsed.frame), parsed.rejects, parsed.method
    seconds = time.perf_counter() - started
    metadata = {
        "source": dg.MetadataValue.path(str(path or release_dir() / spec.file_name)),
        "read_method": method,
        "rejected_rows": rejects.height,
        "quarantine": config.quarantine,
        # read + validate + build, before the IO manager writes Parquet (the benchmark times both)
        "parse_seconds": round(seconds, 3),
        "parse_rows_per_second": round(frame.height / seconds) if seconds > 0 else 0,
        **(extra_metadata(frame) if extra_metadata else {}),
    }
    metadata.update(release.metadata())
    if path is None:
        metadata["note"] = NO_GENOME_NOTE
    # The table's metadata carries the reject count either way.
    metadata.update({k: v for k, v in _rejects_metadata(rejects).items() if k != "rejected_rows"})
    yield from _emit_selected(context, name, spec, frame, rejects, metadata)


def _emit_selected(
    context: dg.AssetExecutionContext,
    name: str,
    spec: FileSpec,
    frame: pl.DataFrame,
    rejects: pl.DataFrame,
    metadata: dict,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The step can be subset (`--select ratings` alone works): emit only what was selected."""
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    if name in selected:
        yield dg.Output(frame, output_name=name, metadata=metadata)
    if f"{name}_rejects" in selected:
        yield dg.Output(rejects, output_name=f"{name}_rejects", metadata=_rejects_metadata(rejects))
    elif rejects.height:
        context.log.warning(
            f"{rejects.height} row(s) were quarantined but {name}_rejects was not selected, so that table "
            f"still holds its previous contents; materialize {name}_rejects with {name} to store them."
        )
    if dg.AssetCheckKey(dg.AssetKey(name), "no_rejected_rows") in context.selected_asset_check_keys:
        yield dg.AssetCheckResult(
            asset_key=name,
            check_name="no_rejected_rows",
            passed=rejects.height == 0,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=_rejects_metadata(rejects),
            description=None
            if rejects.height == 0
            else f"{rejects.height} row(s) of {spec.file_name} were quarantined in {name}_rejects",
        )


def _rejects_metadata(rejects: pl.DataFrame) -> dict:
    by_rule = rejects.group_by("rule").len().sort("len", descending=True)
    return {
        "rejected_rows": rejects.height,
        "rejects_by_rule": dg.MetadataValue.md(markdown_preview(by_rule, rows=20)) if rejects.height else "none",
        "first_rejects": dg.MetadataValue.md(markdown_preview(rejects, rows=10)) if rejects.height else "none",
    }


def _ids(frame: pl.LazyFrame | pl.DataFrame, column: str) -> pl.Series:
    return frame.lazy().select(column).collect()[column]


# ----------------------------------------------------------------------------------------- assets


@_file_asset(
    "links",
    "links.csv: IMDb and TMDB ids per movieId.",
    schemas.LINKS,
    code_version="1",
    deps=[source_asset_key(parsing.LINKS_FILE)],
)
def links(context: dg.AssetExecutionContext, config: IngestConfig):
    yield from _ingest(
        context,
        "links",
        parsing.LINKS_FILE,
        config,
        parsing.build_links,
        extra_metadata=lambda f: {"blank_tmdb_ids": f["tmdb_id"].null_count()},
    )


def _movies_metadata(frame: pl.DataFrame) -> dict:
    stats = frame.select(
        without_year=pl.col("year").null_count(),
        with_alt_title=pl.col("alt_title").is_not_null().sum(),
        article_restored=(pl.col("title") != pl.col("display_title")).sum(),
        no_genres=(pl.col("genres").list.len() == 0).sum(),
        without_link=pl.col("imdb_id").null_count(),
        repeated_titles=pl.col("raw_title").is_duplicated().sum(),
    ).row(0, named=True)
    return {k: int(v) for k, v in stats.items()}


@_file_asset(
    "movies",
    "movies.csv parsed: title without year, display/alternate titles, year, genre list, joined to "
    "links (imdb_id, tmdb_id), with platform ids (media_id, internal_id).",
    schemas.MOVIES,
    code_version="1",
    deps=[source_asset_key(parsing.MOVIES_FILE)],
    ins={"links": dg.AssetIn("links")},
)
def movies(context: dg.AssetExecutionContext, config: IngestConfig, links: pl.DataFrame):
    yield from _ingest(
        context,
        "movies",
        parsing.MOVIES_FILE,
        config,
        lambda f: parsing.build_movies(f, links),
        extra_metadata=_movies_metadata,
    )


@_file_asset(
    "ratings",
    "ratings.csv (25M rows in ml-25m): user, movie, half-star rating, UTC timestamp, part of day.",
    schemas.RATINGS,
    code_version="1",
    deps=[source_asset_key(parsing.RATINGS_FILE)],
    ins={"movies": dg.AssetIn("movies")},
    op_tags=CPU_HEAVY,
)
def ratings(context: dg.AssetExecutionContext, config: IngestConfig, movies: pl.LazyFrame):
    yield from _ingest(
        context,
        "ratings",
        parsing.RATINGS_FILE,
        config,
        parsing.build_ratings,
        references={"movies.csv": _ids(movies, "movie_id")},
        extra_metadata=lambda f: {"users": f["user_id"].n_unique(), "movies_rated": f["movie_id"].n_unique()},
    )


@_file_asset(
    "tags",
    "tags.csv: user tag applications, the raw text unchanged plus a normalised form.",
    schemas.TAGS,
    code_version="1",
    deps=[source_asset_key(parsing.TAGS_FILE)],
    ins={"movies": dg.AssetIn("movies")},
)
def tags(context: dg.AssetExecutionContext, config: IngestConfig, movies: pl.LazyFrame):
    yield from _ingest(
        context,
        "tags",
        parsing.TAGS_FILE,
        config,
        parsing.build_tags,
        references={"movies.csv": _ids(movies, "movie_id")},
        extra_metadata=lambda f: {
            "distinct_tags": f["tag"].n_unique(),
            "distinct_normalized_tags": f["tag_normalized"].n_unique(),
        },
    )


@_file_asset(
    "genome_tags",
    "genome-tags.csv: the tag genome's vocabulary (empty when the release has no genome).",
    schemas.GENOME_TAGS,
    code_version="1",
    deps=[source_asset_key(parsing.GENOME_TAGS_FILE)],
)
def genome_tags(context: dg.AssetExecutionContext, config: IngestConfig):
    genome_files()  # both or neither
    yield from _ingest(context, "genome_tags", parsing.GENOME_TAGS_FILE, config, parsing.build_genome_tags)


@_file_asset(
    "genome_scores",
    "genome-scores.csv: relevance (float32) of every genome tag for every genome movie (empty "
    "when the release has no genome).",
    schemas.GENOME_SCORES,
    code_version="1",
    deps=[source_asset_key(parsing.GENOME_SCORES_FILE)],
    ins={"movies": dg.AssetIn("movies"), "genome_tags": dg.AssetIn("genome_tags")},
    op_tags=CPU_HEAVY,
)
def genome_scores(
    context: dg.AssetExecutionContext, config: IngestConfig, movies: pl.LazyFrame, genome_tags: pl.LazyFrame
):
    genome_files()
    yield from _ingest(
        context,
        "genome_scores",
        parsing.GENOME_SCORES_FILE,
        config,
        parsing.build_genome_scores,
        references={"movies.csv": _ids(movies, "movie_id"), "genome-tags.csv": _ids(genome_tags, "tag_id")},
        extra_metadata=lambda f: {"genome_movies": f["movie_id"].n_unique()},
    )


@dg.asset(
    code_version="1",
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    description=(
        "Per genome movie, the genome tags with relevance above `relevance_threshold` (default 0.5), "
        "most relevant first; movies with none above it have empty lists. Empty without a genome."
    ),
    metadata={"dagster/column_schema": column_schema(schemas.MOVIE_GENOME)},
)
def movie_genome(
    context: dg.AssetExecutionContext,
    config: MovieGenomeConfig,
    genome_scores: pl.LazyFrame,
    genome_tags: pl.LazyFrame,
) -> pl.DataFrame:
    started = time.perf_counter()
    frame = parsing.build_movie_genome(genome_scores, genome_tags, config.relevance_threshold)
    seconds = time.perf_counter() - started
    lengths = frame["tag_ids"].list.len()
    metadata = {
        "relevance_threshold": config.relevance_threshold,
        "movies": frame.height,
        "movies_without_strong_tags": int((lengths == 0).sum()),
        "mean_tags_per_movie": round(float(lengths.mean()), 2) if frame.height else 0.0,
        "build_seconds": round(seconds, 3),
    }
    if frame.height == 0:
        metadata["note"] = NO_GENOME_NOTE
    context.add_output_metadata(metadata)
    return frame


ASSETS = [links, movies, ratings, tags, genome_tags, genome_scores, movie_genome]
