"""How many rows each file gets at a given scale, and what a scale means.

The generator models one world the size of ml-25m (62,423 movies, the same movieIds, 162,541 users'
worth of taste profiles). A scale S is a sample of users from that world, the way GroupLens made
ml-latest-small (610 users of the full site), not ml-25m shrunk on every axis:
- users: round(S x 162,541), at least 20; ratings: round(S x 25,000,095), at least 20 per user
  (each user rates like a user of the world: heavy tail, median about 70);
- tag applications: round(S x 1,093,360), at least 200, by round(S x 14,592) taggers (at least 5);
- movies: the world's movies that the sample rated or tagged, plus a few dozen anchors that carry
  the format's hard cases (planted titles, every genre, the first and last movieId, ...). So the
  catalogue is much larger than S x 62,423 and the rating matrix is sparse, as in real small
  releases. At S >= 1 every world movie is written (62,423, some never rated, as in ml-25m);
- genome: round(S x 13,816) movies, but at least GENOME_MIN_MOVIES (and at most the movies written):
  the most popular of the sample's movies, x all 1,128 genome tags. ml-25m's genome covers the
  22% of its catalogue with the most ratings; a small sample keeps the part of it its users meet
  most, large enough for the genome-based checks to have statistical power (1,000 movies: 1.1M
  rows, about 30 MB).
Scale 1.0 reproduces ml-25m's row counts exactly. Scales above 1 draw more users from the same
world (ratings and tags grow, the catalogue stays 62,423).
"""

from __future__ import annotations

from dataclasses import dataclass

ML25M = {
    "movies": 62_423,
    "users": 162_541,
    "ratings": 25_000_095,
    "tags": 1_093_360,
    "taggers": 14_592,
    "genome_movies": 13_816,
    "genome_tags": 1_128,
    "max_movie_id": 209_171,
}
MIN_RATINGS_PER_USER = 20
GENOME_MIN_MOVIES = 1_000


@dataclass(frozen=True)
class Counts:
    movies: int
    users: int
    ratings: int
    tags: int
    taggers: int
    genome_movies: int
    genome_tags: int
    max_movie_id: int

    def files(self, genome: bool = True) -> dict[str, int]:
        out = {
            "movies.csv": self.movies,
            "ratings.csv": self.ratings,
            "tags.csv": self.tags,
            "links.csv": self.movies,
        }
        if genome:
            out["genome-tags.csv"] = self.genome_tags
            out["genome-scores.csv"] = self.genome_movies * self.genome_tags
        return out


def counts_for(scale: float) -> Counts:
    """The plan for a scale. `movies` and `genome_movies` are upper bounds below scale 1 (the
    sample's own catalogue decides); every other count is exact."""
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")

    def lin(key: str) -> int:
        return int(round(ML25M[key] * scale))

    users = max(20, lin("users"))
    return Counts(
        movies=ML25M["movies"],
        users=users,
        ratings=max(MIN_RATINGS_PER_USER * users, lin("ratings")),
        tags=max(200, lin("tags")),
        taggers=min(users, max(5, lin("taggers"))),
        genome_movies=max(GENOME_MIN_MOVIES, lin("genome_movies")),
        genome_tags=ML25M["genome_tags"],
        max_movie_id=ML25M["max_movie_id"],
    )


WORLD = counts_for(1.0)
"""The world every sample is drawn from: ml-25m's catalogue and population."""


def sample_counts(scale: float = 0.01, genome: bool = True) -> dict[str, int]:
    """Rows per file that `write_sample(out, scale, genome=genome)` writes at scale >= 1, and the
    upper bounds of movies.csv, links.csv and genome-scores.csv below it (no file is written)."""
    return counts_for(scale).files(genome)
