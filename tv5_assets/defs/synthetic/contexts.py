"""Viewing contexts: scenarios (when, with whom, why) that the recommender conditions on.

Independent draws where the plan says so (season, day, holiday with probability 0.1), conditional
ones where independence would be implausible: the part of the day depends on weekday/weekend,
parties are likelier on Friday, Saturday and holidays, the group size follows the viewing mode
(alone = 1, date = 2, family and friends 2-6, party 4-12), mood and occasion follow the mode,
and the time budget grows on free days.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from .common import categorical_by_row, check_schema, rng_for
from .schemas import VIEWING_CONTEXTS

ASSET = "viewing_contexts"

SEASONS = ["spring", "summer", "fall", "winter"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
TIMES_OF_DAY = ["morning", "afternoon", "evening", "night", "late_night"]
TIME_OF_DAY_BY_DAY_TYPE = np.array(
    [
        [0.08, 0.10, 0.42, 0.28, 0.12],  # working day
        [0.12, 0.22, 0.33, 0.23, 0.10],  # weekend or holiday
    ]
)
VIEWING_MODES = ["alone", "family", "friends", "date", "party"]
VIEWING_MODE_BY_NIGHT = np.array(
    [
        [0.38, 0.21, 0.18, 0.14, 0.09],  # other days
        [0.30, 0.18, 0.20, 0.16, 0.16],  # Friday, Saturday or holiday
    ]
)
# Group size per mode: (smallest size, probabilities of smallest, smallest + 1, ...)
GROUP_SIZE = {
    "alone": (1, [1.0]),
    "family": (2, [0.15, 0.30, 0.30, 0.15, 0.10]),  # 2-6
    "friends": (2, [0.30, 0.30, 0.20, 0.12, 0.08]),  # 2-6
    "date": (2, [1.0]),
    "party": (4, [0.18, 0.16, 0.14, 0.12, 0.11, 0.10, 0.08, 0.06, 0.05]),  # 4-12
}
MOODS = ["relaxed", "energetic", "melancholic", "curious", "romantic", "adventurous", "intellectual"]
MOOD_BY_MODE = np.array(
    [
        [0.25, 0.08, 0.15, 0.18, 0.04, 0.12, 0.18],  # alone
        [0.30, 0.20, 0.03, 0.17, 0.02, 0.25, 0.03],  # family
        [0.20, 0.30, 0.04, 0.10, 0.03, 0.30, 0.03],  # friends
        [0.20, 0.07, 0.06, 0.07, 0.45, 0.12, 0.03],  # date
        [0.10, 0.55, 0.01, 0.04, 0.05, 0.24, 0.01],  # party
    ]
)
OCCASIONS = ["casual", "special_event", "education", "background", "focused"]
OCCASION_BY_MODE = np.array(
    [
        [0.35, 0.03, 0.15, 0.20, 0.27],  # alone
        [0.40, 0.20, 0.15, 0.15, 0.10],  # family
        [0.45, 0.20, 0.02, 0.20, 0.13],  # friends
        [0.35, 0.45, 0.02, 0.03, 0.15],  # date
        [0.20, 0.45, 0.00, 0.35, 0.00],  # party
    ]
)
TIME_BUDGETS = ["short", "medium", "long", "binge"]
TIME_BUDGET_BY_DAY_TYPE = np.array([[0.30, 0.42, 0.20, 0.08], [0.15, 0.33, 0.32, 0.20]])


def group_size_bounds() -> dict[str, tuple[int, int]]:
    """Smallest and largest group size per viewing mode (the checks and tests use these)."""
    return {mode: (low, low + len(p) - 1) for mode, (low, p) in GROUP_SIZE.items()}


def generate_viewing_contexts(seed: int, count: int = 100_000, holiday_probability: float = 0.1) -> pl.DataFrame:
    """`count` scenarios with ids ctx_00000000.. (VIEWING_CONTEXTS schema)."""
    rng = rng_for(seed, ASSET)
    season = rng.integers(0, len(SEASONS), count)
    day = rng.integers(0, len(DAYS), count)
    holiday = rng.random(count) < holiday_probability
    free_day = ((day >= 5) | holiday).astype(np.int64)
    party_night = ((day == 4) | (day == 5) | holiday).astype(np.int64)
    time_of_day = categorical_by_row(rng, TIME_OF_DAY_BY_DAY_TYPE, free_day)
    mode = categorical_by_row(rng, VIEWING_MODE_BY_NIGHT, party_night)

    size_table = np.zeros((len(VIEWING_MODES), 12))
    for m, name in enumerate(VIEWING_MODES):
        low, p = GROUP_SIZE[name]
        size_table[m, low - 1 : low - 1 + len(p)] = p
    group_size = 1 + categorical_by_row(rng, size_table, mode)

    mood = categorical_by_row(rng, MOOD_BY_MODE, mode)
    occasion = categorical_by_row(rng, OCCASION_BY_MODE, mode)
    budget = categorical_by_row(rng, TIME_BUDGET_BY_DAY_TYPE, free_day)

    def labels(values: list[str], codes: np.ndarray) -> pl.Series:
        return pl.Series(values).gather(pl.Series(codes))

    frame = pl.DataFrame(
        {
            "context_id": pl.int_range(0, count, eager=True).cast(pl.String).str.zfill(8),
            "season": labels(SEASONS, season),
            "day_of_week": labels(DAYS, day),
            "time_of_day": labels(TIMES_OF_DAY, time_of_day),
            "is_holiday": holiday,
            "viewing_mode": labels(VIEWING_MODES, mode),
            "group_size": pl.Series(group_size, dtype=pl.Int8),
            "mood": labels(MOODS, mood),
            "occasion": labels(OCCASIONS, occasion),
            "time_budget": labels(TIME_BUDGETS, budget),
        }
    ).with_columns(context_id=pl.lit("ctx_") + pl.col("context_id"))
    frame = frame.select(VIEWING_CONTEXTS.names())
    check_schema(frame, VIEWING_CONTEXTS, ASSET)
    return frame.rechunk()
