"""MovieLens on top of the generic CSV validator: the six files' specs and the transforms (no Dagster here).

The validator itself (a file's contract, the typed read, the line-by-line diagnosis, the rejects)
is generic: `csv_spec.py` and `csv_reader.py`. This module says what each MovieLens file must hold
(`MOVIES_FILE`, `RATINGS_FILE`, ...) and turns the good rows into the published tables
(`build_movies`, `build_ratings`, ...). Title rules for movies.csv: `parse_titles`.
"""

from __future__ import annotations

import re

import polars as pl

from ...schemas import movielens as schemas
from .csv_spec import Column, FileSpec, Reference, ValueRule

# ------------------------------------------------------------------------------ file specs


HALF_STARS = [x / 2 for x in range(1, 11)]


def _off_half_star_grid(col: str) -> pl.Expr:
    doubled = pl.col(col) * 2
    return ~(pl.col(col).is_between(0.5, 5.0) & (doubled == doubled.round(0)))


UNIX_SECONDS_RANGE = (0, 4_102_444_800)  # 1970-01-01 .. 2100-01-01: anything else is not Unix seconds
_TIMESTAMP_RULE = ValueRule(
    "timestamp is not Unix seconds between 1970 and 2100",
    "timestamp",
    ~pl.col("timestamp").is_between(*UNIX_SECONDS_RANGE, closed="left"),
)  # guards the microsecond conversion against overflow; plausibility (1995..now) is a check


def _outside_unit_interval(col: str) -> pl.Expr:
    return pl.col(col).is_nan() | ~pl.col(col).is_between(0.0, 1.0)


MAX_TEXT_CHARS = 1_000
"""Longest text field accepted (titles, tags: the longest in ml-25m are under 300 characters). A
longer one is a broken export (a runaway quote swallowing lines, a pasted blob), and every store
downstream (index keys, Redis values, Neo4j properties) would carry it."""


def _text_rules(*columns: str) -> tuple[ValueRule, ...]:
    """A text field must not hold a NUL byte (PostgreSQL text cannot) nor run past MAX_TEXT_CHARS."""
    rules = []
    for col in columns:
        rules.append(
            ValueRule(f"{col} contains a NUL byte (\\x00)", col, pl.col(col).str.contains("\x00", literal=True))
        )
        rules.append(
            ValueRule(
                f"{col} is longer than {MAX_TEXT_CHARS} characters", col, pl.col(col).str.len_chars() > MAX_TEXT_CHARS
            )
        )
    return tuple(rules)


def _positive_ids(*columns: str) -> tuple[ValueRule, ...]:
    """MovieLens ids start at 1: zero or a negative id is a broken row, not an id."""
    return tuple(ValueRule(f"{col} is not a positive id (1 or more)", col, pl.col(col) < 1) for col in columns)


MOVIES_FILE = FileSpec(
    "movies.csv",
    (Column("movieId", pl.Int32), Column("title", pl.String), Column("genres", pl.String, required=False)),
    key=("movieId",),
    value_rules=(*_positive_ids("movieId"), *_text_rules("title", "genres")),
)
LINKS_FILE = FileSpec(
    "links.csv",
    (
        Column("movieId", pl.Int32),
        Column("imdbId", pl.String, required=False),
        Column("tmdbId", pl.Int64, required=False),
    ),
    key=("movieId",),
    value_rules=(
        *_positive_ids("movieId"),
        ValueRule("imdbId is not a string of digits", "imdbId", ~pl.col("imdbId").str.contains(r"^\d+$")),
    ),
)
RATINGS_FILE = FileSpec(
    "ratings.csv",
    (
        Column("userId", pl.Int32),
        Column("movieId", pl.Int32),
        Column("rating", pl.Float64),
        Column("timestamp", pl.Int64),
    ),
    key=("userId", "movieId"),
    value_rules=(
        *_positive_ids("userId", "movieId"),
        ValueRule("rating is not a half star between 0.5 and 5.0", "rating", _off_half_star_grid("rating")),
        _TIMESTAMP_RULE,
    ),
    references=(Reference("movieId", "movies.csv"),),
)
TAGS_FILE = FileSpec(
    "tags.csv",
    (Column("userId", pl.Int32), Column("movieId", pl.Int32), Column("tag", pl.String), Column("timestamp", pl.Int64)),
    value_rules=(*_positive_ids("userId", "movieId"), *_text_rules("tag"), _TIMESTAMP_RULE),
    references=(Reference("movieId", "movies.csv"),),
)
GENOME_TAGS_FILE = FileSpec(
    "genome-tags.csv",
    (Column("tagId", pl.Int32), Column("tag", pl.String)),
    key=("tagId",),
    value_rules=(*_positive_ids("tagId"), *_text_rules("tag")),
    optional=True,
)
GENOME_SCORES_FILE = FileSpec(
    "genome-scores.csv",
    (Column("movieId", pl.Int32), Column("tagId", pl.Int32), Column("relevance", pl.Float64)),
    key=("movieId", "tagId"),
    value_rules=(
        *_positive_ids("movieId", "tagId"),
        ValueRule("relevance is not a number in [0, 1]", "relevance", _outside_unit_interval("relevance")),
    ),
    references=(Reference("movieId", "movies.csv"), Reference("tagId", "genome-tags.csv")),
    optional=True,
)

