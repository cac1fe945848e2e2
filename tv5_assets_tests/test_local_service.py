"""`LocalService` (services/base.py) on a stand-in server: a Python process that listens on a port.
Start, idempotent `up`, the stop loop (a server that ignores SIGTERM is killed), what `down` says,
and the external case. Fast, no store needed; the real servers are tested beside their stores."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tv5_assets.endpoints import Endpoint
from tv5_assets.errors import ServiceUnavailableError
from tv5_assets.services.base import LocalService, free_local_port, free_local_ports, pid_alive, port_open

FAKE = Endpoint("fake", "Fake", "TV5_FAKE_URL", "fake://{host}:{port}/db", local_port_default=1, default_port=9)
# Listens, ignores SIGTERM (so `down` must fall back to SIGKILL), and logs a line.
SERVER = (
    "import signal, socket, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(); "
    "print('fake server listening', flush=True); time.sleep(600)"
)


class FakeService(LocalService):
    endpoint = FAKE
    pid_name = "fake.pid"
    log_name = "fake.log"
    state_files = ("fake.pid",)
    start_timeout_s = 20.0
    stop_signals = ((signal.SIGTERM, 0.5), (signal.SIGKILL, 5.0))

    def start(self) -> None:
        self.spawn([sys.executable, "-c", SERVER, str(self.port)])

    def answers(self, pid: int | None) -> bool:
        return port_open(self.host, self.port)

    def probe_external(self, url: str) -> str:
        host, port = self.endpoint.host_port(url)
        if not port_open(host, port):
            raise ServiceUnavailableError("nothing listens there")
        return "listening"

    def is_ours(self, cmdline: str) -> bool:
        return "fake server listening" in cmdline


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("TV5_FAKE_URL", raising=False)
    monkeypatch.setenv("TV5_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TV5_LOCAL_FAKE_PORT", str(free_local_port()))
    svc = FakeService()
    yield svc
    monkeypatch.delenv("TV5_FAKE_URL", raising=False)
    svc.down()


def test_defaults_come_from_the_endpoint_and_the_data_folder(service: FakeService, tmp_path: Path) -> None:
    assert service.port == FAKE.local_port() and service.host == "127.0.0.1"
    assert service.root == tmp_path / "services" / "fake" and service.pid_file == service.root / "fake.pid"
    assert service.url == f"fake://127.0.0.1:{service.port}/db" and service.address == f"127.0.0.1:{service.port}/db"
    assert service.status().detail == "not running"


def test_up_is_idempotent_and_down_says_what_it_stopped(service: FakeService) -> None:
    started = service.up()
    assert started.running and started.address == service.address
    pid = int(service.pid_file.read_text())
    assert started.detail == f"pid {pid}, data {service.root}"
    assert service.up().detail == started.detail  # the running server is left alone
    assert "fake server listening" in service.log_tail()

    stopped = service.down()  # SIGTERM is ignored: SIGKILL after half a second
    assert not stopped.running and stopped.detail == f"stopped pid {pid}; data kept in {service.root}"
    assert not pid_alive(pid) and not service.pid_file.exists()
    again = service.down()
    assert not again.running and again.detail == "not running"


def test_a_port_someone_else_holds_is_reported(service: FakeService) -> None:
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", service.port))
        squatter.listen()
        status = service.status()
        assert status.running and status.detail == "answering, but not started from this data folder"
        assert service.up().detail == status.detail  # nothing started next to it
    assert not service.pid_file.exists()


def test_an_external_server_is_left_alone(service: FakeService, monkeypatch: pytest.MonkeyPatch) -> None:
    service.up()
    pid = int(service.pid_file.read_text())
    monkeypatch.setenv("TV5_FAKE_URL", f"fake://user:pw@127.0.0.1:{service.port}/other")
    for status in (service.up(), service.down(), service.status()):
        assert status.running and status.address == f"127.0.0.1:{service.port}/other" and "pw" not in status.address
        assert status.detail.startswith("external (TV5_FAKE_URL)") and status.detail.endswith("listening")
    assert pid_alive(pid)  # `down` did not touch it
    monkeypatch.setenv("TV5_FAKE_URL", f"fake://127.0.0.1:{free_local_port()}")
    status = service.status()
    assert not status.running and status.detail.endswith("not answering: nothing listens there")


def test_a_server_that_exits_while_starting_is_reported_with_its_log(service: FakeService) -> None:
    service.start = lambda: service.spawn([sys.executable, "-c", "print('no luck'); raise SystemExit(3)"])
    with pytest.raises(
        ServiceUnavailableError, match=r"(?s)Fake exited while starting on 127\.0\.0\.1:\d+/db.*no luck"
    ):
        service.up()
    assert not service.pid_file.exists()


class PlainFakeService(FakeService):
    """The stand-in server without its own SIGTERM handling: it keeps whatever it inherits."""

    def start(self) -> None:
        self.spawn(
            [
                sys.executable,
                "-c",
                SERVER.replace("signal.signal(signal.SIGTERM, signal.SIG_IGN); ", ""),
                str(self.port),
            ]
        )


def _ignored_signals(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads signal masks from /proc")
def test_a_server_started_from_a_parent_ignoring_sigterm_still_stops_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A background shell job can ignore SIGTERM, and exec keeps that: a JVM started so never stops on it."""
    monkeypatch.delenv("TV5_FAKE_URL", raising=False)
    monkeypatch.setenv("TV5_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TV5_LOCAL_FAKE_PORT", str(free_local_port()))
    service = PlainFakeService()
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        pid = int(service.up().detail.split()[1].rstrip(","))
    finally:
        signal.signal(signal.SIGTERM, previous)
    try:
        assert not _ignored_signals(pid) & (1 << (signal.SIGTERM - 1))
    finally:
        service.down()
    assert not pid_alive(pid)


