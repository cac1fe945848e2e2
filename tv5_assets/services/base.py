"""What every local service (PostgreSQL, Redis, Milvus Lite, Neo4j) offers to `tv5 services`."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    address: str  # host:port or URI, never with credentials
    detail: str = ""


class LocalService(Protocol):
    name: str

    def up(self) -> ServiceStatus:
        """Start (idempotent: a running service is left alone) and wait until it accepts clients."""

    def down(self) -> ServiceStatus:
        """Stop cleanly; data stays under TV5_DATA_DIR/services/<name>."""

    def status(self) -> ServiceStatus: ...

    def external(self) -> bool:
        """True when the user points at their own server through an env var; then up/down do nothing."""


# --- helpers every service shares ------------------------------------------------------------


def stopped(after: ServiceStatus, pid: int, data: Path) -> ServiceStatus:
    """What `down` reports once it stopped `pid`: that it did, and where the data stays (the plain
    status would only say "not running", as if nothing had been there)."""
    if after.running:
        return after
    return ServiceStatus(after.name, False, after.address, f"stopped pid {pid}; data kept in {data}")


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


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def redact_url(url: str) -> str:
    """`scheme://user:secret@host:port/db` -> `scheme://user:***@host:port/db` (no password shown)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, hostinfo = parts.netloc.rsplit("@", 1)
    return parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{hostinfo}").geturl()


def url_address(url: str, default_port: int) -> str:
    """`host:port/db` of a URL, never its credentials."""
    parts = urlsplit(url)
    db = parts.path.lstrip("/")
    address = f"{parts.hostname or 'localhost'}:{parts.port or default_port}"
    return f"{address}/{db}" if db else address
