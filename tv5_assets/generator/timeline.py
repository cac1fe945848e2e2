"""When users rate: sign-up year, a sign-up burst, later sessions, seconds between ratings.

Modelled on how MovieLens itself works (Harper and Konstan, "The MovieLens Datasets: History and
Context", 2015): a new member rates a batch of movies at sign-up so the site can recommend (at least
15, typically a few dozen in that first sitting), and most members come back a few times or never.
So a user's ratings fall into sessions: the first one holds a large share of them, the others are
spread over the following weeks to years; within a session ratings are seconds apart.

Sign-ups per year follow the site's history in shape: the 1995-96 seed data and launch, the 1999-2000
peak, a long plateau in the 2000s, and the 2015-2016 surge after the redesign. A rating is never
dated before the movie's release year, nor after the last rating of ml-25m (T_MAX).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

T_MIN = 789_652_004  # 1995-01-09 11:46:44 UTC, first rating in ml-25m
T_MAX = 1_574_327_703  # 2019-11-21 09:15:03 UTC, last rating in ml-25m
YEAR_S = 365 * 86400
DAY_S = 86400

FIRST_YEAR, LAST_YEAR = 1995, 2019
# Relative sign-ups per year, 1995..2019 (the shape of the site's history, see the docstring).
SIGNUP_WEIGHTS = np.array(
    [0.4, 2.5, 1.6, 1.2, 2.8, 5.0, 2.8, 2.0, 2.0, 2.0, 2.6, 2.4, 2.4, 2.2, 2.0,
     1.6, 1.5, 1.5, 1.5, 1.6, 4.2, 5.2, 3.8, 3.2, 2.6],
)  # fmt: skip
YEAR_STARTS = np.array(
    [int((np.datetime64(f"{y}-01-01", "s") - np.datetime64(0, "s")).astype(np.int64)) for y in range(1995, 2021)]
)

BURST_MIN = 15  # ratings asked of a new member before the first recommendations
SESSION_GAP_MEDIAN_S = 25 * DAY_S  # between two visits
SECONDS_BETWEEN_RATINGS = 14.0  # median, within a session


@dataclass(frozen=True)
class Timeline:
    signup: np.ndarray  # int64 per user
    last_year: np.ndarray  # int64 per user: calendar year of their last session
    session_start: np.ndarray  # int64 per session, users' sessions consecutive
    session_user: np.ndarray  # int64 per session
    first_session: np.ndarray  # int64 per user: index of their first session

    @property
    def sessions(self) -> np.ndarray:
        """Sessions per user."""
        return np.diff(np.append(self.first_session, len(self.session_start)))

    @property
    def last_visit(self) -> np.ndarray:
        """Start of each user's last session."""
        return self.session_start[self.first_session + self.sessions - 1]


def year_of(ts: np.ndarray) -> np.ndarray:
    return FIRST_YEAR + np.searchsorted(YEAR_STARTS, ts, side="right") - 1


def build_timeline(n_ratings: np.ndarray, rng: np.random.Generator) -> Timeline:
    """Sign-up time and session start times of each user (vectorised over users and sessions)."""
    n_users = len(n_ratings)
    p = SIGNUP_WEIGHTS / SIGNUP_WEIGHTS.sum()
    year_idx = rng.choice(len(p), size=n_users, p=p)
    lo = np.maximum(YEAR_STARTS[year_idx], T_MIN)
    hi = np.minimum(YEAR_STARTS[year_idx + 1], T_MAX - DAY_S)
    signup = lo + (rng.random(n_users) * (hi - lo)).astype(np.int64)
    # Returning visits: more for heavy raters; a share of users never comes back.
    loyalty = rng.lognormal(0.0, 0.8, n_users)
    extra = rng.poisson(loyalty * np.log1p(n_ratings / 40.0) * 2.0)
    extra[rng.random(n_users) < 0.35] = 0
    sessions = 1 + np.minimum(extra, np.maximum(n_ratings - BURST_MIN, 0))
    session_user = np.repeat(np.arange(n_users, dtype=np.int64), sessions)
    first_session = np.concatenate([[0], np.cumsum(sessions)[:-1]]).astype(np.int64)
    gaps = rng.lognormal(np.log(SESSION_GAP_MEDIAN_S), 1.6, len(session_user)).astype(np.int64)
    gaps[first_session] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= np.repeat(elapsed[first_session], sessions)
    start = np.minimum(signup[session_user] + elapsed, T_MAX - 3600)
    last = start[first_session + sessions - 1]  # Timeline.last_visit, before the Timeline exists
    return Timeline(signup, year_of(last), start, session_user, first_session)


def rating_times(user: np.ndarray, n_ratings: np.ndarray, tl: Timeline, rng: np.random.Generator) -> np.ndarray:
    """A time per rating, for rows grouped by user (user ascending): the first BURST share of each
    user's rows in the sign-up session, the rest spread over their later sessions, in row order.

    Rows are assigned in their given order, so the caller decides which movies come first.
    """
    sessions = tl.sessions
    # Position of each row within its user.
    row_start = np.concatenate([[0], np.cumsum(n_ratings)[:-1]])
    pos = np.arange(len(user), dtype=np.int64) - row_start[user]
    share = rng.beta(2.0, 1.3, len(n_ratings))
    burst = np.clip(np.maximum(BURST_MIN, np.rint(share * n_ratings)), 1, n_ratings).astype(np.int64)
    burst[sessions == 1] = n_ratings[sessions == 1]
    # At full scale every row-sized array is 200 MB: each is dropped (`del`) as soon as it has been
    # used, and arithmetic runs in place, so that scale 1.0 stays within 4 GB (docs/generated-data.md).
    pos -= burst[user]  # now the row's position after the sign-up burst (negative inside it)
    later = pos >= 0
    # Later rows: session 1..S-1 by an even split of the remaining rows, in order.
    rest = np.maximum(n_ratings - burst, 1)
    user_sessions = sessions[user]
    pos *= user_sessions - 1
    pos //= rest[user]
    pos += 1
    k = np.where(later, pos, 0)
    del pos, later
    np.minimum(k, user_sessions - 1, out=k)
    del user_sessions
    session = tl.first_session[user] + k
    del k
    # Within a session: seconds apart, cumulated per session.
    step = rng.lognormal(np.log(SECONDS_BETWEEN_RATINGS), 0.9, len(user)).astype(np.int64)
    step += 1
    csum = np.cumsum(step)
    first_row_of_session = np.flatnonzero(np.r_[True, session[1:] != session[:-1]])
    run = np.diff(np.append(first_row_of_session, len(user)))
    csum -= np.repeat(csum[first_row_of_session] - step[first_row_of_session], run)  # the offset in the session
    del step
    ts = tl.session_start[session]
    del session
    ts += csum
    return np.minimum(ts, T_MAX, out=ts)
