"""Pure, vectorized parsing of GroupLens MovieLens CSV files (no Dagster here).

Reading a file (`read_file`) is designed so the good path is fast and the bad path is precise:

- **Typed read**: polars' multi-threaded CSV reader with an explicit schema. When it succeeds and
  the file has exactly one record per physical line (counted with one memchr pass), row i is line
  i + 2, whatever the quoting or CRLF. Rows that look wrong (a null anywhere, a quote inside a text
  field, a value or reference rule broken) are suspects: only their raw lines are fetched and
  judged by the precise splitter below. Keys are then checked for repeats (one pass when sorted).
- **Line-by-line diagnosis**, when the typed read fails (unparsable number, too many fields,
  broken quoting) or a quoted field spans lines: every physical line is read, multi-line quoted
  records are joined back (numbered by their first line), fields are split with an RFC 4180 regex,
  cast without raising, and every rule is evaluated on every row, in bounded chunks.

Either path returns the typed good rows (file column names) and a rejects frame
(`line`, `rule`, `value`, `raw`, see schemas.REJECTS): the caller raises `BadInputError` for the
first one or quarantines them all. Title rules for movies.csv: `parse_titles`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ...errors import BadInputError
from . import schemas

# ------------------------------------------------------------------------------ file specs


@dataclass(frozen=True)
class Column:
    name: str  # as in the header
    dtype: pl.DataType  # Int32, Int64, Float64 or String
    required: bool = True


@dataclass(frozen=True)
class ValueRule:
    """A row is bad when `bad` is true; `column` supplies the value shown to the user."""

    message: str
    column: str
    bad: pl.Expr


@dataclass(frozen=True)
class Reference:
    """Values of `column` must be among the ids passed as `references[source]`."""

    column: str
    source: str  # e.g. "movies.csv"


@dataclass(frozen=True)
class FileSpec:
    file_name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    value_rules: tuple[ValueRule, ...] = ()
    references: tuple[Reference, ...] = ()
    optional: bool = False  # the release may lack this file (genome)

    @property
    def header(self) -> str:
        return ",".join(c.name for c in self.columns)

    @property
    def read_schema(self) -> dict[str, pl.DataType]:
        return {c.name: c.dtype for c in self.columns}


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

REJECTS = schemas.REJECTS
DIAGNOSIS_CHUNK_ROWS = 4_000_000
"""The line-by-line diagnosis evaluates this many lines at a time, so its memory stays bounded."""


@dataclass
class ParsedFile:
    path: Path
    frame: pl.DataFrame  # typed, file column names, good rows only, file order
    rejects: pl.DataFrame  # schemas.REJECTS, sorted by line
    method: str  # how the file was read, for metadata: see `read_file`
    suspects: int = 0  # rows of the typed read re-checked from their raw line

    @property
    def fast_path(self) -> bool:
        return self.method == "typed read" and self.suspects == 0

    def raise_if_rejected(self) -> None:
        if self.rejects.height:
            first = self.rejects.row(0, named=True)
            raise BadInputError(
                self.path, first["line"], first["rule"], _shorten(first["value"]), self.rejects.height - 1
            )


def _shorten(value: str | None, limit: int = 200) -> str | None:
    if value is None or len(value) <= limit:
        return value
    return value[: limit - 1] + "…"


# ------------------------------------------------------------------------------ reading


def read_file(
    path: Path, spec: FileSpec, references: Mapping[str, pl.Series] | None = None, force_diagnosis: bool = False
) -> ParsedFile:
    """Read `path` by `spec`: typed good rows plus every rejected row with its line and rule.

    1. "typed read": polars' strict reader with the typed schema. When it succeeds and the file has
       one record per physical line, row i is line i + 2 exactly. Rows that are null anywhere, hold
       a quote in a text field, or break a value/reference rule are suspects: only their raw lines
       are fetched and judged by the precise splitter. Then keys are checked for repeats.
    2. "line-by-line diagnosis" when the typed read fails (an unparsable number, too many fields,
       broken quoting) or records span lines: every physical line is split and judged, in chunks.
    """
    references = references or {}
    _check_header(path, spec)
    typed = None if force_diagnosis else _typed_read(path, spec)
    if typed is not None:
        frame, rejects, suspects = _resolve_typed(path, spec, typed, references)
        parsed = ParsedFile(path, frame, rejects, "typed read", suspects)
    else:
        frame, rejects = _diagnose_lines(path, spec, references)
        parsed = ParsedFile(path, frame, rejects, "line-by-line diagnosis")
    if parsed.frame.height + parsed.rejects.height == 0:
        raise BadInputError(
            path,
            2,
            "the file has its header but no rows (a truncated download or a failed export?); re-download the release",
            whole_file=True,
        )
    return parsed


def _check_header(path: Path, spec: FileSpec) -> None:
    with open(path, "rb") as handle:
        first = handle.readline()
    if not first:
        raise BadInputError(path, 1, f"file is empty; expected the header '{spec.header}'", whole_file=True)
    try:
        header = first.decode("utf-8").lstrip("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError:
        raise BadInputError(path, 1, "header is not valid UTF-8", whole_file=True) from None
    if header != spec.header:
        raise BadInputError(path, 1, f"header must be '{spec.header}' (names and order)", header, whole_file=True)


def _newline_count(path: Path) -> tuple[int, bool]:
    """(number of b'\\n', file ends with a newline): a memchr-speed pass in 64 MB windows."""
    count, last = 0, b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(64 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count, last == b"\n"


def _typed_read(path: Path, spec: FileSpec) -> pl.DataFrame | None:
    """Typed rows with their `line`, or None when polars refuses the file or records span lines."""
    try:
        frame = pl.read_csv(path, schema=spec.read_schema, has_header=True, quote_char='"', encoding="utf8")
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError):
        return None
    newlines, ends_with_newline = _newline_count(path)
    data_lines = newlines - 1 + (0 if ends_with_newline else 1)  # the header is line 1
    if frame.height != data_lines:  # a quoted field spans lines (or swallowed some): lines unknown
        return None
    # polars reads a blank line as a row of nulls, so row i is physical line i + 2
    return frame.with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))


def _suspect_expr(spec: FileSpec, references: Mapping[str, pl.Series]) -> pl.Expr:
    flags = [pl.col(c.name).is_null() for c in spec.columns]  # short row, blank line, empty field
    flags += [pl.col(c.name).str.contains('"', literal=True) for c in spec.columns if c.dtype == pl.String]
    flags += [rule.bad.fill_null(False) for rule in spec.value_rules]
    flags += [~pl.col(ref.column).is_in(references[ref.source].implode()) for ref in spec.references]
    return pl.any_horizontal(flags)


def _resolve_typed(
    path: Path, spec: FileSpec, typed: pl.DataFrame, references: Mapping[str, pl.Series]
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    names = [c.name for c in spec.columns]
    suspect = typed.select(_suspect_expr(spec, references).alias("suspect"))["suspect"]
    n_suspects = int(suspect.sum())
    rejects = [REJECTS.to_frame()]
    good = typed
    if n_suspects:
        judged = _evaluate(_split_fields(_fetch_lines(path, typed.filter(suspect)["line"]), names), spec, references)
        rejects.append(judged.filter(pl.col("rule").is_not_null()).select(REJECTS.names()))
        rescued = judged.filter(pl.col("rule").is_null()).select(["line", *names])
        good = pl.concat([typed.filter(~suspect), rescued]).sort("line") if rescued.height else typed.filter(~suspect)
    good, repeats = _reject_repeats(good, spec)
    if repeats.height:
        raw = _fetch_lines(path, repeats["line"])
        rejects.append(repeats.join(raw, on="line", how="left").select(REJECTS.names()))
    return good.drop("line"), pl.concat(rejects).sort("line"), n_suspects


def _fetch_lines(path: Path, lines: pl.Series) -> pl.DataFrame:
    """Only the given physical lines (`line`, `raw`), streamed: never the whole file in memory."""
    wanted = lines.cast(pl.Int64).implode()
    return (
        pl.scan_lines(path, name="raw", row_index_name="line", row_index_offset=1)
        .with_columns(pl.col("line").cast(pl.Int64))
        .filter(pl.col("line").is_in(wanted))
        .collect(engine="streaming")
        .sort("line")
    )


def _reject_repeats(good: pl.DataFrame, spec: FileSpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split `good` (with `line`) into first occurrences and repeats of its key (line, rule, value)."""
    empty = pl.DataFrame(schema={"line": pl.Int64, "rule": pl.String, "value": pl.String})
    if not spec.key or good.height < 2:
        return good, empty
    packed = _packed_key(spec.key)
    in_order = good.select((packed.diff() < 0).any()).item() is not True
    if in_order:  # MovieLens files are sorted by key: a repeat sits right after its first occurrence
        repeat = (packed == packed.shift(1)).fill_null(False)
        first_line = pl.when(~repeat).then(pl.col("line")).forward_fill()
    else:
        repeat = pl.int_range(pl.len()).over(packed) > 0
        first_line = pl.col("line").first().over(packed)
    flagged = good.with_columns(repeat.alias("_repeat"), first_line.alias("_first_line"))
    if not flagged["_repeat"].any():
        return good, empty
    key_label = ", ".join(spec.key)
    repeats = flagged.filter("_repeat").select(
        "line",
        pl.format(f"duplicate ({key_label}): first on line {{}}", pl.col("_first_line")).alias("rule"),
        pl.concat_str([pl.col(k).cast(pl.String) for k in spec.key], separator=",").alias("value"),
    )
    return flagged.filter(~pl.col("_repeat")).drop("_repeat", "_first_line"), repeats


