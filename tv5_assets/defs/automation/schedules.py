"""`trends_cache_every_10_minutes`: rewrite the Redis trend keys before their 15-minute TTL ends.

The trend keys expire TRENDS_TTL_S (15 min) after each refresh, so they vanish unless the cache is
rewritten in time. The schedule runs `refresh_trends_cache` (the one step, in-process) every two
thirds of the TTL (10 min), which leaves 5 minutes for a late tick or a slow run. It skips, saying
why, until `trends` has been materialized once (the run would have nothing to read).
"""

import dagster as dg

from ..redis.cache import TRENDS_TTL_S
from .jobs import refresh_trends_cache
from .switch import schedule_status

REFRESH_EVERY_MINUTES = TRENDS_TTL_S * 2 // 3 // 60
TRENDS_CACHE_SCHEDULE = f"trends_cache_every_{REFRESH_EVERY_MINUTES}_minutes"


def trends_cache_schedule() -> dg.ScheduleDefinition:
    @dg.schedule(
        name=TRENDS_CACHE_SCHEDULE,
        cron_schedule=f"*/{REFRESH_EVERY_MINUTES} * * * *",
        execution_timezone="UTC",
        job=refresh_trends_cache,
        default_status=schedule_status(),
        description=(
            f"Rewrites the Redis trend cache every {REFRESH_EVERY_MINUTES} minutes, inside its "
            f"{TRENDS_TTL_S // 60}-minute TTL. Off unless TV5_AUTOMATION=on (or turned on here)."
        ),
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        if context.instance.get_latest_materialization_event(dg.AssetKey("trends")) is None:
            return dg.SkipReason(
                "`trends` was never materialized in this Dagster instance, so there is nothing to cache: "
                "run `build_everything` (or `ingest`) first."
            )
        return dg.RunRequest(tags={"tv5/trigger": TRENDS_CACHE_SCHEDULE})

    return _schedule


@dg.definitions
def schedules() -> dg.Definitions:
    # Built at load time, so the default status follows TV5_AUTOMATION.
    return dg.Definitions(schedules=[trends_cache_schedule()])
