"""The bad-input corpus: broken copies of a generated MovieLens release, one defect per case.

Each `Case` copies a clean release (`tv5 sample`, see `write_release`) and breaks one file in one
way, returning what it planted (`Planted`: the first bad line and how many bad rows). Its declared
`outcome` says what the movielens assets must do with it:

- `ROWS`: the file is usable but some rows are not. A strict run fails naming file, line and rule;
  a `quarantine: true` run sets exactly the planted rows aside (kept + quarantined = rows in).
- `FILE`: the whole file is unusable (header, encoding, empty, missing partner file). Both runs
  fail with file, line (where there is one), rule and what to do.
- `ACCEPTED`: a harmless variant (BOM, line endings): both runs keep every row, identical to the
  clean file's table.

`observe` runs the real movielens assets (`dg.materialize` of the code location) on a case and
reports what happened; the tests compare that with the declared outcome, and `markdown_table`
renders the declarations (so the table in docs/reliability.md is what the tests prove). Fault-injection tests can
reuse `write_release`, `materialize` and `step_errors`.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

CRLF = "\r\n"
ROWS, FILE, ACCEPTED = "rows set aside", "file refused", "accepted"
SAMPLE_SCALE, SAMPLE_SEED = 0.002, 7

ASSET_OF = {
    "links.csv": "links",
    "movies.csv": "movies",
    "ratings.csv": "ratings",
    "tags.csv": "tags",
    "genome-tags.csv": "genome_tags",
    "genome-scores.csv": "genome_scores",
}


@dataclass(frozen=True)
class Planted:
    line: int | None  # first bad physical line (header = 1); None when the defect has no line
    bad_rows: int = 0  # rows a quarantine run must set aside


@dataclass(frozen=True)
class Case:
    name: str
    what: str  # for the table in docs/reliability.md
    file: str  # the file the defect is in
    outcome: str  # ROWS, FILE or ACCEPTED
    rule: str  # text the error (and each reject's rule) must contain; "" for ACCEPTED
    plant: Callable[[Path], Planted]  # breaks the release folder in place
    asset: str = ""  # the asset that reads it (default: the file's)
    advice: str = ""  # what-to-do text the error must contain (default: by outcome)

    @property
    def target(self) -> str:
        return self.asset or ASSET_OF[self.file]

    @property
    def expected_advice(self) -> str:
        return self.advice or {ROWS: "Fix the file, or set", FILE: "Fix or replace the file"}.get(self.outcome, "")


# ------------------------------------------------------------------------------ file helpers


def write_release(out: Path, scale: float = SAMPLE_SCALE, seed: int = SAMPLE_SEED) -> Path:
    """A clean generated release (with genome), as `tv5 sample --scale --seed` writes it."""
    from tv5_assets.generator import write_sample

    write_sample(out, scale=scale, seed=seed, genome=True)
    return out


def read_lines(path: Path) -> list[str]:
    """Physical lines of a CRLF file (what the generator writes), without the final empty one."""
    lines = path.read_bytes().decode("utf-8").split(CRLF)
    return lines[:-1] if lines and lines[-1] == "" else lines


def write_lines(path: Path, lines: list[str], eol: str = CRLF, final_eol: bool = True, encoding="utf-8") -> None:
    path.write_bytes((eol.join(lines) + (eol if final_eol else "")).encode(encoding, errors="replace"))


def data_rows(path: Path) -> int:
    """Records after the header, counting a last line without its newline (a cut-off file)."""
    data = path.read_bytes()
    if not data:
        return 0
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    return lines - 1


def _edit(path: Path, changes: dict[int, Callable[[list[str]], list[str]]]) -> None:
    """Replace fields of 1-based physical lines: `changes[line](fields) -> fields`."""
    lines = read_lines(path)
    for number, change in changes.items():
        lines[number - 1] = ",".join(change(lines[number - 1].split(",")))
    write_lines(path, lines)


def _field(index: int, value: str) -> Callable[[list[str]], list[str]]:
    return lambda fields: [*fields[:index], value, *fields[index + 1 :]]


def _set_fields(file: str, index: int, values: dict[int, str]) -> Callable[[Path], Planted]:
    """Plant: field `index` of the given lines of `file` gets the given text; one bad row per line."""

    def plant(folder: Path) -> Planted:
        _edit(folder / file, {line: _field(index, value) for line, value in values.items()})
        return Planted(min(values), len(values))

    return plant


# ------------------------------------------------------------------------------ plants


def _truncated(folder: Path) -> Planted:
    """A download cut off in the middle of the last row: `userId,movieId,` and no newline."""
    path = folder / "ratings.csv"
    lines = read_lines(path)
    last = lines[-1]
    lines[-1] = last[: last.index(",", last.index(",") + 1) + 1]
    write_lines(path, lines, final_eol=False)
    return Planted(len(lines), 1)


def _wrong_header(folder: Path) -> Planted:
    path = folder / "movies.csv"
    write_lines(path, ["movie_id,title,genres", *read_lines(path)[1:]])
    return Planted(1)


def _reordered(folder: Path) -> Planted:
    """Columns swapped consistently (header and rows): still refused, the reader maps by position."""
    path = folder / "ratings.csv"
    swapped = [",".join([f[1], f[0], *f[2:]]) for f in (line.split(",") for line in read_lines(path))]
    write_lines(path, swapped)
    return Planted(1)


def _latin1(folder: Path) -> Planted:
    path = folder / "movies.csv"
    lines = read_lines(path)
    lines[4] = ",".join([lines[4].split(",")[0], "Amélie (2001)", "Comedy|Romance"])
    write_lines(path, lines, encoding="latin-1")
    return Planted(next(n for n, line in enumerate(lines, 1) if not line.isascii()))


def _bom(folder: Path) -> Planted:
    path = folder / "ratings.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return Planted(None)


def _lf(folder: Path) -> Planted:
    path = folder / "ratings.csv"
    write_lines(path, read_lines(path), eol="\n")
    return Planted(None)


def _mixed_eol(folder: Path) -> Planted:
    path = folder / "tags.csv"
    text = "".join(line + (CRLF if i % 2 else "\n") for i, line in enumerate(read_lines(path)))
    path.write_bytes(text.encode("utf-8"))
    return Planted(None)


def _no_final_newline(folder: Path) -> Planted:
    path = folder / "links.csv"
    write_lines(path, read_lines(path), final_eol=False)
    return Planted(None)


def _duplicates(folder: Path) -> Planted:
    """Line 10 repeated right after itself (sorted order) and line 500 repeated at the end (unsorted)."""
    path = folder / "ratings.csv"
    lines = read_lines(path)
    lines = [*lines[:10], lines[9], *lines[10:], lines[499]]
    write_lines(path, lines)
    return Planted(11, 2)


def _unknown_movie(folder: Path) -> Planted:
    movie_ids = {int(line.split(",")[0]) for line in read_lines(folder / "movies.csv")[1:]}
    missing = max(movie_ids) + 1_000
    return _set_fields("ratings.csv", 1, {60: str(missing)})(folder)


def _empty(folder: Path) -> Planted:
    (folder / "tags.csv").write_bytes(b"")
    return Planted(1)


def _header_only(folder: Path) -> Planted:
    path = folder / "ratings.csv"
    write_lines(path, read_lines(path)[:1])
    return Planted(2)


TEN_MB = 10 * 1024 * 1024


def _huge_title(folder: Path) -> Planted:
    """A new movie (id after the last, so the file stays sorted) whose title is 10 MB long."""
    path = folder / "movies.csv"
    lines = read_lines(path)
    new_id = max(int(line.split(",")[0]) for line in lines[1:]) + 1
    lines.append(f"{new_id},{'x' * TEN_MB} (2001),Drama")
    write_lines(path, lines)
    return Planted(len(lines), 1)


def _no_genome_tags(folder: Path) -> Planted:
    (folder / "genome-tags.csv").unlink()
    return Planted(None)


def _blank_line(folder: Path) -> Planted:
    path = folder / "ratings.csv"
    lines = read_lines(path)
    write_lines(path, [*lines[:69], "", *lines[69:]])
    return Planted(70, 1)


def _broken_quote(folder: Path) -> Planted:
    path = folder / "tags.csv"
    lines = read_lines(path)
    user, movie, *_, stamp = lines[32].split(",")
    lines[32] = f'{user},{movie},"unclosed quote,{stamp}'
    write_lines(path, lines)
    return Planted(33, 1)


def _extra_field(folder: Path) -> Planted:
    path = folder / "movies.csv"
    lines = read_lines(path)
    movie_id, *_ = lines[6].split(",")
    lines[6] = f"{movie_id},Hello, World (2000),Drama"  # an unquoted comma in the title
    write_lines(path, lines)
    return Planted(7, 1)


# ------------------------------------------------------------------------------ the corpus

CASES: tuple[Case, ...] = (
    Case(
        "truncated_mid_row",
        "download cut off mid-row (no final newline)",
        "ratings.csv",
        ROWS,
        "expected 4 fields",
        _truncated,
    ),
    Case("wrong_header", "wrong header (`movie_id`)", "movies.csv", FILE, "header must be", _wrong_header),
    Case("reordered_columns", "columns reordered (header and rows)", "ratings.csv", FILE, "header must be", _reordered),
    Case("latin1", "Latin-1 encoded file (`Amélie`)", "movies.csv", FILE, "not valid UTF-8", _latin1),
    Case("utf8_bom", "UTF-8 byte-order mark", "ratings.csv", ACCEPTED, "", _bom),
    Case("lf_endings", "LF line endings instead of CRLF", "ratings.csv", ACCEPTED, "", _lf),
    Case("mixed_endings", "CRLF and LF mixed in one file", "tags.csv", ACCEPTED, "", _mixed_eol),
    Case("no_final_newline", "no newline after the last row", "links.csv", ACCEPTED, "", _no_final_newline),
    Case(
        "duplicate_keys",
        "repeated (userId, movieId), adjacent and far apart",
        "ratings.csv",
        ROWS,
        "duplicate (userId, movieId): first on line",
        _duplicates,
    ),
    Case(
        "off_half_star_grid",
        "ratings 3.7, 5.5 and 0.0",
        "ratings.csv",
        ROWS,
        "rating is not a half star",
        _set_fields("ratings.csv", 2, {20: "3.7", 21: "5.5", 22: "0.0"}),
    ),
    Case(
        "negative_timestamp",
        "timestamp -86400",
        "ratings.csv",
        ROWS,
        "timestamp is not Unix seconds",
        _set_fields("ratings.csv", 3, {30: "-86400"}),
    ),
    Case(
        "future_timestamp",
        "timestamp 4200000000 (year 2103)",
        "tags.csv",
        ROWS,
        "timestamp is not Unix seconds",
        _set_fields("tags.csv", 3, {40: "4200000000"}),
    ),
    Case(
        "id_out_of_range",
        "userId 3000000000 (over Int32)",
        "ratings.csv",
        ROWS,
        "userId is out of range for Int32",
        _set_fields("ratings.csv", 0, {50: "3000000000"}),
    ),
    Case(
        "non_positive_ids",
        "userId 0 and -7",
        "tags.csv",
        ROWS,
        "userId is not a positive id",
        _set_fields("tags.csv", 0, {15: "0", 16: "-7"}),
    ),
    Case(
        "unknown_movie",
        "a movieId in ratings that movies.csv lacks",
        "ratings.csv",
        ROWS,
        "movieId not in movies.csv",
        _unknown_movie,
    ),
    Case(
        "not_a_number",
        "rating `four`",
        "ratings.csv",
        ROWS,
        "rating is not a number",
        _set_fields("ratings.csv", 2, {80: "four"}),
    ),
    Case(
        "empty_field", "empty rating", "ratings.csv", ROWS, "rating is empty", _set_fields("ratings.csv", 2, {90: ""})
    ),
    Case("blank_line", "blank line mid-file", "ratings.csv", ROWS, "empty line", _blank_line),
    Case("extra_field", "unquoted comma in a title", "movies.csv", ROWS, "expected 3 fields", _extra_field),
    Case("broken_quoting", "quote opened and never closed", "tags.csv", ROWS, "malformed quoting", _broken_quote),
    Case("empty_file", "empty file (0 bytes)", "tags.csv", FILE, "file is empty", _empty),
    Case("header_only", "header and no rows", "ratings.csv", FILE, "header but no rows", _header_only),
    Case("ten_mb_title", "a 10 MB title", "movies.csv", ROWS, "title is longer than 1000 characters", _huge_title),
    Case(
        "nul_byte",
        "NUL byte inside a tag",
        "tags.csv",
        ROWS,
        "tag contains a NUL byte",
        _set_fields("tags.csv", 2, {25: "fun\x00ny"}),
    ),
    Case(
        "genome_scores_without_tags",
        "genome-scores.csv without genome-tags.csv",
        "genome-tags.csv",
        FILE,
        "genome-tags.csv is missing",
        _no_genome_tags,
        asset="genome_scores",
        advice="Restore the missing one",
    ),
)


def build_case(case: Case, clean: Path, out: Path) -> tuple[Path, Planted]:
    """A copy of the clean release at `out` with the case's defect planted."""
    shutil.copytree(clean, out)
    return out, case.plant(out)


