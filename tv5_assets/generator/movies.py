"""The movie table: sparse increasing movieIds, titles, genres, years, popularity and links."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl

from .counts import Counts
from .franchise import plant_franchises
from .taste import dominant_theme, theme_factors
from .titles import DUPLICATE_TITLES, TRAIT_TITLES, generate_titles
from .vocab import GENRE_COUNTS, GENRES, N_GENRES, NO_GENRES, G

STREAM_MOVIES = 1

# P(number of genres = k), k = 1..6, for movies that have genres (mean about 1.86).
_K_P = np.array([0.42, 0.33, 0.17, 0.06, 0.015, 0.005])
_NO_GENRES_SHARE = 5062 / 62423
_UNSORTED_GENRES_SHARE = 0.10  # of multi-genre movies, weighted towards recent movieIds

# Primary-genre weights (IMAX is never primary; secondary genres are added with affinities).
_PRIMARY_W = np.array(
    [4500, 2000, 1700, 1400, 12500, 3100, 4600, 21500, 1400, 160, 4100, 0, 600, 1400, 2700, 1800, 3700, 1000, 900],
    dtype=np.float64,
)
_AFFINITY = {
    "Action": {
        "Adventure": 2,
        "Crime": 1.5,
        "Thriller": 2,
        "Sci-Fi": 1.5,
        "War": 1.3,
        "Western": 1.2,
        "IMAX": 4,
        "Drama": 0.6,
        "Comedy": 0.8,
    },
    "Adventure": {"Action": 2, "Fantasy": 2, "Children": 2, "Animation": 1.5, "IMAX": 4, "Comedy": 1.2},
    "Animation": {"Children": 6, "Comedy": 1.5, "Fantasy": 2.5, "Adventure": 2.5, "Drama": 0.3, "IMAX": 3},
    "Children": {
        "Animation": 5,
        "Comedy": 2,
        "Fantasy": 2.5,
        "Adventure": 2.5,
        "Musical": 2.5,
        "Drama": 0.4,
        "Horror": 0.05,
        "Crime": 0.1,
        "Thriller": 0.05,
        "War": 0.1,
        "Film-Noir": 0.0,
    },
    "Comedy": {"Romance": 2.5, "Drama": 1.0, "Crime": 0.8, "Children": 1.2, "Film-Noir": 0.1},
    "Crime": {"Thriller": 2.5, "Drama": 1.5, "Film-Noir": 5, "Mystery": 2, "Action": 1.5, "Children": 0.1},
    "Documentary": {"Musical": 2, "War": 1.5, "IMAX": 3, "Comedy": 0.4, "Drama": 0.3, "Film-Noir": 0.0},
    "Drama": {"Romance": 2, "Crime": 1.2, "Thriller": 1, "War": 1.5, "Children": 0.5},
    "Fantasy": {"Adventure": 2.5, "Children": 2, "Animation": 2, "Action": 1.2},
    "Film-Noir": {
        "Crime": 6,
        "Mystery": 4,
        "Thriller": 4,
        "Drama": 1.5,
        "Romance": 1,
        "Children": 0.0,
        "Animation": 0.0,
        "IMAX": 0.0,
    },
    "Horror": {
        "Thriller": 3,
        "Mystery": 1.5,
        "Sci-Fi": 1.5,
        "Comedy": 0.7,
        "Drama": 0.3,
        "Romance": 0.2,
        "Children": 0.02,
    },
    "IMAX": {},
    "Musical": {"Romance": 2, "Comedy": 2, "Drama": 1},
    "Mystery": {"Thriller": 3, "Crime": 2, "Horror": 1.5},
    "Romance": {"Comedy": 2.5, "Drama": 2},
    "Sci-Fi": {"Action": 2, "Thriller": 1.5, "Horror": 1.5, "Adventure": 1.5, "IMAX": 4},
    "Thriller": {"Crime": 2.5, "Mystery": 2, "Horror": 2, "Action": 2},
    "War": {"Drama": 2, "Action": 2, "Film-Noir": 0.0},
    "Western": {"Action": 2, "Adventure": 2, "Drama": 1, "Film-Noir": 0.0},
}

YEAR_MIN, YEAR_MAX = 1874, 2019
POPULARITY_ALPHA, POPULARITY_FLOOR = 0.7, 0.005
# Exponential cut-off of the popularity by rank share: how fast interest dies out past the head. Set
# from ml-25m's item Gini, 0.942 (LensKit codex: the ratings per rated movie): 30 gives 0.941 at scale
# 1.0 with 58,828 movies rated (ml-25m 59,047); 12 gave 0.906, a long tail fed at the head's expense.
POPULARITY_CUTOFF = 30.0
# Zipf-Mandelbrot shift of the popularity ranks: real catalogues have a plateau of blockbusters, not
# one movie far ahead (ml-25m's most rated movie has about 50% of users, its tenth about 36%;
# ml-latest-small's 54% and 36%). Without it the top movie reached 71% of users at full scale.
POPULARITY_SHIFT = 8.0


def _year_pmf() -> tuple[np.ndarray, np.ndarray]:
    years = np.arange(YEAR_MIN, YEAR_MAX + 1)
    w = np.exp((np.minimum(years, 2015) - 2015) / 22.0)
    w[years > 2015] = 1.0 - 0.15 * (years[years > 2015] - 2015)
    return years, w / w.sum()


def year_start_ts(years: np.ndarray) -> np.ndarray:
    """Unix seconds of Jan 1 (UTC) of each year (vectorised)."""
    epoch = dt.date(1970, 1, 1).toordinal()
    table = np.array(
        [(dt.date(y, 1, 1).toordinal() - epoch) * 86400 for y in range(YEAR_MIN, YEAR_MAX + 1)], dtype=np.int64
    )
    return table[np.asarray(years, dtype=np.int64) - YEAR_MIN]


@dataclass
class Movies:
    ids: np.ndarray  # int64, increasing
    titles: list[str]
    genres: list[str]  # the genres field as written
    genre_matrix: np.ndarray  # bool (n, 19)
    years: np.ndarray  # int64; the title's year, or a hidden year for titles without one
    release_ts: np.ndarray  # int64, Jan 1 of `years`
    popularity: np.ndarray  # float64, sums to 1
    quality: np.ndarray  # float64, latent mean rating offset
    imdb: np.ndarray  # int64
    tmdb: np.ndarray  # int64, -1 = blank
    anchors: np.ndarray  # int64 indices always written: they carry the format's hard cases
    latent: np.ndarray  # float64 (n, N_LATENT): hidden theme factors (taste.py), shown in titles and genome
    family: np.ndarray  # int64: the series a movie belongs to (franchise.py), -1 for none

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, keep: np.ndarray) -> Movies:
        """The movies at the increasing indices `keep` (a sample's catalogue)."""
        pos = np.full(len(self), -1, dtype=np.int64)
        pos[keep] = np.arange(len(keep))
        return Movies(
            ids=self.ids[keep],
            titles=[self.titles[i] for i in keep.tolist()],
            genres=[self.genres[i] for i in keep.tolist()],
            genre_matrix=self.genre_matrix[keep],
            years=self.years[keep],
            release_ts=self.release_ts[keep],
            popularity=self.popularity[keep],
            quality=self.quality[keep],
            imdb=self.imdb[keep],
            tmdb=self.tmdb[keep],
            anchors=pos[self.anchors],
            latent=self.latent[keep],
            family=self.family[keep],
        )

    def movies_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {"movieId": self.ids, "title": self.titles, "genres": self.genres},
            schema={"movieId": pl.Int64, "title": pl.String, "genres": pl.String},
        )

    def links_frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "movieId": pl.Series(self.ids, dtype=pl.Int64),
                "imdbId": pl.Series(self.imdb, dtype=pl.Int64).cast(pl.String).str.zfill(7),
                "tmdbId": pl.Series(self.tmdb, dtype=pl.Int64),
            }
        ).with_columns(pl.when(pl.col("tmdbId") >= 0).then(pl.col("tmdbId")).alias("tmdbId"))


