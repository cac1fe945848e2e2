"""Local Redis for `tv5 services`: Debian's `redis-server`, daemonized, data under TV5_DATA_DIR.

Layout under `services_dir()/redis`:
    redis.conf      written on every `up` (edit this module, not the file)
    redis.pid       pid file of the daemon
    redis.log       server log
    dump.rdb, appendonlydir/   persistence (RDB snapshots plus an append-only file, fsync each second)

Bound to 127.0.0.1 on `TV5_LOCAL_REDIS_PORT`, no password (localhost only) unless
`TV5_LOCAL_REDIS_PASSWORD` is set: then `requirepass` (redis.conf is written mode 600) and clients
connect with TV5_REDIS_URL=redis://:<password>@127.0.0.1:<port>/0. Deletes that
replace or drop big keys are lazy (freed in a background thread), so a cache refresh that renames
a new key over an old one never blocks readers on freeing memory.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
from pathlib import Path

from ..endpoints import REDIS
from ..errors import ServiceUnavailableError
from .base import LocalService

PASSWORD_VAR = "TV5_LOCAL_REDIS_PASSWORD"
INSTALL_HINT = "install it with `apt-get install redis-server` (Debian/Ubuntu)"


def find_redis_server() -> Path:
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if not found:
        raise ServiceUnavailableError(
            f"`redis-server` was not found on PATH; {INSTALL_HINT}, or point the platform at an existing "
            f"server with {REDIS.env_var}."
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


class RedisService(LocalService):
    """The local redis-server (`tv5 services up|down|status --only redis`)."""

    endpoint = REDIS
    pid_name = "redis.pid"  # written and removed by the daemon itself
    log_name = "redis.log"
    # redis-server shuts down cleanly on SIGTERM (AOF fsync, RDB save); never killed half-way.
    stop_signals = ((signal.SIGTERM, 60.0),)

    @property
    def conf_file(self) -> Path:
        return self.root / "redis.conf"

    def answers(self, pid: int | None) -> bool:
        return (_ping(self.host, self.port) or "").startswith(("+PONG", "-NOAUTH"))  # NOAUTH: up, with a password

    def probe_external(self, url: str) -> str:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        try:
            return f"Redis {client.info('server').get('redis_version', '?')}"
        finally:
            client.close()

    def start(self) -> None:
        server = find_redis_server()
        self.root.mkdir(parents=True, exist_ok=True)
        self.conf_file.touch(mode=0o600)
        self.conf_file.chmod(0o600)  # it may hold the password
        self.conf_file.write_text(self._config())
        self.run_tool([str(server), str(self.conf_file)], what="start redis-server")  # daemonizes

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
        password = os.environ.get(PASSWORD_VAR)
        if password:
            quoted = password.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'requirepass "{quoted}"')
        return "\n".join(lines) + "\n"