def test_free_ports_are_distinct_and_never_handed_out_twice() -> None:
    """A stack asks for many ports before any server binds them: a repeat would fail one server's start
    ("bind failed"), as it once did in CI on Milvus's data_node_port."""
    import socket

    # The OS's own picks repeat often: 100 single picks held a repeat in 11 of 50 trials here.
    first = free_local_ports(150)
    second = free_local_ports(150) + [free_local_port() for _ in range(100)]
    assert len(set(first)) == 150 and len(set(second)) == 250 and not set(first) & set(second)
    for port in first[:5]:  # free on the OS's side: each binds
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_server_that_stopped_by_itself_is_reported_with_its_full_disk(service: FakeService, tmp_path: Path) -> None:
    """The Milvus server exits when its disk fills mid-load: `status` says it stopped without `down`,
    and quotes its log's "No space left on device" with the filesystem of the file it named."""
    started = service.up()
    pid = int(started.detail.split()[1].rstrip(","))
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while pid_alive(pid):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    stopped = service.status()
    assert not stopped.running
    assert stopped.detail.startswith(f"not running: it stopped without `tv5 services down` (pid {pid})")
    assert "disk is full" not in stopped.detail

    full_file = service.store_dir / "rocksmq" / "000005.log"
    full_file.parent.mkdir(parents=True, exist_ok=True)
    with open(service.log_file, "a") as log:
        log.write(
            f'[WARN] ["fail to produce insert msg"] [error="IO error: No space left on device: While appending to file: {full_file}: No space left on device"]\n'
        )
    detail = service.status().detail
    assert "Its log says the disk is full (" in detail and str(full_file) in detail, detail
    assert "the filesystem mounted at " in detail and " free of " in detail, detail
    assert detail.endswith("Free space there, then `tv5 services up --only fake`"), detail

    service.down()  # forgets the dead server: a plain "not running" again
    assert service.status().detail == "not running"


@pytest.mark.parametrize("action,only", [("up", None), ("up", ["neo4j", "milvus"]), ("status", ["neo4j"])])
def test_truncate_cut_log_is_only_for_starting_neo4j_alone(action: str, only: list[str] | None, capsys) -> None:
    """The option that drops an unreadable end of Neo4j's log is refused anywhere else, before any start."""
    from tv5_assets.services import run_action

    assert run_action(action, only=only, truncate_cut_log=True) == 2
    assert "--truncate-cut-log is for `tv5 services up --only neo4j` alone" in capsys.readouterr().err


def test_truncate_cut_log_reaches_the_launcher(tmp_path: Path) -> None:
    from tv5_assets.services.neo4j import Neo4jService

    plain = Neo4jService(data_dir=tmp_path, port=1).command(Path("java"), tmp_path)
    once = Neo4jService(data_dir=tmp_path, port=1, truncate_cut_log=True).command(Path("java"), tmp_path)
    assert "--truncate-cut-log" not in plain and once[-2:] == ["--truncate-cut-log", "true"]


def test_a_database_that_failed_to_start_is_explained_from_this_start_of_its_log(tmp_path: Path) -> None:
    """Only what this start logged counts: an old "recovery not possible" earlier in debug.log does not."""
    from tv5_assets.services.neo4j import Neo4jService

    service = Neo4jService(data_dir=tmp_path, port=1)
    log = service.home / "logs" / "debug.log"
    log.parent.mkdir(parents=True)
    log.write_text("old start: Error reading transaction logs, recovery not possible.\n")
    service._debug_log_start = log.stat().st_size  # what start() records before it spawns the server
    with log.open("a") as handle:
        handle.write("ERROR [o.n.d.d.DatabaseLifecycles] Failed to start DatabaseId{1[neo4j]}: out of heap\n")
    other = service._database_failed("offline", "An error occurred!")
    assert "is offline: An error occurred!" in other and "--truncate-cut-log" not in other and str(log) in other
    with log.open("a") as handle:
        handle.write("Caused by: Error reading transaction logs, recovery not possible. To force ...\n")
    cut = service._database_failed("offline", "An error occurred!")
    assert "tv5 services up --only neo4j --truncate-cut-log" in cut and "tv5 restore --from" in cut
