"""Group `redis`: platform availability and current trends cached in Redis (see cache.py for the
key layout, the atomic refresh and the reader helpers)."""

from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl
from pydantic import Field

from ...resources.redis import RedisResource
from ...store_load import REDIS, run_tag, store_asset, store_errors
from .cache import (
    DEFAULT_TOP_TRENDING,
    PLATFORM_TTL_S,
    TRENDS_TTL_S,
    RefreshReport,
    refresh_platforms,
    refresh_trends,
)
from .protocol import DEFAULT_CHUNK

if TYPE_CHECKING:
    import redis as redis_py


class PlatformCacheConfig(dg.Config):
    ttl_seconds: int = Field(
        default=PLATFORM_TTL_S, gt=0, le=PLATFORM_TTL_S, description="Lifetime of each platform key (at most 24 h)."
    )
    pipeline_commands: int = Field(default=DEFAULT_CHUNK, ge=1, description="Commands per pipelined chunk.")


class TrendsCacheConfig(dg.Config):
    ttl_seconds: int = Field(
        default=TRENDS_TTL_S, gt=0, le=TRENDS_TTL_S, description="Lifetime of the trend keys (at most 15 min)."
    )
    top_n: int = Field(default=DEFAULT_TOP_TRENDING, ge=0, description="Movies in the `trending` sorted set.")
    pipeline_commands: int = Field(default=DEFAULT_CHUNK, ge=1, description="Commands per pipelined chunk.")


@contextmanager
def _refreshing(cache: RedisResource, what: str) -> Iterator["redis_py.Redis"]:
    """A client for refreshing `what`, closed afterwards; errors translated by store_errors."""
    with store_errors(REDIS, cache.address, f"refreshing {what}", cache.unavailable), closing(cache.client()) as client:
        yield client


def _metadata(report: RefreshReport, cache: RedisResource) -> dict:
    return {
        "dagster/row_count": report.keys,
        **report.metadata(),
        **{k: v for k, v in report.extra.items()},
        "namespace": cache.namespace,
        "redis_address": cache.address,
    }


@store_asset(
    REDIS,
    code_version="1",
    description=(
        "Platform availability per movie at `{ns}:platform:{media_id}`: a JSON list of the movie's platforms "
        "(platform_id, platform_name, availability_type, region, quality, subtitles), 24-hour TTL. Written with "
        "pipelined commands under a staging prefix and switched in atomically (no empty window); read with "
        "`tv5_assets.defs.redis.cache.get_platforms`."
    ),
)
def redis_platform_cache(
    context: dg.AssetExecutionContext,
    config: PlatformCacheConfig,
    redis: RedisResource,
    platform_availability: pl.LazyFrame,
) -> dg.MaterializeResult:
    with _refreshing(redis, "the platform cache") as client:
        report = refresh_platforms(
            client,
            redis.namespace,
            platform_availability,
            run_tag(context),
            config.ttl_seconds,
            config.pipeline_commands,
        )
    context.log.info(
        f"platform cache: {report.keys:,} keys, {report.commands:,} commands at {report.ops_per_second:,.0f} ops/s, "
        f"switch {report.swap_seconds * 1000:.1f} ms, {report.removed_stale_keys} stale key(s) removed"
    )
    return dg.MaterializeResult(metadata=_metadata(report, redis))


@store_asset(
    REDIS,
    code_version="1",
    description=(
        "Current trends, 15-minute TTL: the latest day's figures per movie in hashes `{ns}:trend:{media_id}` "
        "(date, popularity_score, view_count_estimate, search_volume) and the top movies by popularity in the "
        "sorted set `{ns}:trending`. Refreshed atomically like the platform cache; re-materialize (for example "
        "on a schedule) within 15 minutes to keep it present."
    ),
)
def redis_trends_cache(
    context: dg.AssetExecutionContext,
    config: TrendsCacheConfig,
    redis: RedisResource,
    trends: pl.LazyFrame,
) -> dg.MaterializeResult:
    with _refreshing(redis, "the trends cache") as client:
        report = refresh_trends(
            client,
            redis.namespace,
            trends,
            run_tag(context),
            top_n=config.top_n,
            ttl_s=config.ttl_seconds,
            chunk=config.pipeline_commands,
        )
    context.log.info(
        f"trends cache: {report.keys:,} keys for {report.extra.get('date')}, {report.commands:,} commands at "
        f"{report.ops_per_second:,.0f} ops/s, switch {report.swap_seconds * 1000:.1f} ms"
    )
    return dg.MaterializeResult(metadata=_metadata(report, redis))


ASSETS = [redis_platform_cache, redis_trends_cache]
