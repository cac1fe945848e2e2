"""A private local stack for the reliability tests, the job they run and the digests they compare.

The fault tests SIGKILL servers, so they never use the shared test stack (CI's 55433/56380/59531/
57688): `PrivateStack` starts its own PostgreSQL, Redis, Milvus and Neo4j on free ports under its
own folder (`/var/tmp/tv5-reliability-*`, mode 755 so the unprivileged `postgres` user can enter),
and `activate()` points the process at it through the same variables `tv5 services up` reads
(`TV5_DATA_DIR`, `TV5_LOCAL_*_PORT`), so the code location's own resources, the IO manager and the
Neo4j service the bulk import drives all land on it. One stack serves the whole session (starting
Milvus and Neo4j costs tens of seconds); the variables are set only while a test module runs.

`reliability_job` is the real code location as one asset job on the in-process executor, so a test
can patch a load's seam (`after_batch`, `after_chunk`, `insert_batch`, the Neo4j batch hook) in
this process; `run` executes it with `dg.execute_job` on a persistent instance, which is what
Dagster's re-execution API (`ReexecutionOptions.from_failure`) needs.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from store_hashes import StoreDigest, milvus_digest, neo4j_digest, postgres_digest, redis_digest

from tv5_assets.registry import ENDPOINTS, STORE_KEYS
from tv5_assets_tests.conftest import environment

STORES = STORE_KEYS
# What points at another server (URLs, tokens) or logs in to it (the Neo4j user, password, database).
_STORE_VARS = tuple(name for e in ENDPOINTS.values() for name in (e.env_var, *dict(e.extra_vars)))


class PrivateStack:
    """Four servers of our own; `kill(store)` SIGKILLs one by its pid file, `up(store)` restarts it."""

    def __init__(self) -> None:
        from tv5_assets.services.base import free_local_ports

        self.root = Path(tempfile.mkdtemp(prefix="tv5-reliability-", dir="/var/tmp"))
        self.root.chmod(0o755)
        self.ports = dict(zip(STORES, free_local_ports(len(STORES)), strict=True))
        self.kills: dict[str, int] = dict.fromkeys(STORES, 0)

    def env(self) -> dict[str, str]:
        values = {"TV5_DATA_DIR": str(self.root)}
        values.update({f"TV5_LOCAL_{name.upper()}_PORT": str(port) for name, port in self.ports.items()})
        values["TV5_LOCAL_MILVUS_ENGINE"] = "server"
        values["TV5_NEO4J_HEAP"] = "768m"
        values["TV5_NEO4J_PAGECACHE"] = "64m"
        return values

    @contextmanager
    def activate(self, movielens_dir: Path) -> Iterator[PrivateStack]:
        """Point this process at the stack (and the sample) while the block runs; restore after."""
        values = {**self.env(), "TV5_MOVIELENS_DIR": str(movielens_dir)}
        with environment(values, unset=_STORE_VARS):
            yield self

    def service(self, name: str):
        from tv5_assets.services import get_service

        return get_service(name)  # resolved from the variables `activate` set

    def up(self, *names: str) -> None:
        """Start the named services (all by default) in parallel and wait until each answers."""
        errors: list[BaseException] = []

        def start(name: str) -> None:
            try:
                self.service(name).up()
            except BaseException as error:  # reported below, after every start finished
                errors.append(error)

        threads = [threading.Thread(target=start, args=(n,)) for n in (names or STORES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def kill(self, name: str) -> int:
        """SIGKILL the store's server process (the pid its pid file names) and wait until it is gone."""
        from tv5_assets.services.base import wait_gone

        service = self.service(name)
        pid = service.managed_pid()
        assert pid is not None, f"{name}: no running server found through {service.pid_file}"
        os.kill(pid, signal.SIGKILL)
        assert wait_gone(pid, 30), f"{name}: pid {pid} survived SIGKILL"
        self.kills[name] += 1
        return pid

    def down(self) -> None:
        # The session's teardown runs after the modules restored the environment: point at the stack
        # again, or `get_service` would resolve the default data folder and ports and stop nothing.
        with environment(self.env()):
            self._stop_all()
        shutil.rmtree(self.root, ignore_errors=True)

    def _stop_all(self) -> None:
        for name in reversed(STORES):
            service = self.service(name)
            try:
                service.down()
            except Exception as error:  # ours and disposable: make sure it is gone before the folder goes
                print(f"reliability stack: {name} did not stop cleanly ({error}); killing it")
                pid = service.managed_pid()
                if pid is not None:
                    os.kill(pid, signal.SIGKILL)


