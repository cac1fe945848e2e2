"""How many rows each file gets at a given scale.

Scale 1.0 reproduces ml-25m exactly. Smaller scales multiply every count by `scale` and round,
with these floors and caps:
- movies >= 50, users >= 20, genome movies >= 10 (and <= movies), tag applications >= 200,
  taggers >= 5;
- ratings >= 20 per user, and at most 30% of users x movies: below scale ~0.008 the linear count
  would not fit (users x movies shrinks with scale squared), so the cap applies there;
- genome tags: always the full 1,128 (the genome files stay small at small scales anyway:
  genome movies x 1,128 rows).
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
MAX_RATING_DENSITY = 0.3


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
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")

    def lin(key: str) -> int:
        return int(round(ML25M[key] * scale))

    movies = max(50, lin("movies"))
    users = max(20, lin("users"))
    ratings = max(MIN_RATINGS_PER_USER * users, min(lin("ratings"), int(MAX_RATING_DENSITY * users * movies)))
    return Counts(
        movies=movies,
        users=users,
        ratings=ratings,
        tags=max(200, lin("tags")),
        taggers=min(users, max(5, lin("taggers"))),
        genome_movies=min(movies, max(10, lin("genome_movies"))),
        genome_tags=ML25M["genome_tags"],
        max_movie_id=max(2 * movies, lin("max_movie_id")),
    )


def sample_counts(scale: float = 0.01, genome: bool = True) -> dict[str, int]:
    """Rows per file that `write_sample(out, scale, genome=genome)` writes (no file is written)."""
    return counts_for(scale).files(genome)
