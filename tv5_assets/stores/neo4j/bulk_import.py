"""Building a fresh graph with `neo4j-admin database import full` instead of online writes.

The online load writes 25M RATED edges through Bolt transactions (about 116k/s on 2 cores); the
importer writes the store files directly from the `neo4j_import_files` CSVs, several times faster.
It replaces the whole database offline, so it runs only where that loses nothing and disturbs no
one:

- the graph is tv5's own local server (`tv5 services`, not TV5_NEO4J_URI), which this step may stop
  and start;
- the database holds no node at all (a fresh stack or a wiped one): there is nothing to lose and
  nobody reads it;
- the import files were written by this same run, from the same upstream tables the online
  assets would load.

Then the step stops the server, imports, starts it again, and writes a marker (`bulk-import.json`
beside the server's data) naming the run. The online assets of the same run find the marker and
skip their writes; their checks still compare the live graph with the upstream tables, so an
import that differs from what the online load would write fails the same checks. In every other
case (a graph that holds data, an external server, another run) the step does nothing and the
online assets load as usual: idempotent MERGE writes into the live graph.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ServiceUnavailableError
from ...services.neo4j import Neo4jService, deploy_dir, find_java
from . import import_files, loader

if TYPE_CHECKING:
    import neo4j

MARKER_FILE = "bulk-import.json"
IMPORTER_HEAP = "2g"


class BulkImportError(ServiceUnavailableError):
    """neo4j-admin refused the files or failed: retrying the same import cannot help."""


@dataclass
class BulkImportOutcome:
    imported: bool
    reason: str
    run_id: str = ""
    database: str = ""
    uri: str = ""
    stop_seconds: float = 0.0
    import_seconds: float = 0.0
    start_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)  # per label and relationship type, after import


# The local server an import stops and restarts: callers (the bulk import asset) name it through
# this module, which alone manages the process, rather than importing the local services package.
LocalServer = Neo4jService


def managed_local_server(uri: str) -> Neo4jService | None:
    """tv5's own local Neo4j (started from this TV5_DATA_DIR) when `uri` is its address and it is
    running; None otherwise (a server on that port from another data folder is not ours to stop)."""
    service = Neo4jService()
    if uri != service.uri or service.managed_pid() is None or not service.status().running:
        return None
    return service


def graph_is_empty(driver: neo4j.Driver, database: str) -> bool:
    with loader.session(driver, database) as session:
        return session.run("MATCH (n) RETURN count(n) > 0 AS any").single(strict=True)["any"] is False


def run_importer(service: Neo4jService, folder: Path, database: str) -> None:
    """neo4j-admin's import, from the jars the server runs on, into the stopped server's home."""
    java, _ = find_java()
    command = [
        str(java),
        f"-Xmx{IMPORTER_HEAP}",
        "-cp",
        f"{deploy_dir() / 'lib'}/*",
        "org.neo4j.cli.AdminTool",
        *import_files.admin_arguments(folder, database),
    ]
    result = subprocess.run(  # cwd: the importer writes its import.report there
        command, env={**os.environ, "NEO4J_HOME": str(service.home)}, cwd=service.root, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BulkImportError(
            f"neo4j-admin database import into {service.address} failed (exit code {result.returncode}); the "
            f"database may be half-built: re-materialize neo4j_bulk_import (the import overwrites it), or empty "
            f"it and load online with `mode: never`. Last output:\n{(result.stdout + result.stderr)[-2000:]}"
        )


def complete_import(driver: neo4j.Driver, database: str) -> None:
    """What the online load writes and the importer cannot: an empty `genres` list (empty CSV fields are skipped)."""
    with loader.session(driver, database) as session:
        session.run("MATCH (m:Movie) WHERE m.genres IS NULL SET m.genres = []").consume()


def bulk_import(
    service: Neo4jService, driver_factory, folder: Path, database: str, run_id: str, log=print
) -> BulkImportOutcome:
    """Stop the server, import `folder`, start it, finish the graph and leave the run's marker."""
    outcome = BulkImportOutcome(
        imported=True, reason="fresh database on the local server", run_id=run_id, database=database, uri=service.uri
    )
    marker(service).unlink(missing_ok=True)
    started = time.perf_counter()
    service.down()
    outcome.stop_seconds = time.perf_counter() - started
    log(f"neo4j: server stopped in {outcome.stop_seconds:.1f} s; importing {folder}")
    started = time.perf_counter()
    try:
        run_importer(service, folder, database)
    finally:
        outcome.import_seconds = time.perf_counter() - started
        restarted = time.perf_counter()
        service.up()  # whatever happened, the server comes back
        outcome.start_seconds = time.perf_counter() - restarted
    with driver_factory() as driver:
        complete_import(driver, database)
        outcome.counts = {**loader.label_counts(driver, database), **loader.relationship_counts(driver, database)}
    tmp = marker(service).with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(outcome), indent=2))
    os.replace(tmp, marker(service))
    log(f"neo4j: imported {sum(outcome.counts.values()):,} nodes and relationships in {outcome.import_seconds:.1f} s")
    return outcome


def marker(service: Neo4jService) -> Path:
    return service.root / MARKER_FILE


def imported_in_run(uri: str, database: str, run_id: str) -> dict[str, Any] | None:
    """The marker when this run bulk-imported the graph at `uri`/`database`, else None."""
    service = Neo4jService()
    if service.external() or uri != service.uri:
        return None
    try:
        recorded = json.loads(marker(service).read_text())
    except (OSError, ValueError):
        return None
    same = recorded.get("run_id") == run_id and recorded.get("uri") == uri and recorded.get("database") == database
    return recorded if same and recorded.get("imported") else None


def imported_counts(recorded: dict[str, Any], *names: str) -> dict[str, int]:
    """Counts of the named labels/types as the import left them (metadata of a skipped online asset)."""
    counts = recorded.get("counts", {})
    return {name: int(counts.get(name, 0)) for name in names}
