"""`PostgresResource`: the AgentDB's PostgreSQL server, configured from `TV5_POSTGRES_URL`.

When the variable is set the resource reads it through `dg.EnvVar` at run time (so the URL, and
any password in it, never lands in the code location or in logs); otherwise it uses the local
cluster that `tv5 services up` starts (`endpoints.POSTGRES`). Every message the resource
writes names the server by host, port and database only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg

from ..endpoints import POSTGRES, hide_password
from ..errors import ServiceUnavailableError, StoreSettingsError

if TYPE_CHECKING:
    import psycopg

DEFAULT_SCHEMA = "agentdb"


class PostgresResource(dg.ConfigurableResource):
    """A PostgreSQL server (the AgentDB): psycopg 3 connections into one schema."""

    url: str = POSTGRES.local_url()
    """libpq URL, e.g. postgresql://user:password@host:5432/db (set TV5_POSTGRES_URL to override)."""
    schema_name: str = DEFAULT_SCHEMA
    """Schema that holds the AgentDB tables; tests use their own for isolation."""
    connect_timeout_s: int = 10
    application_name: str = "tv5-assets"

    @property
    def address(self) -> str:
        """host:port/db, safe to print."""
        return POSTGRES.address(self.url)

    def connect(self, autocommit: bool = False) -> psycopg.Connection:
        """A new connection; a server that cannot be reached raises `ServiceUnavailableError`."""
        import psycopg  # imported where used: the code location loads without the driver (fast start)

        try:
            return psycopg.connect(
                self.url,
                autocommit=autocommit,
                connect_timeout=self.connect_timeout_s,
                application_name=self.application_name,
            )
        except psycopg.OperationalError as error:
            if refused_credentials(error):
                raise self.refused(error) from None
            raise self.unavailable(error) from None

    @contextmanager
    def connection(self, autocommit: bool = False) -> Iterator[psycopg.Connection]:
        """`with resource.connection() as conn:` commits on success, rolls back on error, closes."""
        conn = self.connect(autocommit=autocommit)
        with conn:
            yield conn

    def ping(self) -> str:
        """The server version; raises `ServiceUnavailableError` when unreachable."""
        with self.connection(autocommit=True) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0])

    def unavailable(self, error: BaseException) -> ServiceUnavailableError:
        """The error to raise for a failed connection: store, address, cause and what to do."""
        cause = _first_line(self._redact(str(error)))
        where = "TV5_POSTGRES_URL" if POSTGRES.external() else "the local stack"
        return ServiceUnavailableError(
            f"PostgreSQL (AgentDB) at {self.address} is not reachable ({cause}). Server from {where}: "
            "start the local stack with `tv5 services up --only postgres`, or set TV5_POSTGRES_URL to "
            "a reachable server."
        )

    def refused(self, error: BaseException) -> StoreSettingsError:
        """The server turned our credentials down: a retry cannot help, the variable must change."""
        cause = _first_line(self._redact(str(error)))
        return StoreSettingsError(
            f"PostgreSQL (AgentDB) at {self.address} rejected the credentials ({cause}). Set the right user "
            "and password in TV5_POSTGRES_URL (postgresql://user:password@host:port/db); the local stack's "
            "server takes its password from TV5_LOCAL_POSTGRES_PASSWORD when `tv5 services up` starts it."
        )

    def _redact(self, text: str) -> str:
        return hide_password(text, self.url)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no detail"


def postgres_resource_from_env(schema_name: str = DEFAULT_SCHEMA) -> PostgresResource:
    """`TV5_POSTGRES_URL` through `dg.EnvVar` when it is set, else the local cluster's URL."""
    return PostgresResource(url=POSTGRES.resource_url(), schema_name=schema_name)


_AUTH_FAILURES = ("password authentication failed", "no password supplied", "authentication failed for user")


def refused_credentials(error: BaseException) -> bool:
    """The server answered and refused the user or password (SQLSTATE 28xxx; libpq reports a failed
    login at connect time without a SQLSTATE, so its text is matched too)."""
    import psycopg

    if not isinstance(error, psycopg.Error):
        return False
    if (error.sqlstate or "").startswith("28"):
        return True
    return any(phrase in str(error) for phrase in _AUTH_FAILURES)


def is_transient(error: BaseException) -> bool:
    """Worth a retry: a lost or refused connection (SQLSTATE class 08, server shutdown 57P0x, or no
    SQLSTATE: client side). Rejected credentials and other errors (disk full, lock timeouts, bad
    data) are not fixed by retrying."""
    import psycopg

    if not isinstance(error, psycopg.OperationalError) or refused_credentials(error):
        return False
    state = error.sqlstate
    return state is None or state.startswith(("08", "57P"))
