"""Graph backup: `neo4j-admin database dump` of tv5's local server, taken with the server stopped.

Neo4j Community dumps and loads a database only while it is offline, so the backup stops the local
server (the way `neo4j_bulk_import` does), runs neo4j-admin from the jars the server runs on, and
starts it again whatever happened. Restore is `neo4j-admin database load --overwrite-destination`,
also with the server stopped. An external server (TV5_NEO4J_URI) is not ours to stop: the backup
then records why it skipped it; `$TV5_DATA_DIR/neo4j-import` (the import-files bundle) rebuilds
the graph with `neo4j_bulk_import` into an empty database.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from ..errors import ServiceUnavailableError
from ..resources.neo4j import Neo4jResource
from ..services.neo4j import Neo4jService, deploy_dir, find_java
from ..stores.neo4j import loader
from ..stores.neo4j.bulk_import import managed_local_server
from .common import BackupError, StoreBackup, file_entries, run_tool

ADMIN_HEAP = "1g"
START_ATTEMPTS = 4
START_RETRY_S = 10.0
PORT_WAIT_S = 90.0
SKIP_EXTERNAL = (
    "Neo4j at {address} is not tv5's local server: a dump needs the server stopped (server access); "
    "back it up with the server's own `neo4j-admin database dump`, or rebuild it from the import files "
    "($TV5_DATA_DIR/neo4j-import) with neo4j_bulk_import."
)


def graph_counts(resource: Neo4jResource) -> dict[str, int]:
    with resource.driver() as driver:
        return {
            **loader.label_counts(driver, resource.database),
            **loader.relationship_counts(driver, resource.database),
        }


def admin(service: Neo4jService, *arguments: str) -> str:
    """neo4j-admin (org.neo4j.cli.AdminTool) against the local server's home."""
    java, _ = find_java()
    command = [str(java), f"-Xmx{ADMIN_HEAP}", "-cp", f"{deploy_dir() / 'lib'}/*", "org.neo4j.cli.AdminTool"]
    env = {**os.environ, "NEO4J_HOME": str(service.home)}
    return run_tool([*command, *arguments], f"neo4j-admin {arguments[0]} {arguments[1]}", env=env, cwd=service.root)


def offline(service: Neo4jService, *arguments: str) -> float:
    """Stop the server, run neo4j-admin, start it again whatever happened; returns the offline seconds."""
    started = time.perf_counter()
    service.down()
    try:
        admin(service, *arguments)
    finally:
        start_again(service)
    return time.perf_counter() - started


def wait_until_bindable(host: str, port: int, timeout_s: float = PORT_WAIT_S) -> None:
    """Wait while the Bolt port cannot be bound. A port in the ephemeral range (32768-60999 on Linux)
    probed while the server is down can connect to itself (TCP simultaneous open) and then sits in
    TIME_WAIT for a minute, which Neo4j's bind refuses ("Address already in use")."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
                return
            except OSError:
                time.sleep(2.0)


def start_again(service: Neo4jService, attempts: int = START_ATTEMPTS) -> None:
    """`up`, retried: right after a stop the Bolt port can still be held for a moment ("Address
    already in use"), and a backup must never leave the server down."""
    for attempt in range(1, attempts + 1):
        wait_until_bindable(service.host, service.port)
        try:
            if service.up().running:
                return
            problem = "it did not report running"
        except ServiceUnavailableError as error:
            problem = str(error)
        if attempt == attempts:
            raise BackupError(
                f"Neo4j at {service.address} did not start again after neo4j-admin ({problem}); start it with "
                f"`tv5 services up --only neo4j` (see {service.home / 'logs' / 'debug.log'})."
            )
        time.sleep(START_RETRY_S)


def backup_neo4j(resource: Neo4jResource, root: Path) -> StoreBackup:
    """root/neo4j/<database>.dump, or a skipped entry for an external server."""
    started = time.perf_counter()
    service = managed_local_server(resource.uri)
    if service is None:
        return StoreBackup(
            store="neo4j", address=resource.address, skipped=SKIP_EXTERNAL.format(address=resource.address)
        )
    folder = root / "neo4j"
    folder.mkdir(parents=True, exist_ok=True)
    before = graph_counts(resource)
    offline_seconds = offline(service, "database", "dump", resource.database, f"--to-path={folder}")
    dump = folder / f"{resource.database}.dump"
    if not dump.exists():
        raise BackupError(f"neo4j-admin database dump wrote no {dump.name} into {folder}")
    return StoreBackup(
        store="neo4j",
        address=resource.address,
        files=file_entries(root, [dump]),
        counts=before,  # the server was stopped right after these were read: nothing wrote in between
        live_counts=graph_counts(resource),
        tools={"neo4j-admin": "5.26 (deploy/neo4j/pom.xml)"},
        seconds=time.perf_counter() - started,
        extra={"database": resource.database, "offline_seconds": round(offline_seconds, 3)},
    )


def restore_neo4j(resource: Neo4jResource, root: Path) -> dict[str, int]:
    """Replace the local server's database with the dump (server stopped meanwhile); returns the counts."""
    service = managed_local_server(resource.uri)
    if service is None:
        raise BackupError(SKIP_EXTERNAL.format(address=resource.address))
    folder = root / "neo4j"
    if not (folder / f"{resource.database}.dump").exists():
        raise BackupError(f"{folder} holds no {resource.database}.dump to load")
    offline(service, "database", "load", resource.database, f"--from-path={folder}", "--overwrite-destination=true")
    return graph_counts(resource)
