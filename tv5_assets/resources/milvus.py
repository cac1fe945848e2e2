"""The `milvus` resource: a Milvus client for the local Milvus Lite server or any Milvus URI.

Only `MilvusClient` calls that both Milvus Lite (3.x, gRPC server mode) and a Milvus 2.4+ server
implement are used, so the same assets run against either. The token is never logged or put into
an error message; addresses are shown without credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from ..endpoints import MILVUS
from ..errors import ServiceUnavailableError, StoreSettingsError

if TYPE_CHECKING:
    from pymilvus import MilvusClient

_COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class MilvusResource(dg.ConfigurableResource):
    """Connects to Milvus; `collection_name()` applies the prefix that keeps tests and teams apart."""

    uri: str = Field(
        default=MILVUS.local_url(),
        description="Milvus endpoint, e.g. http://127.0.0.1:59530 (local Milvus Lite) or a server/Zilliz URI.",
    )
    token: str | None = Field(
        default=None, description="`user:password` or an API key; set through TV5_MILVUS_TOKEN, never logged."
    )
    collection_prefix: str = Field(
        default="", description="Prepended to every collection and alias name (tests use their own)."
    )
    timeout_s: float = Field(default=10.0, description="Connect and probe timeout in seconds.")

    @property
    def address(self) -> str:
        """scheme://host:port[/db], safe to print."""
        return MILVUS.address(self.uri)

    def collection_name(self, logical_name: str) -> str:
        name = f"{self.collection_prefix}{logical_name}"
        if not _COLLECTION_NAME.match(name) or len(name) > 200:
            raise ValueError(
                f"Milvus collection name {name!r} is invalid: use letters, digits and underscores, "
                "starting with a letter or underscore (check collection_prefix)."
            )
        return name

    def unavailable(self, error: BaseException | str) -> ServiceUnavailableError:
        """The error to raise when Milvus cannot be reached: store, address, cause and what to do."""
        external = MILVUS.external()
        remedy = (
            "Check that the Milvus server at TV5_MILVUS_URI is running and that TV5_MILVUS_TOKEN is right."
            if external
            else "Start the local stack with `tv5 services up --only milvus` (or `tv5 services up`), "
            "or set TV5_MILVUS_URI (and TV5_MILVUS_TOKEN) to a running Milvus server. If the local server "
            "was running, `tv5 services status --only milvus` says why it stopped (a full disk stops it)."
        )
        reason = error if isinstance(error, str) else (str(error) or type(error).__name__)
        if self.token:
            reason = reason.replace(self.token, "***")
        return ServiceUnavailableError(f"Milvus at {self.address} is not reachable ({reason}). {remedy}")

    def _connect_error(self, error) -> ServiceUnavailableError:
        """A refused token fails at once (StoreSettingsError); anything else may be retried."""
        if not refused_credentials(error):
            return self.unavailable(error_text(error))
        reason = server_words(error)
        if self.token:
            reason = reason.replace(self.token, "***")
        return StoreSettingsError(
            f"Milvus at {self.address} rejected the credentials: the server refused the token ({reason}). "
            "Set the right `user:password` or API key in TV5_MILVUS_TOKEN."
        )

    @contextmanager
    def get_client(self) -> Iterator[MilvusClient]:
        """A connected `MilvusClient`, closed afterwards; connection failures raise ServiceUnavailableError."""
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        try:
            # A dedicated channel per use: pymilvus' shared, process-wide channel can be left "recovering"
            # after an idle spell on a busy machine, and every later client in the process then fails.
            client = MilvusClient(uri=self.uri, token=self.token or "", timeout=self.timeout_s, dedicated=True)
        except MilvusException as error:
            raise self._connect_error(error) from None
        try:
            # pymilvus may reuse a cached channel without connecting: one cheap call proves the server answers.
            client.list_collections(timeout=self.timeout_s)
        except MilvusException as error:
            client.close()
            raise self._connect_error(error) from None
        try:
            yield client
        finally:
            client.close()


