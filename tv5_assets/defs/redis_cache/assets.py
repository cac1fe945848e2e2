"""Group `redis`: platform availability and current trends cached in Redis (see cache.py for the
key layout, the atomic refresh and the reader helpers)."""

import dagster as dg
import polars as pl
import redis as redis_py
from pydantic import Field

from ...conventions import OWNERS, STORE_LOAD_RETRY_POLICY
from ...errors import ServiceUnavailableError
from ...resources.redis import RedisResource
from .cache import (
    DEFAULT_TOP_TRENDING,
    PLATFORM_TTL_S,
    TRENDS_TTL_S,
    RefreshReport,
    refresh_platforms,
    refresh_trends,
)
from .protocol import DEFAULT_CHUNK

GROUP = "redis"
KINDS = {"redis", "polars"}
POOL = "redis"



class PlatformCacheConfig(dg.Config):
    ttl_seconds: int = Field(default=PLATFORM_TTL_S, gt=0, le=PLATFORM_TTL_S, description="Lifetime of each platform key (at most 24 h).")
    pipeline_commands: int = Field(default=DEFAULT_CHUNK, ge=1, description="Commands per pipelined chunk.")


class TrendsCacheConfig(dg.Config):
    ttl_seconds: int = Field(default=TRENDS_TTL_S, gt=0, le=TRENDS_TTL_S, description="Lifetime of the trend keys (at most 15 min).")
    top_n: int = Field(default=DEFAULT_TOP_TRENDING, ge=0, description="Movies in the `trending` sorted set.")
    pipeline_commands: int = Field(default=DEFAULT_CHUNK, ge=1, description="Commands per pipelined chunk.")


def _run_refresh(cache: RedisResource, what: str, refresh) -> RefreshReport:
    """Connection trouble is retryable (RetryPolicy); anything else fails once with its cause."""
    client = cache.client()
    try:
        return refresh(client)
    except (redis_py.ConnectionError, redis_py.TimeoutError) as error:
        raise cache.unavailable(error) from error
    except ServiceUnavailableError:
        raise
    except Exception as error:
        raise dg.Failure(
            description=f"Refreshing {what} in Redis at {cache.address} failed: {error}", allow_retries=False
        ) from error
    finally:
        client.close()


def _metadata(report: RefreshReport, cache: RedisResource) -> dict:
    return {
        "dagster/row_count": report.keys,
        **report.metadata(),
        **{k: v for k, v in report.extra.items()},
        "namespace": cache.namespace,
        "redis_address": cache.address,
    }


def _tag(context: dg.AssetExecutionContext) -> str:
    return context.run.run_id.replace("-", "")[:12]


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    pool=POOL,
    retry_policy=STORE_LOAD_RETRY_POLICY,
    description=(
        "Platform availability per movie at `{ns}:platform:{media_id}`: a JSON list of the movie's platforms "
        "(platform_id, platform_name, availability_type, region, quality, subtitles), 24-hour TTL. Written with "
        "pipelined commands under a staging prefix and switched in atomically (no empty window); read with "
        "`tv5_assets.defs.redis_cache.get_platforms`."
    ),
)
def redis_platform_cache(
    context: dg.AssetExecutionContext,
    config: PlatformCacheConfig,
    redis: RedisResource,
    platform_availability: pl.LazyFrame,
) -> dg.MaterializeResult:
    report = _run_refresh(
        redis,
        "the platform cache",
        lambda client: refresh_platforms(
            client, redis.namespace, platform_availability, _tag(context), config.ttl_seconds, config.pipeline_commands
        ),
    )
    context.log.info(
        f"platform cache: {report.keys:,} keys, {report.commands:,} commands at {report.ops_per_second:,.0f} ops/s, "
        f"switch {report.swap_seconds * 1000:.1f} ms, {report.removed_stale_keys} stale key(s) removed"
    )
    return dg.MaterializeResult(metadata=_metadata(report, redis))


@dg.asset(
    group_name=GROUP,
    kinds=KINDS,
    owners=OWNERS,
    pool=POOL,
    retry_policy=STORE_LOAD_RETRY_POLICY,
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
    report = _run_refresh(
        redis,
        "the trends cache",
        lambda client: refresh_trends(
            client,
            redis.namespace,
            trends,
            _tag(context),
            top_n=config.top_n,
            ttl_s=config.ttl_seconds,
            chunk=config.pipeline_commands,
        ),
    )
    context.log.info(
        f"trends cache: {report.keys:,} keys for {report.extra.get('date')}, {report.commands:,} commands at "
        f"{report.ops_per_second:,.0f} ops/s, switch {report.swap_seconds * 1000:.1f} ms"
    )
    return dg.MaterializeResult(metadata=_metadata(report, redis))


ASSETS = [redis_platform_cache, redis_trends_cache]