def duplicate_key_count(frame: pl.DataFrame | pl.LazyFrame, key: Sequence[str]) -> int:
    """Rows whose key repeats an earlier row's. Sorted input (MovieLens order) costs one pass."""
    lazy = frame.lazy()
    packed = _packed_key(key)
    stats = lazy.select(
        unsorted=(packed.diff() < 0).sum(),
        adjacent_repeats=(packed.diff() == 0).sum(),
        rows=pl.len(),
    ).collect(engine="streaming")
    if stats["unsorted"][0] == 0:
        return int(stats["adjacent_repeats"][0])
    unique = lazy.select(packed.n_unique()).collect(engine="streaming").item()
    return int(stats["rows"][0] - unique)


def _packed_key(key: Sequence[str]) -> pl.Expr:
    """One Int64 per key (two int32 ids packed), so order/uniqueness checks touch one column."""
    if len(key) == 1:
        return pl.col(key[0]).cast(pl.Int64)
    if len(key) == 2:
        return pl.col(key[0]).cast(pl.Int64) * (1 << 32) + pl.col(key[1]).cast(pl.Int64)
    raise ValueError("keys of one or two integer columns only")


# ------------------------------------------------------------------------------ precise splitting

_QUOTED = r'"(?:[^"]|"")*"'
_FIELD = rf'(?:{_QUOTED}|[^,"][^,]*|)'  # a quoted field, an unquoted one (no comma), or empty
_OPEN_RECORD = re.compile(rf'^(?:{_FIELD},)*"(?:[^"]|"")*$', re.S)  # ends inside an open quote
MAX_LINES_PER_RECORD = 100
"""A quoted field may span lines (RFC 4180), but not more than this: beyond it the quote is
treated as unbalanced, so one stray quote cannot swallow the rest of the file."""


