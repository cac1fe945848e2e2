"""Local Redis for `tv5 services`: Debian's `redis-server`, daemonized, data under TV5_DATA_DIR.

Layout under `services_dir()/redis`:
    redis.conf      written on every `up` (edit this module, not the file)
    redis.pid       pid file of the daemon
    redis.log       server log
    dump.rdb, appendonlydir/   persistence (RDB snapshots plus an append-only file, fsync each second)

Bound to 127.0.0.1 on `settings.LOCAL_REDIS_PORT`, no password (localhost only). Deletes that
replace or drop big keys are lazy (freed in a background thread), so a cache refresh that renames
a new key over an old one never blocks readers on freeing memory.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from .. import settings
from ..errors import ServiceUnavailableError
from .base import ServiceStatus, pid_alive, port_open, stopped
from .base import url_address as base_url_address

ENV_URL = "TV5_REDIS_URL"
INSTALL_HINT = "install it with `apt-get install redis-server` (Debian/Ubuntu)"


def find_redis_server() -> Path:
    found = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if not found:
        raise ServiceUnavailableError(
            f"`redis-server` was not found on PATH; {INSTALL_HINT}, or point the platform at an existing "
            f"server with {ENV_URL}."
        )
    return Path(found)


def _ping(host: str, port: int, timeout: float = 1.0) -> str | None:
    """The raw reply to PING ('+PONG', '-LOADING ...', '-NOAUTH ...'), or None when nothing answers."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(256).decode(errors="replace").strip()
    except OSError:
        return None


class RedisService:
    """The local redis-server (`tv5 services up|down|status --only redis`)."""

    name = "redis"

    def __init__(
        self,
        port: int | None = None,
        data_dir: Path | str | None = None,
        host: str = "127.0.0.1",
        start_timeout_s: float = 60.0,
    ) -> None:
        self.host = host
        self.port = int(port or settings.LOCAL_REDIS_PORT)
        self.root = Path(data_dir) if data_dir else settings.services_dir() / self.name
        self.conf_file = self.root / "redis.conf"
        self.pid_file = self.root / "redis.pid"
        self.log_file = self.root / "redis.log"
        self.start_timeout_s = start_timeout_s

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def external(self) -> bool:
        return bool(os.environ.get(ENV_URL, "").strip())

    # --------------------------------------------------------------------------------- public
    def status(self) -> ServiceStatus:
        if self.external():
            return self._external_status()
        reply = _ping(self.host, self.port)
        pid = self._pid()
        if reply is None:
            return ServiceStatus(self.name, False, self.address, "not running")
        if not reply.startswith("+PONG"):
            return ServiceStatus(self.name, False, self.address, f"answering but not ready: {reply[:80]}")
        if pid is None:
            return ServiceStatus(self.name, True, self.address, "answering, but not started from this data folder")
        return ServiceStatus(self.name, True, self.address, f"pid {pid}, data {self.root}")

    def up(self) -> ServiceStatus:
        if self.external():
            return self._external_status()
        current = self.status()
        if current.running:
            return current
        if self._pid() is None and _ping(self.host, self.port) is None and self._port_taken():
            raise ServiceUnavailableError(
                f"Port {self.address} is taken by a process that is not Redis; stop it or choose another "
                "port with TV5_LOCAL_REDIS_PORT."
            )
        if self._pid() is None:
            server = find_redis_server()
            self.root.mkdir(parents=True, exist_ok=True)
            self.conf_file.write_text(self._config())
            result = subprocess.run(
                [str(server), str(self.conf_file)], capture_output=True, text=True, start_new_session=True
            )
            if result.returncode != 0:
                raise ServiceUnavailableError(
                    f"redis-server failed to start on {self.address} (exit code {result.returncode}): "
                    f"{(result.stderr or result.stdout).strip()[-500:]}{self._log_tail()}"
                )
        started = time.monotonic()
        while time.monotonic() - started < self.start_timeout_s:
            status = self.status()
            if status.running:
                return status
            if self._pid() is None and time.monotonic() - started > 5:
                break  # the daemon exited during start-up; its log says why
            time.sleep(0.1)
        raise ServiceUnavailableError(
            f"redis-server did not become ready on {self.address} within {self.start_timeout_s:.0f} s.{self._log_tail()}"
        )

    def down(self) -> ServiceStatus:
        if self.external():
            return self._external_status()
        pid = self._pid()
        if pid is None:
            return self.status()
        os.kill(pid, signal.SIGTERM)  # redis-server shuts down cleanly on SIGTERM (AOF fsync, RDB save)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                break
            time.sleep(0.1)
        else:
            raise ServiceUnavailableError(
                f"redis-server (pid {pid}) on {self.address} did not stop within 60 s; see {self.log_file}."
            )
        return stopped(self.status(), pid, self.root)

    # -------------------------------------------------------------------------------- helpers
    def _config(self) -> str:
        lines = [
            "# Written by `tv5 services up` on every start; edit tv5_assets/services/redis.py instead.",
            f"bind {self.host}",
            "protected-mode yes",
            f"port {self.port}",
            "daemonize yes",
            f'pidfile "{self.pid_file}"',
            f'logfile "{self.log_file}"',
            f'dir "{self.root}"',
            "save 3600 1 300 100 60 10000",
            "appendonly yes",
            "appendfsync everysec",
            "lazyfree-lazy-server-del yes",
            "lazyfree-lazy-user-del yes",
            "lazyfree-lazy-expire yes",
        ]
        return "\n".join(lines) + "\n"

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def _port_taken(self) -> bool:
        return port_open(self.host, self.port)

    def _external_status(self) -> ServiceStatus:
        import redis

        url = os.environ[ENV_URL]
        address = url_address(url)
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
            version = client.info("server").get("redis_version", "?")
            return ServiceStatus(self.name, True, address, f"external ({ENV_URL}), Redis {version}")
        except Exception as error:  # report, never raise from status
            return ServiceStatus(self.name, False, address, f"external ({ENV_URL}), unreachable: {type(error).__name__}")

    def _log_tail(self) -> str:
        if not self.log_file.exists():
            return ""
        tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-5:])
        return f"\nlast lines of {self.log_file}:\n{tail}"


def url_address(url: str) -> str:
    """host:port/db of a redis URL, never its credentials."""
    return base_url_address(url, 6379)
