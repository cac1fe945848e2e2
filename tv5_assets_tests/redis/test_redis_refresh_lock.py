"""The refresh lock after a crash: a lock taken on an earlier server run is broken, a live one is not."""

from __future__ import annotations

import pytest
import redis

from tv5_assets.defs.redis.cache import _server_run_id, refresh_lock

pytestmark = pytest.mark.services


def test_a_lock_left_by_an_earlier_server_run_is_broken(redis_resource, redis_client) -> None:
    # What a refresh killed with its server leaves in the AOF: a token of the server run that died.
    name = redis_resource.key("lock", "platform")
    redis_client.set(name, "0123456789abcdef0123456789abcdef01234567:deadbeef", ex=600)
    with refresh_lock(redis_client, name, timeout_s=600):
        held = redis_client.get(name).decode()
        assert held.startswith(_server_run_id(redis_client) + ":")
    assert redis_client.get(name) is None


def test_a_lock_of_the_current_server_run_is_waited_for(redis_resource, redis_client) -> None:
    name = redis_resource.key("lock", "trend")
    redis_client.set(name, f"{_server_run_id(redis_client)}:another-refresh", ex=600)
    with pytest.raises(redis.exceptions.LockError, match="another refresh holds it"):
        with refresh_lock(redis_client, name, timeout_s=1):
            pass
    assert redis_client.get(name).decode().endswith(":another-refresh")
