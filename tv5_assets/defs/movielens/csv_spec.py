"""The generic CSV validator, part 1: a file's contract (`FileSpec`) and the line-by-line judge.

A `FileSpec` names a file's columns, key, value rules and references; nothing here knows MovieLens
(its files are specified in `parsing.py`). The judge splits raw lines with an RFC 4180 regex (a
quoted field may span lines), casts without raising and names the first rule each row breaks; the
reader (`csv_reader.py`) calls it on suspect rows or, when the typed read fails, on every line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ...errors import BadInputError


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


_QUOTED = r'"(?:[^"]|"")*"'


_FIELD = rf'(?:{_QUOTED}|[^,"][^,]*|)'  # a quoted field, an unquoted one (no comma), or empty


_RECORD = rf"^{_FIELD}(?:,{_FIELD})*$"  # one well-formed record, any number of fields


_OPEN_RECORD = re.compile(rf'^(?:{_FIELD},)*"(?:[^"]|"")*$', re.S)  # ends inside an open quote


MAX_LINES_PER_RECORD = 100
"""A quoted field may span lines (RFC 4180), but not more than this: beyond it the quote is
treated as unbalanced, so one stray quote cannot swallow the rest of the file."""


def physical_lines(path: Path) -> pl.DataFrame:
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


def _record_re(n_fields: int) -> re.Pattern[str]:
    return re.compile("^" + ",".join([_FIELD] * n_fields) + "$", re.S)


def join_multiline_records(lines: pl.DataFrame, n_fields: int | None = None) -> pl.DataFrame:
    """Join a record whose quoted field spans lines back into one row, numbered by its first line.

    A join stands only when the joined text is one well-formed record (of `n_fields` fields, when
    given): a stray quote that happens to close lines later, in the middle of another row's field,
    must not swallow the rows between. Then the opening line alone fails "malformed quoting" and the
    lines after it are judged as the rows they are."""
    well_formed = _record_re(n_fields) if n_fields else re.compile(_RECORD, re.S)
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
        if _OPEN_RECORD.match(text) or not well_formed.match(text):
            continue  # never closed, or closed inside another row: left as a one-line record that fails
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


def split_fields(records: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
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
    well_formed = pl.col("raw").str.contains(_RECORD)
    quoted = quoted.with_columns(
        pl.when(well_formed)
        .then(pl.col("raw").str.replace_all(_QUOTED, "").str.count_matches(",", literal=True) + 1)
        .otherwise(-1)
        .cast(pl.Int32)
        .alias("n_fields"),
        *[_unquote(groups.struct.field(str(i + 1))).alias(f"_text_{name}") for i, name in enumerate(names)],
    )
    return pl.concat([plain, quoted]).sort("line")


def evaluate(records: pl.DataFrame, spec: FileSpec, references: Mapping[str, pl.Series]) -> pl.DataFrame:
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
