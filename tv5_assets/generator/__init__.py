"""Synthetic MovieLens data in the exact GroupLens CSV format (the real files may not be shipped).

`write_sample(out, scale, seed, genome)` writes movies.csv, ratings.csv, tags.csv, links.csv and,
with genome=True, genome-tags.csv and genome-scores.csv. Scale 1.0 reproduces ml-25m's row
counts exactly; a smaller scale is a sample of users from the same ml-25m-sized world (see
`counts` for what a scale means). The same seed gives byte-identical files. The planted parser hard
cases are `TRAIT_TITLES` (titles.py) and `TRAIT_TAGS` (tags.py).

Modules: counts (rows per file, what a scale means), vocab (word lists, tag vocabularies), titles
(titles and their expected parse), movies (ids, genres, years, popularity, links), taste (the
latent taste shared by users and movies), timeline (sign-up, sessions), ratings, tags, genome, writer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .counts import WORLD, Counts, counts_for, sample_counts
from .genome import genome_relevance, genome_tags_frame, iter_genome_scores
from .movies import Movies, build_movies
from .ratings import Rerating, Users, draw_ratings, rerating
from .tags import TRAIT_TAG_KINDS, TRAIT_TAGS, build_tags
from .taste import MovieTaste, Profiles, movie_taste, profiles
from .titles import DUPLICATE_TITLES, TRAIT_TITLE_KINDS, TRAIT_TITLES, expected_parse
from .writer import write_csv

__all__ = [
    "GENERATOR_VERSION",
    "DUPLICATE_TITLES",
    "TRAIT_TAGS",
    "TRAIT_TAG_KINDS",
    "TRAIT_TITLES",
    "TRAIT_TITLE_KINDS",
    "Counts",
    "counts_for",
    "expected_parse",
    "rerating_of_sample",
    "sample_counts",
    "write_sample",
]

GENOME_FILES = ("genome-tags.csv", "genome-scores.csv")
GENERATOR_VERSION = "5"
"""Changes whenever the same scale and seed would write different files (scripts/env.sh compares it
before reusing a generated folder). 2: taste, user samples of the ml-25m world, sessions. 3: a
plateau of blockbusters at the head of popularity, choice less driven by taste. 4: popularity as
concentrated as ml-25m's (item Gini 0.94), choice by taste a little weaker again. 5: rating noise
as large as people's own when they rate a movie again (RMSE 0.68 stars, published 0.56-0.77)."""


def write_sample(out: str | Path, scale: float = 0.01, seed: int = 42, genome: bool = True) -> dict[str, int]:
    """Write a MovieLens-format sample into folder `out`; returns rows written per file name.

    With genome=False, genome files left in `out` by an earlier run are removed, so the folder
    reads as a consistent genome-less release (like ml-latest-small).
    """
    c = counts_for(scale)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    world, taste, taste_profiles, users = _population(c, seed)
    ratings = draw_ratings(world, taste, taste_profiles, users, seed)
    keep = _catalogue(world, ratings.movie, scale)
    movies = world.subset(keep)
    ratings.movie = np.searchsorted(keep, ratings.movie)  # indices into the sample's catalogue
    relevance = genome_relevance(movies, c, seed)
    tags = build_tags(movies, users, ratings, relevance, c, seed)
    written = {
        "movies.csv": write_csv(folder / "movies.csv", [movies.movies_frame()]),
        "ratings.csv": write_csv(folder / "ratings.csv", ratings.frames(movies)),
        "tags.csv": write_csv(folder / "tags.csv", [tags]),
        "links.csv": write_csv(folder / "links.csv", [movies.links_frame()]),
    }
    if genome:
        written["genome-tags.csv"] = write_csv(folder / "genome-tags.csv", [genome_tags_frame(c)])
        written["genome-scores.csv"] = write_csv(folder / "genome-scores.csv", iter_genome_scores(movies, relevance))
    else:
        for name in GENOME_FILES:
            (folder / name).unlink(missing_ok=True)
    expected = c.files(genome)
    expected["movies.csv"] = expected["links.csv"] = len(movies)
    if genome:
        expected["genome-scores.csv"] = min(c.genome_movies, len(movies)) * c.genome_tags
    if written != expected:  # pragma: no cover - a bug, not a user error
        raise RuntimeError(f"row counts {written} differ from the plan {expected}")
    return written


def rerating_of_sample(scale: float, seed: int, noises: Sequence[float | None] = (None,)) -> list[Rerating]:
    """`ratings.rerating` for the sample `write_sample(out, scale, seed)` draws (its rows before series
    completion, which only swaps rows): how far a generated rating is from itself when drawn again, one
    result per noise level (None: `RATING_NOISE`), all on the same rows."""
    return rerating(*_population(counts_for(scale), seed), seed, noises)


def _population(c: Counts, seed: int) -> tuple[Movies, MovieTaste, Profiles, Users]:
    """The world's movies and their taste vectors, the taste profiles, and the sample's users."""
    world = build_movies(WORLD, seed)
    taste = movie_taste(world.genre_matrix, world.years, world.latent)
    taste_profiles = profiles(seed)
    return world, taste, taste_profiles, Users(c, seed, taste_profiles)


def _catalogue(world, rated: np.ndarray, scale: float) -> np.ndarray:
    """Increasing world indices written to movies.csv: every movie at scale >= 1; below it, the
    movies the sample rated (tags are on rated movies) plus the anchors that carry the hard cases."""
    if scale >= 1.0:
        return np.arange(len(world), dtype=np.int64)
    mask = np.zeros(len(world), dtype=bool)
    mask[rated] = True
    mask[world.anchors] = True
    return np.flatnonzero(mask)
