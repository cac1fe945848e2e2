"""`RedisResource`: the cache's Redis server, configured from `TV5_REDIS_URL`.

When the variable is set the resource reads it through `dg.EnvVar` at run time; otherwise it uses
the local redis-server that `tv5 services up` starts (`endpoints.REDIS`). All keys the
platform writes start with `namespace` (default "tv5"), so several users or test runs can share
one server. Messages name the server by host, port and database only, never a password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dagster as dg

from ..endpoints import REDIS, hide_password
from ..errors import ServiceUnavailableError, StoreSettingsError

if TYPE_CHECKING:
    import redis

DEFAULT_NAMESPACE = "tv5"


class RedisResource(dg.ConfigurableResource):
    """A Redis server plus the key namespace the platform writes under."""

    url: str = REDIS.local_url()
    """redis://[:password@]host:port/db (set TV5_REDIS_URL to override)."""
    namespace: str = DEFAULT_NAMESPACE
    """Prefix of every key (`{namespace}:platform:ml_1`); tests use their own."""
    socket_timeout_s: float = 30.0
    connect_timeout_s: float = 5.0

    @property
    def address(self) -> str:
        """host:port/db, safe to print."""
        return REDIS.address(self.url)

    def client(self) -> redis.Redis:
        """A connected client (PING checked); an unreachable server raises `ServiceUnavailableError`."""
        import redis  # imported where used: the code location loads without the client (fast start)

        client = redis.Redis.from_url(
            self.url,
            socket_timeout=self.socket_timeout_s,
            socket_connect_timeout=self.connect_timeout_s,
            decode_responses=False,
        )
        try:
            client.ping()
        except (redis.ConnectionError, redis.TimeoutError, redis.AuthenticationError, redis.ResponseError) as error:
            client.close()
            if refused_credentials(error):
                raise self.refused(error) from None
            raise self.unavailable(error) from None
        return client

    def refused(self, error: BaseException) -> StoreSettingsError:
        """The server turned the password down (or wants one): a retry cannot help."""
        cause = hide_password(str(error).strip().splitlines()[0] if str(error).strip() else "", self.url)
        return StoreSettingsError(
            f"Redis (cache) at {self.address} rejected the credentials ({cause or type(error).__name__}). Set "
            "the password in TV5_REDIS_URL (redis://:password@host:port/db); the local stack's server takes "
            "it from TV5_LOCAL_REDIS_PASSWORD when `tv5 services up` starts it."
        )

    def key(self, *parts: str) -> str:
        """`key("platform", "ml_1")` -> `tv5:platform:ml_1`."""
        return ":".join((self.namespace, *parts))

    def unavailable(self, error: BaseException) -> ServiceUnavailableError:
        cause = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        cause = hide_password(cause, self.url)
        where = "TV5_REDIS_URL" if REDIS.external() else "the local stack"
        return ServiceUnavailableError(
            f"Redis (cache) at {self.address} is not reachable ({cause}). Server from {where}: start the "
            "local stack with `tv5 services up --only redis`, or set TV5_REDIS_URL to a reachable server."
        )


def redis_resource_from_env(namespace: str = DEFAULT_NAMESPACE) -> RedisResource:
    """`TV5_REDIS_URL` through `dg.EnvVar` when it is set, else the local server's URL."""
    return RedisResource(url=REDIS.resource_url(), namespace=namespace)


def refused_credentials(error: BaseException) -> bool:
    """A wrong or missing password: AuthenticationError, or the server's NOAUTH/WRONGPASS replies."""
    import redis

    if isinstance(error, redis.AuthenticationError):
        return True
    return isinstance(error, redis.ResponseError) and str(error).startswith(("NOAUTH", "WRONGPASS", "invalid password"))


def is_transient(error: BaseException) -> bool:
    """Worth a retry: a dropped connection or a timeout; a rejected password (AuthenticationError,
    itself a ConnectionError) is not."""
    import redis

    return isinstance(error, (redis.ConnectionError, redis.TimeoutError)) and not isinstance(
        error, redis.AuthenticationError
    )


def glob_escape(text: str) -> str:
    """Escape Redis glob metacharacters so a namespace is matched literally by SCAN MATCH."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