def _physical_lines(path: Path) -> pl.DataFrame:
    """Every line after the header: `line` (1-based, header = 1) and `raw` (CR of CRLF removed)."""
    try:
        lines = pl.read_lines(path, name="raw", row_index_name="line", row_index_offset=1)
    except pl.exceptions.ComputeError as error:
        if "utf" in str(error).lower():
            raise _utf8_error(path) from None
        raise
    return lines.with_columns(pl.col("line").cast(pl.Int64)).slice(1)


def _utf8_error(path: Path) -> BadInputError:
    data = Path(path).read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return BadInputError(
            path,
            line,
            "not valid UTF-8 (re-save the file as UTF-8: `iconv -f latin1 -t utf-8` for a Latin-1 file)",
            repr(data[error.start : error.start + 8]),
            whole_file=True,
        )
    return BadInputError(path, 1, "could not be decoded as UTF-8", whole_file=True)


def _join_multiline_records(lines: pl.DataFrame) -> pl.DataFrame:
    """Join a record whose quoted field spans lines back into one row, numbered by its first line."""
    candidates = lines.filter(pl.col("raw").str.contains(_OPEN_RECORD.pattern))
    if candidates.height == 0:
        return lines
    raws = lines["raw"]
    first_line = int(lines["line"][0])
    joined_line, joined_raw, consumed = [], [], []
    consumed_until = -1
    # Python walks only records that open a quote (none in a clean MovieLens file)
    for start_line in candidates["line"].to_list():
        start = start_line - first_line
        if start <= consumed_until:
            continue
        text, end = raws[start], start
        while _OPEN_RECORD.match(text) and end + 1 < len(raws) and end - start + 1 < MAX_LINES_PER_RECORD:
            end += 1
            text += "\n" + raws[end]
        if _OPEN_RECORD.match(text):
            continue  # never closed: left as a one-line record that fails "malformed quoting"
        joined_line.append(start_line)
        joined_raw.append(text)
        consumed.extend(range(start_line + 1, start_line + end - start + 1))
        consumed_until = end
    if not joined_line:
        return lines
    joined = pl.DataFrame({"line": joined_line, "joined": joined_raw}, schema={"line": pl.Int64, "joined": pl.String})
    return (
        lines.filter(~pl.col("line").is_in(pl.Series(consumed, dtype=pl.Int64).implode()))
        .join(joined, on="line", how="left", maintain_order="left")
        .with_columns(pl.coalesce("joined", "raw").alias("raw"))
        .drop("joined")
    )


