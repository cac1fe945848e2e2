"""Building the graph with `neo4j-admin database import full` instead of online writes.

The online load writes 25M RATED edges through Bolt transactions (about 116k/s on 2 cores into an
empty graph, about 30k/s when it replaces a graph's edges); the importer writes the store files
directly from the `neo4j_import_files` CSVs, several times faster. It replaces the whole database
offline, so it runs only where that loses nothing:

- the graph is tv5's own local server (`tv5 services`, not TV5_NEO4J_URI), which this step may stop
  and start;
- the database holds nothing tv5 does not write: no node label or relationship type outside the
  graph model (model.py). An empty database qualifies; so does tv5's own graph of an earlier
  run, which a rebuild would otherwise replace online, source by source, in minutes (25M ratings
  took 14 minutes against 68 s for the import). Its SIMILAR_TO edges, which the files do not hold
  (they come from the embeddings, loaded online by `neo4j_similarity`), are carried over into the
  import, so readers and a run that does not reload them lose none;
- the import files were written by this same run, from the same upstream tables the online
  assets would load.

Then the step stops the server, imports, starts it again, and writes a marker (`bulk-import.json`
beside the server's data) naming the run. The online assets of the same run find the marker and
skip their writes; their checks still compare the live graph with the upstream tables, so an
import that differs from what the online load would write fails the same checks. In every other
case (a graph with data of others, an external server, another run) the step does nothing and the
online assets load as usual: idempotent MERGE writes into the live graph. While the server is
stopped (about a minute at full scale) it serves nobody: a reader gets the server-unavailable error.
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
from . import import_files, loader, model

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
    carried_similar_to: int = 0  # SIMILAR_TO edges of the replaced graph, kept by the import


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


def foreign_content(driver: neo4j.Driver, database: str) -> list[str]:
    """Node labels and relationship types in use that tv5's graph model does not write (what an import,
    which replaces the database, would destroy), sorted; empty for an empty graph or tv5's own."""
    labels = {node.label for node in model.NODES}
    types = {rel.type for rel in model.RELATIONSHIPS}
    with loader.session(driver, database) as session:
        used_labels = session.run("CALL db.labels() YIELD label RETURN collect(label) AS l").single(strict=True)["l"]
        used_types = session.run(
            "CALL db.relationshipTypes() YIELD relationshipType RETURN collect(relationshipType) AS t"
        ).single(strict=True)["t"]
        # db.labels() lists labels in use; a label whose nodes were all deleted may linger until the
        # store is compacted, so count before calling it foreign.
        found = []
        for label in sorted(set(used_labels) - labels):
            if session.run(f"MATCH (n:{model.cypher_name(label)}) RETURN count(n) > 0 AS any").single(strict=True)[
                "any"
            ]:
                found.append(f"label {label}")
        for rel_type in sorted(set(used_types) - types):
            if session.run(f"MATCH ()-[r:{model.cypher_name(rel_type)}]->() RETURN count(r) > 0 AS any").single(
                strict=True
            )["any"]:
                found.append(f"relationship type {rel_type}")
    return found


def carry_similar_to(driver: neo4j.Driver, database: str, folder: Path) -> tuple[Path | None, int, int]:
    """The graph's SIMILAR_TO edges as an import file beside `folder`'s, limited to movies the import
    writes (an edge to a movie that left the catalogue would make the importer fail): (file or None,
    edges carried, edges dropped)."""
    import polars as pl

    with loader.session(driver, database) as session:
        result = session.run(
            "MATCH (a:Movie)-[r:SIMILAR_TO]->(b:Movie) RETURN a.media_id AS s, b.media_id AS e, r.score AS score, r.rank AS rank"
        )
        rows = [record.values() for record in result]
    if not rows:
        return None, 0, 0
    edges = pl.DataFrame(rows, schema={"s": pl.Utf8, "e": pl.Utf8, "score": pl.Float64, "rank": pl.Int64}, orient="row")
    movies = pl.read_csv(folder / import_files.NODE_FILES["Movie"], columns=["media_id:ID(Movie)"])[
        "media_id:ID(Movie)"
    ]
    kept = edges.filter(pl.col("s").is_in(movies.implode()) & pl.col("e").is_in(movies.implode()))
    path = folder.parent / f"{folder.name}-{import_files.CARRIED_SIMILAR_TO}"
    kept.rename(
        {"s": ":START_ID(Movie)", "e": ":END_ID(Movie)", "score": "score:double", "rank": "rank:long"}
    ).write_csv(path)
    return path, kept.height, edges.height - kept.height


def run_importer(
    service: Neo4jService, folder: Path, database: str, similar_to: Path | None = None, lib: Path | None = None
) -> None:
    """neo4j-admin's import, from the jars the server runs on (`lib`, resolved by the caller before
    it stopped the server), into the stopped server's home."""
    java, _ = find_java()
    command = [
        str(java),
        f"-Xmx{IMPORTER_HEAP}",
        "-cp",
        f"{lib or deploy_dir() / 'lib'}/*",
        "org.neo4j.cli.AdminTool",
        *import_files.admin_arguments(folder, database),
        *([f"--relationships=SIMILAR_TO={similar_to}"] if similar_to is not None else []),
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
    with driver_factory() as driver:
        similar_to, carried, dropped = carry_similar_to(driver, database, folder)
    reason = (
        "fresh database on the local server" if similar_to is None else "tv5's own graph, rebuilt on the local server"
    )
    outcome = BulkImportOutcome(
        imported=True, reason=reason, run_id=run_id, database=database, uri=service.uri, carried_similar_to=carried
    )
    if similar_to is not None:
        log(
            f"neo4j: carrying {carried:,} SIMILAR_TO edges into the import ({dropped:,} dropped: their movies "
            "left the catalogue); neo4j_similarity replaces them when it runs"
        )
    # The importer runs from this checkout's jars, which may not be resolved yet (a fresh checkout
    # beside a server started from another, a cleaned deploy/neo4j/lib): resolve them while the
    # server still serves, so a missing jar never costs a stop and a failed import.
    lib = service.ensure_jars()
    marker(service).unlink(missing_ok=True)
    started = time.perf_counter()
    service.down()
    outcome.stop_seconds = time.perf_counter() - started
    log(f"neo4j: server stopped in {outcome.stop_seconds:.1f} s; importing {folder}")
    started = time.perf_counter()
    try:
        run_importer(service, folder, database, similar_to, lib)
    finally:
        if similar_to is not None:
            similar_to.unlink(missing_ok=True)
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
