"""What every local service (PostgreSQL, Redis, Milvus, Neo4j) shares: `LocalService`.

A service is one server process with a data folder under `TV5_DATA_DIR/services/<folder>`, a pid
file, a log and a port on 127.0.0.1. The base class holds those, the external case (the user set
the store's URL variable: `up` and `down` leave that server alone, `status` says whether it
answers), the start-and-wait loop, the stop loop (signals in turn, each with a wait) and what
`down` reports. A subclass says only what is its own: how to start the server (`start`), whether
it answers (`answers`), how to probe an external one (`probe_external`) and its binaries and
config.
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .. import settings
from ..disk_full import describe_space
from ..endpoints import LOCAL_HOST, Endpoint
from ..errors import ServiceUnavailableError


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    address: str  # host:port or URI, never with credentials
    detail: str = ""


class LocalService:
    """One local server of `tv5 services up|down|status`; subclasses fill in the class attributes.

    The defaults come from the store's `Endpoint` and settings; tests pass another port and folder.
    """

    endpoint: Endpoint
    folder = ""  # under $TV5_DATA_DIR/services; the store's name when empty
    data_subdir = ""  # where under the root the server keeps its data (what `down` keeps)
    pid_name = ""  # the pid file, under the root
    log_name = ""  # the log, under the root
    state_files: tuple[str, ...] = ()  # files under the root that `down` removes (the pid file when we write it)
    start_timeout_s = 60.0
    # Signals `down` sends in turn, each with how long to wait for the process to go.
    stop_signals: tuple[tuple[int, float], ...] = ((signal.SIGTERM, 30.0), (signal.SIGKILL, 5.0))
    pid_grace_s = 5.0  # how long after a start the pid file may still be missing (a daemon writes it)

    def __init__(
        self,
        port: int | None = None,
        data_dir: Path | str | None = None,
        host: str = LOCAL_HOST,
        start_timeout_s: float | None = None,
    ) -> None:
        self.host = host
        self.port = int(port or self.endpoint.local_port())
        self._root = Path(data_dir) if data_dir is not None else None
        if start_timeout_s is not None:
            self.start_timeout_s = start_timeout_s
        self._process: subprocess.Popen | None = None  # the server, when this object launched it

    # ------------------------------------------------------------------------------ where
    @property
    def name(self) -> str:
        return self.endpoint.store

    @property
    def label(self) -> str:
        return self.endpoint.label

    @property
    def root(self) -> Path:
        # Resolved on use: TV5_DATA_DIR may change after construction (tests do that).
        return self._root if self._root is not None else settings.services_dir() / (self.folder or self.name)

    @property
    def store_dir(self) -> Path:
        """Where the server keeps its data (what `down` keeps)."""
        return self.root / self.data_subdir

    @property
    def pid_file(self) -> Path:
        return self.root / self.pid_name

    @property
    def log_file(self) -> Path:
        return self.root / self.log_name

    @property
    def url(self) -> str:
        """Client URL of this local server."""
        return self.endpoint.local_url(self.port, self.host)

    @property
    def address(self) -> str:
        return self.endpoint.address(self.url)

    @property
    def stop_timeout_s(self) -> float:
        """How long a clean stop may take before the next, harder signal."""
        return self.stop_signals[0][1]

    def external(self) -> bool:
        """True when the user points at their own server through the store's variable."""
        return self.endpoint.external()

    def managed_pid(self) -> int | None:
        """The server's pid when this data folder started it (another folder's or an external server: None)."""
        return None if self.external() else self._pid()

    # ---------------------------------------------------------------------------- protocol
    def status(self) -> ServiceStatus:
        if self.external():
            return self.external_status()
        pid = self._pid()
        answering = self.answers(pid)
        if pid is not None:
            if answering:
                return self._status(True, self.running_detail(pid))
            return self._status(False, f"starting or hung (pid {pid}); see {self.log_file}")
        if answering:
            return self._status(True, "answering, but not started from this data folder")
        if port_open(self.host, self.port):
            return self._status(
                False, f"port {self.port} is in use by a process this data folder did not start ({self.root})"
            )
        return self._status(False, self.stopped_detail() or self.idle_detail())

    def up(self) -> ServiceStatus:
        """Start (a running server is left alone) and wait until it accepts clients."""
        if self.external():
            return self.external_status()
        self.root.mkdir(parents=True, exist_ok=True)
        # Two `up`s at once (CI and a developer, two test workers) must not start two servers.
        with open(self.root / "up.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            status = self.status()
            if self._pid() is not None or not status.running:  # ours (confirmed ready again), or none yet
                status = self._start_and_wait()
            if self._pid() is not None:
                self.prepare_clients()
            return status

    def down(self) -> ServiceStatus:
        """Stop cleanly; the data stays in `store_dir`. Says "stopped pid N" when it stopped one."""
        if self.external():
            return self.external_status()
        pid = self._pid()
        if pid is not None:
            self.stop(pid)
        for name in self.state_files:
            (self.root / name).unlink(missing_ok=True)
        after = self.status()
        if pid is None or after.running:
            return after
        return self._status(False, f"stopped pid {pid}; data kept in {self.store_dir}")

    def external_status(self) -> ServiceStatus:
        """Whether the user's own server answers; never raises."""
        url = self.endpoint.configured() or ""
        where = f"external ({self.endpoint.env_var}); not started or stopped by tv5 services"
        address = self.endpoint.address(url)
        try:
            found = self.probe_external(url)
        except ServiceUnavailableError as error:  # our own message: safe to show
            return ServiceStatus(self.name, False, address, f"{where}; not answering: {error}")
        except Exception as error:  # a client's message may quote the URL: show its kind only
            return ServiceStatus(self.name, False, address, f"{where}; not answering: {type(error).__name__}")
        return ServiceStatus(self.name, True, address, f"{where}; {found}")

    # ---------------------------------------------------------------------- what subclasses say
    def start(self) -> None:
        """Launch the server (its binaries, config and command); `up` then waits until it answers."""
        raise NotImplementedError

    def answers(self, pid: int | None) -> bool:
        """Whether a server of this kind accepts clients on the port (`pid`: ours, when running)."""
        raise NotImplementedError

    def probe_external(self, url: str) -> str:
        """What the external server at `url` is (e.g. its version); raises when it does not answer."""
        raise NotImplementedError

    def is_ours(self, cmdline: str) -> bool:
        """Whether a live process's command line is this service's server (pids get recycled)."""
        return True

    def running_detail(self, pid: int) -> str:
        return f"pid {pid}, data {self.store_dir}"

    def idle_detail(self) -> str:
        return "not running"

    def stopped_detail(self) -> str | None:
        """When the pid file outlived its server (it stopped without `down`: crashed, killed, out of
        space): say so, and that the disk is full when its log says so (Milvus stops on a full disk)."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        detail = f"not running: it stopped without `tv5 services down` (pid {pid}); see {self.log_file}"
        full = disk_full_line(self.log_file)
        if full is not None:
            detail += (
                f". Its log says the disk is full ({full[:300]}): {describe_space(_existing_path(full, self.store_dir))}."
                f" Free space there, then `tv5 services up --only {self.name}`"
            )
        return detail

    def confirm_ready(self) -> str | None:
        """Once the port answers: None when clients can work, else why not yet (may raise)."""
        return None

    def prepare_clients(self) -> None:
        """After `up` found or started our server: what clients need on it (roles, databases)."""

    def stop_advice(self, pid: int) -> str:
        """What to do when the server will not stop."""
        return f" Stop it by hand (`kill -9 {pid}`) and remove {self.pid_file}."

    # ------------------------------------------------------------------------------ helpers
    def _status(self, running: bool, detail: str) -> ServiceStatus:
        return ServiceStatus(self.name, running, self.address, detail)

    def _pid(self) -> int | None:
        """The pid from the pid file when that process is alive and is our server."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        if not pid_alive(pid):
            return None
        cmdline = _cmdline(pid)
        return pid if cmdline is None or self.is_ours(cmdline) else None

    def _start_and_wait(self) -> ServiceStatus:
        if self._pid() is None:  # not starting up or recovering already
            if port_open(self.host, self.port):
                raise ServiceUnavailableError(
                    f"{self.label} cannot start on {self.host}:{self.port}: the port is in use by another process "
                    f"(not the {self.label} of {self.root}). Stop that process, choose a free port with "
                    f"{self.endpoint.local_port_var}, or point {self.endpoint.env_var} at the server that is there."
                )
            self.start()
        return self.wait_until_ready()

    def wait_until_ready(self) -> ServiceStatus:
        began = time.monotonic()
        reason = "no answer yet"
        while time.monotonic() - began < self.start_timeout_s:
            if self._exited(time.monotonic() - began):
                raise ServiceUnavailableError(
                    f"{self.label} exited while starting on {self.address} (data {self.store_dir}).{self.log_tail()}"
                )
            ours = self._pid() is not None  # before status(), which then sees the same pid file
            status = self.status()
            if status.running and not ours:
                # A daemon answers a moment before it writes its pid file (redis-server does): wait
                # for it, or status would call our own server "not started from this data folder".
                reason = "answering; waiting for its pid file"
            elif status.running:
                reason = self.confirm_ready()
                if reason is None:
                    return status
            else:
                reason = status.detail
            time.sleep(0.2)
        raise ServiceUnavailableError(
            f"{self.label} did not become ready on {self.address} within {self.start_timeout_s:.0f} s "
            f"(last: {reason}); `tv5 services down --only {self.name}` stops it.{self.log_tail()}"
        )

    def _exited(self, elapsed_s: float) -> bool:
        if self._process is not None:  # just forked, /proc may still show our command line: ask the handle
            gone = self._process.poll() is not None
            if gone and self.pid_name in self.state_files:
                self.pid_file.unlink(missing_ok=True)
            return gone
        return self._pid() is None and elapsed_s > self.pid_grace_s

    def spawn(self, command: list[str], env: dict[str, str] | None = None, cwd: Path | str | None = None) -> None:
        """Run the server in the background, its output appended to the log, and write the pid file."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {shlex.join(command)}\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives `tv5 services up`; Ctrl-C there does not stop it
                env=env,
                cwd=cwd,
                close_fds=True,
                preexec_fn=_stoppable_by_sigterm,
            )
        tmp = self.pid_file.with_name(self.pid_file.name + ".tmp")
        tmp.write_text(f"{self._process.pid}\n")
        os.replace(tmp, self.pid_file)

    def run_tool(self, command: list[str], what: str) -> None:
        """Run a command that returns once done (a daemon's launcher, pg_ctl); raise with its output."""
        # A new session, so a daemon it forks outlives the shell or job that ran `tv5 services up`.
        result = subprocess.run(command, capture_output=True, text=True, start_new_session=True, check=False)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise ServiceUnavailableError(
                f"Could not {what} on {self.address} (exit code {result.returncode}): "
                + " | ".join(tail)
                + self.log_tail(5)
            )

    def stop(self, pid: int) -> None:
        """Send `stop_signals` in turn until the process is gone."""
        for sig, wait_s in self.stop_signals:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            if wait_gone(pid, wait_s):
                return
        total = sum(wait_s for _, wait_s in self.stop_signals)
        raise ServiceUnavailableError(
            f"{self.label} (pid {pid}) on {self.address} did not stop within {total:.0f} s; see {self.log_file}."
            + self.stop_advice(pid)
        )

    def log_tail(self, lines: int = 15) -> str:
        """The last lines of the log, for error messages ("" when there is none)."""
        try:
            tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            return ""
        return f"\nlast lines of {self.log_file}:\n" + "\n".join(tail)


# --- logs -------------------------------------------------------------------------------------


def read_tail(log_file: Path, start: int = 0, size: int = 4 << 20) -> str:
    """The log from byte `start` on, at most its last `size` bytes (logs grow large); "" when unreadable."""
    try:
        with open(log_file, "rb") as handle:
            handle.seek(max(start, handle.seek(0, os.SEEK_END) - size))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


def disk_full_line(log_file: Path, lines: int = 2000) -> str | None:
    """The last of the log's last `lines` lines that says the disk is full, or None."""
    tail = read_tail(log_file).splitlines()[-lines:]
    found = [line for line in tail if "no space left on device" in line.lower()]
    return found[-1].strip() if found else None


def _existing_path(text: str, fallback: Path) -> Path:
    """The first absolute path in `text` whose folder exists (the file the server failed to write), else
    `fallback`: the filesystem to describe may be mounted below the service's folder."""
    for candidate in re.findall(r"/[^\s:\"',;\]\[]+", text):
        if Path(candidate).parent.is_dir() and Path(candidate).parent != Path("/"):
            return Path(candidate)
    return fallback


# --- process and port helpers ----------------------------------------------------------------


def _stoppable_by_sigterm() -> None:
    """In the server's process before exec: SIGTERM back to its default. A shell's background job or
    `nohup`-style wrapper can leave it ignored, exec keeps it ignored, and a JVM then never installs
    its shutdown handler: Neo4j ignored `down`'s SIGTERM until the SIGKILL minutes later."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def pid_alive(pid: int) -> bool:
    """True while `pid` runs; an exited process (a zombie, or our own child: reaped here) is gone."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that already exited (tests)
            return False
    except ChildProcessError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in {"Z", "X"}
    except FileNotFoundError:
        return False
    except (OSError, IndexError):  # no /proc: fall back to a signal probe
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def wait_gone(pid: int, timeout_s: float) -> bool:
    """Wait up to `timeout_s` for `pid` to exit; True once it has."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    return not pid_alive(pid)


def _cmdline(pid: int) -> str | None:
    """The command line of `pid`, or None where /proc cannot tell."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


# Ports this process has handed out. The OS only knows a port is taken once its server binds it, and
# a server started in parallel (a test stack starts four) or a component that binds late (Milvus's
# coordinators) can leave a handed-out port unbound for seconds: without this set the OS may offer
# it again, and the second server fails with "bind failed" (a CI run did, on data_node_port).
_HANDED_OUT: set[int] = set()
_HANDED_OUT_LOCK = threading.Lock()


def free_local_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on loopback right now, none handed out before by this process.

    Every socket stays bound until all ports are chosen: closed one at a time, the OS may offer the
    same port twice."""
    held: list[socket.socket] = []
    ports: list[int] = []
    with _HANDED_OUT_LOCK:
        try:
            while len(ports) < count:
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
                if port not in _HANDED_OUT:  # one handed out earlier is held (not offered again) and skipped
                    ports.append(port)
            _HANDED_OUT.update(ports)
        finally:
            for sock in held:
                sock.close()
    return ports


def free_local_port() -> int:
    """A TCP port free on loopback right now (the OS picks it), not handed out before by this process."""
    return free_local_ports(1)[0]
