"""What every local service (PostgreSQL, Redis, Milvus Lite, Neo4j) offers to `tv5 services`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
