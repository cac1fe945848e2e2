"""store_load.py: the store-asset defaults, which errors a store load retries, and the run tag.

The classifier and message tests need no server; those marked `services` drive real errors out of
the local stack's PostgreSQL, Redis and Neo4j through the same translation the assets use."""

from __future__ import annotations

import socket

import dagster as dg
import neo4j
import psycopg
import pytest
import redis

from tv5_assets import endpoints
from tv5_assets.conventions import CPU_HEAVY, OWNERS, STORE_LOAD_RETRY_POLICY
from tv5_assets.defs.neo4j.asset_helpers import open_graph
from tv5_assets.errors import ServiceUnavailableError
from tv5_assets.resources.milvus import MilvusResource
from tv5_assets.resources.neo4j import Neo4jCredentialsError, Neo4jResource
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets.resources.redis import RedisResource
from tv5_assets.store_load import MILVUS, NEO4J, POSTGRES, REDIS, run_tag, store_asset, store_errors
from tv5_assets_tests.conftest import neo4j_resource_now, require_service

SECRET = "s3cret-never-shown"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _retryable(error: BaseException) -> ServiceUnavailableError:
    return ServiceUnavailableError(f"Store at host:1 is not reachable ({error}). Start it.")


def test_store_asset_applies_the_store_defaults_and_keywords_win() -> None:
    @store_asset(REDIS, code_version="1", description="d")
    def plain() -> None: ...

    @store_asset(NEO4J, code_version="1", op_tags=CPU_HEAVY, kinds={"neo4j", "csv"}, pool=None, description="d")
    def overridden() -> None: ...

    spec = next(iter(plain.specs))
    assert (spec.group_name, set(spec.kinds), list(spec.owners)) == ("redis", {"redis", "polars"}, OWNERS)
    assert spec.code_version == "1"  # required: store_asset has no default for it
    assert plain.op.pool == "redis" and plain.op.retry_policy == STORE_LOAD_RETRY_POLICY
    assert set(next(iter(overridden.specs)).kinds) == {"neo4j", "csv"} and overridden.op.pool is None
    assert overridden.op.tags == CPU_HEAVY and overridden.op.retry_policy == STORE_LOAD_RETRY_POLICY


def test_an_unreachable_store_passes_through_unchanged() -> None:
    down = ServiceUnavailableError("PostgreSQL at host:1/db is not reachable")
    with pytest.raises(ServiceUnavailableError) as caught, store_errors(POSTGRES, "host:1/db", "loading x", _retryable):
        raise down
    assert caught.value is down


@pytest.mark.parametrize(
    ("store", "error"),
    [
        (POSTGRES, psycopg.OperationalError("server closed the connection unexpectedly")),
        (REDIS, redis.ConnectionError("Connection reset by peer")),
        (REDIS, redis.TimeoutError("Timeout reading from socket")),
        (NEO4J, neo4j.exceptions.SessionExpired("the session expired")),
        (NEO4J, neo4j.exceptions.TransientError("deadlock detected")),
        (MILVUS, ConnectionRefusedError("refused")),
    ],
)
def test_transient_errors_become_the_resources_retryable_error(store, error) -> None:
    with pytest.raises(ServiceUnavailableError, match="not reachable") as caught:
        with store_errors(store, "host:1", "loading x", _retryable):
            raise error
    assert not isinstance(caught.value, dg.Failure) and caught.value.__cause__ is error


@pytest.mark.parametrize(
    ("store", "error"),
    [
        (POSTGRES, psycopg.errors.DiskFull("could not extend file: No space left on device")),
        (POSTGRES, psycopg.errors.InvalidPassword("password authentication failed")),
        (REDIS, redis.AuthenticationError("invalid username-password pair")),
        (REDIS, redis.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")),
        (NEO4J, neo4j.exceptions.CypherSyntaxError("Invalid input 'RETRUN'")),
        (MILVUS, ValueError("embedding has shape (10, 8)")),
    ],
)
def test_data_credentials_and_code_errors_fail_once_saying_where(store, error) -> None:
    with pytest.raises(dg.Failure) as caught, store_errors(store, "host:1/db", "loading the movies", _retryable):
        raise error
    assert caught.value.allow_retries is False and caught.value.__cause__ is error
    assert caught.value.description.startswith(f"Loading the movies in {store.name} at host:1/db failed")
    assert str(error) in caught.value.description


def test_refused_credentials_fail_once_without_the_secret() -> None:
    resource = Neo4jResource(uri="bolt://127.0.0.1:7687", password=SECRET)
    with pytest.raises(dg.Failure) as caught, store_errors(NEO4J, resource.address, "loading users", _retryable):
        with resource.translate_errors("connecting"):
            raise neo4j.exceptions.AuthError("The client is unauthorized due to authentication failure.")
    message = caught.value.description
    assert caught.value.allow_retries is False and isinstance(caught.value.__cause__, Neo4jCredentialsError)
    assert (
        message.startswith("Loading users in Neo4j at bolt://127.0.0.1:7687 failed") and "TV5_NEO4J_PASSWORD" in message
    )
    assert SECRET not in message


def test_a_failure_already_decided_is_kept() -> None:
    decided = dg.Failure(description="bad inputs", allow_retries=False)
    with pytest.raises(dg.Failure) as caught, store_errors(MILVUS, "http://host:1", "loading x", _retryable):
        raise decided
    assert caught.value is decided


@pytest.mark.parametrize(
    ("error", "attempts", "success"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), 2, True),
        (ZeroDivisionError("bug"), 1, False),
    ],
)
def test_dagster_retries_what_store_errors_lets_through(error, attempts, success) -> None:
    calls = []

    @store_asset(POSTGRES, code_version="1", retry_policy=dg.RetryPolicy(max_retries=2), description="d")
    def flaky() -> None:  # the store's retry policy, without its delays
        calls.append(1)
        with store_errors(POSTGRES, "host:1/db", "loading x", _retryable):
            if len(calls) == 1:
                raise error

    result = dg.materialize([flaky], raise_on_error=False)
    assert (len(calls), result.success) == (attempts, success)


