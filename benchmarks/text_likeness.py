"""How alike are movie texts in embedding space: real famous movies against a MovieLens-format folder.

The user-vector goal of issue 19 (norm of the mean <= 0.95; ml-latest-small 0.940) leaves open whether
generated texts are more alike than real ones. Real MovieLens files are not at hand, so this compares
120 well-known real movies, their titles and years as MovieLens writes them and genres written from
general knowledge (close to MovieLens's, not copied from its files), with the 120 most rated movies of
a folder and with random draws of 120 of its movies, all as the media text template's first two
sections ("Title (year). Genres: a, b."; no themes: ml-latest-small has no genome). The figure is the
norm of the mean of the L2-normalised vectors, at the same n for every set (a mean of n vectors is
longer by chance alone), for the whole text, title and year, and title alone.

A second table asks whether a taste group's texts stand apart: per genre with at least 15 movies in
a set, the cosine between the mean of 10 of its movies (50 draws) and the mean of the whole set,
averaged over those genres, beside the same for 10 movies drawn regardless of genre (200 draws).
The lower the first against the second, the further a user who likes one genre is pulled from the
common direction of every text.

    python benchmarks/text_likeness.py --movielens-dir /tmp/sample
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
import polars as pl

FAMOUS = (
    "Toy Story (1995)|Adventure|Animation|Children|Comedy|Fantasy",
    "Jumanji (1995)|Adventure|Children|Fantasy",
    "Heat (1995)|Action|Crime|Thriller",
    "GoldenEye (1995)|Action|Adventure|Thriller",
    "Braveheart (1995)|Action|Drama|War",
    "Se7en (1995)|Mystery|Thriller",
    "The Usual Suspects (1995)|Crime|Mystery|Thriller",
    "Apollo 13 (1995)|Adventure|Drama|IMAX",
    "Star Wars: Episode IV - A New Hope (1977)|Action|Adventure|Sci-Fi",
    "Pulp Fiction (1994)|Comedy|Crime|Drama|Thriller",
    "The Shawshank Redemption (1994)|Crime|Drama",
    "Forrest Gump (1994)|Comedy|Drama|Romance|War",
    "The Lion King (1994)|Adventure|Animation|Children|Drama|Musical|IMAX",
    "Jurassic Park (1993)|Action|Adventure|Sci-Fi|Thriller",
    "Schindler's List (1993)|Drama|War",
    "The Silence of the Lambs (1991)|Crime|Horror|Thriller",
    "Terminator 2: Judgment Day (1991)|Action|Sci-Fi",
    "Fargo (1996)|Comedy|Crime|Drama|Thriller",
    "Independence Day (1996)|Action|Adventure|Sci-Fi|Thriller",
    "Mission: Impossible (1996)|Action|Adventure|Mystery|Thriller",
    "The Matrix (1999)|Action|Sci-Fi|Thriller",
    "Fight Club (1999)|Action|Crime|Drama|Thriller",
    "American Beauty (1999)|Drama|Romance",
    "The Sixth Sense (1999)|Drama|Horror|Mystery",
    "Titanic (1997)|Drama|Romance",
    "Men in Black (1997)|Action|Comedy|Sci-Fi",
    "Good Will Hunting (1997)|Drama|Romance",
    "Saving Private Ryan (1998)|Action|Drama|War",
    "The Truman Show (1998)|Comedy|Drama|Sci-Fi",
    "The Godfather (1972)|Crime|Drama",
    "The Godfather: Part II (1974)|Crime|Drama",
    "Raiders of the Lost Ark (1981)|Action|Adventure",
    "Back to the Future (1985)|Adventure|Comedy|Sci-Fi",
    "Aliens (1986)|Action|Adventure|Horror|Sci-Fi",
    "Alien (1979)|Horror|Sci-Fi",
    "Blade Runner (1982)|Action|Sci-Fi|Thriller",
    "E.T. the Extra-Terrestrial (1982)|Children|Drama|Sci-Fi",
    "Casablanca (1942)|Drama|Romance",
    "Psycho (1960)|Crime|Horror",
    "Vertigo (1958)|Drama|Mystery|Romance|Thriller",
    "Rear Window (1954)|Mystery|Thriller",
    "2001: A Space Odyssey (1968)|Adventure|Drama|Sci-Fi",
    "A Clockwork Orange (1971)|Crime|Drama|Sci-Fi|Thriller",
    "The Shining (1980)|Horror",
    "Taxi Driver (1976)|Crime|Drama|Thriller",
    "Monty Python and the Holy Grail (1975)|Adventure|Comedy|Fantasy",
    "Groundhog Day (1993)|Comedy|Fantasy|Romance",
    "Reservoir Dogs (1992)|Crime|Mystery|Thriller",
    "Aladdin (1992)|Adventure|Animation|Children|Comedy|Musical",
    "Beauty and the Beast (1991)|Animation|Children|Fantasy|Musical|Romance|IMAX",
    "Batman (1989)|Action|Crime|Thriller",
    "Die Hard (1988)|Action|Crime|Thriller",
    "The Princess Bride (1987)|Action|Adventure|Comedy|Fantasy|Romance",
    "Ferris Bueller's Day Off (1986)|Comedy",
    "The Breakfast Club (1985)|Comedy|Drama",
    "Amadeus (1984)|Drama",
    "Ghostbusters (1984)|Action|Comedy|Sci-Fi",
    "The Terminator (1984)|Action|Sci-Fi|Thriller",
    "Gladiator (2000)|Action|Adventure|Drama",
    "Memento (2000)|Mystery|Thriller",
    "Shrek (2001)|Adventure|Animation|Children|Comedy|Fantasy|Romance",
    "Amelie (2001)|Comedy|Romance",
    "Spirited Away (2001)|Adventure|Animation|Fantasy",
    "The Lord of the Rings: The Fellowship of the Ring (2001)|Adventure|Fantasy",
    "The Lord of the Rings: The Two Towers (2002)|Adventure|Fantasy",
    "The Lord of the Rings: The Return of the King (2003)|Action|Adventure|Drama|Fantasy",
    "Harry Potter and the Sorcerer's Stone (2001)|Adventure|Children|Fantasy",
    "Finding Nemo (2003)|Adventure|Animation|Children|Comedy",
    "Pirates of the Caribbean: The Curse of the Black Pearl (2003)|Action|Adventure|Comedy|Fantasy",
    "Kill Bill: Vol. 1 (2003)|Action|Crime|Thriller",
    "Eternal Sunshine of the Spotless Mind (2004)|Drama|Romance|Sci-Fi",
    "The Incredibles (2004)|Action|Adventure|Animation|Children|Comedy",
    "Batman Begins (2005)|Action|Crime|IMAX",
    "The Departed (2006)|Crime|Drama|Thriller",
    "Pan's Labyrinth (2006)|Drama|Fantasy|Thriller",
    "No Country for Old Men (2007)|Crime|Drama",
    "WALL-E (2008)|Adventure|Animation|Children|Romance|Sci-Fi",
    "The Dark Knight (2008)|Action|Crime|Drama|IMAX",
    "Up (2009)|Adventure|Animation|Children|Drama",
    "Avatar (2009)|Action|Adventure|Sci-Fi|IMAX",
    "Inglourious Basterds (2009)|Action|Drama|War",
    "Inception (2010)|Action|Crime|Drama|Mystery|Sci-Fi|Thriller|IMAX",
    "Toy Story 3 (2010)|Adventure|Animation|Children|Comedy|Fantasy|IMAX",
    "The Social Network (2010)|Drama",
    "Black Swan (2010)|Drama|Thriller",
    "The King's Speech (2010)|Drama",
    "Django Unchained (2012)|Action|Drama|Western",
    "The Avengers (2012)|Action|Adventure|Sci-Fi|IMAX",
    "Interstellar (2014)|Sci-Fi|IMAX",
    "Gone Girl (2014)|Drama|Thriller",
    "The Grand Budapest Hotel (2014)|Comedy|Drama",
    "Whiplash (2014)|Drama",
    "Mad Max: Fury Road (2015)|Action|Adventure|Sci-Fi|Thriller",
    "The Martian (2015)|Adventure|Drama|Sci-Fi",
    "Inside Out (2015)|Adventure|Animation|Children|Comedy|Drama|Fantasy",
    "Deadpool (2016)|Action|Adventure|Comedy|Sci-Fi",
    "Arrival (2016)|Sci-Fi",
    "La La Land (2016)|Comedy|Drama|Romance",
    "Get Out (2017)|Horror",
    "Blade Runner 2049 (2017)|Sci-Fi",
    "Twelve Monkeys (1995)|Mystery|Sci-Fi|Thriller",
    "Trainspotting (1996)|Comedy|Crime|Drama",
    "Babe (1995)|Children|Drama",
    "Clueless (1995)|Comedy|Romance",
    "Sense and Sensibility (1995)|Drama|Romance",
    "Dances with Wolves (1990)|Adventure|Drama|Western",
    "Pretty Woman (1990)|Comedy|Romance",
    "Ghost (1990)|Comedy|Drama|Fantasy|Romance|Thriller",
    "Home Alone (1990)|Children|Comedy",
    "Mrs. Doubtfire (1993)|Comedy|Drama",
    "The Fugitive (1993)|Thriller",
    "Speed (1994)|Action|Romance|Thriller",
    "True Lies (1994)|Action|Adventure|Comedy|Romance|Thriller",
    "Dumb & Dumber (1994)|Adventure|Comedy",
    "Ace Ventura: Pet Detective (1994)|Comedy",
    "The Mask (1994)|Action|Comedy|Crime|Fantasy",
    "Batman Forever (1995)|Action|Adventure|Comedy|Crime",
    "Four Weddings and a Funeral (1994)|Comedy|Romance",
    "Stargate (1994)|Action|Adventure|Sci-Fi",
    "Twister (1996)|Action|Adventure|Romance|Thriller",
)
_MOVED = re.compile(r"^(.*), (The|A|An) \((\d{4})\)$")


def text(title: str, genres: list[str]) -> str:
    moved = _MOVED.match(title)
    if moved:
        title = f"{moved.group(2)} {moved.group(1)} ({moved.group(3)})"
    genres = [g for g in genres if g != "(no genres listed)"]
    return f"{title}. Genres: {', '.join(genres)}." if genres else f"{title}."


def parts(texts: list[str]) -> dict[str, list[str]]:
    title_year = [re.sub(r"\. Genres:.*", ".", t) for t in texts]
    return {
        "whole": texts,
        "title and year": title_year,
        "title": [re.sub(r" \(\d{4}\)\.$", "", t) for t in title_year],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--movielens-dir", type=Path, required=True)
    parser.add_argument("--draws", type=int, default=5, help="random draws of 120 movies")
    args = parser.parse_args()

    from tv5_assets.encoder.model import encode_texts, load_model

    loaded = load_model()

    def unit_vectors(texts: list[str]) -> np.ndarray:
        return encode_texts(loaded, texts, 64)[0]  # L2-normalised already

    def norm_of_mean(texts: list[str]) -> float:
        return float(np.linalg.norm(unit_vectors(texts).mean(axis=0)))

    n = len(FAMOUS)
    real = [text(row.split("|")[0], row.split("|")[1:]) for row in FAMOUS]
    movies = pl.read_csv(args.movielens_dir / "movies.csv")
    counts = pl.scan_csv(args.movielens_dir / "ratings.csv").group_by("movieId").len().collect()
    rated = movies.join(counts, on="movieId").sort(["len", "movieId"], descending=[True, False])
    rows = rated.select("title", "genres").rows()
    texts = [text(title, genres.split("|")) for title, genres in rows]
    real_genres = [row.split("|")[1:] for row in FAMOUS]
    folder_genres = [genres.split("|") for _, genres in rows]
    top = texts[:n]
    rng = np.random.default_rng(0)
    draws = [[texts[i] for i in rng.choice(len(texts), n, replace=False)] for _ in range(args.draws)]
    print(f"norm of the mean of {n} text vectors ({args.movielens_dir})")
    print(f"{'part':16s} {'real famous':>12s} {'folder top':>11s} {'folder random':>14s}")
    for part in ("whole", "title and year", "title"):
        random_norms = [norm_of_mean(parts(d)[part]) for d in draws]
        print(
            f"{part:16s} {norm_of_mean(parts(real)[part]):12.3f} {norm_of_mean(parts(top)[part]):11.3f} "
            f"{np.mean(random_norms):8.3f} ({min(random_norms):.3f}-{max(random_norms):.3f})"
        )
    print(f"\ncosine of the mean of {GROUP} movies to the set's mean (genres with >= {MIN_GENRE_MOVIES} movies)")
    print(f"{'part':16s} {'set':12s} {'same genre':>11s} {'any genre':>10s} {'genres':>7s}")
    for part in ("whole", "title"):
        for name, items, genres in (("real famous", real, real_genres), ("folder top", top, folder_genres[:n])):
            same, anywhere, groups = genre_groups(unit_vectors(parts(items)[part]), genres)
            print(f"{part:16s} {name:12s} {same:11.3f} {anywhere:10.3f} {groups:7d}")


GROUP = 10
MIN_GENRE_MOVIES = 15


def genre_groups(vectors: np.ndarray, genres: list[list[str]], seed: int = 0) -> tuple[float, float, int]:
    """(mean over genres of the cosine between the mean of GROUP same-genre movies and the set's mean,
    the same for GROUP movies of any genre, the number of genres counted)."""
    rng = np.random.default_rng(seed)
    centre = vectors.mean(axis=0)
    centre /= np.linalg.norm(centre)

    def cosine(rows: np.ndarray) -> float:
        mean = vectors[rows].mean(axis=0)
        return float(mean @ centre / np.linalg.norm(mean))

    per_genre = []
    for genre in sorted({g for movie in genres for g in movie}):
        members = np.array([i for i, movie in enumerate(genres) if genre in movie])
        if len(members) >= MIN_GENRE_MOVIES:
            per_genre.append(np.mean([cosine(rng.choice(members, GROUP, replace=False)) for _ in range(50)]))
    anywhere = np.mean([cosine(rng.choice(len(vectors), GROUP, replace=False)) for _ in range(200)])
    return float(np.mean(per_genre)), float(anywhere), len(per_genre)


if __name__ == "__main__":
    main()
