"""One way to write a store load: the decorator defaults, the error translation and the run tag.

Every asset that writes into PostgreSQL, Redis, Milvus or Neo4j is declared with `store_asset` and
runs its load inside `store_errors`:

    @store_asset(POSTGRES, code_version="1", op_tags=CPU_HEAVY, description="...")
    def agentdb_episodes(context, postgres: PostgresResource, ...):
        with store_errors(POSTGRES, postgres.address, "loading agentdb.episodes", postgres.unavailable):
            report = load_partitioned(..., run_tag(context))

`store_errors` decides what the RetryPolicy may retry: a store that cannot be reached (the resource
raised `ServiceUnavailableError`, or the store's classifier calls the error transient) is retried;
refused settings (credentials, database name), a full disk or memory (disk_full.py), bad data and bugs
fail once, as a `dg.Failure` that names the store, its address (never credentials) and what was being
done. Each store supplies only its transient-error classifier, beside its resource in
`tv5_assets/resources/`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg

from .conventions import OWNERS, STORE_LOAD_AUTOMATION, STORE_LOAD_RETRY_POLICY
from .disk_full import full_cause, needs_restart, restart_advice, store_full_advice
from .errors import ServiceUnavailableError, StoreSettingsError, Tv5Error
from .registry import MILVUS, NEO4J, POSTGRES, REDIS, StoreSpec, by_name

# What the asset decorator and the error messages need to know about one store (its name, group,
# kinds, pool and transient-error classifier): the store's record in the registry.
Store = StoreSpec
__all__ = [
    "MILVUS",
    "NEO4J",
    "POSTGRES",
    "REDIS",
    "STORE_LOAD_ASSETS",
    "Store",
    "run_tag",
    "store_asset",
    "store_errors",
]

# The assets that write the stores' data, for the assets that read the stores in the same run
# (reports, benchmarks, the data dictionary, backups): `deps=STORE_LOAD_ASSETS` runs them after.
STORE_LOAD_ASSETS = [asset for store in by_name() for asset in store.load_assets]


def store_asset(store: Store, *, code_version: str, **settings):
    """`dg.asset` with the store's group, kinds, pool, the owners, the store-load retry policy and automation;
    `code_version` (required: bump it when what the load writes changes) and the other keywords
    (description, op_tags, deps, metadata, or any default) are passed on and win."""
    defaults = {
        "code_version": code_version,
        "group_name": store.group,
        "kinds": set(store.kinds),
        "owners": OWNERS,
        "pool": store.pool,
        "retry_policy": STORE_LOAD_RETRY_POLICY,
        "automation_condition": STORE_LOAD_AUTOMATION,
    }
    return dg.asset(**{**defaults, **settings})


@contextmanager
def store_errors(
    store: Store,
    address: str,
    doing: str,
    unavailable: Callable[[BaseException], ServiceUnavailableError],
) -> Iterator[None]:
    """Run a load, turning its errors into what the RetryPolicy should do with them.

    `address` must be safe to print (the resource's, without credentials); `doing` completes
    "<doing> in <store> at <address> failed" ("loading agentdb.policies"); `unavailable` is the
    resource's retryable error for the store's transient errors (it names the store, says what to
    do and redacts secrets).
    """
    try:
        yield
    except dg.Failure:
        raise  # already decided
    except ServiceUnavailableError as error:
        if full := full_cause(error):  # Redis refuses even PING with MISCONF: not "unreachable"
            raise _full(store, address, doing, *full) from error
        if isinstance(error, StoreSettingsError):
            raise _fatal(store, address, doing, error) from error
        raise  # retryable through the RetryPolicy
    except Exception as error:
        if full := full_cause(error):  # a retry seconds later cannot free a disk
            raise _full(store, address, doing, *full) from error
        if store.transient(error):
            raise unavailable(error) from error
        advice = restart_advice(store.name, store.key) if needs_restart(error) else ""
        raise _fatal(store, address, doing, error, advice) from error


def _fatal(store: Store, address: str, doing: str, error: BaseException, advice: str = "") -> dg.Failure:
    """Retrying cannot fix refused settings, bad data, a full disk or a bug: fail once, saying where and why."""
    cause = str(error) if isinstance(error, Tv5Error) else f"{type(error).__name__}: {error}"
    return dg.Failure(
        description=f"{doing[:1].upper()}{doing[1:]} in {store.name} at {address} failed, and retrying "
        f"cannot fix it: {advice + ' ' if advice else ''}{cause}",
        allow_retries=False,
    )


def _full(store: Store, address: str, doing: str, full: str, engine_error: BaseException) -> dg.Failure:
    """The store's disk (or memory) is full: say so first, then the engine's own words."""
    return _fatal(store, address, doing, engine_error, store_full_advice(store.name, full, engine_error, store.key))


def run_tag(context: dg.AssetExecutionContext) -> str:
    """12 hex characters of the run id, for a load's staging names (PostgreSQL tables, Redis key
    prefixes): short enough for a 63-character identifier, the same for every retry of the run."""
    return context.run.run_id.replace("-", "")[:12]
