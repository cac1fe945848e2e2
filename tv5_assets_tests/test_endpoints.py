"""The store endpoints (tv5_assets/endpoints.py): which URL is used, and that no address or redacted
URL ever shows a password or a token. No server needed."""

from __future__ import annotations

import dagster as dg
import pytest

from tv5_assets.endpoints import MILVUS, NEO4J, POSTGRES, REDIS, Endpoint, hide_password, redact
from tv5_assets.registry import ENDPOINTS
from tv5_assets.resources.milvus import MilvusResource, milvus_resource_from_env
from tv5_assets.resources.neo4j import Neo4jResource, neo4j_resource_from_env
from tv5_assets.resources.postgres import PostgresResource, postgres_resource_from_env
from tv5_assets.resources.redis import RedisResource, redis_resource_from_env

SECRET = "s3cr%40t-pw"  # percent-encoded in the URL: "s3cr@t-pw" once decoded

# One URL with credentials per store, and the address each must show.
WITH_CREDENTIALS = {
    "postgres": (f"postgresql://tv5:{SECRET}@db.example:5433/agentdb?sslmode=require", "db.example:5433/agentdb"),
    "redis": (f"redis://:{SECRET}@cache.example:6380/2", "cache.example:6380/2"),
    "milvus": (f"https://root:{SECRET}@milvus.example/db?token={SECRET}", "https://milvus.example/db"),
    "neo4j": (f"neo4j+s://neo4j:{SECRET}@graph.example", "neo4j+s://graph.example:7687"),
}


def test_every_store_has_a_url_with_credentials_here() -> None:
    assert set(WITH_CREDENTIALS) == set(ENDPOINTS)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for endpoint in ENDPOINTS.values():
        for name in (endpoint.env_var, endpoint.local_port_var, *dict(endpoint.extra_vars)):
            monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("store", sorted(WITH_CREDENTIALS))
def test_address_and_redacted_url_never_show_the_password(store: str) -> None:
    endpoint = ENDPOINTS[store]
    url, address = WITH_CREDENTIALS[store]
    assert endpoint.address(url) == address
    for shown in (endpoint.address(url), endpoint.redacted(url)):
        assert SECRET not in shown and "s3cr@t" not in shown and "token" not in shown
    assert "***" in endpoint.redacted(url)


def test_redacted_url_keeps_the_user_and_drops_the_query() -> None:
    assert redact("postgresql://u:secret@db.example:5433/x?sslmode=require") == "postgresql://u:***@db.example:5433/x"
    assert redact("postgresql://u@h/x") == "postgresql://u@h/x"
    assert redact("redis://:secret@cache:6380/2") == "redis://:***@cache:6380/2"
    assert redact("https://user:pw@host.example:443/db?token=abc") == "https://user:***@host.example:443/db"
    assert redact("./milvus.db") == "./milvus.db"  # not a URL: nothing to mask


def test_addresses_fill_in_default_ports_and_keep_the_scheme_where_it_matters() -> None:
    assert POSTGRES.address("postgresql://u@db.example/x") == "db.example:5432/x"
    assert REDIS.address("redis://cache.example") == "cache.example:6379"
    assert NEO4J.address("bolt://127.0.0.1") == "bolt://127.0.0.1:7687"
    assert MILVUS.address("http://127.0.0.1:59530") == "http://127.0.0.1:59530"
    assert MILVUS.address("https://in01.zillizcloud.example") == "https://in01.zillizcloud.example"  # no port guessed
    assert REDIS.address("redis://[::1]:6380/0") == "[::1]:6380/0"


def test_hide_password_masks_it_in_any_text() -> None:
    url = f"postgresql://tv5:{SECRET}@db.example:5433/x"
    text = f"connection failed: password {SECRET} or s3cr@t-pw rejected"
    assert hide_password(text, url) == "connection failed: password *** or *** rejected"
    assert hide_password(text, "postgresql://tv5@db.example/x") == text


@pytest.mark.parametrize("endpoint", list(ENDPOINTS.values()), ids=lambda e: e.store)
def test_the_local_default_follows_the_local_port_variable(endpoint: Endpoint, clean_env: pytest.MonkeyPatch) -> None:
    assert endpoint.local_port() == endpoint.local_port_default
    assert f"127.0.0.1:{endpoint.local_port_default}" in endpoint.url()
    clean_env.setenv(endpoint.local_port_var, "45678")
    assert endpoint.local_port() == 45678 and not endpoint.external()
    assert endpoint.url() == endpoint.local_url() and "127.0.0.1:45678" in endpoint.url()
    assert endpoint.address().startswith(("127.0.0.1:45678", "http://127.0.0.1:45678", "bolt://127.0.0.1:45678"))


@pytest.mark.parametrize("store", sorted(WITH_CREDENTIALS))
def test_the_url_variable_wins_over_the_local_default(store: str, clean_env: pytest.MonkeyPatch) -> None:
    endpoint = ENDPOINTS[store]
    url, address = WITH_CREDENTIALS[store]
    clean_env.setenv(endpoint.local_port_var, "45678")
    clean_env.setenv(endpoint.env_var, f"  {url} ")
    assert endpoint.external() and endpoint.configured() == url and endpoint.url() == url
    assert endpoint.address() == address
    clean_env.setenv(endpoint.env_var, "   ")  # blank counts as unset
    assert not endpoint.external() and "45678" in endpoint.url()


FACTORIES = {
    "postgres": (postgres_resource_from_env, "url", PostgresResource),
    "redis": (redis_resource_from_env, "url", RedisResource),
    "milvus": (milvus_resource_from_env, "uri", MilvusResource),
    "neo4j": (neo4j_resource_from_env, "uri", Neo4jResource),
}


@pytest.mark.parametrize("store", sorted(FACTORIES))
def test_resource_factories_read_the_variable_at_run_time_and_show_an_address(
    store: str, clean_env: pytest.MonkeyPatch
) -> None:
    factory, field, resource_type = FACTORIES[store]
    endpoint = ENDPOINTS[store]
    local = factory()
    assert isinstance(local, resource_type) and getattr(local, field) == endpoint.local_url()
    assert local.address == endpoint.address(endpoint.local_url())  # a property on every resource

    url, address = WITH_CREDENTIALS[store]
    clean_env.setenv(endpoint.env_var, url)
    declared = factory()
    assert getattr(declared, field) == endpoint.env_var  # an EnvVar: the value stays out of the UI
    assert isinstance(endpoint.resource_url(), dg.EnvVar)
    resource = declared.process_config_and_initialize()  # what Dagster does when a run starts
    assert getattr(resource, field) == url and resource.address == address
