"""Every store, described once: what each consumer of "all the stores" needs to know about it.

One `StoreSpec` per store in `STORES`. Everything that does something for every store iterates
`STORES` instead of naming them: the resources of the code location (defs/resources.py), the local
services (`tv5 services`), the backups (`tv5 backup|restore`, the `store_backups` asset), the store
jobs and their automation, the cross-store report and its checks, the query benchmarks and their
checks, the data dictionary, and the decorator of every load (store_load.py).
`tv5_assets_tests/test_store_registry.py` fails when a registered store is missing from any of them.

| field          | what it is                                        | read by                                  |
|----------------|---------------------------------------------------|------------------------------------------|
| key            | "postgres": group, resource key, pool, service and backup name, TV5_LOCAL_<KEY>_PORT | all |
| name           | "PostgreSQL", as messages write it                | store_load, the report                   |
| kind, extra_kinds | Dagster kinds of the loads (kind alone: the readers') | store_load, backups, quality     |
| endpoint       | endpoints.py's record                             | resources, services, registry test       |
| load_assets    | the assets that write the store                   | STORE_LOAD_ASSETS (readers run after)    |
| resource       | "module:factory" of the ConfigurableResource      | defs/resources.py, backups.env_resources |
| transient      | "module:classifier" of retryable errors           | store_load.store_errors                  |
| service        | "module:LocalService class or factory"            | services/__init__.py                     |
| backup         | module with backup_<key>(resource, folder), restore_<key>(resource, folder) | backups/  |

The resource, classifier, service and backup are library modules named by a path string and imported
when asked for, so this module imports none of them (the CLI stays fast to start, and one missing
driver breaks only its store). What `defs/` holds per store (its data dictionary chapter in
`defs/docs/stores.py`, its counts in `defs/quality/counts.py`, its query benchmarks in
`defs/quality/benchmarks.py`) is keyed by store key there (`CHAPTERS`, `STORE_COUNTS`,
`STORE_BENCHMARKS`): this module names nothing of `defs/`, which imports it, so no import cycle
hides behind a string; the registry test fails when a store lacks an entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Any

from . import endpoints
from .endpoints import Endpoint

if TYPE_CHECKING:
    from collections.abc import Iterable


@dataclass(frozen=True)
class StoreSpec:
    """One store (see the module docstring for each field)."""

    key: str
    name: str
    kind: str
    endpoint: Endpoint
    load_assets: tuple[str, ...]
    resource: str
    transient_classifier: str
    service: str
    backup: str
    extra_kinds: frozenset[str] = frozenset()

    @property
    def group(self) -> str:
        """Dagster group of its loads (also the resource key)."""
        return self.key

    @property
    def pool(self) -> str:
        """Concurrency pool: loads into one store queue instead of competing for its cores."""
        return self.key

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset({self.kind, *self.extra_kinds})

    def load(self, field: str) -> Any:
        """The object a "module:attribute" field names, imported now ("resource", "service", ...)."""
        return resolve(getattr(self, field))

    def transient(self, error: BaseException) -> bool:
        """True for errors a retry can fix (lost connection, server restarting): the resource's classifier."""
        return bool(self.load("transient_classifier")(error))

    def resource_from_env(self) -> Any:
        """The store's ConfigurableResource for the code location (`dg.EnvVar` where a variable is set)."""
        return self.load("resource")()

    def resource_now(self) -> Any:
        """The resource with the values in use now, outside Dagster (the CLI's backups)."""
        return self.resource_from_env().process_config_and_initialize()

    def backup_functions(self) -> tuple[Any, Any]:
        module = import_module(self.backup)
        return getattr(module, f"backup_{self.key}"), getattr(module, f"restore_{self.key}")


@cache
def resolve(path: str) -> Any:
    """ "package.module:attribute" -> the attribute (the module imported on first use)."""
    module, _, attribute = path.partition(":")
    return getattr(import_module(module), attribute)


POSTGRES = StoreSpec(
    key="postgres",
    name="PostgreSQL",
    kind="postgresql",
    extra_kinds=frozenset({"polars"}),
    endpoint=endpoints.POSTGRES,
    load_assets=("agentdb_policies", "agentdb_episodes"),
    resource="tv5_assets.resources.postgres:postgres_resource_from_env",
    transient_classifier="tv5_assets.resources.postgres:is_transient",
    service="tv5_assets.services.postgres:PostgresService",
    backup="tv5_assets.backups.postgres",
)
REDIS = StoreSpec(
    key="redis",
    name="Redis",
    kind="redis",
    extra_kinds=frozenset({"polars"}),
    endpoint=endpoints.REDIS,
    load_assets=("redis_platform_cache", "redis_trends_cache"),
    resource="tv5_assets.resources.redis:redis_resource_from_env",
    transient_classifier="tv5_assets.resources.redis:is_transient",
    service="tv5_assets.services.redis:RedisService",
    backup="tv5_assets.backups.redis",
)
MILVUS = StoreSpec(
    key="milvus",
    name="Milvus",
    kind="milvus",
    endpoint=endpoints.MILVUS,
    load_assets=("milvus_media_collection", "milvus_user_collection"),
    resource="tv5_assets.resources.milvus:milvus_resource_from_env",
    transient_classifier="tv5_assets.resources.milvus:is_transient",
    service="tv5_assets.services.milvus:local_milvus_service",
    backup="tv5_assets.backups.milvus",
)
NEO4J = StoreSpec(
    key="neo4j",
    name="Neo4j",
    kind="neo4j",
    endpoint=endpoints.NEO4J,
    load_assets=(
        "neo4j_movies",
        "neo4j_movie_tags",
        "neo4j_users",
        "neo4j_ratings",
        "neo4j_similarity",
        "neo4j_platforms",
    ),
    resource="tv5_assets.resources.neo4j:neo4j_resource_from_env",
    transient_classifier="tv5_assets.resources.neo4j:is_transient",
    service="tv5_assets.services.neo4j:Neo4jService",
    backup="tv5_assets.backups.neo4j",
)

# In start order (`tv5 services up` starts them so, `down` stops them the other way round; backups
# and restores go in this order too).
STORES: tuple[StoreSpec, ...] = (POSTGRES, REDIS, MILVUS, NEO4J)
BY_KEY: dict[str, StoreSpec] = {store.key: store for store in STORES}
STORE_KEYS: tuple[str, ...] = tuple(BY_KEY)
ENDPOINTS: dict[str, Endpoint] = {store.key: store.endpoint for store in STORES}


def by_name(stores: Iterable[StoreSpec] = STORES) -> list[StoreSpec]:
    """Alphabetical, the order of the reports (cross-store counts, benchmarks, data dictionary)."""
    return sorted(stores, key=lambda store: store.key)


def store_kinds() -> set[str]:
    """The stores' own kinds, for an asset that reads or writes all of them."""
    return {store.kind for store in STORES}


def listed(words: Iterable[str]) -> str:
    """ "a, b, c and d", for descriptions that name every store."""
    words = list(words)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
