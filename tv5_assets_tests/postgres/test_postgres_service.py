"""The local PostgreSQL service on a private port and data folder: up, status, down, restart."""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import psycopg
import pytest

from tv5_assets.services.postgres import PostgresService, find_binaries
from tv5_assets_tests.conftest import require_service

pytestmark = pytest.mark.services


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def service(monkeypatch):
    monkeypatch.delenv("TV5_POSTGRES_URL", raising=False)  # a local service, even where CI points elsewhere
    require_service("postgres server binaries", find_binaries)
    # Under /tmp with mode 755: the unprivileged server user must reach the folder (pytest's tmp is 700).
    folder = Path(tempfile.mkdtemp(prefix="tv5-pg-service-", dir="/tmp"))
    folder.chmod(0o755)
    svc = PostgresService(port=_free_port(), data_dir=folder / "postgres")
    yield svc
    try:
        monkeypatch.delenv("TV5_POSTGRES_URL", raising=False)  # a test may have pointed it elsewhere
        svc.down()
        assert not svc.status().running
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_up_status_down_cycle_keeps_the_data(service):
    assert not service.status().running

    first = service.up()
    assert first.running and first.address == f"127.0.0.1:{service.port}/tv5"
    again = service.up()  # idempotent: the running server is left alone
    assert again.running and again.detail == first.detail

    with psycopg.connect(service.url, autocommit=True) as conn:
        assert conn.execute("SELECT current_user, current_database()").fetchone() == ("tv5", "tv5")
        settings = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name IN "
                "('synchronous_commit', 'wal_level', 'listen_addresses', 'fsync', 'maintenance_work_mem')"
            ).fetchall()
        )
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    assert settings == {
        "synchronous_commit": "off",
        "wal_level": "minimal",
        "listen_addresses": "127.0.0.1",
        "fsync": "on",
        "maintenance_work_mem": str(512 * 1024),
    }

    stopped = service.down()
    assert not stopped.running and not service.status().running
    assert stopped.detail.startswith("stopped pid ")  # says it stopped a server, not "not running"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(service.url, connect_timeout=2)

    assert service.up().running  # restart on the existing cluster
    with psycopg.connect(service.url) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone() == (42,)


def test_an_external_server_is_left_alone(service, monkeypatch):
    service.up()
    monkeypatch.setenv("TV5_POSTGRES_URL", f"postgresql://tv5:pw@127.0.0.1:{service.port}/tv5")
    status = service.status()
    assert status.running and "external" in status.detail and "pw" not in status.address
    assert service.down().running  # down does nothing to an external server
    monkeypatch.setenv("TV5_POSTGRES_URL", f"postgresql://tv5:pw@127.0.0.1:{_free_port()}/tv5")
    assert not service.up().running  # up does not start anything either


def test_missing_binaries_say_what_to_install(monkeypatch):
    import tv5_assets.services.postgres as module

    monkeypatch.setattr(module.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(module.shutil, "which", lambda name: None)
    with pytest.raises(module.ServiceUnavailableError, match="apt-get install postgresql"):
        find_binaries()