# ------------------------------------------------------------------------------ results


# ------------------------------------------------------------------------------ reading


# ------------------------------------------------------------------------------ precise splitting


# ------------------------------------------------------------------------------ movies


ARTICLES = (
    # English, French, German, Spanish, Italian, Portuguese, Dutch, Scandinavian, capitalised as
    # MovieLens writes them after the comma ("Cité des enfants perdus, La"). Forms that are also
    # common names or words at the end of a title ("Uma", "Una", "As") are left out on purpose.
    "The",
    "A",
    "An",
    "Le",
    "La",
    "Les",
    "Un",
    "Une",
    "Der",
    "Die",
    "Das",
    "Ein",
    "Eine",
    "El",
    "Los",
    "Las",
    "Il",
    "Lo",
    "I",
    "Gli",
    "O",
    "Os",
    "De",
    "Het",
    "Een",
    "Den",
    "Det",
)
ELIDED_ARTICLES = ("L'", "L’")  # "Avventura, L'" -> "L'Avventura": no space after an apostrophe

_YEAR = r"1[89]\d{2}|20\d{2}"
_YEAR_SPLIT = rf"(?s)^(.*)\(({_YEAR})(?:\s*[–—-]\s*(?:{_YEAR})?)?\)(.*)$"  # greedy head: the LAST year group
_GROUP = r"\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)"  # balanced parentheses, two levels of nesting
_TRAILING_GROUP = rf"(?s)^(.*\S)\s*({_GROUP})$"
QUALIFIERS = (
    r"(?i)^(?:tv|tv movie|tv series|tv mini-?series|mini-?series|video|short|documentary|"
    r"director'?s cut|extended(?: cut| edition)?|unrated|uncut|remastered|restored|"
    r"special edition|theatrical(?: cut)?|3-?d|imax|part \w+|vol(?:ume\s+|\.\s*|\s+)\w+|\d+(?:[./ -]+\d+)*|"
    r"x{0,3}(?:ix|iv|v?i{0,3}))$"
)
"""Parenthesised parts that describe the release rather than name it: never an alternate title.
"Vol" needs a separator before its number ("Vol. 2", "Volume II"): an alternate title such as
"(Volver)" is a title, not a volume."""
_AKA = r"(?i)^(?:a\.?k\.?a\.?|also known as)\s+"


def normalize_spaces(expr: pl.Expr) -> pl.Expr:
    """NBSP and other fixed-width spaces to spaces, runs of whitespace collapsed, trimmed."""
    return expr.str.replace_all(r"\s+", " ").str.strip_chars()  # \s is Unicode-aware: NBSP included


def restore_article(expr: pl.Expr) -> pl.Expr:
    """ "City of Lost Children, The" -> "The City of Lost Children" (only a trailing ", Article")."""
    spaced = "|".join(re.escape(a) for a in ARTICLES)
    elided = "|".join(re.escape(a) for a in ELIDED_ARTICLES)
    return expr.str.replace(rf"^(.+), ({elided})$", "${2}${1}").str.replace(rf"^(.+), ({spaced})$", "${2} ${1}")


