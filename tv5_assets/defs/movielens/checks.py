"""Checks of the `movielens` tables, run on the stored Parquet (lazy scans: cheap at 25M rows).

The `*_result` functions are plain (frames in, `AssetCheckResult` out) so tests can run them on
planted bad data; the decorated checks below bind them to the assets. Blocking checks guard what
downstream groups rely on (schema, keys, value domains, references); the rest warn.
The `no_rejected_rows` checks are emitted by the ingestion assets themselves (see assets.py).
"""

# No `from __future__ import annotations`: the IO manager picks pl.LazyFrame from live annotations.
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from ...io_managers import markdown_preview
from ...schemas import movielens as schemas
from . import csv_reader, parsing

EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)  # MovieLens started collecting in 1995
EXAMPLES = 10


def _md(frame: pl.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown_preview(frame, rows=EXAMPLES))


def _collect(lf: pl.LazyFrame) -> pl.DataFrame:
    return lf.collect(engine="streaming")


# ----------------------------------------------------------------------------------- results


def schema_result(lf: pl.LazyFrame, contract: pl.Schema) -> dg.AssetCheckResult:
    actual = lf.collect_schema()
    missing = [n for n in contract.names() if n not in actual]
    extra = [n for n in actual.names() if n not in contract]
    wrong = {
        n: f"{actual[n]} (expected {contract[n]})" for n in contract.names() if n in actual and actual[n] != contract[n]
    }
    in_order = [n for n in actual.names() if n in contract] == [n for n in contract.names() if n in actual]
    passed = not (missing or extra or wrong) and in_order
    return dg.AssetCheckResult(
        passed=passed,
        metadata={
            "missing_columns": ", ".join(missing) or "none",
            "extra_columns": ", ".join(extra) or "none",
            "wrong_dtypes": ", ".join(f"{n}: {d}" for n, d in wrong.items()) or "none",
            "column_order_matches": in_order,
            "expected": ", ".join(f"{n}: {d}" for n, d in contract.items()),
        },
        description=None if passed else "stored columns differ from tv5_assets/schemas/movielens.py",
    )


def unique_key_result(lf: pl.LazyFrame, key: Sequence[str]) -> dg.AssetCheckResult:
    repeats = csv_reader.duplicate_key_count(lf, key)
    metadata: dict = {"key": ", ".join(key), "repeated_rows": repeats}
    if repeats:
        examples = _collect(lf.group_by(key).len().filter(pl.col("len") > 1).sort(key).head(EXAMPLES))
        metadata["examples"] = _md(examples)
    return dg.AssetCheckResult(passed=repeats == 0, metadata=metadata)


def half_star_result(lf: pl.LazyFrame) -> dg.AssetCheckResult:
    off_grid = (
        ~pl.col("rating").is_in(pl.Series(parsing.HALF_STARS, dtype=pl.Float32).implode()) | pl.col("rating").is_null()
    )
    stats = _collect(lf.select(off_grid=off_grid.sum(), rows=pl.len())).row(0, named=True)
    metadata: dict = {"off_grid_rows": int(stats["off_grid"]), "rows": int(stats["rows"])}
    if stats["off_grid"]:
        metadata["examples"] = _md(
            _collect(lf.filter(off_grid).group_by("rating").len().sort("len", descending=True).head(EXAMPLES))
        )
    return dg.AssetCheckResult(passed=stats["off_grid"] == 0, metadata=metadata)


def timestamps_result(lf: pl.LazyFrame, now: datetime | None = None) -> dg.AssetCheckResult:
    high = now or datetime.now(UTC)
    ts = pl.col("timestamp")
    outside = (ts < EARLIEST_PLAUSIBLE) | (ts > high) | ts.is_null()
    stats = _collect(lf.select(outside=outside.sum(), earliest=ts.min(), latest=ts.max())).row(0, named=True)
    metadata: dict = {
        "rows_outside": int(stats["outside"]),
        "earliest": str(stats["earliest"]),
        "latest": str(stats["latest"]),
        "plausible_range": f"{EARLIEST_PLAUSIBLE.date()} .. {high.date()}",
    }
    if stats["outside"]:
        metadata["examples"] = _md(_collect(lf.filter(outside).head(EXAMPLES)))
    return dg.AssetCheckResult(passed=stats["outside"] == 0, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)


def known_movies_result(lf: pl.LazyFrame, movies: pl.LazyFrame) -> dg.AssetCheckResult:
    movie_ids = _collect(movies.select("movie_id"))["movie_id"].implode()
    unknown = ~pl.col("movie_id").is_in(movie_ids) | pl.col("movie_id").is_null()
    rows = int(_collect(lf.select(unknown.sum())).item())
    metadata: dict = {"rows_with_unknown_movie": rows}
    if rows:
        examples = _collect(lf.filter(unknown).group_by("movie_id").len().sort("len", descending=True).head(EXAMPLES))
        metadata["unknown_movie_ids"] = _md(examples)
    return dg.AssetCheckResult(passed=rows == 0, metadata=metadata)


