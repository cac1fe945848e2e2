"""The store registry (tv5_assets/registry.py) reaches every consumer of "all the stores".

For each registered store: its endpoint, its resource in the Definitions, its local service, its
backup (library, asset, CLI), its chapter of the data dictionary, its objects in the cross-store report
and their check, its query benchmarks and their check, its group in the store jobs and the store
automation, the readers' resources and kinds, and the test stack's ports in scripts/test.sh. A store
left out of any of them fails here, naming the consumer; `test_an_unwired_store_fails_every_consumer`
shows each check does fail for a store registered but wired nowhere. The other way round, every
resource, service and backup module must belong to a registered store. No server needed.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from tv5_assets import registry
from tv5_assets.definitions import defs as load_defs
from tv5_assets.registry import STORES, StoreSpec

ROOT = Path(__file__).resolve().parents[1]
DEFS = load_defs()
GRAPH = DEFS.resolve_asset_graph()
# The assets and checks that read every store, and what each must hold per store.
READERS = ("cross_store_report", "query_benchmarks", "data_dictionary", "store_backups")
CONSUMERS = (
    "endpoint",
    "resource",
    "transient",
    "service",
    "backup",
    "dictionary",
    "counts",
    "benchmarks",
    "jobs",
    "readers",
    "test.sh",
)


def _load(store: StoreSpec, field: str):
    try:
        return store.load(field)
    except (ImportError, AttributeError, ValueError) as error:
        return error


def _checks_of(asset: str) -> set[str]:
    import dagster as dg

    return {check.name for check in GRAPH.get(dg.AssetKey(asset)).check_keys}


def _group_assets(group: str) -> set[str]:
    return {
        key.to_user_string()
        for key in GRAPH.get_all_asset_keys()
        if GRAPH.get(key).is_materializable and GRAPH.get(key).group_name == group
    }


def endpoint_problems(store: StoreSpec) -> list[str]:
    endpoint = store.endpoint
    ok = (endpoint.store, endpoint.label) == (store.key, store.name) and registry.ENDPOINTS.get(store.key) is endpoint
    return [] if ok else [f"its endpoint is {endpoint.store!r}/{endpoint.label!r}, not {store.key!r}/{store.name!r}"]


def resource_problems(store: StoreSpec) -> list[str]:
    resource = (DEFS.resources or {}).get(store.key)
    if resource is None:
        return ["no resource under its key in the Definitions (defs/resources.py)"]
    factory = _load(store, "resource")
    if isinstance(factory, Exception) or not isinstance(resource, type(factory())):
        return [f"the Definitions' resource is not what {store.resource} builds ({factory})"]
    return [] if hasattr(type(resource), "address") else ["its resource has no `address` to show"]


def transient_problems(store: StoreSpec) -> list[str]:
    classifier = _load(store, "transient_classifier")
    return [] if callable(classifier) else [f"no transient-error classifier ({classifier})"]


def service_problems(store: StoreSpec) -> list[str]:
    from tv5_assets.services import SERVICES
    from tv5_assets.services.base import LocalService

    problems = [] if store.key in SERVICES else ["not in `tv5 services` (services.SERVICES)"]
    service = _load(store, "service")
    if not (inspect.isclass(service) and issubclass(service, LocalService)) and not inspect.isfunction(service):
        problems.append(f"no LocalService class or factory ({service})")
    return problems


def backup_problems(store: StoreSpec) -> list[str]:
    from tv5_assets import backups
    from tv5_assets.cli import build_parser
    from tv5_assets.defs.backups.assets import BackupConfig

    problems = []
    try:
        if not all(callable(f) for f in store.backup_functions()):
            problems.append("backup/restore functions are not callable")
    except (ImportError, AttributeError) as error:
        problems.append(f"no backup_{store.key}/restore_{store.key} ({error})")
    if store.key not in backups.STORES:
        problems.append("not in the backups library's stores")
    if store.key not in BackupConfig().stores:
        problems.append("not backed up by default by the store_backups asset")
    backup_cli = build_parser()._subparsers._group_actions[0].choices["backup"]  # type: ignore[union-attr]
    only = next(a for a in backup_cli._actions if a.dest == "only")
    if store.key not in (only.choices or ()):
        problems.append("not a choice of `tv5 backup --only`")
    return problems


def dictionary_problems(store: StoreSpec) -> list[str]:
    from tv5_assets.defs.docs.stores import CHAPTERS, StoreChapter, required_terms

    chapter = CHAPTERS.get(store.key)
    if not isinstance(chapter, StoreChapter):
        return [f"no data dictionary chapter in defs/docs/stores.py CHAPTERS ({chapter})"]
    required = chapter.required(None)
    if not required:
        return ["its data dictionary chapter requires no section"]
    return [] if set(required) <= set(required_terms([])) else ["its chapter is not in the data dictionary"]


def counts_problems(store: StoreSpec) -> list[str]:
    from tv5_assets.defs.quality import counts
    from tv5_assets.defs.quality.checks import COUNT_CHECKS

    problems = []
    if not isinstance(counts.STORE_COUNTS.get(store.key), counts.StoreCounts):
        problems.append("no StoreCounts for the cross-store report in defs/quality/counts.py STORE_COUNTS")
    check = f"{store.key}_counts_match"
    if COUNT_CHECKS.get(check) != store.name or check not in _checks_of("cross_store_report"):
        problems.append(f"no {check} check on cross_store_report")
    if counts.STORE_SLUGS.get(store.name) != store.key:
        problems.append("its report rows have no metadata key")
    return problems


def benchmark_problems(store: StoreSpec) -> list[str]:
    from tv5_assets.defs.quality import benchmarks
    from tv5_assets.defs.quality.checks import TARGET_CHECKS

    bench = benchmarks.STORE_BENCHMARKS.get(store.key)
    if not isinstance(bench, benchmarks.StoreBenchmarks):
        return [f"no query benchmarks in defs/quality/benchmarks.py STORE_BENCHMARKS ({bench})"]
    problems = []
    if TARGET_CHECKS.get(bench.target_check) != bench.targets or bench.target_check not in _checks_of(
        "query_benchmarks"
    ):
        problems.append(f"no {bench.target_check} check on query_benchmarks")
    kinds = {kind.key for kind in benchmarks.KINDS if kind.store == store.name}
    if not bench.targets or not set(bench.targets) <= kinds:
        problems.append(f"its target kinds {bench.targets} are not query kinds of {store.name}")
    return problems


def jobs_problems(store: StoreSpec) -> list[str]:
    from tv5_assets.defs.automation import jobs, sensors
    from tv5_assets.store_load import STORE_LOAD_ASSETS

    group = _group_assets(store.group)
    problems = [] if group else [f"no asset in group {store.group!r}"]
    if not set(store.load_assets) <= group:
        problems.append(f"load assets {sorted(set(store.load_assets) - group)} are not in group {store.group!r}")
    if not set(store.load_assets) <= set(STORE_LOAD_ASSETS):
        problems.append("its loads are not in STORE_LOAD_ASSETS (the readers would not wait for them)")
    for name, selection in (
        ("the load_stores job", jobs.load_stores.selection),
        ("the store automation sensor", sensors.store_loads_automation().asset_selection),
    ):
        selected = {key.to_user_string() for key in selection.resolve(GRAPH)}
        if not group or not group <= selected:
            problems.append(f"its group is not in {name}")
    return problems


def reader_problems(store: StoreSpec) -> list[str]:
    import dagster as dg

    problems = []
    for asset in READERS:
        definition = DEFS.resolve_assets_def(asset)
        if store.key not in definition.required_resource_keys:
            problems.append(f"{asset} does not ask for its resource")
        if store.kind not in GRAPH.get(dg.AssetKey(asset)).kinds and asset != "data_dictionary":
            problems.append(f"{asset} does not show its kind {store.kind!r}")
    check = DEFS.get_repository_def().asset_checks_defs_by_key
    dictionary_check = next(c for key, c in check.items() if key.name == "dictionary_lists_everything")
    if store.key not in dictionary_check.required_resource_keys:
        problems.append("the data dictionary's check does not ask for its resource")
    return problems


def script_problems(store: StoreSpec) -> list[str]:
    script = (ROOT / "scripts" / "test.sh").read_text()
    endpoint = store.endpoint
    return [
        f"scripts/test.sh does not {what} {name}"
        for what, name in (("set the test stack's port", endpoint.local_port_var), ("unset", endpoint.env_var))
        if name not in script
    ]


CHECKERS = {
    "endpoint": endpoint_problems,
    "resource": resource_problems,
    "transient": transient_problems,
    "service": service_problems,
    "backup": backup_problems,
    "dictionary": dictionary_problems,
    "counts": counts_problems,
    "benchmarks": benchmark_problems,
    "jobs": jobs_problems,
    "readers": reader_problems,
    "test.sh": script_problems,
}


def missing_from_consumers(store: StoreSpec) -> dict[str, list[str]]:
    """consumer -> what is missing for `store` (empty when it is wired everywhere)."""
    found = {name: check(store) for name, check in CHECKERS.items()}
    return {name: problems for name, problems in found.items() if problems}


@pytest.mark.parametrize("store", STORES, ids=[s.key for s in STORES])
def test_every_consumer_covers_the_store(store: StoreSpec) -> None:
    missing = missing_from_consumers(store)
    assert not missing, f"{store.name} is missing from: " + "; ".join(
        f"{consumer}: {', '.join(problems)}" for consumer, problems in missing.items()
    )


def test_an_unwired_store_fails_every_consumer() -> None:
    """A store registered but wired nowhere: each consumer's check must notice."""
    fake = dataclasses.replace(
        registry.POSTGRES,
        key="fakedb",
        name="FakeDB",
        kind="fakedb",
        endpoint=dataclasses.replace(registry.POSTGRES.endpoint, store="fakedb", env_var="TV5_FAKEDB_URL"),
        load_assets=("fakedb_load",),
        **{field: f"tv5_assets.registry:no_such_{field}" for field in ("resource", "transient_classifier", "service")},
        backup="tv5_assets.backups.common",
    )
    assert set(missing_from_consumers(fake)) == set(CONSUMERS)


