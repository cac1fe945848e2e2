"""Synthetic MovieLens data in the exact GroupLens CSV format (the real files may not be shipped).

`write_sample(out, scale, seed, genome)` writes movies.csv, ratings.csv, tags.csv, links.csv and,
with genome=True, genome-tags.csv and genome-scores.csv. Scale 1.0 reproduces ml-25m's row
counts exactly; see `counts` for how smaller scales round, floor and cap. The same seed gives
byte-identical files. The planted parser hard cases are `TRAIT_TITLES` (titles.py) and
`TRAIT_TAGS` (tags.py).

Modules: counts (rows per file), vocab (word lists, tag vocabularies), titles (titles and their
expected parse), movies (ids, genres, years, popularity, links), ratings, tags, genome, writer.
"""

from __future__ import annotations

from pathlib import Path

from .counts import Counts, counts_for, sample_counts
from .genome import genome_tags_frame, iter_genome_scores
from .movies import build_movies
from .ratings import Users, iter_ratings
from .tags import TRAIT_TAG_KINDS, TRAIT_TAGS, build_tags
from .titles import DUPLICATE_TITLES, TRAIT_TITLE_KINDS, TRAIT_TITLES, expected_parse
from .writer import write_csv

__all__ = [
    "DUPLICATE_TITLES",
    "TRAIT_TAGS",
    "TRAIT_TAG_KINDS",
    "TRAIT_TITLES",
    "TRAIT_TITLE_KINDS",
    "Counts",
    "counts_for",
    "expected_parse",
    "sample_counts",
    "write_sample",
]

GENOME_FILES = ("genome-tags.csv", "genome-scores.csv")


def write_sample(out: str | Path, scale: float = 0.01, seed: int = 42, genome: bool = True) -> dict[str, int]:
    """Write a MovieLens-format sample into folder `out`; returns rows written per file name.

    With genome=False, genome files left in `out` by an earlier run are removed, so the folder
    reads as a consistent genome-less release (like ml-latest-small).
    """
    c = counts_for(scale)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    movies = build_movies(c, seed)
    users = Users(c, seed)
    written = {
        "movies.csv": write_csv(folder / "movies.csv", [movies.movies_frame()]),
        "ratings.csv": write_csv(folder / "ratings.csv", iter_ratings(movies, users, seed)),
        "tags.csv": write_csv(folder / "tags.csv", [build_tags(movies, users, c, seed)]),
        "links.csv": write_csv(folder / "links.csv", [movies.links_frame()]),
    }
    if genome:
        written["genome-tags.csv"] = write_csv(folder / "genome-tags.csv", [genome_tags_frame(c)])
        written["genome-scores.csv"] = write_csv(folder / "genome-scores.csv", iter_genome_scores(movies, c, seed))
    else:
        for name in GENOME_FILES:
            (folder / name).unlink(missing_ok=True)
    expected = c.files(genome)
    if written != expected:  # pragma: no cover - a bug, not a user error
        raise RuntimeError(f"row counts {written} differ from the plan {expected}")
    return written