def parse_titles(frame: pl.DataFrame | pl.LazyFrame, raw: str = "raw_title") -> pl.LazyFrame:
    """Add title, display_title, alt_title and year, parsed from the raw movies.csv title column `raw`.

    Rules, in order (all vectorized regexes):
    1. Whitespace: NBSP and any other Unicode space become a space, runs collapse to one, ends trimmed.
    2. Year: the LAST parenthesised year, `(YYYY)` or a range `(YYYY–YYYY)` / `(YYYY–)` (en dash;
       em dash and hyphen accepted too), YYYY in 1800-2099; a range gives its first year. No year
       group: year is null (never 0). Text AFTER the year group (a second parenthesised part such
       as "(Director's Cut)" or "(TV)") stays in the title.
    3. Alternate title: the balanced parenthesised groups (up to two levels of nesting) that end
       the text BEFORE the year (or the whole title when there is no year), peeled from the right
       while some text precedes them. A group that is a release qualifier (`QUALIFIERS`: TV, Video,
       Director's Cut, Part 2, a number, a roman numeral...) is not an alternate title: peeling
       stops and it stays in the title. The alternate title is the FIRST peeled group in reading
       order (right after the main title; "Zatoichi... (Zatôichi senryô-kubi) (Zatôichi 6)" gives
       the former), without an "a.k.a." prefix, article restored; null if none. Unbalanced
       parentheses ("Party Monster (Part 1", ":-)") are not groups and stay in the title.
    4. title = what precedes the peeled groups + the text after the year, article as written;
       display_title restores a trailing ", The" / ", La" / ", L'"... (`ARTICLES`) to the front.
    """
    # each step is its own with_columns: reusing one step's expression in the next would grow the
    # expression tree threefold per peel
    parts = pl.col("_clean").str.extract_groups(_YEAR_SPLIT)
    lf = frame.lazy().with_columns(normalize_spaces(pl.col(raw)).alias("_clean"))
    lf = lf.with_columns(
        parts.struct.field("2").alias("_year"),
        parts.struct.field("3").alias("_tail"),
        parts.struct.field("1").alias("_head"),
    )
    lf = lf.with_columns(
        pl.when(pl.col("_year").is_not_null())
        .then(pl.col("_head").str.strip_chars())
        .otherwise(pl.col("_clean"))
        .alias("_head"),
        pl.col("_tail").fill_null(""),
        pl.lit(None, pl.String).alias("_alt"),
    )
    for _ in range(3):  # real titles carry at most two groups before the year
        lf = lf.with_columns(pl.col("_head").str.extract_groups(_TRAILING_GROUP).alias("_peeled"))
        group = pl.col("_peeled").struct.field("2")
        inner = group.str.slice(1, group.str.len_chars() - 2).str.strip_chars()
        lf = lf.with_columns(inner.alias("_inner"))
        peel = group.is_not_null() & (pl.col("_inner") != "") & ~pl.col("_inner").str.contains(QUALIFIERS)
        lf = lf.with_columns(peel.alias("_peel")).with_columns(
            pl.when("_peel").then(pl.col("_peeled").struct.field("1")).otherwise(pl.col("_head")).alias("_head"),
            pl.when("_peel")
            .then(pl.col("_inner"))
            .otherwise(pl.col("_alt"))
            .alias("_alt"),  # last peel = leftmost group
        )
    lf = lf.with_columns(
        normalize_spaces(pl.concat_str([pl.col("_head"), pl.col("_tail")], separator=" ")).alias("title"),
        restore_article(normalize_spaces(pl.col("_alt").str.replace(_AKA, ""))).alias("_alt"),
        pl.col("_year").cast(pl.Int16).alias("year"),
    )
    lf = lf.with_columns(
        restore_article(pl.col("title")).alias("display_title"),
        pl.when(pl.col("_alt") != "").then(pl.col("_alt")).alias("alt_title"),
    )
    return lf.drop("_clean", "_year", "_tail", "_head", "_alt", "_peeled", "_inner", "_peel")


def parse_genres(genres: pl.Expr) -> pl.Expr:
    """Pipe-separated genres as written (order kept); empty list for "(no genres listed)"/blank."""
    none = genres.is_null() | (genres.str.strip_chars() == "") | (genres == "(no genres listed)")
    return (
        pl.when(none)
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(genres.str.split("|").list.eval(pl.element().str.strip_chars()))
        .alias("genres")
    )


