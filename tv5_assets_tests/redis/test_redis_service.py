"""The local Redis service on a private port and data folder: up, status, down, restart."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
import redis

from tv5_assets.cli import main
from tv5_assets.services.base import free_local_port
from tv5_assets.services.redis import RedisService, find_redis_server
from tv5_assets_tests.conftest import require_service

pytestmark = pytest.mark.services


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def service(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("TV5_REDIS_URL", raising=False)  # a local service, even where CI points elsewhere
    require_service("redis-server binary", find_redis_server)
    svc = RedisService(port=_free_port(), data_dir=tmp_path / "redis")
    yield svc
    monkeypatch.delenv("TV5_REDIS_URL", raising=False)  # a test may have pointed it elsewhere
    svc.down()
    assert not svc.status().running


def test_up_status_down_cycle_keeps_the_data(service):
    assert not service.status().running
    first = service.up()
    assert first.running and first.address == f"127.0.0.1:{service.port}/0"
    assert service.up().detail == first.detail  # idempotent: same pid
    assert service.pid_file.exists()

    client = redis.Redis.from_url(service.url)
    assert client.config_get("bind")["bind"] == "127.0.0.1"
    assert client.config_get("appendonly")["appendonly"] == "yes"
    client.set("kept", "42")
    client.close()

    stopped = service.down()
    assert not stopped.running and stopped.detail.startswith("stopped pid ")
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(service.url, socket_connect_timeout=1).ping()

    assert service.up().running  # restart: the append-only file brings the data back
    client = redis.Redis.from_url(service.url)
    assert client.get("kept") == b"42"
    client.close()


def test_an_external_server_is_left_alone(service, monkeypatch):
    service.up()
    monkeypatch.setenv("TV5_REDIS_URL", f"redis://:pw@127.0.0.1:{service.port}/0")
    status = service.status()
    assert status.running and "external" in status.detail and "pw" not in status.address
    assert service.down().running  # down does nothing to an external server
    monkeypatch.setenv("TV5_REDIS_URL", f"redis://127.0.0.1:{_free_port()}/0")
    assert not service.up().running  # up does not start anything either


def test_a_port_held_by_something_else_is_reported(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("TV5_REDIS_URL", raising=False)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        svc = RedisService(port=port, data_dir=tmp_path / "redis", start_timeout_s=5)
        with pytest.raises(Exception, match=f"127.0.0.1:{port}"):
            svc.up()


def test_services_down_says_stopped_for_a_server_it_stopped(tmp_path: Path, monkeypatch, capsys):
    """`tv5 services down` names the server it just stopped; a second `down` says "not running"."""
    require_service("redis-server binary", find_redis_server)
    port = free_local_port()
    monkeypatch.delenv("TV5_REDIS_URL", raising=False)
    monkeypatch.setenv("TV5_DATA_DIR", str(tmp_path))  # a stack of its own: not the one the other tests use
    monkeypatch.setenv("TV5_LOCAL_REDIS_PORT", str(port))
    try:
        assert main(["services", "up", "--only", "redis"]) == 0
        up = capsys.readouterr().out.strip()
        assert main(["services", "down", "--only", "redis"]) == 0
        first = capsys.readouterr().out.strip()
        assert main(["services", "down", "--only", "redis"]) == 0
        second = capsys.readouterr().out.strip()
    finally:
        RedisService().down()
    pid = re.fullmatch(rf"redis +running +127\.0\.0\.1:{port}/0 pid (\d+), data \S+", up).group(1)
    assert first == f"redis    stopped  127.0.0.1:{port}/0 stopped pid {pid}; data kept in {tmp_path}/services/redis"
    assert second == f"redis    stopped  127.0.0.1:{port}/0 not running"
