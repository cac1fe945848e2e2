"""Two loads of the same store at once: the second waits for the first, and says whom it waits for.

Dagster's concurrency pools (`pool=` on every store asset, `dagster.yaml`: one step per pool) already
queue the loads of one store across the runs of one Dagster instance: a scheduled run and a click
do not load PostgreSQL side by side. The stores' own locks cover what the pools cannot see (two
instances or deployments, `dagster asset materialize` with another DAGSTER_HOME, a notebook, a raised
pool limit):

| store      | lock, held in the store                              | a second load                         |
|------------|------------------------------------------------------|---------------------------------------|
| PostgreSQL | session advisory lock per table (`tv5-load:<schema>.<table>`) | waits, then loads and swaps  |
| Redis      | `{ns}:lock:{family}` (its token names the run)       | waits up to 10 min, then fails        |
| Milvus     | none: each load builds its own version               | the later-started load wins; the other fails, saying so |
| Neo4j      | none: the pool only                                  | see docs/reliability.md               |

A load that has to wait logs one warning through the `tv5_assets.load_locks` logger (dagster.yaml
shows it in the run's logs) naming the run that holds the lock: its run tag, the first 12 hex digits
of its run id (`store_load.run_tag`), which is also in its staging names.
"""

from __future__ import annotations

import logging

LOG = logging.getLogger("tv5_assets.load_locks")


def owner(tag: str) -> str:
    """How a load names itself in a lock (PostgreSQL `application_name`, the Redis lock token)."""
    return f"run {tag}" if tag else "a load"


def waiting(store: str, what: str, holder: str) -> str:
    """Log (and return) that this load waits for `holder`'s load of `what`."""
    message = (
        f"{store}: {what} is being loaded by {holder}; this load waits for it to finish, then writes its own "
        "complete version (readers see one whole version at every moment)."
    )
    LOG.warning(message)
    return message