def relevance_result(lf: pl.LazyFrame) -> dg.AssetCheckResult:
    rel = pl.col("relevance")
    outside = rel.is_null() | rel.is_nan() | (rel < 0) | (rel > 1)
    stats = _collect(lf.select(outside=outside.sum(), low=rel.min(), high=rel.max())).row(0, named=True)
    metadata: dict = {"rows_outside_0_1": int(stats["outside"]), "min": stats["low"], "max": stats["high"]}
    if stats["outside"]:
        metadata["examples"] = _md(_collect(lf.filter(outside).head(EXAMPLES)))
    return dg.AssetCheckResult(passed=stats["outside"] == 0, metadata=metadata)


def genome_complete_result(scores: pl.LazyFrame, genome_tags: pl.LazyFrame) -> dg.AssetCheckResult:
    """Every genome movie has a score for every genome tag: a dense movie x tag matrix."""
    tag_ids = _collect(genome_tags.select("tag_id"))["tag_id"]
    n_tags = tag_ids.n_unique()
    per_movie = _collect(
        scores.group_by("movie_id").agg(
            scores=pl.len(),
            known_tags=pl.col("tag_id").is_in(tag_ids.implode()).sum(),
            distinct_tags=pl.col("tag_id").n_unique(),
        )
    )
    incomplete = per_movie.filter(
        (pl.col("scores") != n_tags) | (pl.col("known_tags") != n_tags) | (pl.col("distinct_tags") != n_tags)
    )
    metadata: dict = {
        "genome_movies": per_movie.height,
        "genome_tags": n_tags,
        "expected_scores": per_movie.height * n_tags,
        "incomplete_movies": incomplete.height,
    }
    if incomplete.height:
        metadata["examples"] = _md(incomplete.sort("movie_id").head(EXAMPLES))
    if per_movie.height == 0:
        metadata["note"] = "no genome in this release: nothing to be complete"
    return dg.AssetCheckResult(passed=incomplete.height == 0, metadata=metadata)


def movie_years_result(lf: pl.LazyFrame, latest: int | None = None) -> dg.AssetCheckResult:
    high = latest or datetime.now(UTC).year + 5
    bad = pl.col("year").is_not_null() & ~pl.col("year").is_between(1800, high)
    stats = _collect(
        lf.select(bad=bad.sum(), zero=(pl.col("year") == 0).sum(), missing=pl.col("year").null_count())
    ).row(0, named=True)
    metadata: dict = {
        "implausible_years": int(stats["bad"]),
        "zero_years": int(stats["zero"]),
        "without_year": int(stats["missing"]),
    }
    if stats["bad"]:
        metadata["examples"] = _md(_collect(lf.filter(bad).select("movie_id", "raw_title", "year").head(EXAMPLES)))
    return dg.AssetCheckResult(passed=stats["bad"] == 0, metadata=metadata)


def links_cover_movies_result(movies: pl.LazyFrame, links: pl.LazyFrame) -> dg.AssetCheckResult:
    movie_ids = _collect(movies.select("movie_id"))["movie_id"]
    link_ids = _collect(links.select("movie_id"))["movie_id"]
    without_link = movie_ids.filter(~movie_ids.is_in(link_ids.implode()))
    orphan_links = link_ids.filter(~link_ids.is_in(movie_ids.implode()))
    passed = without_link.len() == 0 and orphan_links.len() == 0
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "movies_without_link": without_link.len(),
            "links_for_unknown_movies": orphan_links.len(),
            "examples_without_link": ", ".join(map(str, without_link.head(EXAMPLES).to_list())) or "none",
            "examples_unknown_movies": ", ".join(map(str, orphan_links.head(EXAMPLES).to_list())) or "none",
        },
    )


def movie_genome_lists_result(lf: pl.LazyFrame) -> dg.AssetCheckResult:
    """The three lists line up, and relevances are sorted, most relevant first."""
    lengths_differ = (pl.col("tag_ids").list.len() != pl.col("tags").list.len()) | (
        pl.col("tag_ids").list.len() != pl.col("relevances").list.len()
    )
    unsorted = pl.col("relevances") != pl.col("relevances").list.sort(descending=True)
    stats = _collect(lf.select(lengths_differ=lengths_differ.sum(), unsorted=unsorted.sum())).row(0, named=True)
    bad = int(stats["lengths_differ"]) + int(stats["unsorted"])
    metadata: dict = {"misaligned_lists": int(stats["lengths_differ"]), "unsorted_relevances": int(stats["unsorted"])}
    if bad:
        metadata["examples"] = _md(
            _collect(lf.filter(lengths_differ | unsorted).select("movie_id", "tag_ids", "relevances").head(EXAMPLES))
        )
    return dg.AssetCheckResult(passed=bad == 0, metadata=metadata)


# ----------------------------------------------------------------------------------- checks

