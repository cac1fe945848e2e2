"""Neo4j resource (key `neo4j`): the graph server the `neo4j` group loads over Bolt.

Works with any Neo4j 5 server: the local Community server from `tv5 services up`, Enterprise, or
Aura (`neo4j+s://...`). Configuration comes from the environment when set, otherwise the local
stack (see `neo4j_resource_from_env()` and `endpoints.NEO4J`):

| variable            | default                              |
|---------------------|--------------------------------------|
| TV5_NEO4J_URI       | bolt://127.0.0.1:$TV5_LOCAL_NEO4J_PORT (57687) |
| TV5_NEO4J_USER      | neo4j                                |
| TV5_NEO4J_PASSWORD  | empty: no credentials sent (the local server runs without auth unless this is set) |
| TV5_NEO4J_DATABASE  | neo4j                                |

Every driver failure surfaces as `ServiceUnavailableError` naming the store, its address (never
credentials) and what to do; rejected credentials raise `Neo4jCredentialsError`, which says so
without printing them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from ..endpoints import NEO4J
from ..errors import ServiceUnavailableError, StoreSettingsError

if TYPE_CHECKING:
    import neo4j

START_HINT = (
    "Start the local server with `tv5 services up --only neo4j`, or point TV5_NEO4J_URI (and "
    "TV5_NEO4J_USER, TV5_NEO4J_PASSWORD, TV5_NEO4J_DATABASE) at a running Neo4j 5 server."
)


class Neo4jCredentialsError(StoreSettingsError):
    """The server rejected the user name or password: retrying cannot help."""


class Neo4jResource(dg.ConfigurableResource):
    """Bolt connection settings for the knowledge graph; opens verified drivers with clear errors."""

    uri: str = Field(description="Bolt URI: bolt://, neo4j://, neo4j+s:// (Aura).")
    user: str = Field(default="neo4j", description="User name (TV5_NEO4J_USER).")
    password: str = Field(default="", description="Password (TV5_NEO4J_PASSWORD); empty sends no credentials.")
    database: str = Field(default="neo4j", description="Database name (TV5_NEO4J_DATABASE).")
    connection_timeout_s: float = Field(default=15.0, description="Seconds to wait for a connection.")

    @property
    def address(self) -> str:
        """scheme://host:port, safe to print."""
        return NEO4J.address(self.uri)

    def _auth(self) -> tuple[str, str] | None:
        return (self.user, self.password) if self.password else None

    @contextmanager
    def translate_errors(self, doing: str = "talking to it") -> Iterator[None]:
        """Turn the driver's exceptions into messages that name the store and say what to do."""
        import neo4j  # imported where used: the code location loads without the driver (fast start)

        where = self._where
        try:
            yield
        except neo4j.exceptions.AuthError as error:
            raise Neo4jCredentialsError(
                f"{where} rejected the credentials while {doing}: the user name or password is wrong "
                f"({error.code}). Set the right ones in TV5_NEO4J_USER and TV5_NEO4J_PASSWORD; the local "
                "server takes its password from TV5_NEO4J_PASSWORD when it starts, so restart it "
                "(`tv5 services down --only neo4j && tv5 services up --only neo4j`) after changing it."
            ) from error
        except neo4j.exceptions.ClientError as error:
            if error.code == "Neo.ClientError.Database.DatabaseNotFound":
                raise StoreSettingsError(
                    f"{where}: the database does not exist. Set TV5_NEO4J_DATABASE to an existing one "
                    "(Neo4j Community has a single user database, `neo4j`), or create it on Enterprise."
                ) from error
            raise
        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired, OSError) as error:
            raise self.unavailable(error, doing) from error
        except neo4j.exceptions.ConfigurationError as error:
            raise StoreSettingsError(f"{where}: the connection settings are not valid ({error}).") from error

    def unavailable(self, error: BaseException, doing: str = "talking to it") -> ServiceUnavailableError:
        """The error to raise when the server cannot be reached: store, address, cause and what to do."""
        return ServiceUnavailableError(f"{self._where} is not reachable while {doing} ({error}). {START_HINT}")

    @property
    def _where(self) -> str:
        return f"Neo4j at {self.address} (database '{self.database}')"

    @contextmanager
    def driver(self) -> Iterator[neo4j.Driver]:
        """A driver whose connectivity and credentials were verified; closed on exit."""
        import neo4j

        with self.translate_errors("connecting"):
            driver = neo4j.GraphDatabase.driver(
                self.uri, auth=self._auth(), connection_timeout=self.connection_timeout_s
            )
        try:
            with self.translate_errors("connecting"):
                driver.verify_connectivity()
                # Also proves the database exists (verify_connectivity checks the server only).
                driver.execute_query("RETURN 1", database_=self.database)
            yield driver
        finally:
            driver.close()

    def server_info(self) -> dict[str, str]:
        """Name, version and edition of the server (for run metadata and `tv5` diagnostics)."""
        with self.driver() as driver, self.translate_errors("reading the server version"):
            records, _, _ = driver.execute_query(
                "CALL dbms.components() YIELD name, versions, edition RETURN name, versions[0] AS version, edition",
                database_=self.database,
            )
        row = records[0]
        return {"name": row["name"], "version": row["version"], "edition": row["edition"]}


def is_transient(error: BaseException) -> bool:
    """Worth a retry: the server went away, or asked the client to retry (a deadlock between writers,
    a leader switch); syntax, constraint and credentials errors are not."""
    import neo4j

    if isinstance(error, (neo4j.exceptions.Neo4jError, neo4j.exceptions.DriverError)):
        return error.is_retryable()
    return isinstance(error, OSError)


def neo4j_resource_from_env() -> Neo4jResource:
    """The `neo4j` resource for the code location: env vars when set, else the local stack."""
    return Neo4jResource(
        uri=NEO4J.resource_url(),
        user=NEO4J.resource_value("TV5_NEO4J_USER"),
        password=NEO4J.resource_value("TV5_NEO4J_PASSWORD"),
        database=NEO4J.resource_value("TV5_NEO4J_DATABASE"),
    )
