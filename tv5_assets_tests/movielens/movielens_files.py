"""Helpers for the movielens tests: hand-made GroupLens-format files and corrupted copies.

Files are written byte for byte (CRLF, quoting) so tests control every trait and line number.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

CRLF = "\r\n"

HANDMADE = {
    "movies.csv": [
        "movieId,title,genres",
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy",
        '2,"City of Lost Children, The (Cité des enfants perdus, La) (1995)",Adventure|Drama|Fantasy|Mystery|Sci-Fi',
        '3,"""Great Performances"" Cats (1998)",Musical',
        "4,Babylon 5,(no genres listed)",
        "5,Love|Hate (2019),IMAX|Drama",
        "6,Big Bang Theory (2007\u20132019),Comedy",
        "7,Winter Passage\u00a0(2009) ,Children",
    ],
    "links.csv": [
        "movieId,imdbId,tmdbId",
        "1,0114709,862",
        "2,0112682,902",
        "3,0173714,",
        "4,0105946,",
        "5,01234567,5",
        "6,0898266,1418",
        "7,0000001,7",
    ],
    "ratings.csv": [
        "userId,movieId,rating,timestamp",
        "1,1,4.0,1147880044",
        "1,2,3.5,1147868817",
        "1,5,0.5,1147868828",
        "2,1,5.0,1230788346",
        "2,3,4.5,1230788400",
        "3,6,2.0,1262304000",
    ],
    "tags.csv": [
        "userId,movieId,tag,timestamp",
        '1,1,"dark, gritty",1147880044',
        '1,2,"quote: ""I\'ll be back""",1147880045',
        "1,2,funny ,1147880046",
        "2,3,007,1230788346",
        "2,3,Sci-Fi,1230788347",
        "2,5,SCI-FI,1230788348",
        "3,6,AmÃ©lie,1262304000",
    ],
    "genome-tags.csv": ["tagId,tag", "1,007", "2,dark", "3,funny"],
    "genome-scores.csv": [
        "movieId,tagId,relevance",
        "1,1,0.028749999999999998",
        "1,2,0.9",
        "1,3,0.75",
        "2,1,0.5",
        "2,2,0.5000001",
        "2,3,0.1",
    ],
}


def write_lines(path: Path, lines: list[str], eol: str = CRLF) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((eol.join(lines) + eol).encode("utf-8"))
    return path


def write_release(folder: Path, files: dict[str, list[str]] | None = None, genome: bool = True) -> Path:
    """A small hand-made release; `files` overrides some files' lines."""
    chosen = {**HANDMADE, **(files or {})}
    for name, lines in chosen.items():
        if not genome and name.startswith("genome"):
            continue
        write_lines(folder / name, lines)
    return folder


def replace_lines(path: Path, replacements: dict[int, str], append: list[str] | None = None) -> None:
    """Replace 1-based physical lines of a CRLF file (header = line 1), optionally append lines."""
    lines = path.read_bytes().decode("utf-8").split(CRLF)
    if lines and lines[-1] == "":
        lines.pop()
    for number, text in replacements.items():
        lines[number - 1] = text
    lines.extend(append or [])
    write_lines(path, lines)


def copy_release(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def materialize(selection, raise_on_error: bool = True, run_config: dict | None = None):
    """Materialize a selection of the real code location (assets and their checks)."""
    from tv5_assets.definitions import defs as load_defs

    defs = load_defs()

    return dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        selection=selection,
        resources=dict(defs.resources or {}),
        raise_on_error=raise_on_error,
        run_config=run_config,
    )


def check_results(result) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def output_metadata(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        mat = event.event_specific_data.materialization
        if mat.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in mat.metadata.items()}
    raise KeyError(asset)


def step_failures(result) -> dict[str, str]:
    """Step key -> the full error text (with causes) of every failed step of a run."""
    failures = {}
    for event in result.all_events:
        if event.is_step_failure:
            failures[event.step_key] = event.step_failure_data.error.to_string()
    return failures


def read_table(data_dir: Path, key: str):
    from tv5_assets.io_managers import read_frame

    return read_frame(key, lazy=False, base_dir=data_dir / "assets")
