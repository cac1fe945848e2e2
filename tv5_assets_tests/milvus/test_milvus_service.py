"""Both local Milvus engines (a real Milvus 2.3 server, Milvus Lite) on their own port and data folder:
up (idempotent) / status / down, data kept across restarts, a clear error once it is down, refusal to
start on a port someone else holds, and hands off when TV5_MILVUS_URI points elsewhere. Starts real
`milvus run standalone` and `milvus-lite server` processes."""

from __future__ import annotations

import signal
import socket
import time
from pathlib import Path

import pytest

from tv5_assets.errors import ServiceUnavailableError
from tv5_assets.resources.milvus import MilvusResource
from tv5_assets.services.base import free_local_port
from tv5_assets.services.milvus import MilvusLiteService, MilvusServerService, local_milvus_service


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


# What each engine writes to its log when it stops cleanly (not killed).
CLEAN_SHUTDOWN = {"server": "Get signal to exit", "lite": "Shutting down"}


@pytest.fixture(params=[MilvusServerService, MilvusLiteService], ids=["server", "lite"])
def service(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TV5_MILVUS_URI", raising=False)
    service = request.param(data_dir=tmp_path / "milvus", port=free_local_port())
    yield service
    service.down()  # stop it even when an assertion failed half-way


def test_up_status_down_keeps_data_and_reports_clearly_when_down(service) -> None:
    from pymilvus import DataType, MilvusClient

    assert not service.status().running

    # A shell that runs us in the background hands SIGINT down as ignored; `down` must still stop cleanly.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        started = service.up()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert started.running and started.address == f"http://127.0.0.1:{service.port}"
    pid = service.pid_file.read_text().strip()
    assert service.up().running and service.pid_file.read_text().strip() == pid  # idempotent: same process
    assert service.status().running

    resource = MilvusResource(uri=service.uri)
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    with resource.get_client() as client:
        client.create_collection("kept_across_restarts", schema=schema)
        client.insert("kept_across_restarts", [{"id": 1, "v": [1.0, 0.0, 0.0, 0.0]}])
        client.flush("kept_across_restarts")

    began = time.monotonic()
    stopped = service.down()
    assert not stopped.running and not service.pid_file.exists() and not port_open(service.port)
    assert time.monotonic() - began < service.stop_timeout_s  # no fallback to SIGTERM/SIGKILL
    assert CLEAN_SHUTDOWN[service.engine] in service.log_file.read_text()  # the server's clean shutdown path ran
    assert not service.status().running

    with pytest.raises(ServiceUnavailableError) as raised:
        with resource.get_client():
            pass
    message = str(raised.value)
    assert f"127.0.0.1:{service.port}" in message and "Milvus" in message and "tv5 services up" in message

    service.up()
    with resource.get_client() as client:
        assert "kept_across_restarts" in client.list_collections()
        assert client.get_collection_stats("kept_across_restarts")["row_count"] == 1


def test_up_refuses_a_port_another_process_holds(service) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", service.port))
        squatter.listen()
        with pytest.raises(ServiceUnavailableError, match=rf"127.0.0.1:{service.port}.*in use"):
            service.up()
        assert "in use by a process" in service.status().detail
    assert not service.pid_file.exists()


def test_external_uri_is_left_alone(service, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TV5_MILVUS_URI", f"http://user:secret@127.0.0.1:{service.port}")
    status = service.up()
    assert service.external() and not status.running
    assert "secret" not in status.address and "external" in status.detail
    assert not service.pid_file.exists() and not port_open(service.port)


@pytest.mark.parametrize("silent_listener", [False, True], ids=["nothing-listening", "not-milvus"])
def test_wrong_port_gives_a_clear_error(silent_listener: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TV5_MILVUS_URI", raising=False)  # the local-stack advice is expected
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        if silent_listener:
            listener.listen()  # accepts TCP but never speaks gRPC
        else:
            listener.close()
        resource = MilvusResource(uri=f"http://127.0.0.1:{port}", token="tok3n", timeout_s=1)
        with pytest.raises(ServiceUnavailableError) as raised:
            with resource.get_client():
                pass
    message = str(raised.value)
    assert message.startswith(f"Milvus at http://127.0.0.1:{port} is not reachable")
    assert "tv5 services up --only milvus" in message and "tok3n" not in message


def test_engine_is_chosen_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TV5_LOCAL_MILVUS_ENGINE", raising=False)
    assert isinstance(local_milvus_service(), MilvusServerService)
    monkeypatch.setenv("TV5_LOCAL_MILVUS_ENGINE", "lite")
    assert isinstance(local_milvus_service(), MilvusLiteService)
    monkeypatch.setenv("TV5_LOCAL_MILVUS_ENGINE", "docker")
    with pytest.raises(ServiceUnavailableError, match="TV5_LOCAL_MILVUS_ENGINE='docker': choose one of server, lite"):
        local_milvus_service()


def test_server_binds_and_dials_loopback_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every socket of the real server (its components talk over gRPC and etcd) stays on 127.0.0.1."""
    import subprocess

    monkeypatch.delenv("TV5_MILVUS_URI", raising=False)
    service = MilvusServerService(data_dir=tmp_path / "milvus", port=free_local_port())
    try:
        service.up()
        pid = int(service.pid_file.read_text())
        lines = subprocess.run(["ss", "-Htanp"], capture_output=True, text=True, check=True).stdout.splitlines()
    finally:
        service.down()
    sockets = [line.split() for line in lines if f"pid={pid}," in line]  # state, recv-q, send-q, local, peer
    host = lambda address: address.rsplit(":", 1)[0].strip("[]")  # noqa: E731
    listening = {host(f[3]) for f in sockets if f[0] == "LISTEN"}
    dialed = {host(f[4]) for f in sockets if f[0] != "LISTEN"}
    loopback = {"127.0.0.1", "::ffff:127.0.0.1"}
    assert dialed and dialed <= loopback, f"the server dialed {dialed - loopback}"
    # The 2.3 binary binds its gRPC ports on the wildcard; what matters is that nothing dials out.
    assert listening <= loopback | {"*", "0.0.0.0", "::"}, listening
