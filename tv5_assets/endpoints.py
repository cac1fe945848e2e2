"""Where each store is: the variables a user sets, the local stack's default, and how to show it.

One `Endpoint` record per store (`POSTGRES`, `REDIS`, `MILVUS`, `NEO4J`), each named by the store's
entry in the registry (registry.py, which also maps them by store: `ENDPOINTS`). The resources (what
the assets connect with) and the services (`tv5 services up|down|status`) both read them, so a URL is
chosen, shown and redacted in one way:

| store    | variables a user sets                                   | local default (TV5_LOCAL_*_PORT)        |
|----------|---------------------------------------------------------|-----------------------------------------|
| postgres | TV5_POSTGRES_URL                                        | postgresql://tv5@127.0.0.1:55432/tv5    |
| redis    | TV5_REDIS_URL                                           | redis://127.0.0.1:56379/0               |
| milvus   | TV5_MILVUS_URI, TV5_MILVUS_TOKEN                        | http://127.0.0.1:59530                  |
| neo4j    | TV5_NEO4J_URI, _USER, _PASSWORD, _DATABASE              | bolt://127.0.0.1:57687                  |

A URL variable that is set wins over the local default (the server is then "external": `tv5
services` leaves it alone). The local ports are read when asked for, so a test or a second stack
that exports another TV5_LOCAL_*_PORT gets it. Addresses (`host:port[/db]`, with the scheme where it
says something: `neo4j+s://`, `https://`) and redacted URLs never show a password or a token.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    import dagster as dg

LOCAL_HOST = "127.0.0.1"  # the local stack listens on loopback only


@dataclass(frozen=True)
class Endpoint:
    """One store's endpoint settings (see the module docstring)."""

    store: str  # the service name and resource key: "postgres"
    label: str  # for messages: "PostgreSQL"
    env_var: str  # the URL a user sets to use their own server
    local_template: str  # the local server's URL, with {host} and {port}
    local_port_default: int  # unless TV5_LOCAL_<STORE>_PORT says otherwise
    default_port: int | None  # the port a URL without one means (None: the scheme decides, e.g. https)
    show_scheme: bool = False  # the address keeps the scheme where it matters (bolt vs neo4j+s)
    extra_vars: tuple[tuple[str, str | None], ...] = ()  # other variables and their defaults

    @property
    def local_port_var(self) -> str:
        return f"TV5_LOCAL_{self.store.upper()}_PORT"

    def configured(self) -> str | None:
        """The URL from `env_var` when the user set one (an external server), else None."""
        return os.environ.get(self.env_var, "").strip() or None

    def external(self) -> bool:
        return self.configured() is not None

    def local_port(self) -> int:
        return int(os.environ.get(self.local_port_var, "").strip() or self.local_port_default)

    def local_url(self, port: int | None = None, host: str = LOCAL_HOST) -> str:
        return self.local_template.format(host=host, port=port or self.local_port())

    def url(self) -> str:
        """The URL in use now: `env_var` when set, else the local server."""
        return self.configured() or self.local_url()

    def value(self, name: str) -> str | None:
        """One of `extra_vars` (a token, user, password, database): its value when set, else its default."""
        default = dict(self.extra_vars)[name]
        raw = os.environ.get(name, "")
        return raw if raw.strip() else default

    def resource_url(self) -> str | dg.EnvVar:
        """The URL for a resource: `dg.EnvVar(env_var)` when set, read when a run starts (so the
        value, password included, never lands in the run config the UI shows), else the local URL."""
        return env_or(self.env_var, self.local_url())

    def resource_value(self, name: str) -> str | dg.EnvVar | None:
        """One of `extra_vars` for a resource, through `dg.EnvVar` when set."""
        return env_or(name, dict(self.extra_vars)[name])

    def host_port(self, url: str | None = None) -> tuple[str, int | None]:
        parts = urlsplit(self.url() if url is None else url)
        return parts.hostname or "localhost", parts.port or self.default_port

    def address(self, url: str | None = None) -> str:
        """Where `url` (default: the one in use) points, never its credentials: `host:port[/db]`."""
        url = self.url() if url is None else url
        parts = urlsplit(url)
        if not parts.scheme:  # not a URL (a file path, host:port): drop what could be secret
            return url.split("@")[-1].split("?")[0]
        host, port = self.host_port(url)
        host = f"[{host}]" if ":" in host else host
        where = f"{host}:{port}" if port else host
        path = parts.path.rstrip("/")
        if not self.show_scheme:
            return where + path
        return f"{parts.scheme}://{where}{path}"

    def redacted(self, url: str | None = None) -> str:
        """`url` with the password masked and the query (tokens ride there sometimes) dropped."""
        return redact(self.url() if url is None else url)


def redact(url: str) -> str:
    """`scheme://user:secret@host:port/db?token=x` -> `scheme://user:***@host:port/db`."""
    parts = urlsplit(url)
    if not parts.scheme:
        return url.split("@")[-1].split("?")[0]
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    if userinfo:
        user = userinfo.split(":", 1)[0]
        hostinfo = f"{user}:***@{hostinfo}" if parts.password is not None else f"{user}@{hostinfo}"
    return urlunsplit((parts.scheme, hostinfo, parts.path, "", ""))


def hide_password(text: str, url: str) -> str:
    """`text` (a driver's error message, say) with the password of `url` replaced by ***."""
    password = urlsplit(url).password
    if not password:
        return text
    return text.replace(unquote(password), "***").replace(password, "***")


def env_or(name: str, default: str | None) -> str | dg.EnvVar | None:
    """`dg.EnvVar(name)` when the variable is set, else `default` (Dagster is imported only here)."""
    if not os.environ.get(name, "").strip():
        return default
    import dagster as dg

    return dg.EnvVar(name)


POSTGRES = Endpoint("postgres", "PostgreSQL", "TV5_POSTGRES_URL", "postgresql://tv5@{host}:{port}/tv5", 55432, 5432)
REDIS = Endpoint("redis", "Redis", "TV5_REDIS_URL", "redis://{host}:{port}/0", 56379, 6379)
# No default port: 19530 over http, 443 for a Zilliz https URI; the client decides.
MILVUS = Endpoint(
    "milvus",
    "Milvus",
    "TV5_MILVUS_URI",
    "http://{host}:{port}",
    59530,
    None,
    show_scheme=True,
    extra_vars=(("TV5_MILVUS_TOKEN", None),),
)
NEO4J = Endpoint(
    "neo4j",
    "Neo4j",
    "TV5_NEO4J_URI",
    "bolt://{host}:{port}",
    57687,
    7687,
    show_scheme=True,
    extra_vars=(("TV5_NEO4J_USER", "neo4j"), ("TV5_NEO4J_PASSWORD", ""), ("TV5_NEO4J_DATABASE", "neo4j")),
)