def build_movies(movies_file: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """movies.csv rows (movieId, title, genres) + the links table -> schemas.MOVIES."""
    movie_id = pl.col("movieId")
    frame = parse_titles(
        movies_file.lazy().select(
            movie_id.alias("movie_id"),
            schemas.media_id_expr("movieId").alias("media_id"),
            pl.format("media_{}", movie_id.cast(pl.String).str.zfill(8)).alias("internal_id"),
            parse_genres(pl.col("genres")),
            pl.col("title").alias("raw_title"),
        )
    )
    frame = frame.join(
        links.lazy().select("movie_id", "imdb_id", "tmdb_id"), on="movie_id", how="left", maintain_order="left"
    )
    return (
        frame.with_columns(language=pl.lit("en"), country=pl.lit("US"))
        .select(schemas.MOVIES.names())
        .cast(dict(schemas.MOVIES))
        .collect()
    )


def build_links(links_file: pl.DataFrame) -> pl.DataFrame:
    return links_file.select(
        pl.col("movieId").alias("movie_id"), pl.col("imdbId").alias("imdb_id"), pl.col("tmdbId").alias("tmdb_id")
    ).cast(dict(schemas.LINKS))


# ------------------------------------------------------------------------------ ratings, tags

_HOUR_TO_PART = ["late_night"] * 5 + ["morning"] * 7 + ["afternoon"] * 5 + ["evening"] * 4 + ["night"] * 3


def utc_from_unix_seconds(seconds: pl.Expr) -> pl.Expr:
    return (seconds.cast(pl.Int64) * 1_000_000).cast(schemas.UTC_TIMESTAMP)


def time_of_day(seconds: pl.Expr) -> pl.Expr:
    """Part of day from the UTC hour (see schemas.TimeOfDay); integer math, no datetime parsing."""
    hour = (seconds.cast(pl.Int64) % 86_400) // 3_600  # floor modulo: right for pre-1970 too
    return hour.replace_strict(list(range(24)), _HOUR_TO_PART, return_dtype=schemas.TimeOfDay)


def build_ratings(ratings_file: pl.DataFrame) -> pl.DataFrame:
    return ratings_file.select(
        pl.col("userId").alias("user_id"),
        pl.col("movieId").alias("movie_id"),
        pl.col("rating").cast(pl.Float32),
        utc_from_unix_seconds(pl.col("timestamp")).alias("timestamp"),
        time_of_day(pl.col("timestamp")).alias("time_of_day"),
    )


def normalize_tag(tag: pl.Expr) -> pl.Expr:
    """NFC, whitespace collapsed and trimmed, lower-cased: groups case/spacing variants of a tag."""
    return normalize_spaces(tag.str.normalize("NFC")).str.to_lowercase()


def build_tags(tags_file: pl.DataFrame) -> pl.DataFrame:
    return tags_file.select(
        pl.col("userId").alias("user_id"),
        pl.col("movieId").alias("movie_id"),
        pl.col("tag"),
        normalize_tag(pl.col("tag")).alias("tag_normalized"),
        utc_from_unix_seconds(pl.col("timestamp")).alias("timestamp"),
    )


# ------------------------------------------------------------------------------ genome


def build_genome_tags(genome_tags_file: pl.DataFrame) -> pl.DataFrame:
    return genome_tags_file.select(pl.col("tagId").alias("tag_id"), pl.col("tag")).cast(dict(schemas.GENOME_TAGS))


def build_genome_scores(genome_scores_file: pl.DataFrame) -> pl.DataFrame:
    return genome_scores_file.select(
        pl.col("movieId").alias("movie_id"), pl.col("tagId").alias("tag_id"), pl.col("relevance").cast(pl.Float32)
    )


def build_movie_genome(scores: pl.LazyFrame, genome_tags: pl.LazyFrame, threshold: float) -> pl.DataFrame:
    """Per genome movie, the tags with relevance > threshold, most relevant first (ties: tag_id).

    Every movie of the genome appears, with empty lists when no tag clears the threshold, so a
    downstream join can tell "in the genome, nothing strong" from "not in the genome".
    """
    strong = (
        scores.filter(pl.col("relevance") > threshold)
        .join(genome_tags.select("tag_id", "tag"), on="tag_id", how="inner")
        .sort(["movie_id", "relevance", "tag_id"], descending=[False, True, False])
        .group_by("movie_id", maintain_order=True)
        .agg(tag_ids=pl.col("tag_id"), tags=pl.col("tag"), relevances=pl.col("relevance"))
    )
    movies = scores.select("movie_id").unique().sort("movie_id")
    empty = {name: pl.lit([], dtype=dtype) for name, dtype in schemas.MOVIE_GENOME.items() if name != "movie_id"}
    return (
        movies.join(strong, on="movie_id", how="left", maintain_order="left")
        .with_columns(**{name: pl.col(name).fill_null(value) for name, value in empty.items()})
        .select(schemas.MOVIE_GENOME.names())
        .cast(dict(schemas.MOVIE_GENOME))
        .collect()
    )
