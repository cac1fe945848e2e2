"""Settings every group shares: who owns the assets, and how store loads retry."""

from __future__ import annotations

import dagster as dg

OWNERS = ["team:tv5-data"]

# Store loads retry transient failures (a server restarting, a dropped connection) with growing,
# jittered delays; each load decides what is transient and fails at once on data or code errors.
STORE_LOAD_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=3, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)