def _unquote(expr: pl.Expr) -> pl.Expr:
    return (
        pl.when(expr.str.starts_with('"'))
        .then(expr.str.slice(1, expr.str.len_chars() - 2).str.replace_all('""', '"', literal=True))
        .otherwise(expr)
    )


def _split_fields(records: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
    """Add `n_fields` (-1: broken quoting) and `_text_<name>` per field (null when the shape is wrong)."""
    n = len(names)
    has_quote = pl.col("raw").str.contains('"', literal=True)
    plain = records.filter(~has_quote).with_columns(pl.col("raw").str.split(",").alias("_parts"))
    plain = plain.with_columns(
        pl.col("_parts").list.len().cast(pl.Int32).alias("n_fields"),
        *[
            pl.when(pl.col("_parts").list.len() == n)
            .then(pl.col("_parts").list.get(i, null_on_oob=True))
            .alias(f"_text_{name}")
            for i, name in enumerate(names)
        ],
    ).drop("_parts")
    quoted = records.filter(has_quote)
    if quoted.height == 0:
        return plain
    groups = pl.col("raw").str.extract_groups("^" + ",".join(f"({_FIELD})" for _ in names) + "$")
    well_formed = pl.col("raw").str.contains(f"^{_FIELD}(?:,{_FIELD})*$")
    quoted = quoted.with_columns(
        pl.when(well_formed)
        .then(pl.col("raw").str.replace_all(_QUOTED, "").str.count_matches(",", literal=True) + 1)
        .otherwise(-1)
        .cast(pl.Int32)
        .alias("n_fields"),
        *[_unquote(groups.struct.field(str(i + 1))).alias(f"_text_{name}") for i, name in enumerate(names)],
    )
    return pl.concat([plain, quoted]).sort("line")


def _evaluate(records: pl.DataFrame, spec: FileSpec, references: Mapping[str, pl.Series]) -> pl.DataFrame:
    """Typed columns plus `rule`/`value`: the first rule each row breaks (null when it breaks none).

    Order: shape (empty line, quoting, field count), empty required field, unparsable number,
    value rules, references. Repeated keys are judged later, on the rows that pass all of these.
    """
    typed = []
    for c in spec.columns:
        text = pl.col(f"_text_{c.name}")
        if c.dtype == pl.String:
            typed.append(pl.when(text != "").then(text).alias(c.name))
        else:  # polars' reader tolerates spaces around numbers, so the diagnosis does too
            typed.append(text.str.strip_chars().cast(c.dtype, strict=False).alias(c.name))
    records = records.with_columns(typed)

    n = len(spec.columns)
    rule = (
        pl.when(pl.col("raw") == "")
        .then(pl.lit("empty line"))
        .when(pl.col("n_fields") == -1)
        .then(pl.lit("malformed quoting (a field must be wholly quoted, with inner quotes doubled)"))
        .when(pl.col("n_fields") != n)
        .then(pl.format(f"expected {n} fields ({spec.header}), found {{}}", pl.col("n_fields")))
    )
    value = pl.when(pl.col("raw") == "").then(pl.lit("")).when(pl.col("n_fields") != n).then(pl.col("raw"))
    for c in spec.columns:
        text = pl.col(f"_text_{c.name}")
        empty = text.is_null() | (text.str.strip_chars() == "")
        if c.required:
            rule = rule.when(empty).then(pl.lit(f"{c.name} is empty"))
            value = value.when(empty).then(text)
        if c.dtype != pl.String:
            unparsable = ~empty & pl.col(c.name).is_null()
            if c.dtype.is_integer():  # digits that do not fit: say so, "not an integer" would mislead
                too_big = unparsable & text.str.strip_chars().str.contains(r"^[+-]?\d+$")
                rule = rule.when(too_big).then(pl.lit(f"{c.name} is out of range for {c.dtype}"))
                value = value.when(too_big).then(text)
            rule = rule.when(unparsable).then(
                pl.lit(f"{c.name} is not {'an integer' if c.dtype.is_integer() else 'a number'}")
            )
            value = value.when(unparsable).then(text)
    for value_rule in spec.value_rules:
        bad = value_rule.bad.fill_null(False)
        rule = rule.when(bad).then(pl.lit(value_rule.message))
        value = value.when(bad).then(pl.col(f"_text_{value_rule.column}"))
    for ref in spec.references:
        unknown = pl.col(ref.column).is_not_null() & ~pl.col(ref.column).is_in(references[ref.source].implode())
        rule = rule.when(unknown).then(pl.lit(f"{ref.column} not in {ref.source}"))
        value = value.when(unknown).then(pl.col(f"_text_{ref.column}"))
    return records.with_columns(rule.otherwise(None).alias("rule"), value.otherwise(None).alias("value")).cast(
        {"rule": pl.String, "value": pl.String}
    )


def _diagnose_lines(
    path: Path, spec: FileSpec, references: Mapping[str, pl.Series]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    names = [c.name for c in spec.columns]
    lines = _join_multiline_records(_physical_lines(path))
    good_parts, bad_parts = [], [REJECTS.to_frame()]
    for offset in range(0, lines.height, DIAGNOSIS_CHUNK_ROWS):
        judged = _evaluate(_split_fields(lines.slice(offset, DIAGNOSIS_CHUNK_ROWS), names), spec, references)
        bad_parts.append(judged.filter(pl.col("rule").is_not_null()).select(REJECTS.names()))
        good_parts.append(judged.filter(pl.col("rule").is_null()).select(["line", *names]))
    good = pl.concat(good_parts) if good_parts else pl.DataFrame(schema={"line": pl.Int64, **spec.read_schema})
    good, repeats = _reject_repeats(good.cast(spec.read_schema), spec)
    if repeats.height:
        bad_parts.append(repeats.join(lines, on="line", how="left").select(REJECTS.names()))
    return good.drop("line"), pl.concat(bad_parts).sort("line").cast(dict(REJECTS))


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