def test_every_store_implementation_is_registered() -> None:
    """The other way round: a resource, service or backup module, or a chapter, counts or benchmarks
    entry in defs/, of a store nobody registered."""
    keys = set(registry.STORE_KEYS)
    for folder, shared in (("resources", {"code_location"}), ("services", {"base"}), ("backups", {"common"})):
        modules = {p.stem for p in (ROOT / "tv5_assets" / folder).glob("*.py")} - {"__init__"} - shared
        assert modules == keys, f"tv5_assets/{folder}/: {sorted(modules ^ keys)} not matched by a registered store"
    assert set(DEFS.resources or {}) - {"io_manager", "code_location"} == keys
    from tv5_assets.defs.docs.stores import CHAPTERS
    from tv5_assets.defs.quality.benchmarks import STORE_BENCHMARKS
    from tv5_assets.defs.quality.counts import STORE_COUNTS

    for name, parts in (("CHAPTERS", CHAPTERS), ("STORE_COUNTS", STORE_COUNTS), ("STORE_BENCHMARKS", STORE_BENCHMARKS)):
        assert set(parts) == keys, f"{name}: {sorted(set(parts) ^ keys)} not matched by a registered store"


def test_the_registry_matches_what_it_replaced() -> None:
    """The orders the consumers used before the registry: start order, and by name in the reports."""
    assert registry.STORE_KEYS == ("postgres", "redis", "milvus", "neo4j")
    assert [s.key for s in registry.by_name()] == ["milvus", "neo4j", "postgres", "redis"]
    assert {s.key: set(s.kinds) for s in STORES} == {
        "postgres": {"postgresql", "polars"},
        "redis": {"redis", "polars"},
        "milvus": {"milvus"},
        "neo4j": {"neo4j"},
    }
