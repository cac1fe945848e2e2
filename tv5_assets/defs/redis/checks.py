"""Checks of the Redis cache that query the live server (blocking: a bad cache stops downstream)."""

import json
from collections.abc import Callable

import dagster as dg
import polars as pl

from ...resources.redis import RedisResource
from .assets import redis_platform_cache, redis_trends_cache
from .cache import (
    PLATFORM_TTL_S,
    TRENDS_TTL_S,
    glob_escape,
    latest_trends,
    platform_key,
    platform_values,
    scan_keys,
    trend_key,
    trending_key,
)

SAMPLE_KEYS = 50


def _sample(values: list[str], size: int = SAMPLE_KEYS) -> list[str]:
    """Evenly spaced, deterministic sample."""
    if len(values) <= size:
        return values
    step = len(values) / size
    return [values[int(i * step)] for i in range(size)]


def _ttl_problems(ttls: list[int], limit: int, what: str) -> list[str]:
    bad = [t for t in ttls if not 0 < t <= limit]
    return [f"{len(bad)} of {len(ttls)} sampled {what} TTLs outside (0, {limit}] s (e.g. {bad[0]})"] if bad else []


def _read_sample(
    client, sample: list[str], key_of: Callable[[str], str], *field: str
) -> tuple[list[bytes | None], list[int]]:
    """The value (GET, or HGET of `field`) and the TTL of each sampled media id's key, in one pipeline."""
    pipe = client.pipeline(transaction=False)
    for media_id in sample:
        if field:
            pipe.hget(key_of(media_id), *field)
        else:
            pipe.get(key_of(media_id))
        pipe.ttl(key_of(media_id))
    replies = pipe.execute()
    return replies[0::2], [int(t) for t in replies[1::2]]


def _key_problems(kind: str, source: str, keys: int, expected: int, wrong: list[str]) -> list[str]:
    """A count of `kind` keys other than the movies in `source`, and sampled keys (`wrong`) that are
    missing or do not hold the source's values."""
    problems = []
    if keys != expected:
        problems.append(f"{keys} {kind} keys, but {source} has {expected} movies")
    if wrong:
        problems.append(f"{len(wrong)} sampled {kind} keys missing or different from {source} (e.g. {wrong[0]})")
    return problems


@dg.asset_check(
    asset=redis_platform_cache,
    blocking=True,
    additional_ins={"platform_availability": dg.AssetIn("platform_availability")},
    description="One `{ns}:platform:{media_id}` key per movie in platform_availability (no more, no less); "
    "sampled keys hold that movie's platforms and have a TTL within 24 h.",
)
def redis_platform_cache_complete(redis: RedisResource, platform_availability: pl.LazyFrame) -> dg.AssetCheckResult:
    expected = platform_values(platform_availability)
    sample = _sample(expected["media_id"].to_list())
    client = redis.client()
    try:
        keys = scan_keys(client, f"{glob_escape(redis.namespace)}:platform:*")
        values, ttls = _read_sample(client, sample, lambda media_id: platform_key(redis.namespace, media_id))
    finally:
        client.close()
    wanted = dict(zip(expected["media_id"].to_list(), expected["platforms"].to_list()))
    wrong = [m for m, v in zip(sample, values) if v is None or json.loads(v) != json.loads(wanted[m])]
    problems = _key_problems("platform", "platform_availability", len(keys), expected.height, wrong)
    problems += _ttl_problems(ttls, PLATFORM_TTL_S, "platform")
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "keys": len(keys),
            "expected_keys": expected.height,
            "sampled": len(sample),
            "min_sampled_ttl_s": min(ttls, default=0),
            "problems": "; ".join(problems) or "none",
        },
    )


@dg.asset_check(
    asset=redis_trends_cache,
    blocking=True,
    additional_ins={"trends": dg.AssetIn("trends")},
    description="One `{ns}:trend:{media_id}` hash per movie of the latest trends day; `{ns}:trending` ranks the "
    "most popular of them first; TTLs within 15 minutes.",
)
def redis_trends_cache_complete(redis: RedisResource, trends: pl.LazyFrame) -> dg.AssetCheckResult:
    latest = latest_trends(trends)
    sample = _sample(latest["media_id"].to_list())
    client = redis.client()
    try:
        keys = scan_keys(client, f"{glob_escape(redis.namespace)}:trend:*")
        top = client.zrevrange(trending_key(redis.namespace), 0, 0, withscores=True)
        trending_size = client.zcard(trending_key(redis.namespace))
        scores, ttls = _read_sample(
            client, sample, lambda media_id: trend_key(redis.namespace, media_id), "popularity_score"
        )
        trending_ttl = int(client.ttl(trending_key(redis.namespace)))
    finally:
        client.close()
    expected_scores = dict(zip(latest["media_id"].to_list(), latest["popularity_score"].to_list()))
    wrong = [m for m, s in zip(sample, scores) if s is None or s.decode() != expected_scores[m]]
    problems = _key_problems("trend", "the latest trends day", len(keys), latest.height, wrong)
    if latest.height:
        if trending_size == 0 or trending_size > latest.height:
            problems.append(f"{trending_size} movies in the trending set for {latest.height} trending movies")
        elif top and float(top[0][1]) != float(latest["score"].max()):
            problems.append(f"top trending score {top[0][1]} is not the day's highest ({latest['score'].max()})")
        ttls.append(trending_ttl)
    elif trending_size:
        problems.append("the trending set is not empty although there are no trends")
    problems += _ttl_problems(ttls, TRENDS_TTL_S, "trend")
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "keys": len(keys),
            "expected_keys": latest.height,
            "trending_size": int(trending_size),
            "date": latest["date"][0] if latest.height else "",
            "min_sampled_ttl_s": min(ttls, default=0),
            "problems": "; ".join(problems) or "none",
        },
    )


CHECKS = [redis_platform_cache_complete, redis_trends_cache_complete]
