"""ratings.csv: which movies each user rates (taste, popularity, recency), when, and how.

- Choice: per user, `n_ratings` distinct movies drawn by successive sampling (weighted, without
  replacement) on popularity x exp(CHOICE_STRENGTH x affinity) x recency (taste.py), among the
  movies released by the year of the user's last visit. Users of one taste profile with the same
  last-visit year share the weight vector, so the draw is one vectorised call per such group.
  Then users finish the series they started (franchise.py), in place of random other ratings.
- Time: timeline.py gives sign-up and sessions; a user's movies are placed in time roughly by release
  year (new members rate what they have already seen, later visits add newer releases), never before
  the movie's release year.
- Value: a latent score (quality + the user's bias + RATING_STRENGTH x the user's own affinity +
  noise) cut into half stars at the quantiles of ml-25m's rating shares; whole-star users round.

Everything is held as arrays (25M rows at full scale: about 0.6 GB) and yielded as frames of whole
users, sorted by userId then movieId.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from .counts import MIN_RATINGS_PER_USER, WORLD, Counts
from .franchise import complete_series
from .movies import Movies
from .taste import CHOICE_STRENGTH, N_PROFILES, RATING_STRENGTH, USER_SPREAD, MovieTaste, Profiles, affinity_scale
from .timeline import FIRST_YEAR, LAST_YEAR, T_MAX, T_MIN, YEAR_S, Timeline, build_timeline, rating_times

__all__ = ["T_MAX", "T_MIN", "YEAR_S", "Ratings", "Rerating", "Users", "draw_ratings", "fit_counts", "rerating"]

STREAM_USERS = 2
STREAM_RATING_GROUP = 3
STREAM_RATING_VALUES = 8
STREAM_RERATING = 99  # `rerating`'s second draws: no file depends on it

RATING_VALUES = np.arange(1, 11) / 2.0  # 0.5 .. 5.0
# ml-25m shares of 0.5, 1.0, ..., 5.0 (mean about 3.53).
RATING_P = np.array([0.0157, 0.0311, 0.0160, 0.0656, 0.0505, 0.1959, 0.1271, 0.2656, 0.0880, 0.1445])
RATING_P = RATING_P / RATING_P.sum()
WHOLE_STAR_USERS = 0.08  # share of users who never give half stars
# Natural noise of a rating (latent units): people re-rating movies they rated before disagree with
# themselves by an RMSE of 0.557 to 0.765 whole stars between trials (Amatriain, Pujol and Oliver,
# UMAP 2009). 0.5 gives 0.68 (benchmarks/rating_noise.py: each row rated twice, independent noise);
# the 0.75 of versions 2 to 4 gave 0.86, noisier than any pair of trials there.
RATING_NOISE = 0.5
RECENCY = 0.3  # weight of a movie falls as (1 + years since release, at the user's last visit) ** -RECENCY
# Order of a user's movies in time: log popularity rank + PLACEMENT_YEAR_WEIGHT x (year - 2000) + noise.
PLACEMENT_YEAR_WEIGHT = 0.1
PLACEMENT_NOISE = 7.0


def _pre_conversion_shares(p: np.ndarray, f: float) -> np.ndarray:
    """Shares to draw before whole-star users round their half stars (up or down, 0.5 always up),
    such that the final shares are `p`."""
    q = p.copy()
    half = np.arange(0, 10, 2)  # 0.5, 1.5, ..., 4.5
    q[half] = p[half] / (1 - f)
    for w in range(1, 10, 2):  # 1.0, 2.0, ..., 5.0
        from_below = q[w - 1] * (1.0 if w == 1 else 0.5)
        from_above = q[w + 1] * 0.5 if w + 1 < 10 else 0.0
        q[w] = p[w] - f * (from_below + from_above)
    return q / q.sum()


_RATING_CUM = np.cumsum(_pre_conversion_shares(RATING_P, WHOLE_STAR_USERS))[:-1]

CHUNK_ROWS = 2_000_000


def fit_counts(raw: np.ndarray, total: int, lo: int, hi: int) -> np.ndarray:
    """Integers in [lo, hi], roughly proportional to lo + raw, summing exactly to `total`."""
    n = len(raw)
    if not lo * n <= total <= hi * n:
        raise ValueError(f"cannot fit {total} into {n} x [{lo}, {hi}]")
    extra, room = total - lo * n, hi - lo
    a, b = 0.0, 1.0
    while np.minimum(room, b * raw).sum() < extra:
        b *= 2.0
    for _ in range(100):
        c = (a + b) / 2
        if np.minimum(room, c * raw).sum() < extra:
            a = c
        else:
            b = c
    x = np.minimum(room, b * raw)
    base = np.floor(x).astype(np.int64)
    rem = extra - int(base.sum())
    if rem > 0:
        frac = np.where(base < room, x - base, -1.0)
        top = np.argsort(-frac, kind="stable")[:rem]
        base[top] += 1
    elif rem < 0:  # float rounding: take back from the largest
        top = np.argsort(-base, kind="stable")[:-rem]
        base[top] -= 1
    return lo + base


class Users:
    """The sample's users: rating count, taste profile and own taste, bias, habits, timeline.

    A sample of `c.users` users drawn from the world's population (the same distributions at every
    scale): counts heavy-tailed (median about 70 at full scale, at least 20), fitted to the exact total.
    """

    def __init__(self, c: Counts, seed: int, profiles: Profiles):
        rng = np.random.default_rng([seed, STREAM_USERS])
        u = c.users
        raw = rng.lognormal(np.log(50.0), 1.4, u)
        hi = max(MIN_RATINGS_PER_USER, WORLD.movies // 2)
        self.n_ratings = fit_counts(raw, c.ratings, MIN_RATINGS_PER_USER, hi)
        self.bias = rng.normal(0.0, 0.45, u)
        self.whole_stars_only = rng.random(u) < WHOLE_STAR_USERS
        self.profile = rng.choice(N_PROFILES, size=u, p=profiles.share)
        self.taste = profiles.taste[self.profile] + rng.normal(0.0, USER_SPREAD, (u, profiles.taste.shape[1]))
        self.timeline: Timeline = build_timeline(self.n_ratings, rng)

    def __len__(self) -> int:
        return len(self.n_ratings)


@dataclass
class Ratings:
    """All ratings of a sample as arrays, rows sorted by user then movie (indices, not ids)."""

    user: np.ndarray  # int64 user index (userId - 1)
    movie: np.ndarray  # int64 index into the world's movie table
    value: np.ndarray  # float64 half stars
    ts: np.ndarray  # int64 Unix seconds

    def frames(self, movies: Movies, chunk_rows: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
        """ratings.csv as frames of whole users."""
        n = len(self.user)
        cuts = np.searchsorted(self.user, self.user[np.arange(chunk_rows, n, chunk_rows)], side="left")
        bounds = np.unique(np.concatenate([[0], cuts, [n]]))
        for a, b in zip(bounds[:-1], bounds[1:]):
            yield pl.DataFrame(
                {
                    "userId": pl.Series(self.user[a:b] + 1, dtype=pl.Int32),
                    "movieId": pl.Series(movies.ids[self.movie[a:b]], dtype=pl.Int32),
                    "rating": pl.Series(self.value[a:b], dtype=pl.Float64),
                    "timestamp": pl.Series(self.ts[a:b], dtype=pl.Int64),
                }
            )


def draw_ratings(movies: Movies, taste: MovieTaste, profiles: Profiles, users: Users, seed: int) -> Ratings:
    user, movie, centre, scale = _chosen(movies, taste, profiles, users, seed)
    rng = np.random.default_rng([seed, STREAM_RATING_VALUES])
    user, movie = complete_series(movies.family, movies.years, users.timeline.last_year, user, movie, rng)
    ts = _place_in_time(movies, users, user, movie, rng)
    value = _values(movies, taste, users, user, movie, centre, scale, rng)
    return Ratings(user, movie, value, ts)


@dataclass(frozen=True)
class Rerating:
    """The same ratings drawn twice with independent noise, compared (`rerating`)."""

    ratings: int
    rmse_half_stars: float
    rmse_whole_stars: float  # half stars rounded up: the 1-5 scale of the published study
    correlation: float
    identical: float


def rerating(
    movies: Movies,
    taste: MovieTaste,
    profiles: Profiles,
    users: Users,
    seed: int,
    noises: Sequence[float | None] = (None,),
) -> list[Rerating]:
    """The generator's rating noise measured the way people's own is: the sample's (user, movie) rows
    drawn once, each rated twice with independent noise, per noise level (None: `RATING_NOISE`).
    People re-rating 100 movies a day and two weeks apart differ from themselves by an RMSE of 0.557 to
    0.765 whole stars between two trials (Amatriain, Pujol and Oliver, UMAP 2009)."""
    user, movie, centre, scale = _chosen(movies, taste, profiles, users, seed)
    out = []
    for noise in noises:
        first, second = (
            _values(
                movies,
                taste,
                users,
                user,
                movie,
                centre,
                scale,
                np.random.default_rng([seed, STREAM_RERATING, k]),
                noise,
            )
            for k in (1, 2)
        )
        out.append(
            Rerating(
                ratings=len(user),
                rmse_half_stars=float(np.sqrt(np.mean((first - second) ** 2))),
                rmse_whole_stars=float(np.sqrt(np.mean((np.ceil(first) - np.ceil(second)) ** 2))),
                correlation=float(np.corrcoef(first, second)[0, 1]),
                identical=float(np.mean(first == second)),
            )
        )
    return out


def _chosen(
    movies: Movies, taste: MovieTaste, profiles: Profiles, users: Users, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(user, movie) rows of the choice, and the affinity centre per profile and scale the values use."""
    profile_aff = profiles.taste @ taste.vectors.T.astype(np.float64)  # (profiles, movies)
    scale = affinity_scale(profiles.taste, taste.vectors)
    centre = profile_aff.mean(axis=1)
    user, movie = _choose(movies, (profile_aff - centre[:, None]) / scale, users, seed)
    return user, movie, centre, scale


