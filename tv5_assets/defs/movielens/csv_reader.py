"""The generic CSV validator, part 2: read a file by its `FileSpec` into good rows and rejects.

Reading a file (`read_file`) is designed so the good path is fast and the bad path is precise:

- **Typed read**: polars' multi-threaded CSV reader with an explicit schema. When it succeeds and
  the file has exactly one record per physical line (counted with one memchr pass), row i is line
  i + 2, whatever the quoting or CRLF. Rows that look wrong (a null anywhere, a quote inside a text
  field, a value or reference rule broken) are suspects: only their raw lines are fetched and
  judged by the precise splitter (`csv_spec.py`). Keys are then checked for repeats (one pass when sorted).
- **Line-by-line diagnosis**, when the typed read fails (unparsable number, too many fields,
  broken quoting) or a quoted field spans lines: every physical line is read, multi-line quoted
  records are joined back (numbered by their first line), fields are split with an RFC 4180 regex,
  cast without raising, and every rule is evaluated on every row, in bounded chunks.

Either path returns the typed good rows (file column names) and a rejects frame
(`line`, `rule`, `value`, `raw`, see schemas.REJECTS): the caller raises `BadInputError` for the
first one or quarantines them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ...errors import BadInputError
from ...schemas import movielens as schemas
from .csv_spec import FileSpec, evaluate, join_multiline_records, physical_lines, split_fields

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
        judged = evaluate(split_fields(_fetch_lines(path, typed.filter(suspect)["line"]), names), spec, references)
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


def _diagnose_lines(
    path: Path, spec: FileSpec, references: Mapping[str, pl.Series]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    names = [c.name for c in spec.columns]
    lines = join_multiline_records(physical_lines(path), len(names))
    good_parts, bad_parts = [], [REJECTS.to_frame()]
    for offset in range(0, lines.height, DIAGNOSIS_CHUNK_ROWS):
        judged = evaluate(split_fields(lines.slice(offset, DIAGNOSIS_CHUNK_ROWS), names), spec, references)
        bad_parts.append(judged.filter(pl.col("rule").is_not_null()).select(REJECTS.names()))
        good_parts.append(judged.filter(pl.col("rule").is_null()).select(["line", *names]))
    good = pl.concat(good_parts) if good_parts else pl.DataFrame(schema={"line": pl.Int64, **spec.read_schema})
    good, repeats = _reject_repeats(good.cast(spec.read_schema), spec)
    if repeats.height:
        bad_parts.append(repeats.join(lines, on="line", how="left").select(REJECTS.names()))
    return good.drop("line"), pl.concat(bad_parts).sort("line").cast(dict(REJECTS))
