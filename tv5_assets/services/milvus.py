"""Milvus as a local service, no Docker: a real Milvus server (default) or Milvus Lite.

Two engines, chosen with `TV5_LOCAL_MILVUS_ENGINE`:

- `server` (default): a real Milvus 2.3 standalone server from the PyPI package `milvus` (its
  binaries ship inside the wheel). Searches run in knowhere's C++ indexes: at ml-25m size 3 ms p50
  on media (HNSW) and 7-11 ms on users (IVF_FLAT), where Milvus Lite 3.2 walks every stored row in
  Python on each search (90-300 ms at 162k users). Every component is told to bind and
  advertise 127.0.0.1 (left alone, they dial the host's interface address), and the embedded etcd
  gets its own client and peer ports, so a second stack (the test command's) runs beside it.
  Layout under `$TV5_DATA_DIR/services/milvus-server/`: `data/` (the server's data, config and logs),
  `milvus.pid` (the `milvus run standalone` process itself), `milvus.log`.
- `lite`: Milvus Lite 3.x in its own gRPC server process (`milvus-lite server`). Milvus Lite admits
  one process per data folder (an advisory lock on `<data>/LOCK`), so one background server owns the
  folder and every Dagster step, test and notebook connects over TCP. Fine for samples; at full
  scale its searches and index builds are too slow (see above). Layout under
  `$TV5_DATA_DIR/services/milvus/`: `data/`, `milvus-lite.pid`, `milvus-lite.log`.

Either way clients connect to `http://127.0.0.1:$TV5_LOCAL_MILVUS_PORT` (default 59530), as they
would to any Milvus server; the `milvus` concurrency pool on the load assets keeps one bulk writer.

When `TV5_MILVUS_URI` is set the user runs their own Milvus: `up` and `down` leave it alone and
`status` only reports whether it answers.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from .. import settings
from ..errors import ServiceUnavailableError
from .base import ServiceStatus, pid_alive, port_open, stopped

# `milvus-lite server` (milvus_lite.cmdline) closes its data folder cleanly on KeyboardInterrupt only.
# A shell that starts us in the background passes SIGINT on as ignored, so the launcher re-arms it,
# and maps SIGTERM to the same clean shutdown.
_SERVER_LAUNCHER = (
    "import signal, sys; "
    "signal.signal(signal.SIGINT, signal.default_int_handler); "
    "signal.signal(signal.SIGTERM, signal.default_int_handler); "
    "from milvus_lite.cmdline import main; "
    "sys.exit(main(sys.argv[1:]))"
)
DATA_SUBDIR = "data"
ENGINES = ("server", "lite")
# Components of a Milvus 2.3 standalone server; each is told to advertise 127.0.0.1.
_SERVER_COMPONENTS = ("rootCoord", "proxy", "queryCoord", "queryNode", "indexCoord", "indexNode", "dataCoord", "dataNode")
# Internal ports of the server besides the proxy (the one clients use), each given a free port at start.
_SERVER_INTERNAL_PORTS = (
    "etcd_port", "root_coord_port", "proxy_internal_port", "query_coord_port", "query_node_port",
    "index_coord_port", "index_node_port", "data_coord_port", "data_node_port",
)  # fmt: skip


def _client_answers(uri: str, token: str | None = None, timeout: float = 3.0) -> str | None:
    """None when a Milvus client can connect and list collections; otherwise the reason."""
    from pymilvus import MilvusClient

    try:
        client = MilvusClient(uri=uri, token=token or "", timeout=timeout, dedicated=True)
        try:
            client.list_collections(timeout=timeout)
        finally:
            client.close()
    except Exception as error:  # any client failure means "not ready"; the text says why
        return str(error) or type(error).__name__
    return None


def redact_uri(uri: str) -> str:
    """`scheme://host:port/path` without user, password or query (tokens live there sometimes)."""
    parts = urlsplit(uri)
    if not parts.scheme or not parts.hostname:
        return uri.split("@")[-1].split("?")[0]
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


class _MilvusProcess:
    """What both local engines share: paths, pid file, readiness, status and the stop loop.

    The defaults come from settings; tests pass another port and a temporary folder.
    """

    name = "milvus"
    engine = ""
    folder = ""  # under $TV5_DATA_DIR/services
    pid_name = ""
    log_name = ""
    # Signals tried in turn, each with how long to wait for the process to go.
    stop_signals: tuple[tuple[int, float], ...] = ((signal.SIGTERM, 30.0), (signal.SIGKILL, 5.0))

    def __init__(
        self,
        base_dir: Path | str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout_s: float = 120.0,
    ) -> None:
        self._base_dir = Path(base_dir) if base_dir is not None else None
        self.host = host
        self.port = int(port if port is not None else settings.LOCAL_MILVUS_PORT)
        self.startup_timeout_s = startup_timeout_s

    # ----------------------------------------------------------------------------------- paths
    @property
    def base_dir(self) -> Path:
        # Resolved on use: TV5_DATA_DIR may change after construction (tests do that).
        return self._base_dir if self._base_dir is not None else settings.services_dir() / self.folder

    @property
    def data_dir(self) -> Path:
        return self.base_dir / DATA_SUBDIR

    @property
    def pid_file(self) -> Path:
        return self.base_dir / self.pid_name

    @property
    def log_file(self) -> Path:
        return self.base_dir / self.log_name

    @property
    def uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def stop_timeout_s(self) -> float:
        """How long a clean stop may take before the next, harder signal."""
        return self.stop_signals[0][1]

    # ------------------------------------------------------------------------------- protocol
    def external(self) -> bool:
        return bool(os.environ.get("TV5_MILVUS_URI", "").strip())

    def status(self) -> ServiceStatus:
        if self.external():
            uri = os.environ["TV5_MILVUS_URI"].strip()
            reason = _client_answers(uri, os.environ.get("TV5_MILVUS_TOKEN"))
            detail = "external (TV5_MILVUS_URI); not managed by tv5 services"
            if reason:
                detail += f"; not answering: {reason}"
            return ServiceStatus(self.name, reason is None, redact_uri(uri), detail)
        pid = self._running_pid()
        if pid is not None:
            if port_open(self.host, self.port):
                return ServiceStatus(self.name, True, self.uri, f"{self.engine}, pid {pid}, data {self.data_dir}")
            return ServiceStatus(self.name, False, self.uri, f"pid {pid} is starting or hung (port closed); see {self.log_file}")
        if port_open(self.host, self.port):
            return ServiceStatus(
                self.name,
                False,
                self.uri,
                f"port {self.port} is in use by a process this data folder did not start ({self.base_dir})",
            )
        return ServiceStatus(self.name, False, self.uri, "not running")

    def up(self) -> ServiceStatus:
        if self.external():
            return self.status()
        pid = self._running_pid()
        if pid is not None:
            self._wait_until_ready(pid)
            return ServiceStatus(self.name, True, self.uri, f"{self.engine}, pid {pid}, already running, data {self.data_dir}")
        if port_open(self.host, self.port):
            raise ServiceUnavailableError(
                f"Milvus ({self.engine}) cannot start on {self.host}:{self.port}: the port is in use by another "
                f"process (not the Milvus of {self.base_dir}). Stop that process, or choose a free port with "
                "TV5_LOCAL_MILVUS_PORT, or point TV5_MILVUS_URI at the server that is already there."
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command, env, cwd = self._launch()
        with open(self.log_file, "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(command)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the `tv5 services up` shell and its Ctrl-C
                env=env,
                cwd=cwd,
                close_fds=True,
            )
        tmp = self.pid_file.with_name(self.pid_file.name + ".tmp")
        tmp.write_text(f"{process.pid}\n")
        os.replace(tmp, self.pid_file)
        self._wait_until_ready(process.pid)
        return ServiceStatus(self.name, True, self.uri, f"{self.engine}, pid {process.pid}, started, data {self.data_dir}")

    def down(self) -> ServiceStatus:
        if self.external():
            return self.status()
        pid = self._running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return ServiceStatus(self.name, False, self.uri, "not running")
        for sig, wait_s in self.stop_signals:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            if self._wait_gone(pid, wait_s):
                break
        if pid_alive(pid):
            raise ServiceUnavailableError(f"Milvus (pid {pid}) did not stop; kill it by hand and remove {self.pid_file}")
        self.pid_file.unlink(missing_ok=True)
        return stopped(self.status(), pid, self.data_dir)

    # ------------------------------------------------------------------------ engine specifics
    def _launch(self) -> tuple[list[str], dict[str, str], str | None]:
        """The command, environment and working folder that start the engine."""
        raise NotImplementedError

    def _is_ours(self, cmdline: str) -> bool:
        """Whether a live process's command line is this service's engine (pids get recycled)."""
        raise NotImplementedError

    # -------------------------------------------------------------------------------- helpers
    def _running_pid(self) -> int | None:
        """The pid from the pid file when that process is alive and is our server."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if not pid_alive(pid):
            return None
        try:  # a recycled pid must not be mistaken for (or killed as) our server
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return pid
        return pid if self._is_ours(cmdline) else None

    def _wait_until_ready(self, pid: int) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        reason = "no answer yet"
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise ServiceUnavailableError(
                    f"Milvus ({self.engine}) exited while starting on {self.host}:{self.port} (data {self.data_dir}). "
                    f"Last lines of {self.log_file}:\n{self._log_tail()}"
                )
            if port_open(self.host, self.port):
                reason = _client_answers(self.uri)
                if reason is None:
                    return
            time.sleep(0.25)
        raise ServiceUnavailableError(
            f"Milvus ({self.engine}, pid {pid}) did not answer on {self.uri} within {self.startup_timeout_s:.0f} s "
            f"(last error: {reason}). See {self.log_file}; `tv5 services down --only milvus` stops it."
        )

    def _wait_gone(self, pid: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return True
            time.sleep(0.1)
        return not pid_alive(pid)

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class MilvusLiteService(_MilvusProcess):
    """Milvus Lite in its own `milvus-lite server` process (see the module docstring)."""

    engine = "lite"
    folder = "milvus"
    pid_name = "milvus-lite.pid"
    log_name = "milvus-lite.log"
    # SIGINT is what the server handles: it drains requests, then closes the data folder cleanly.
    stop_signals = ((signal.SIGINT, 20.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0))

    def __init__(self, *args, startup_timeout_s: float = 60.0, **kwargs) -> None:
        super().__init__(*args, startup_timeout_s=startup_timeout_s, **kwargs)

    def _launch(self) -> tuple[list[str], dict[str, str], str | None]:
        command = [
            sys.executable, "-c", _SERVER_LAUNCHER, "server",
            "--data-dir", str(self.data_dir), "--host", self.host, "--port", str(self.port),
        ]  # fmt: skip
        return command, {**os.environ, "PYTHONUNBUFFERED": "1"}, None

    def _is_ours(self, cmdline: str) -> bool:
        return "milvus_lite" in cmdline and f"--data-dir {self.data_dir} " in cmdline


class MilvusServerService(_MilvusProcess):
    """A real Milvus 2.3 standalone server from the PyPI `milvus` package (see the module docstring).

    The package's own launcher (`milvus-server`) is not used: it leaves the server running when its
    Python parent dies, lets every component dial the host's interface address, and gives the
    embedded etcd fixed ports, so two stacks collide. Instead this class renders the package's
    config template with free internal ports, binds everything to 127.0.0.1, and runs the
    `milvus run standalone` binary itself, so the pid file names the server process.
    """

    engine = "server"
    folder = "milvus-server"
    pid_name = "milvus.pid"
    log_name = "milvus.log"

    def _launch(self) -> tuple[list[str], dict[str, str], str | None]:
        try:
            import milvus as milvus_package
        except ImportError as error:
            raise ServiceUnavailableError(
                "The local Milvus server needs the PyPI package `milvus` (pip install 'milvus==2.3.5'; "
                "scripts/bootstrap.sh installs it), or set TV5_LOCAL_MILVUS_ENGINE=lite to run Milvus Lite."
            ) from error
        ports = {key: free_local_port() for key in _SERVER_INTERNAL_PORTS}
        config = milvus_package.MilvusServerConfig(data_dir=str(self.data_dir), proxy_port=self.port, **ports)
        config.extra_configs = {f"{component}.ip": self.host for component in _SERVER_COMPONENTS}
        config.extra_configs["etcd.endpoints"] = f"{self.host}:{ports['etcd_port']}"
        config.resolve()  # writes data/configs/milvus.yaml and the glog config
        config_file = self.data_dir / "configs" / "milvus.yaml"
        etcd_file = self.data_dir / "configs" / "embed-etcd.yaml"
        etcd_file.write_text(_embedded_etcd_config(self.host, ports["etcd_port"], free_local_port(), self.data_dir))
        config_file.write_text(_with_etcd_config_path(config_file.read_text(), etcd_file))
        milvus_package._initialize_data_files(str(self.data_dir))  # unpacks the binaries once (checksummed)
        binaries = self.data_dir / "bin"
        env = {
            **os.environ,
            "DEPLOY_MODE": "STANDALONE",
            "METRICS_PORT": str(free_local_port()),
            "MILVUS_RUN_DIR": str(self.data_dir / "run"),
            "LD_LIBRARY_PATH": ":".join(filter(None, [str(binaries), os.environ.get("LD_LIBRARY_PATH", "")])),
        }
        return [str(binaries / "milvus"), "run", "standalone"], env, str(self.data_dir)

    def _is_ours(self, cmdline: str) -> bool:
        return cmdline.startswith(f"{self.data_dir / 'bin' / 'milvus'} run standalone")


def free_local_port() -> int:
    """A TCP port free on loopback right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _embedded_etcd_config(host: str, client_port: int, peer_port: int, data_dir: Path) -> str:
    """The embedded etcd's own config: loopback only, and ports of its own (its defaults are fixed)."""
    client, peer = f"http://{host}:{client_port}", f"http://{host}:{peer_port}"
    return (
        "name: tv5-milvus\n"
        f"data-dir: {data_dir / 'data' / 'etcd.data'}\n"
        f"listen-client-urls: {client}\nadvertise-client-urls: {client}\n"
        f"listen-peer-urls: {peer}\ninitial-advertise-peer-urls: {peer}\n"
        f"initial-cluster: tv5-milvus={peer}\n"
    )


def _with_etcd_config_path(milvus_yaml: str, etcd_file: Path) -> str:
    """Point `etcd.config.path` at our etcd config (the package's template has no such key)."""
    marker = "\netcd:\n"
    if marker not in milvus_yaml:
        raise ServiceUnavailableError("the milvus package's config template has no `etcd:` section; pin milvus==2.3.5")
    return milvus_yaml.replace(marker, f"{marker}  config:\n    path: {etcd_file}\n", 1)


def local_milvus_service() -> _MilvusProcess:
    """The local Milvus engine `TV5_LOCAL_MILVUS_ENGINE` names: `server` (default) or `lite`."""
    engine = os.environ.get("TV5_LOCAL_MILVUS_ENGINE", "server").strip().lower() or "server"
    if engine not in ENGINES:
        raise ServiceUnavailableError(f"TV5_LOCAL_MILVUS_ENGINE={engine!r}: choose one of {', '.join(ENGINES)}")
    return MilvusServerService() if engine == "server" else MilvusLiteService()
