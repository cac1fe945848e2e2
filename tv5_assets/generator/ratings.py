"""ratings.csv: per-user counts, popularity-weighted movie choice without duplicates, half-star
values, timestamps; generated and yielded in chunks of whole users, already sorted."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from .counts import MIN_RATINGS_PER_USER, Counts
from .movies import Movies

STREAM_USERS = 2
STREAM_RATING_CHUNK = 3

T_MIN = 789_652_004  # 1995-01-09 11:46:44 UTC, first rating in ml-25m
T_MAX = 1_574_327_703  # 2019-11-21 09:15:03 UTC, last rating in ml-25m
YEAR_S = 365 * 86400

RATING_VALUES = np.arange(1, 11) / 2.0  # 0.5 .. 5.0
# ml-25m shares of 0.5, 1.0, ..., 5.0 (mean about 3.53).
RATING_P = np.array([0.0157, 0.0311, 0.0160, 0.0656, 0.0505, 0.1959, 0.1271, 0.2656, 0.0880, 0.1445])
RATING_P = RATING_P / RATING_P.sum()
WHOLE_STAR_USERS = 0.08  # share of users who never give half stars


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
    """Per-user parameters: rating count, rating bias, activity window."""

    def __init__(self, c: Counts, seed: int):
        rng = np.random.default_rng([seed, STREAM_USERS])
        u = c.users
        # Heavy tail: 20 + lognormal (median 20 + 50 = 70 at full scale), scaled to the exact total.
        raw = rng.lognormal(np.log(50.0), 1.4, u)
        hi = max(MIN_RATINGS_PER_USER, c.movies // 2)
        self.n_ratings = fit_counts(raw, c.ratings, MIN_RATINGS_PER_USER, hi)
        self.bias = rng.normal(0.0, 0.45, u)
        self.start = rng.integers(T_MIN, T_MAX - 3600, u)
        dur = np.exp(rng.normal(np.log(2 * 86400.0), 2.6, u))
        self.duration = np.minimum(dur, T_MAX - self.start).astype(np.int64)
        self.whole_stars_only = rng.random(u) < WHOLE_STAR_USERS


def _chunks(n_per_user: np.ndarray, rows: int) -> list[tuple[int, int]]:
    ends = np.cumsum(n_per_user)
    cuts = np.searchsorted(ends, np.arange(rows, ends[-1], rows), side="left") + 1
    bounds = np.unique(np.concatenate([[0], cuts, [len(n_per_user)]]))
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _searchsorted_draw(cdf: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(cdf) - 1)


def _gumbel_top(logw: np.ndarray, need: int, rng: np.random.Generator, exclude: np.ndarray | None = None) -> np.ndarray:
    """`need` distinct items by successive sampling on exp(logw): the top keys of logw + Gumbel."""
    keys = logw + rng.gumbel(size=len(logw))
    if exclude is not None and len(exclude):
        keys[exclude] = -np.inf
    return np.argpartition(-keys, need - 1)[:need]


def draw_unique(
    n_per_group: np.ndarray, weights: np.ndarray, rng: np.random.Generator, heavy_from: int, rounds: int = 40
) -> np.ndarray:
    """Per group g, n_per_group[g] distinct items drawn by successive sampling on `weights`
    (weighted sampling without replacement); returns the sorted keys `g * n_items + item`.

    Light groups: draw with replacement and redraw repeats (only the repeats, each round).
    Groups of at least `heavy_from` items (they exhaust the popular items, so rejection would
    crawl) and light groups still incomplete after `rounds` take the top keys of
    log(weight) + Gumbel noise over all items, which is the same distribution.
    """
    m = len(weights)
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    logw = np.log(weights)
    heavy = n_per_group >= heavy_from
    light_n = np.where(heavy, 0, n_per_group)
    group = np.repeat(np.arange(len(n_per_group), dtype=np.int64), light_n)
    keys = np.sort(group * m + _searchsorted_draw(cdf, rng, len(group)))
    repeat = keys[1:] == keys[:-1]
    parts = [keys[np.concatenate([[True], ~repeat])] if len(keys) else keys]
    pending = keys[1:][repeat] // m
    for _ in range(rounds):
        if len(pending) == 0:
            break
        new = pending * m + _searchsorted_draw(cdf, rng, len(pending))
        bad = np.zeros(len(new), dtype=bool)
        for part in parts:
            if len(part):
                pos = np.minimum(np.searchsorted(part, new), len(part) - 1)
                bad |= part[pos] == new
        order = np.argsort(new, kind="stable")
        ns = new[order]
        bad[order[1:][ns[1:] == ns[:-1]]] = True
        parts.append(np.sort(new[~bad]))
        pending = pending[bad]
    out = parts
    for g in np.flatnonzero(heavy):
        items = _gumbel_top(logw, int(n_per_group[g]), rng)
        out.append(g * m + items)
    if len(pending):  # finish the few light groups that still miss items
        have = np.sort(np.concatenate(parts))
        gs, need = np.unique(pending, return_counts=True)
        for g, k in zip(gs, need):
            lo, hi = np.searchsorted(have, [g * m, (g + 1) * m])
            out.append(g * m + _gumbel_top(logw, int(k), rng, exclude=have[lo:hi] - g * m))
    return np.sort(np.concatenate(out))


def heavy_threshold(weights: np.ndarray, mass: float = 0.6) -> int:
    """Groups drawing at least this many items use Gumbel top-k: by then they would have drawn
    items holding `mass` of the weight, and rejection would redraw most of the time."""
    return int(np.searchsorted(np.cumsum(np.sort(weights)[::-1]), mass * weights.sum())) + 1


def iter_ratings(movies: Movies, users: Users, seed: int, chunk_rows: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    """ratings.csv as frames of whole users, sorted by userId then movieId."""
    m = len(movies)
    heavy_from = heavy_threshold(movies.popularity)
    for k, (a, b) in enumerate(_chunks(users.n_ratings, chunk_rows)):
        rng = np.random.default_rng([seed, STREAM_RATING_CHUNK, k])
        keys = draw_unique(users.n_ratings[a:b], movies.popularity, rng, heavy_from)
        local = keys // m
        midx = keys % m
        uidx = a + local
        # Latent score -> half stars by the target shares (quantiles within the chunk).
        score = movies.quality[midx] + users.bias[uidx] + rng.normal(0.0, 0.85, len(keys))
        cuts = np.quantile(score, _RATING_CUM)
        value_idx = np.searchsorted(cuts, score)
        whole = users.whole_stars_only[uidx] & (value_idx % 2 == 0)  # 0.5, 1.5, ... -> whole star
        value_idx[whole] += np.where(rng.random(int(whole.sum())) < 0.5, 1, -1)
        value_idx[value_idx < 0] = 1
        rating = RATING_VALUES[value_idx]
        # Timestamps within the user's activity window, never before Jan 1 of the movie's year.
        ts = users.start[uidx] + (rng.random(len(keys)) * users.duration[uidx]).astype(np.int64)
        rel = movies.release_ts[midx]
        early = ts < rel
        if early.any():
            r = rel[early]
            span = np.minimum(2 * YEAR_S, T_MAX - r)
            ts[early] = r + (rng.random(int(early.sum())) * span).astype(np.int64)
        yield pl.DataFrame(
            {
                "userId": pl.Series(uidx + 1, dtype=pl.Int32),
                "movieId": pl.Series(movies.ids[midx], dtype=pl.Int32),
                "rating": pl.Series(rating, dtype=pl.Float64),
                "timestamp": pl.Series(ts, dtype=pl.Int64),
            }
        )
