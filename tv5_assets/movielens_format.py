"""Facts of the MovieLens file format itself, shared by the parser (defs/movielens) and the generator of
MovieLens-format data (generator/), which must not depend on the asset definitions.
"""

from __future__ import annotations

GENRES: tuple[str, ...] = (
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "IMAX",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
"""The 19 genres of the MovieLens format (its README), in that order; a movie may also list
"(no genres listed)", which the `movies` table turns into an empty list."""