def _choose(movies: Movies, affinity: np.ndarray, users: Users, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(user, movie) index pairs sorted by user then movie: one weighted draw per (profile, year) group."""
    m = len(movies)
    base = np.log(movies.popularity).astype(np.float32)
    years = movies.years
    last = np.clip(users.timeline.last_year, FIRST_YEAR, LAST_YEAR)
    group = users.profile * (LAST_YEAR - FIRST_YEAR + 1) + (last - FIRST_YEAR)
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.r_[True, group[order][1:] != group[order][:-1], True])
    # Which algorithm path a group takes depends on how concentrated its weights are; the profile's
    # weights over the whole catalogue tell well enough (the result has the same distribution).
    profile_logw = base[None, :] + np.float32(CHOICE_STRENGTH) * affinity.astype(np.float32)
    heavy_from = [heavy_threshold(np.exp(logw - logw.max())) for logw in profile_logw]
    # Per last-visit year: the recency term, and -inf for movies not yet released.
    age = np.arange(FIRST_YEAR, LAST_YEAR + 1)[:, None] - years[None, :]
    with np.errstate(invalid="ignore"):
        recency = np.where(age >= 0, -RECENCY * np.log1p(np.maximum(age, 0)), -np.inf).astype(np.float32)
    users_out, movies_out = [], []
    for a, b in zip(bounds[:-1], bounds[1:]):
        members = order[a:b]
        g = int(group[members[0]])
        profile, year = divmod(g, LAST_YEAR - FIRST_YEAR + 1)
        year += FIRST_YEAR
        logw = profile_logw[profile] + recency[year - FIRST_YEAR]
        w = np.exp(logw - logw.max())
        rng = np.random.default_rng([seed, STREAM_RATING_GROUP, g])
        keys = draw_unique(users.n_ratings[members], w, rng, heavy_from[profile])
        users_out.append(members[keys // m])
        movies_out.append(keys % m)
    user = np.concatenate(users_out)
    movie = np.concatenate(movies_out)
    key = np.sort(user * m + movie)
    return key // m, key % m


def _place_in_time(movies: Movies, users: Users, user: np.ndarray, movie: np.ndarray, rng) -> np.ndarray:
    """A timestamp per row: each user's movies ordered loosely from popular and old to obscure and
    new, then laid on their timeline. MovieLens asks a new member to rate well-known movies before it
    can recommend, so the sign-up burst holds the hits and later visits go deeper and newer. A rating
    that would still precede its movie's release year moves to within two years after it."""
    rank = np.empty(len(movies), dtype=np.float64)
    rank[np.argsort(-movies.popularity, kind="stable")] = np.arange(1, len(movies) + 1)
    key = np.log(rank[movie])  # summed in place: each row-sized temporary is 200 MB at full scale
    key += PLACEMENT_YEAR_WEIGHT * (movies.years[movie] - 2000)
    key += rng.normal(0.0, PLACEMENT_NOISE, len(movie))
    order = _order_by_user_then_key(user, key)
    del key
    ts = np.empty(len(movie), dtype=np.int64)
    ts[order] = rating_times(user[order], users.n_ratings, users.timeline, rng)
    del order
    rel = movies.release_ts[movie]
    early = ts < rel
    if early.any():
        r = rel[early]
        ts[early] = r + (rng.random(int(early.sum())) * np.minimum(2 * YEAR_S, T_MAX - r)).astype(np.int64)
    return ts


def _order_by_user_then_key(user: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Row indices sorted by (user, key), keys distinct within a user. Two single-column sorts (the key's
    rank, then user x rows + rank) instead of one two-column polars sort: the same order at half the
    memory (the two-column sort took 2 GB above its inputs at full scale, the generator's peak)."""
    n = len(key)
    by_key = pl.Series(key).arg_sort().to_numpy()
    composite = np.empty(n, dtype=np.int64)
    composite[by_key] = np.arange(n, dtype=np.int64)
    del by_key
    composite += user.astype(np.int64) * n
    return pl.Series(composite).arg_sort().to_numpy()


def _values(movies, taste, users, user, movie, centre, scale, rng, noise: float | None = None) -> np.ndarray:
    """Half stars from the latent score, at the quantiles of ml-25m's shares (noise: `RATING_NOISE`,
    read when called, unless given)."""
    score = np.empty(len(user), dtype=np.float64)
    for a in range(0, len(user), CHUNK_ROWS):
        u, mv = user[a : a + CHUNK_ROWS], movie[a : a + CHUNK_ROWS]
        aff = np.einsum("ij,ij->i", users.taste[u], taste.vectors[mv].astype(np.float64))
        aff = (aff - centre[users.profile[u]]) / scale
        score[a : a + CHUNK_ROWS] = movies.quality[mv] + users.bias[u] + RATING_STRENGTH * aff
    score += rng.normal(0.0, RATING_NOISE if noise is None else noise, len(score))
    cuts = np.quantile(score, _RATING_CUM)
    value_idx = np.searchsorted(cuts, score)
    whole = users.whole_stars_only[user] & (value_idx % 2 == 0)  # 0.5, 1.5, ... -> whole star
    value_idx[whole] += np.where(rng.random(int(whole.sum())) < 0.5, 1, -1)
    value_idx[value_idx < 0] = 1
    return RATING_VALUES[value_idx]


def _contains(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def _searchsorted_draw(cdf: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def _top_keys(
    weights: np.ndarray, need: int, rng: np.random.Generator, exclude: np.ndarray | None = None
) -> np.ndarray:
    """`need` distinct items by successive sampling on `weights`: the `need` smallest of E_i / w_i
    with E_i ~ Exp(1) (the exponential form of Gumbel top-k; float32 keys, zero weights never win)."""
    # x / 0 is inf and 0 / 0 (a float32 draw of exactly 0 on a zero weight) is NaN: argpartition puts
    # both last, so zero weights never win either way.
    with np.errstate(divide="ignore", invalid="ignore"):
        keys = rng.standard_exponential(len(weights), dtype=np.float32) / weights.astype(np.float32)
    if exclude is not None and len(exclude):
        keys[exclude] = np.inf
    return np.argpartition(keys, need - 1)[:need]


def draw_unique(
    n_per_group: np.ndarray, weights: np.ndarray, rng: np.random.Generator, heavy_from: int, rounds: int = 40
) -> np.ndarray:
    """Per group g, n_per_group[g] distinct items drawn by successive sampling on `weights`
    (weighted sampling without replacement); returns the sorted keys `g * n_items + item`.

    Light groups: draw with replacement and redraw repeats (only the repeats, each round).
    Groups of at least `heavy_from` items (they exhaust the popular items, so rejection would
    crawl) and light groups still incomplete after `rounds` take the top keys of an exponential
    race over all items (`_top_keys`), which is the same distribution.
    """
    m = len(weights)
    cdf = np.cumsum(weights, dtype=np.float64)  # float64: the tail's tiny weights must not vanish
    cdf /= cdf[-1]
    heavy = n_per_group >= heavy_from
    light_n = np.where(heavy, 0, n_per_group)
    group = np.repeat(np.arange(len(n_per_group), dtype=np.int64), light_n)
    keys = np.sort(group * m + _searchsorted_draw(cdf, rng, len(group)))
    repeat = keys[1:] == keys[:-1]
    first = keys[np.concatenate([[True], ~repeat])] if len(keys) else keys
    pending = keys[1:][repeat] // m
    extra = np.zeros(0, dtype=np.int64)  # accepted redraws, small: kept apart so `first` is never re-sorted
    for _ in range(rounds):
        if len(pending) == 0:
            break
        new = pending * m + _searchsorted_draw(cdf, rng, len(pending))
        bad = _contains(first, new) | _contains(extra, new)
        order = np.argsort(new, kind="stable")
        ns = new[order]
        bad[order[1:][ns[1:] == ns[:-1]]] = True
        extra = np.sort(np.concatenate([extra, new[~bad]]))
        pending = pending[bad]
    have = np.sort(np.concatenate([first, extra]))
    out = [have]
    for g in np.flatnonzero(heavy):
        items = _top_keys(weights, int(n_per_group[g]), rng)
        out.append(g * m + items)
    if len(pending):  # finish the few light groups that still miss items
        gs, need = np.unique(pending, return_counts=True)  # a few groups: np.unique is fine here
        for g, k in zip(gs, need):
            lo, hi = np.searchsorted(have, [g * m, (g + 1) * m])
            out.append(g * m + _top_keys(weights, int(k), rng, exclude=have[lo:hi] - g * m))
    return np.sort(np.concatenate(out))


def heavy_threshold(weights: np.ndarray, mass: float = 0.75) -> int:
    """Groups drawing at least this many items use the exponential race (`_top_keys`): by then they would have drawn
    items holding `mass` of the weight, and rejection would redraw most of the time."""
    return int(np.searchsorted(np.cumsum(np.sort(weights)[::-1]), mass * weights.sum())) + 1
