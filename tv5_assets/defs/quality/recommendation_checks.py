"""Checks of `recommendation_quality`: a sound evaluation (blocking) and plausible results (warning)."""

import dagster as dg
import polars as pl

from .recommendation import METHODS, recommendation_quality

# Content and graph must beat 10 random unseen movies: by MIN_LIFT times where random is rare (a full
# catalogue: about 0.002), or by closing MIN_GAP_CLOSED of the gap to 1 where random already hits
# often (the 125-movie sample: about 0.69).
MIN_LIFT_OVER_RANDOM = 2.0
MIN_GAP_CLOSED = 0.25


def required_hit_rate(random_hr: float) -> float:
    return min(MIN_LIFT_OVER_RANDOM * random_hr, random_hr + MIN_GAP_CLOSED * (1.0 - random_hr))


@dg.asset_check(
    asset=recommendation_quality,
    blocking=True,
    description=(
        "The evaluation ran on min(users, eligible) users, every method was scored on all of them, and no "
        "held-out (user, movie) pair appears in that user's training ratings."
    ),
)
def recommendation_quality_is_sound(recommendation_quality: pl.DataFrame) -> dg.AssetCheckResult:
    frame = recommendation_quality
    first = frame.row(0, named=True)
    expected = min(first["users_requested"], first["eligible_users"])
    problems = []
    if sorted(frame["method"].to_list()) != sorted(METHODS):
        problems.append(f"methods {frame['method'].to_list()}, expected {list(METHODS)}")
    if expected == 0 or (frame["users"] != expected).any():
        problems.append(f"users evaluated {frame['users'].to_list()}, expected {expected} per method")
    if first["leaked_pairs"]:
        problems.append(f"{first['leaked_pairs']} held-out pairs are also in training")
    metrics = frame.select("hr_at_10", "ndcg_at_10", "coverage")
    if not metrics.select(pl.all().is_between(0.0, 1.0).all()).row(0) == (True, True, True):
        problems.append("a metric is outside [0, 1]")
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or "sound",
        metadata={
            "users_expected": expected,
            "users_evaluated": int(frame["users"].min()),
            "leaked_pairs": int(first["leaked_pairs"]),
        },
    )


@dg.asset_check(
    asset=recommendation_quality,
    description=(
        f"Content and graph beat 10 unseen movies drawn at random: HR@10 at least {MIN_LIFT_OVER_RANDOM}x "
        f"random, or random plus {MIN_GAP_CLOSED} of the gap to 1 when that is lower; every method "
        "recommends at least 10 distinct movies."
    ),
)
def recommendation_quality_beats_random(recommendation_quality: pl.DataFrame) -> dg.AssetCheckResult:
    frame = recommendation_quality
    random_hr = float(frame["random_hr_at_10"][0])
    required = required_hit_rate(random_hr)
    by_method = {row["method"]: row for row in frame.iter_rows(named=True)}
    problems = [
        f"{method} HR@10 {by_method[method]['hr_at_10']:.4f} < {required:.4f} (random {random_hr:.4f})"
        for method in ("content", "graph")
        if by_method[method]["hr_at_10"] < required
    ]
    problems += [
        f"{m} recommends {r['recommended_items']} movies" for m, r in by_method.items() if r["recommended_items"] < 10
    ]
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(problems) or "above random",
        metadata={
            "random_hr_at_10": round(random_hr, 5),
            "required_hr_at_10": round(required, 5),
            **{
                f"{m}_lift_over_random": round(r["hr_at_10"] / random_hr, 2) if random_hr else 0.0
                for m, r in by_method.items()
            },
        },
    )


RECOMMENDATION_CHECKS = [recommendation_quality_is_sound, recommendation_quality_beats_random]