def test_run_tag_is_twelve_hex_characters_of_the_run_id() -> None:
    @dg.asset
    def tagged(context) -> list[str]:  # (annotations are strings here, which dg.asset refuses)
        return [run_tag(context), run_tag(context)]

    result = dg.materialize([tagged])
    first, again = result.output_for_node("tagged")
    assert first == again == result.run_id.replace("-", "")[:12]
    assert len(first) == 12 and int(first, 16) >= 0


@pytest.mark.parametrize("store", ["postgres", "redis", "neo4j", "milvus"])
def test_a_stopped_server_is_retryable_and_named_without_the_secret(store: str) -> None:
    port = _closed_port()
    with pytest.raises(ServiceUnavailableError) as caught:
        if store == "postgres":
            resource = PostgresResource(url=f"postgresql://tv5:{SECRET}@127.0.0.1:{port}/tv5", connect_timeout_s=2)
            with store_errors(POSTGRES, resource.address, "loading x", resource.unavailable):
                resource.connect()
        elif store == "redis":
            resource = RedisResource(url=f"redis://:{SECRET}@127.0.0.1:{port}/0", connect_timeout_s=1)
            with store_errors(REDIS, resource.address, "refreshing x", resource.unavailable):
                resource.client()
        elif store == "neo4j":
            resource = Neo4jResource(uri=f"bolt://127.0.0.1:{port}", password=SECRET, connection_timeout_s=3)
            with open_graph(resource, "loading x"):
                pass
        else:
            resource = MilvusResource(uri=f"http://127.0.0.1:{port}", token=f"root:{SECRET}", timeout_s=2)
            with store_errors(MILVUS, resource.address, "loading x", resource.unavailable), resource.get_client():
                pass
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "not reachable" in message and "tv5 services up" in message
    assert SECRET not in message


@pytest.mark.services
def test_a_real_postgres_dropping_the_connection_is_retryable_and_bad_sql_is_not() -> None:
    resource = PostgresResource(url=endpoints.POSTGRES.url())
    require_service("postgres", resource.ping)
    with resource.connection(autocommit=True) as victim:
        with resource.connection(autocommit=True) as admin:  # what a server restart does to a load
            admin.execute("SELECT pg_terminate_backend(%s)", (victim.info.backend_pid,))
        with pytest.raises(ServiceUnavailableError, match="not reachable") as caught:
            with store_errors(POSTGRES, resource.address, "loading x", resource.unavailable):
                victim.execute("SELECT 1")
    assert isinstance(caught.value.__cause__, psycopg.OperationalError)
    with resource.connection(autocommit=True) as conn:
        with pytest.raises(dg.Failure, match="DivisionByZero") as failed:
            with store_errors(POSTGRES, resource.address, "loading x", resource.unavailable):
                conn.execute("SELECT 1 / 0")
    assert failed.value.allow_retries is False and resource.address in failed.value.description


@pytest.mark.services
def test_a_real_redis_rejecting_a_command_fails_once() -> None:
    resource = RedisResource(url=endpoints.REDIS.url())
    client = require_service("redis", resource.client)
    try:
        with pytest.raises(dg.Failure, match="ResponseError") as caught:
            with store_errors(REDIS, resource.address, "refreshing x", resource.unavailable):
                client.execute_command("NO-SUCH-COMMAND")
    finally:
        client.close()
    assert caught.value.allow_retries is False and f"Redis at {resource.address}" in caught.value.description


@pytest.mark.services
def test_a_real_neo4j_rejecting_a_query_fails_once() -> None:
    resource = neo4j_resource_now()
    require_service("neo4j", resource.server_info)
    with pytest.raises(dg.Failure, match="CypherSyntaxError") as caught:
        with open_graph(resource, "loading x") as driver:
            driver.execute_query("RETRUN 1", database_=resource.database)
    assert caught.value.allow_retries is False and f"Neo4j at {resource.address}" in caught.value.description