_AUTH_WORDS = ("auth", "password", "credential", "permission denied", "token")


def _rpc_cause(error: BaseException) -> BaseException | None:
    """The gRPC error pymilvus wrapped: its connect failure always reads "Fail connecting to server on
    ..., illegal connection params or server unavailable", whatever the server answered; the status
    underneath says which (UNAUTHENTICATED "auth check failure" for a wrong token, UNAVAILABLE for a
    server that is down)."""
    import grpc

    seen = error.__cause__
    while seen is not None and not isinstance(seen, grpc.RpcError):
        seen = seen.__cause__
    return seen


def _rpc_status(error: BaseException) -> tuple[object, str] | None:
    """(status code, details) of the wrapped gRPC error, None when there is none."""
    cause = _rpc_cause(error)
    code = cause.code() if cause is not None and callable(getattr(cause, "code", None)) else None
    if code is None:
        return None
    details = cause.details() if callable(getattr(cause, "details", None)) else ""
    return code, details or ""


def server_words(error: BaseException) -> str:
    """What the server said: the wrapped gRPC status ("UNAUTHENTICATED: auth check failure, ..."), else
    the error's message."""
    from pymilvus.exceptions import MilvusException

    status = _rpc_status(error)
    if status is not None:
        code, details = status
        return f"{getattr(code, 'name', code)}: {details}".rstrip(": ")
    return (error.message if isinstance(error, MilvusException) else str(error)) or type(error).__name__


def error_text(error: BaseException) -> str:
    """The error's message, followed by the server's gRPC status when pymilvus wrapped one."""
    from pymilvus.exceptions import MilvusException

    text = (error.message if isinstance(error, MilvusException) else str(error)) or type(error).__name__
    if _rpc_status(error) is not None:
        text = f"{text} ({server_words(error)})"
    return text


def refused_credentials(error: BaseException) -> bool:
    """Milvus turned the token down: the server's status is UNAUTHENTICATED or PERMISSION_DENIED, or
    its message speaks of auth, password, credentials or token."""
    import grpc
    from pymilvus.exceptions import MilvusException

    if not isinstance(error, MilvusException):
        return False
    status = _rpc_status(error)
    if status is not None and status[0] in {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}:
        return True
    return refused_credentials_text(error.message or "")


def refused_credentials_text(message: str) -> bool:
    """`refused_credentials` on an error's text alone (`error_text` spells the gRPC status out)."""
    return any(word in message.lower() for word in _AUTH_WORDS)


def is_transient(error: BaseException) -> bool:
    """Worth a retry: the server was unreachable or overloaded, not a bug in the data or the code,
    nor a refused token."""
    import grpc
    from pymilvus.exceptions import MilvusException

    if isinstance(error, StoreSettingsError) or refused_credentials(error):
        return False
    if isinstance(error, (ServiceUnavailableError, ConnectionError, TimeoutError)):
        return True
    if isinstance(error, grpc.RpcError):
        code = error.code() if callable(getattr(error, "code", None)) else None
        return code in {
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.DEADLINE_EXCEEDED,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        }
    if isinstance(error, MilvusException):
        text = (error.message or "").lower()
        return (
            bool(getattr(error, "retriable", False))
            or error.code == 8
            or any(word in text for word in ("unavailable", "connect", "deadline", "rate limit"))
        )
    return False


def milvus_resource_from_env(collection_prefix: str = "") -> MilvusResource:
    """The resource the code location uses: TV5_MILVUS_URI/TV5_MILVUS_TOKEN when set, else the local stack.

    EnvVar keeps the values out of the run config shown in the UI; they are read when a run starts.
    """
    return MilvusResource(
        uri=MILVUS.resource_url(),
        token=MILVUS.resource_value("TV5_MILVUS_TOKEN"),
        collection_prefix=collection_prefix,
    )
