"""`tv5 services` for Neo4j: a second, private server (own port, temporary home, password on) is
started, checked, stopped and started again. One test, since each JVM start takes seconds."""

from __future__ import annotations

import socket

import pytest

from tv5_assets.errors import ServiceUnavailableError
from tv5_assets.resources.neo4j import Neo4jCredentialsError, Neo4jResource
from tv5_assets.services.neo4j import Neo4jService
from tv5_assets_tests.conftest import require_service

PASSWORD = "tv5-test-Pa55word"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.services
@pytest.mark.slow
def test_server_with_auth_starts_rejects_bad_credentials_and_keeps_data_across_down_and_up(tmp_path, monkeypatch):
    monkeypatch.delenv("TV5_NEO4J_URI", raising=False)
    monkeypatch.setenv("TV5_NEO4J_PASSWORD", PASSWORD)  # the launcher enables auth with this password
    service = Neo4jService(port=_free_port(), data_dir=tmp_path / "neo4j", heap="512m", pagecache="32m")
    status = require_service("neo4j (a private test server started with java and mvn)", service.up)
    try:
        assert status.running and "auth on" in status.detail
        pid = status.detail.split()[1].rstrip(",")
        assert service.up().detail.split()[1].rstrip(",") == pid, "a second `up` must leave the server alone"

        wrong = Neo4jResource(uri=service.uri, password="not-the-password")
        with pytest.raises(Neo4jCredentialsError) as raised:
            with wrong.driver():
                pass
        assert "credentials" in str(raised.value) and "not-the-password" not in str(raised.value)
        assert service.address in str(raised.value)

        right = Neo4jResource(uri=service.uri, password=PASSWORD)
        with right.driver() as driver:
            driver.execute_query("CREATE (:Persisted {value: 42})", database_="neo4j")

        stopped = service.down()
        assert not stopped.running and stopped.detail.startswith("stopped pid ")
        assert not service.status().running
        with pytest.raises(ServiceUnavailableError, match="not reachable"):
            with right.driver():
                pass

        assert service.up().running
        with right.driver() as driver:
            records, _, _ = driver.execute_query("MATCH (n:Persisted) RETURN n.value AS v", database_="neo4j")
        assert [r["v"] for r in records] == [42]
        assert (tmp_path / "neo4j" / "home" / "data" / "databases" / "neo4j").is_dir()
    finally:
        service.down()
    assert not (tmp_path / "neo4j" / "ready.json").exists()


def test_missing_java_or_maven_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.delenv("TV5_NEO4J_URI", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # neither java nor mvn on PATH
    service = Neo4jService(port=_free_port(), data_dir=tmp_path / "neo4j")
    with pytest.raises(ServiceUnavailableError, match="apt-get install openjdk-17-jdk-headless maven"):
        service.up()
    assert not (tmp_path / "neo4j" / "neo4j.pid").exists()


def test_an_external_server_is_left_alone(tmp_path, monkeypatch):
    port = _free_port()
    monkeypatch.setenv("TV5_NEO4J_URI", f"neo4j+s://someone:secret@127.0.0.1:{port}")
    service = Neo4jService(data_dir=tmp_path / "neo4j")
    for status in (service.up(), service.down(), service.status()):
        assert status.address == f"neo4j+s://127.0.0.1:{port}" and "external" in status.detail
        assert not status.running  # nothing listens there, and nothing was started
    assert not (tmp_path / "neo4j").exists()
