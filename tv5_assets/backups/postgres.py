"""AgentDB backup: `pg_dump -Fc` of its schema; restore with `pg_restore` in one transaction.

The dump is one consistent snapshot (pg_dump reads in a single repeatable-read transaction). The
binaries are Debian's, the ones the local server runs (`services.postgres.find_binaries`); a
pg_dump must be at least the server's major version. Restore does not use `pg_restore --clean`:
its generated drops fail on the partitioned `episodes` table ("cannot drop inherited constraint
episodes_p0_pkey"); the old schema is renamed aside instead and dropped once the restore committed. The connection goes to the tools through
libpq's PG* environment variables, so a password never appears on a command line.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from ..resources.postgres import PostgresResource
from ..services.postgres import find_binaries
from .common import StoreBackup, file_entries, run_tool, tool_version

DUMP_FILE = "postgres/agentdb.dump"
# libpq connection keywords and the environment variables the tools read them from.
LIBPQ_ENV = {
    "host": "PGHOST",
    "hostaddr": "PGHOSTADDR",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "passfile": "PGPASSFILE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
}


def tool_env(url: str) -> dict[str, str]:
    """The environment for pg_dump/pg_restore: ours without stray PG* variables, plus the URL's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, value in conninfo_to_dict(url).items():
        if key in LIBPQ_ENV and value is not None:
            env[LIBPQ_ENV[key]] = str(value)
    return env


def table_counts(resource: PostgresResource) -> dict[str, int]:
    """Rows per table of the resource's schema (exact counts)."""
    with resource.connection(autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1",
                (resource.schema_name,),
            )
        ]
        query = "SELECT count(*) FROM {}.{}"
        return {
            t: int(
                conn.execute(sql.SQL(query).format(sql.Identifier(resource.schema_name), sql.Identifier(t))).fetchone()[
                    0
                ]
            )
            for t in tables
        }


def backup_postgres(resource: PostgresResource, root: Path) -> StoreBackup:
    """`pg_dump -Fc --schema=<schema>` into root/postgres/agentdb.dump."""
    started = time.perf_counter()
    bin_dir = find_binaries()
    env = tool_env(resource.url)
    target = root / DUMP_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    counts = table_counts(resource)
    command = [str(bin_dir / "pg_dump"), "-Fc", "--no-password", f"--schema={resource.schema_name}", f"--file={target}"]
    run_tool(command, f"pg_dump of schema {resource.schema_name} at {resource.address}", env=env)
    return StoreBackup(
        store="postgres",
        address=resource.address,
        files=file_entries(root, [target]),
        counts=counts,  # read just before the dump; the check compares them with the live counts after it
        live_counts=table_counts(resource),
        tools={"pg_dump": tool_version([str(bin_dir / "pg_dump"), "--version"])},
        seconds=time.perf_counter() - started,
        extra={"schema": resource.schema_name},
    )


def _schema_exists(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (name,)).fetchone() is not None


def restore_postgres(resource: PostgresResource, root: Path) -> dict[str, int]:
    """Restore the dump's schema: the current one is renamed aside, pg_restore recreates it in one
    transaction, then the old one is dropped (or renamed back when the restore fails)."""
    bin_dir = find_binaries()
    env = tool_env(resource.url)
    schema = sql.Identifier(resource.schema_name)
    aside_name = f"{resource.schema_name[:40]}__pre_restore"
    aside = sql.Identifier(aside_name)
    command = [
        str(bin_dir / "pg_restore"),
        "--no-owner",
        "--no-privileges",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        f"--dbname={env.get('PGDATABASE', '')}",  # a database name only: the rest travels in PG* variables
        str(root / DUMP_FILE),
    ]
    with resource.connection(autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(aside))
        had_schema = _schema_exists(conn, resource.schema_name)
        if had_schema:
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(schema, aside))
        try:
            run_tool(command, f"pg_restore into {resource.address}", env=env)
        except BaseException:
            if had_schema:  # the single transaction left nothing behind: put the old schema back
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
                conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(aside, schema))
            raise
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(aside))
    return table_counts(resource)