# ------------------------------------------------------------------------------------ the job
def reliability_job() -> dg.JobDefinition:
    """Every asset and check of the code location, as one job on the in-process executor."""
    from tv5_assets.definitions import defs as load_defs

    loaded = load_defs()
    return dg.Definitions(
        assets=loaded.assets,
        asset_checks=loaded.asset_checks,
        resources=loaded.resources,
        jobs=[dg.define_asset_job("reliability", executor_def=dg.in_process_executor)],
    ).get_job_def("reliability")


# The Neo4j bulk import would stop the (fresh) private server and rebuild the graph offline; the
# tests load online so the fault lands in the online writes (the import has its own tests).
ONLINE_NEO4J = {"ops": {"neo4j_bulk_import": {"config": {"mode": "never"}}}}


def run(
    instance: dg.DagsterInstance,
    selection: str | None = None,
    run_config: dict | None = None,
    reexecute_from: str | None = None,
) -> dg.ExecuteJobResult:
    """Execute `selection` (an asset selection string) or re-execute a failed run from its failure."""
    job = dg.reconstructable(reliability_job)
    if reexecute_from is not None:
        options = dg.ReexecutionOptions.from_failure(reexecute_from, instance)
        return dg.execute_job(job, instance=instance, reexecution_options=options, raise_on_error=False)
    keys = dg.AssetSelection.from_string(selection).resolve(reliability_job().asset_layer.asset_graph)
    return dg.execute_job(
        job,
        instance=instance,
        asset_selection=sorted(keys),
        run_config=_merge(ONLINE_NEO4J if _selects(keys, "neo4j_bulk_import") else {}, run_config or {}),
        raise_on_error=False,
    )