CONTRACTS = {
    "links": schemas.LINKS,
    "movies": schemas.MOVIES,
    "ratings": schemas.RATINGS,
    "tags": schemas.TAGS,
    "genome_tags": schemas.GENOME_TAGS,
    "genome_scores": schemas.GENOME_SCORES,
    "movie_genome": schemas.MOVIE_GENOME,
    **{
        f"{name}_rejects": schemas.REJECTS
        for name in ("links", "movies", "ratings", "tags", "genome_tags", "genome_scores")
    },
}
KEYS = {
    "links": ("movie_id",),
    "movies": ("movie_id",),
    "ratings": ("user_id", "movie_id"),
    "genome_tags": ("tag_id",),
    "genome_scores": ("movie_id", "tag_id"),
    "movie_genome": ("movie_id",),
}


def _table_check(
    asset: str,
    name: str,
    description: str,
    result: Callable[[pl.LazyFrame], dg.AssetCheckResult],
    blocking: bool = True,
) -> dg.AssetChecksDefinition:
    """A check named `name` on `asset` alone: `result(table)`."""

    @dg.asset_check(asset=asset, name=name, blocking=blocking, description=description)
    def _check(table: pl.LazyFrame) -> dg.AssetCheckResult:
        return result(table)

    return _check


def _schema_check(asset: str, contract: pl.Schema) -> dg.AssetChecksDefinition:
    return _table_check(
        asset,
        "schema_matches_contract",
        f"Columns and dtypes of {asset} are exactly those in schemas.py, in order.",
        lambda table: schema_result(table, contract),
    )


def _unique_check(asset: str, key: Sequence[str]) -> dg.AssetChecksDefinition:
    return _table_check(
        asset,
        "unique_key",
        f"No two rows of {asset} share ({', '.join(key)}).",
        lambda table: unique_key_result(table, key),
    )


def _known_movies_check(asset: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name="movies_known",
        blocking=True,
        additional_ins={"movies": dg.AssetIn("movies")},
        description=f"Every movie_id of {asset} is a movie in movies.",
    )
    def _check(table: pl.LazyFrame, movies: pl.LazyFrame) -> dg.AssetCheckResult:
        return known_movies_result(table, movies)

    return _check


def _timestamps_check(asset: str) -> dg.AssetChecksDefinition:
    return _table_check(
        asset,
        "timestamps_plausible",
        f"Timestamps of {asset} fall between {EARLIEST_PLAUSIBLE.date()} and now (warns).",
        timestamps_result,
        blocking=False,
    )


@dg.asset_check(
    asset="ratings", name="on_half_star_grid", blocking=True, description="Every rating is one of 0.5, 1.0, ..., 5.0."
)
def ratings_on_half_star_grid(ratings: pl.LazyFrame) -> dg.AssetCheckResult:
    return half_star_result(ratings)


@dg.asset_check(
    asset="genome_scores",
    name="relevance_in_unit_interval",
    blocking=True,
    description="Every relevance is a number in [0, 1].",
)
def relevance_in_unit_interval(genome_scores: pl.LazyFrame) -> dg.AssetCheckResult:
    return relevance_result(genome_scores)


@dg.asset_check(
    asset="genome_scores",
    name="genome_complete",
    blocking=True,
    additional_ins={"genome_tags": dg.AssetIn("genome_tags")},
    description="Every genome movie has exactly one score for every genome tag (dense matrix).",
)
def genome_complete(genome_scores: pl.LazyFrame, genome_tags: pl.LazyFrame) -> dg.AssetCheckResult:
    return genome_complete_result(genome_scores, genome_tags)


@dg.asset_check(
    asset="movies",
    name="years_plausible",
    blocking=True,
    description="year is null or a real year (never 0), 1800..now+5.",
)
def movie_years_plausible(movies: pl.LazyFrame) -> dg.AssetCheckResult:
    return movie_years_result(movies)


@dg.asset_check(
    asset="movies",
    name="links_cover_movies",
    additional_ins={"links": dg.AssetIn("links")},
    description="Every movie has a links.csv row and every links row a movie (warns: ids are then null).",
)
def links_cover_movies(movies: pl.LazyFrame, links: pl.LazyFrame) -> dg.AssetCheckResult:
    return links_cover_movies_result(movies, links)


@dg.asset_check(
    asset="movie_genome",
    name="lists_aligned_and_sorted",
    blocking=True,
    description="tag_ids, tags and relevances line up and relevances are sorted, most relevant first.",
)
def movie_genome_lists(movie_genome: pl.LazyFrame) -> dg.AssetCheckResult:
    return movie_genome_lists_result(movie_genome)


CHECKS = [
    *(_schema_check(asset, contract) for asset, contract in CONTRACTS.items()),
    *(_unique_check(asset, key) for asset, key in KEYS.items()),
    *(_known_movies_check(asset) for asset in ("ratings", "tags", "genome_scores")),
    *(_timestamps_check(asset) for asset in ("ratings", "tags")),
    ratings_on_half_star_grid,
    relevance_in_unit_interval,
    genome_complete,
    movie_years_plausible,
    links_cover_movies,
    movie_genome_lists,
]
