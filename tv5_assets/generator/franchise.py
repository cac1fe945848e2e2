"""Series: an original movie and its sequels, sharing genres, themes and a title.

Real catalogues are full of them ("Toy Story 2", "The Godfather: Part II", "Star Wars: Episode V"),
and they shape what people rate: someone who liked the first film often watches the next ones, years
later. That is much of what a text-based recommender can learn from titles, and of what a user's
later ratings share with their earlier ones.

In the world's catalogue FRANCHISE_SHARE of the movies head a series of 2 to 6 films. The sequels are
other movies of the catalogue, rewritten: the head's genres, its theme factors plus a little noise,
release years one to four years apart, a sequel title ("Base 2", "Base II", "Base: The Return",
"Base Part III"), a share of the head's popularity and about its quality. Movies that carry a planted
hard case keep it. `complete_series` (used by ratings.py) makes users finish what they started.
"""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from .title_words import SUBTITLES

FRANCHISE_SHARE = 0.03
SEQUEL_THEME_NOISE = 0.25
SERIES_COMPLETION = 0.35  # chance that a user who rated one film of a series rates each other one
_SIMPLE_TITLE = re.compile(r"^[A-Z][A-Za-z' ]{2,40} \(\d{4}\)$")
_ROMAN = ("", "I", "II", "III", "IV", "V", "VI", "VII")


def plant_franchises(
    titles: list[str],
    years: np.ndarray,
    matrix: np.ndarray,
    genres: list[str],
    latent: np.ndarray,
    popularity: np.ndarray,
    quality: np.ndarray,
    protected: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Rewrite sequels in place; returns each movie's series number (-1: none)."""
    n = len(titles)
    family = np.full(n, -1, dtype=np.int64)
    simple = np.fromiter((bool(_SIMPLE_TITLE.match(t)) for t in titles), dtype=bool, count=n)
    candidates = np.flatnonzero(simple & ~protected & (years <= 2015))
    weight = np.sqrt(popularity[candidates])
    heads = rng.choice(
        candidates, size=min(int(FRANCHISE_SHARE * n), len(candidates)), replace=False, p=weight / weight.sum()
    )
    sequels = np.minimum(rng.geometric(0.55, len(heads)), 5)
    pool = np.setdiff1d(np.flatnonzero(~protected), heads)
    members = rng.choice(pool, size=int(sequels.sum()), replace=False)
    gaps = rng.integers(1, 5, len(members))
    style = rng.integers(0, 4, len(heads))
    subtitles = rng.permutation(len(SUBTITLES))
    ends = np.cumsum(sequels)
    for f, head in enumerate(heads.tolist()):
        base = titles[head][:-7]
        year = int(years[head])
        family[head] = f
        for k, m in enumerate(members[ends[f] - sequels[f] : ends[f]].tolist()):
            year = min(2019, year + int(gaps[ends[f] - sequels[f] + k]))
            titles[m] = f"{_sequel_title(base, k + 2, int(style[f]), subtitles, f)} ({year})"
            years[m] = year
            matrix[m] = matrix[head]
            genres[m] = genres[head]
            family[m] = f
    sequel = (family >= 0) & ~np.isin(np.arange(n), heads)
    head_of = heads[family[sequel]]
    latent[sequel] = latent[head_of] + rng.normal(0.0, SEQUEL_THEME_NOISE, (int(sequel.sum()), latent.shape[1]))
    popularity[sequel] = popularity[head_of] * rng.uniform(0.25, 0.9, int(sequel.sum()))
    popularity /= popularity.sum()
    quality[sequel] = quality[head_of] + rng.normal(-0.1, 0.2, int(sequel.sum()))
    return family


def _sequel_title(base: str, number: int, style: int, subtitles: np.ndarray, family: int) -> str:
    if style == 0:
        return f"{base} {number}"
    if style == 1:
        return f"{base} {_ROMAN[number]}"
    if style == 2:
        return f"{base}: {SUBTITLES[int(subtitles[(family + number) % len(subtitles)])]}"
    return f"{base} Part {_ROMAN[number]}"


def complete_series(
    family: np.ndarray,
    years: np.ndarray,
    last_year: np.ndarray,
    user: np.ndarray,
    movie: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Users who rated a film of a series rate each other film of it (released by their last visit)
    with chance SERIES_COMPLETION, in place of random ratings of theirs outside any series, so every
    user keeps their count. Input and output rows are sorted by user then movie."""
    m = len(family)
    in_series = family[movie] >= 0
    n_families = int(family.max()) + 1 if len(family) else 0
    pairs = np.sort(user[in_series] * n_families + family[movie[in_series]])
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs  # np.unique is slow on millions
    pair_user, pair_family = pairs // n_families, pairs % n_families
    members = np.argsort(family, kind="stable")[np.sum(family < 0) :]
    starts = np.searchsorted(family[members], np.arange(n_families + 1))
    size = np.diff(starts)[pair_family]
    cand_user = np.repeat(pair_user, size)
    offset = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
    cand_movie = members[np.repeat(starts[pair_family], size) + offset]
    rated = user * m + movie  # sorted
    key = cand_user * m + cand_movie
    pos = np.minimum(np.searchsorted(rated, key), len(rated) - 1)
    take = (
        (rated[pos] != key) & (years[cand_movie] <= last_year[cand_user]) & (rng.random(len(key)) < SERIES_COMPLETION)
    )
    add_user, add_movie = cand_user[take], cand_movie[take]
    # Row-sized arrays are 200 MB each at full scale: drop each once used (scale 1.0 within 4 GB).
    del cand_user, cand_movie, key, pos, take, pairs, pair_user, pair_family, size, offset
    # Make room: drop as many random non-series ratings of the same user (fewer additions if a user
    # has too few of them).
    wanted = np.bincount(add_user, minlength=int(user.max()) + 1)
    spare = np.flatnonzero(~in_series)
    del in_series
    shuffle = pl.DataFrame({"user": user[spare], "r": rng.random(len(spare))}).select(pl.arg_sort_by("user", "r"))
    order = spare[shuffle["user"].to_numpy()]
    del shuffle, spare
    order_user = user[order]
    drop = order[_rank_in_runs(order_user) < wanted[order_user]]
    del order, order_user
    dropped = np.bincount(user[drop], minlength=len(wanted))
    keep_add = _rank_in_runs(add_user) < dropped[add_user]
    keep = np.ones(len(user), dtype=bool)
    keep[drop] = False
    out = np.concatenate([rated[keep], add_user[keep_add] * m + add_movie[keep_add]])
    del rated, keep
    out.sort()
    return out // m, out % m


def _rank_in_runs(values: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of a sorted array (O(n), no search)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    return np.arange(len(values)) - np.repeat(starts, np.diff(np.r_[starts, len(values)]))