# ------------------------------------------------------------------------------ running


@functools.cache
def code_location() -> dg.Definitions:
    """The real code location, loaded once per test process (loading it costs about a second)."""
    from tv5_assets.definitions import defs as load_defs

    return load_defs()


def materialize(selection, raise_on_error: bool = False, run_config: dict | None = None):
    """Materialize a selection of the real code location (assets and their checks), in process."""
    defs = code_location()
    return dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        selection=selection,
        resources=dict(defs.resources or {}),
        raise_on_error=raise_on_error,
        run_config=run_config,
    )


def step_errors(result) -> dict[str, tuple[str, str]]:
    """Step key -> (the user-facing message of the root error, the full text with causes)."""
    errors = {}
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            root = error
            while root.cause is not None:
                root = root.cause
            errors[event.step_key] = (f"{root.cls_name}: {root.message.strip()}", error.to_string())
    return errors


@dataclass
class Observation:
    error: str | None  # strict run: the root error's class and message, None when it succeeded
    quarantine_error: str | None  # same for the quarantine run
    kept: int | None = None  # rows in the table after the quarantine run
    quarantined: int | None = None  # rows in <asset>_rejects after the quarantine run
    rules: tuple[str, ...] = ()  # the distinct rules of the rejects


def _run(asset: str, quarantine: bool):
    # the step alone: its own no_rejected_rows check runs inside it; the table checks are not the subject
    selection = dg.AssetSelection.assets(asset, f"{asset}_rejects").without_checks()
    config = {"ops": {asset: {"config": {"quarantine": True}}}} if quarantine else None
    result = materialize(selection, run_config=config)
    errors = step_errors(result)
    return (errors[asset][0] if asset in errors else None), result


