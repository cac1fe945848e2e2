"""Milvus Lite as a local service: its own gRPC server process (`milvus-lite server`), no Docker.

Milvus Lite admits one process per data folder (it holds an advisory lock on `<data>/LOCK`). So the
platform never opens the folder itself: one background server owns it and every Dagster step, test
and notebook connects over TCP to `http://127.0.0.1:$TV5_LOCAL_MILVUS_PORT` (default 59530), just as
they would to a real Milvus server. Parallel steps are therefore safe; the `milvus` concurrency pool
on the load assets is a second guard that keeps one bulk writer at a time.

Layout under `$TV5_DATA_DIR/services/milvus/`: `data/` (the Milvus Lite data folder),
`milvus-lite.pid`, `milvus-lite.log`.

When `TV5_MILVUS_URI` is set the user runs their own Milvus: `up` and `down` leave it alone and
`status` only reports whether it answers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from .. import settings
from ..errors import ServiceUnavailableError
from .base import ServiceStatus, pid_alive, port_open

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
PID_FILE = "milvus-lite.pid"
LOG_FILE = "milvus-lite.log"
DATA_SUBDIR = "data"


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


class MilvusLiteService:
    """`tv5 services up|down|status` for Milvus Lite (see the module docstring).

    The defaults come from settings; tests pass another port and a temporary folder.
    """

    name = "milvus"

    def __init__(
        self,
        base_dir: Path | str | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        startup_timeout_s: float = 60.0,
        stop_timeout_s: float = 20.0,
    ) -> None:
        self._base_dir = Path(base_dir) if base_dir is not None else None
        self.host = host
        self.port = int(port if port is not None else settings.LOCAL_MILVUS_PORT)
        self.startup_timeout_s = startup_timeout_s
        self.stop_timeout_s = stop_timeout_s

    # ----------------------------------------------------------------------------------- paths
    @property
    def base_dir(self) -> Path:
        # Resolved on use: TV5_DATA_DIR may change after construction (tests do that).
        return self._base_dir if self._base_dir is not None else settings.services_dir() / "milvus"

    @property
    def data_dir(self) -> Path:
        return self.base_dir / DATA_SUBDIR

    @property
    def pid_file(self) -> Path:
        return self.base_dir / PID_FILE

    @property
    def log_file(self) -> Path:
        return self.base_dir / LOG_FILE

    @property
    def uri(self) -> str:
        return f"http://{self.host}:{self.port}"

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
                return ServiceStatus(self.name, True, self.uri, f"pid {pid}, data {self.data_dir}")
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
            return ServiceStatus(self.name, True, self.uri, f"pid {pid}, already running, data {self.data_dir}")
        if port_open(self.host, self.port):
            raise ServiceUnavailableError(
                f"Milvus Lite cannot start on {self.host}:{self.port}: the port is in use by another process "
                f"(not the Milvus Lite of {self.base_dir}). Stop that process, or choose a free port with "
                "TV5_LOCAL_MILVUS_PORT, or point TV5_MILVUS_URI at the server that is already there."
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-c", _SERVER_LAUNCHER, "server",
            "--data-dir", str(self.data_dir), "--host", self.host, "--port", str(self.port),
        ]  # fmt: skip
        with open(self.log_file, "ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(command)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the `tv5 services up` shell and its Ctrl-C
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                close_fds=True,
            )
        tmp = self.pid_file.with_name(self.pid_file.name + ".tmp")
        tmp.write_text(f"{process.pid}\n")
        os.replace(tmp, self.pid_file)
        self._wait_until_ready(process.pid)
        return ServiceStatus(self.name, True, self.uri, f"pid {process.pid}, started, data {self.data_dir}")

    def down(self) -> ServiceStatus:
        if self.external():
            return self.status()
        pid = self._running_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return ServiceStatus(self.name, False, self.uri, "not running")
        # SIGINT is what the server handles: it drains requests, then closes the data folder cleanly.
        for sig, wait_s in ((signal.SIGINT, self.stop_timeout_s), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            if self._wait_gone(pid, wait_s):
                break
        if pid_alive(pid):
            raise ServiceUnavailableError(f"Milvus Lite (pid {pid}) did not stop; kill it by hand and remove {self.pid_file}")
        self.pid_file.unlink(missing_ok=True)
        return ServiceStatus(self.name, False, self.uri, f"stopped pid {pid}; data kept in {self.data_dir}")

    # -------------------------------------------------------------------------------- helpers
    def _running_pid(self) -> int | None:
        """The pid from the pid file when that process is alive and is our Milvus Lite server."""
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
        return pid if "milvus_lite" in cmdline and f"--data-dir {self.data_dir} " in cmdline else None

    def _wait_until_ready(self, pid: int) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        reason = "no answer yet"
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                self.pid_file.unlink(missing_ok=True)
                raise ServiceUnavailableError(
                    f"Milvus Lite exited while starting on {self.host}:{self.port} (data {self.data_dir}). "
                    f"Last lines of {self.log_file}:\n{self._log_tail()}"
                )
            if port_open(self.host, self.port):
                reason = _client_answers(self.uri)
                if reason is None:
                    return
            time.sleep(0.25)
        raise ServiceUnavailableError(
            f"Milvus Lite (pid {pid}) did not answer on {self.uri} within {self.startup_timeout_s:.0f} s "
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