def _movie_ids(n: int, span: int, rng: np.random.Generator) -> np.ndarray:
    inner = np.sort(rng.choice(np.arange(2, span, dtype=np.int64), size=n - 2, replace=False))
    return np.concatenate([[1], inner, [span]]).astype(np.int64)


def _genres(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(genre matrix (n, 19) bool, primary genre (-1 = none), order keys for unsorted writing)."""
    pos = (np.arange(n) + 0.5) / n
    none = rng.random(n) < _NO_GENRES_SHARE * 2 * pos  # '(no genres listed)' mostly among recent ids
    primary = rng.choice(N_GENRES, size=n, p=_PRIMARY_W / _PRIMARY_W.sum())
    k = rng.choice(np.arange(1, len(_K_P) + 1), size=n, p=_K_P / _K_P.sum())
    k[(primary == G["Documentary"]) & (rng.random(n) < 0.8)] = 1
    aff = np.ones((N_GENRES, N_GENRES))
    for a, row in _AFFINITY.items():
        for b, v in row.items():
            aff[G[a], G[b]] = v
    aff[:, G["Documentary"]] *= 0.25
    logw = np.log(np.maximum(GENRE_COUNTS[None, :] * aff, 1e-300))
    scores = logw[primary] + rng.gumbel(size=(n, N_GENRES))
    scores[np.arange(n), primary] = np.inf
    order = np.argsort(-scores, axis=1, kind="stable")  # primary first, then secondaries
    rank = np.empty_like(order)
    rank[np.arange(n)[:, None], order] = np.arange(N_GENRES)[None, :]
    matrix = rank < k[:, None]
    if not none.any():
        none[int(np.argmax(k == 1))] = True
    matrix[none] = False
    primary = np.where(none, -1, primary)
    return matrix, primary, rank


def build_movies(c: Counts, seed: int) -> Movies:
    rng = np.random.default_rng([seed, STREAM_MOVIES])
    n = c.movies
    ids = _movie_ids(n, c.max_movie_id, rng)
    matrix, primary, rank = _genres(n, rng)
    _give_every_genre_a_movie(matrix, primary, rng)
    years = _years(matrix, rng)
    latent = theme_factors(n, seed)
    titles, _has_year = generate_titles(n, years, primary, rng, dominant_theme(latent))
    slots = _plant_trait_titles(titles, years, rng)
    _copy_a_few_titles(titles, years, slots, rng)
    genres = _genre_fields(matrix, rank, rng)
    popularity, quality = _popularity_and_quality(matrix, primary, years, rng)
    protected = np.zeros(n, dtype=bool)
    protected[slots] = True
    family = plant_franchises(titles, years, matrix, genres, latent, popularity, quality, protected, rng)
    imdb, tmdb = _links(years, rng)
    anchors = _anchors(slots, matrix, genres, imdb, tmdb, popularity)
    return Movies(
        ids=ids,
        titles=titles,
        genres=genres,
        genre_matrix=matrix,
        years=years,
        release_ts=year_start_ts(years),
        popularity=popularity,
        quality=quality,
        imdb=imdb,
        tmdb=tmdb,
        anchors=anchors,
        latent=latent,
        family=family,
    )


def _anchors(
    slots: np.ndarray,
    matrix: np.ndarray,
    genres: list[str],
    imdb: np.ndarray,
    tmdb: np.ndarray,
    popularity: np.ndarray,
) -> np.ndarray:
    """Movies every sample writes, whoever rated them: the planted trait titles, the first and last
    movieId, the most popular movie of each genre and of none, one unsorted genre field, one blank
    tmdbId and one 8-digit imdbId. A sample of a few hundred users then still carries every hard
    case of the real files."""
    n = matrix.shape[0]
    by_pop = np.argsort(-popularity, kind="stable")
    picks = [slots, [0, n - 1]]
    for g in range(N_GENRES):
        picks.append(by_pop[matrix[by_pop, g]][:1])
    picks.append(by_pop[~matrix[by_pop].any(1)][:1])
    picks.append([next((i for i in by_pop.tolist() if _is_unsorted(genres[i])), 0)])
    picks.append(np.flatnonzero(tmdb < 0)[:1])
    picks.append(np.flatnonzero(imdb >= 10_000_000)[:1])
    return np.unique(np.concatenate([np.asarray(p, dtype=np.int64) for p in picks]))


def _is_unsorted(field: str) -> bool:
    parts = field.split("|")
    return parts != sorted(parts)


def _give_every_genre_a_movie(matrix: np.ndarray, primary: np.ndarray, rng: np.random.Generator) -> None:
    """Every genre value appears at every scale (IMAX and Film-Noir are rare): adds it where missing."""
    for g in range(N_GENRES):
        if not matrix[:, g].any():
            cand = np.flatnonzero(matrix.sum(1) == 1)
            if not len(cand):
                cand = np.flatnonzero(primary >= 0)
            matrix[int(cand[rng.integers(len(cand))]), g] = True


def _years(matrix: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Release years: film noir in 1940-1959, IMAX movies from 1995 on."""
    years_axis, pmf = _year_pmf()
    years = rng.choice(years_axis, size=matrix.shape[0], p=pmf).astype(np.int64)
    noir = matrix[:, G["Film-Noir"]]
    years[noir] = rng.integers(1940, 1960, noir.sum())
    imax = matrix[:, G["IMAX"]] & (years < 1995)
    years[imax] = rng.integers(1995, 2020, imax.sum())
    return years


def _plant_trait_titles(titles: list[str], years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Plant the trait titles (the duplicates twice) at random but deterministic positions; returns them."""
    planted = [raw for raw, _ in TRAIT_TITLES] + list(DUPLICATE_TITLES)
    expected = {raw: exp for raw, exp in TRAIT_TITLES}
    slots = rng.choice(len(titles), size=len(planted), replace=False)
    for slot, raw in zip(slots, planted):
        titles[slot] = raw
        if expected[raw]["year"] is not None:
            years[slot] = expected[raw]["year"]
    return slots


def _copy_a_few_titles(titles: list[str], years: np.ndarray, slots: np.ndarray, rng: np.random.Generator) -> None:
    """A few more accidental duplicates at larger scales (real files have some), away from `slots`."""
    n = len(titles)
    n_dup = int(n * 0.0005)
    if n_dup:
        src = rng.integers(0, n, n_dup)
        dst = rng.integers(0, n, n_dup)
        keep = ~np.isin(dst, slots) & ~np.isin(src, slots) & (src != dst)
        for s_, d_ in zip(src[keep], dst[keep]):
            titles[d_] = titles[s_]
            years[d_] = years[s_]


def _genre_fields(matrix: np.ndarray, rank: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Genre field: alphabetical, except some (recent) movies list the primary genre first."""
    n = matrix.shape[0]
    unsorted = (rng.random(n) < _UNSORTED_GENRES_SHARE * 2 * (np.arange(n) + 0.5) / n) & (matrix.sum(1) > 1)
    multi = np.flatnonzero(matrix.sum(1) > 1)
    if not unsorted.any() and len(multi):
        unsorted[multi[-1]] = True
    genres: list[str] = []
    for i in range(n):
        gs = np.flatnonzero(matrix[i])
        if len(gs) == 0:
            genres.append(NO_GENRES)
            continue
        if unsorted[i]:
            gs = gs[np.argsort(rank[i, gs])]
            if len(gs) > 1 and np.all(np.diff(gs) > 0):
                gs = gs[::-1]  # make sure the order is visibly not alphabetical
        genres.append("|".join(GENRES[g] for g in gs))
    return genres


def _popularity_and_quality(
    matrix: np.ndarray, primary: np.ndarray, years: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Popularity: a noisy score ranks the movies (obscure kinds rank lower); the weight by rank is
    a power law with an exponential cut-off plus a small uniform floor, which after sampling
    without replacement gives about 8 ratings for the median movie, ~6% unrated movies, an item
    Gini of 0.94 and about 90k ratings (55% of users) for the top one at full scale. Quality: the latent mean rating offset."""
    n = matrix.shape[0]
    score = rng.normal(0.0, 1.0, n)
    score -= 1.2 * (primary < 0) + 0.5 * matrix[:, G["Documentary"]]
    score -= 0.6 * (years < 1960) + 0.6 * (years < 1930) + 0.8 * (years == 2019)
    score += 0.3 * ((years >= 1985) & (years <= 2015))
    rank = np.empty(n, dtype=np.float64)
    rank[np.argsort(-score, kind="stable")] = np.arange(1, n + 1)
    weight = (rank + POPULARITY_SHIFT) ** -POPULARITY_ALPHA * np.exp(-POPULARITY_CUTOFF * rank / n)
    popularity = (1 - POPULARITY_FLOOR) * weight / weight.sum() + POPULARITY_FLOOR / n
    z = -np.log(rank)
    z = (z - z.mean()) / z.std()
    quality = rng.normal(0.0, 0.5, n) + 0.18 * z - 0.25 * matrix[:, G["Horror"]] + 0.15 * matrix[:, G["Film-Noir"]]
    return popularity, quality


def _links(years: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """imdbIds grow with the release year (7 digits, 8 past 9,999,999); tmdbIds loosely (-1 = blank)."""
    n = years.size
    gaps = 1 + rng.integers(0, max(2, int(2 * 10_150_000 / n)), n)
    imdb_sorted = np.cumsum(gaps)
    if imdb_sorted[-1] < 10_000_000:
        imdb_sorted[-1] = 10_000_000 + int(rng.integers(0, 900_000))
    imdb = np.empty(n, dtype=np.int64)
    imdb[np.argsort(years + rng.normal(0, 4, n), kind="stable")] = imdb_sorted
    tgaps = 1 + rng.integers(0, max(2, int(2 * 640_000 / n)), n)
    tmdb = np.empty(n, dtype=np.int64)
    tmdb[np.argsort(years + rng.normal(0, 15, n), kind="stable")] = np.cumsum(tgaps)
    blank = rng.random(n) < 0.0017
    blank[rng.choice(n, size=2, replace=False)] = True
    tmdb[blank] = -1
    return imdb, tmdb