def observe(case: Case, data_dir: Path) -> Observation:
    """Run the case's asset strictly, then with `quarantine: true`; TV5_MOVIELENS_DIR and
    TV5_DATA_DIR must point at the case's release and a data folder holding its upstream tables."""
    from tv5_assets.io_managers import read_frame

    error, _ = _run(case.target, quarantine=False)
    quarantine_error, _ = _run(case.target, quarantine=True)
    observation = Observation(error, quarantine_error)
    if quarantine_error is None:
        base = data_dir / "assets"
        rejects = read_frame(f"{case.target}_rejects", lazy=False, base_dir=base)
        observation.kept = read_frame(case.target, lazy=False, base_dir=base).height
        observation.quarantined = rejects.height
        observation.rules = tuple(sorted(set(rejects["rule"].to_list())))
    return observation


# ------------------------------------------------------------ docs/reliability.md


def markdown_table(cases: tuple[Case, ...] = CASES) -> str:
    """docs/reliability.md's case -> outcome table, from the declarations the tests hold the assets to."""
    lines = [
        "| # | case | file | outcome | rule in the error / rejects table |",
        "|---|---|---|---|---|",
    ]
    for number, case in enumerate(cases, 1):
        rule = f"`{case.rule}`" if case.rule else "every row kept, same table as the clean file"
        lines.append(f"| {number} | {case.what} | {case.file} | {case.outcome} | {rule} |")
    return "\n".join(lines)