def _selects(keys, name: str) -> bool:
    return dg.AssetKey(name) in keys


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for key, value in b.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def step_failures(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """step key -> what its STEP_FAILURE event says: the error's message, then each cause as
    `Class: message` (stacks left out), as the UI lists them, separated by blank lines. After a RetryPolicy ran out, Dagster's
    own message is "Exceeded max_retries of N" and the step's last error is its cause."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    out = {}
    for record in records:
        event = record.event_log_entry.dagster_event
        error = event.step_failure_data.error
        lines = []
        while error is not None:
            lines.append(f"{error.cls_name}: {error.message.strip()}")
            error = error.cause
        out[event.step_key] = "\n\n".join(lines)
    return out


def materialized(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    return {r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records}


# ------------------------------------------------------------------------------------ digests
def digest(store: str) -> StoreDigest:
    """The store's content digest, read through the code location's own resource (env-resolved)."""
    from tv5_assets.resources.milvus import MilvusResource
    from tv5_assets.resources.neo4j import Neo4jResource
    from tv5_assets.resources.postgres import PostgresResource
    from tv5_assets.resources.redis import RedisResource
    from tv5_assets.services.base import LOCAL_HOST

    port = int(os.environ[f"TV5_LOCAL_{store.upper()}_PORT"])
    if store == "postgres":
        resource = PostgresResource(url=_endpoint("POSTGRES").local_url(port, LOCAL_HOST))
        return postgres_digest(resource.connect, resource.schema_name)
    if store == "redis":
        resource = RedisResource(url=_endpoint("REDIS").local_url(port, LOCAL_HOST))
        client = resource.client()
        try:
            return redis_digest(client, resource.namespace)
        finally:
            client.close()
    if store == "milvus":
        with MilvusResource(uri=_endpoint("MILVUS").local_url(port, LOCAL_HOST)).get_client() as client:
            return milvus_digest(client, "")
    resource = Neo4jResource(uri=_endpoint("NEO4J").local_url(port, LOCAL_HOST))
    with resource.driver() as driver:
        return neo4j_digest(driver, resource.database)


def _endpoint(name: str):
    from tv5_assets import endpoints

    return getattr(endpoints, name)


@dataclass
class ReaderLog:
    """What a reader thread saw while a load ran and after its server died."""

    complete_reads: int = 0
    reads_since_mark: int = 0
    connection_errors: int = 0
    wrong: list[str] = field(default_factory=list)


def neo4j_user_reads(users: int = 60) -> dict:
    """What the platform's graph readers ask: each of the first `users` users' RATED edges, one query
    per user. Neo4j runs a query at read-committed isolation, not on a snapshot, so a scan of the
    whole graph while a load commits batches can count a source's old edges and, further on, its new
    ones; the load's guarantee is per source (one transaction replaces a source's edges), and that
    is what these reads check."""
    from tv5_assets.resources.neo4j import Neo4jResource

    resource = Neo4jResource(uri=_endpoint("NEO4J").local_url(int(os.environ["TV5_LOCAL_NEO4J_PORT"])))
    out = {}
    with resource.driver() as driver, driver.session(database=resource.database) as s:
        ids = s.run("MATCH (u:User) RETURN u.user_id AS id ORDER BY id LIMIT $n", n=users).value("id")
        for user in ids:
            out[user] = s.run(
                "MATCH (:User {user_id: $id})-[r:RATED]->(m:Movie) RETURN m.media_id AS m, r.score AS s, "
                "r.timestamp AS t ORDER BY m",
                id=user,
            ).values()
    return out


@contextmanager
def reader(store: str, expected: StoreDigest, interval_s: float = 0.05) -> Iterator[ReaderLog]:
    """Read the store's whole served contents in a loop; every successful read must equal `expected`
    (the previous, complete version). Errors are counted as connection errors (the server is down).
    Neo4j: per-user reads (`neo4j_user_reads`), each equal to what it was before the load."""
    log = ReaderLog()
    stop = threading.Event()
    if store == "neo4j":
        before = neo4j_user_reads()
        assert before, "no User node to read"

        def same() -> tuple[bool, str]:
            seen = neo4j_user_reads()
            changed = [u for u in before if seen.get(u) != before[u]]
            if changed:
                # Neo4j reads at read-committed isolation: one query that walks a user's edges while
                # the transaction replacing them commits can return a mix, once. A committed partial
                # state (edges deleted by one transaction, written by a later one, or a load killed
                # in between) stays, so it shows again when read again: only that counts as wrong.
                again = neo4j_user_reads()
                changed = [u for u in changed if again.get(u) != before[u]]
            return not changed and seen.keys() == before.keys(), f"users whose RATED edges changed: {changed[:5]}"
    else:

        def same() -> tuple[bool, str]:
            seen = digest(store)
            return seen.same_contents(expected), seen.describe()

    def loop() -> None:
        while not stop.is_set():
            try:
                ok, what = same()
            except Exception:  # a dead server: any client error is fine, partial data is not
                log.connection_errors += 1
            else:
                if ok:
                    log.complete_reads += 1
                    log.reads_since_mark += 1
                else:
                    log.wrong.append(what)
            stop.wait(interval_s)

    thread = threading.Thread(target=loop, name=f"reader-{store}", daemon=True)
    thread.start()
    try:
        yield log
    finally:
        stop.set()
        thread.join(timeout=120)


def wait_for_reads(log: ReaderLog, count: int, timeout_s: float = 60.0) -> None:
    """Block (inside a load's seam) until the reader completed `count` more whole reads."""
    log.reads_since_mark = 0
    deadline = time.monotonic() + timeout_s
    while log.reads_since_mark < count and time.monotonic() < deadline:
        time.sleep(0.02)


@contextmanager
def quick_retries(max_retries: int = 1, delay_s: float = 1.0) -> Iterator[None]:
    """The store loads' retry policy shortened while the block runs (the real one waits about 21 s
    over three retries before a run with a dead server fails; the soak tests keep it)."""
    from tv5_assets.conventions import STORE_LOAD_RETRY_POLICY
    from tv5_assets.definitions import defs as load_defs

    ops = [a.op for a in load_defs().assets if isinstance(a, dg.AssetsDefinition) and a.op.retry_policy]
    ops = [op for op in ops if op.retry_policy == STORE_LOAD_RETRY_POLICY]
    for op in ops:
        op._retry_policy = dg.RetryPolicy(max_retries=max_retries, delay=delay_s)
    try:
        yield
    finally:
        for op in ops:
            op._retry_policy = STORE_LOAD_RETRY_POLICY


_SHARED: dict[str, object] = {}


def acquire_stack() -> PrivateStack:
    """The session's private stack, created on first use (its servers start in `prepare`)."""
    if "stack" not in _SHARED:
        _SHARED["stack"] = PrivateStack()
        _SHARED["users"] = 0
    _SHARED["users"] = int(_SHARED["users"]) + 1
    return _SHARED["stack"]  # type: ignore[return-value]


def release_stack() -> None:
    _SHARED["users"] = int(_SHARED["users"]) - 1
    if _SHARED["users"] == 0:
        stack = _SHARED.pop("stack")
        stack.down()  # type: ignore[attr-defined]


UPSTREAM = "group:movielens or group:synthetic or group:embeddings"


def prepare(stack: PrivateStack, instance: dg.DagsterInstance) -> None:
    """Servers up and the upstream Parquet assets materialized once per session."""
    stack.up()
    if not _SHARED.get("upstream"):
        result = run(instance, UPSTREAM)
        assert result.success, f"upstream materialization failed: {step_failures(instance, result.run_id)}"
        _SHARED["upstream"] = True
