"""Secrets, quick part: private PostgreSQL and Redis servers started with
planted passwords (`TV5_LOCAL_POSTGRES_PASSWORD`, `TV5_LOCAL_REDIS_PASSWORD`).

- the right password works; a wrong one fails at once with `StoreSettingsError` naming the variable
  to fix, never retried (the store-load RetryPolicy is on the asset, and the run shows no retry);
- no planted value (right or wrong) is in the exception, the Dagster event log and the run's
  compute logs (an instance on disk, searched byte for byte), or `tv5 services status` output.

The whole graph with passwords on all four stores is `test_secrets_soak.py` (`-m soak`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tv5_assets.errors import StoreSettingsError
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets.resources.postgres import is_transient as postgres_transient
from tv5_assets.resources.redis import RedisResource
from tv5_assets.resources.redis import is_transient as redis_transient
from tv5_assets.services.base import free_local_port
from tv5_assets.services.postgres import PostgresService
from tv5_assets.services.redis import RedisService
from tv5_assets.store_load import POSTGRES, REDIS, store_asset, store_errors
from tv5_assets_tests.reliability.planted import PLANTED, WRONG, event_log_text, leaks_in_files, leaks_in_text

pytestmark = pytest.mark.services


def _start(service, variable: str, password: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(variable, password)
        service.up()


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """Private servers with planted passwords; yields store -> URL with the right password."""
    # not under pytest's tmp folder (mode 700): the postgres system user must reach its data
    root = Path(tempfile.mkdtemp(prefix="tv5-secret-stack-"))
    root.chmod(0o755)
    postgres = PostgresService(port=free_local_port(), data_dir=root / "postgres")
    redis = RedisService(port=free_local_port(), data_dir=root / "redis")
    try:
        _start(postgres, "TV5_LOCAL_POSTGRES_PASSWORD", PLANTED["postgres"])
        _start(redis, "TV5_LOCAL_REDIS_PASSWORD", PLANTED["redis"])
        yield {
            "postgres": f"postgresql://tv5:{PLANTED['postgres']}@127.0.0.1:{postgres.port}/tv5",
            "redis": f"redis://:{PLANTED['redis']}@127.0.0.1:{redis.port}/0",
        }
    finally:
        for service in (redis, postgres):
            service.down()
        shutil.rmtree(root, ignore_errors=True)


def _wrong(url: str, store: str) -> str:
    return url.replace(PLANTED[store], WRONG[store])


def test_right_passwords_work_and_no_login_is_left_on_trust(servers: dict[str, str]) -> None:
    assert PostgresResource(url=servers["postgres"]).ping()
    assert RedisResource(url=servers["redis"]).client().ping()
    no_password = servers["postgres"].replace(f":{PLANTED['postgres']}@", "@")
    with pytest.raises(StoreSettingsError):  # scram everywhere, superuser included: trust is gone
        PostgresResource(url=no_password).ping()
    with pytest.raises(StoreSettingsError):
        PostgresResource(url=no_password.replace("//tv5@", "//postgres@")).ping()
    with pytest.raises(StoreSettingsError):
        RedisResource(url=servers["redis"].replace(f":{PLANTED['redis']}@", "")).client()


@pytest.mark.parametrize("store", ["postgres", "redis"])
def test_wrong_password_fails_at_once_naming_the_variable(servers: dict[str, str], store: str) -> None:
    url = _wrong(servers[store], store)
    with pytest.raises(StoreSettingsError) as caught:
        if store == "postgres":
            PostgresResource(url=url).ping()
        else:
            RedisResource(url=url).client()
    message = str(caught.value)
    assert ("TV5_POSTGRES_URL" if store == "postgres" else "TV5_REDIS_URL") in message
    assert "rejected the credentials" in message
    assert leaks_in_text(message) == []
    assert not (postgres_transient if store == "postgres" else redis_transient)(caught.value)


def _probe_job(store_name: str) -> dg.AssetsDefinition:
    """A store asset as the platform declares its loads (`store_asset`: the store-load RetryPolicy),
    whose body connects the way a load does, inside `store_errors`."""
    store = POSTGRES if store_name == "postgres" else REDIS

    if store_name == "postgres":

        @store_asset(store, code_version="1", name="secret_probe_postgres")
        def probe(postgres: PostgresResource) -> None:
            with store_errors(store, postgres.address, "probing", postgres.unavailable):
                postgres.ping()

    else:

        @store_asset(store, code_version="1", name="secret_probe_redis")
        def probe(redis: RedisResource) -> None:
            with store_errors(store, redis.address, "probing", redis.unavailable):
                redis.client().ping()

    return probe


@pytest.mark.parametrize("store", ["postgres", "redis"])
def test_a_run_with_a_wrong_password_fails_once_and_leaks_nothing(
    servers: dict[str, str], store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    variable = "TV5_POSTGRES_URL" if store == "postgres" else "TV5_REDIS_URL"
    monkeypatch.setenv(variable, _wrong(servers[store], store))
    resource = (PostgresResource if store == "postgres" else RedisResource)(url=dg.EnvVar(variable))
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as instance:
        result = dg.materialize(
            [_probe_job(store)], resources={store: resource}, instance=instance, raise_on_error=False
        )
        assert not result.success
        types = [event.event_type_value for event in result.all_events]
        assert "STEP_UP_FOR_RETRY" not in types and types.count("STEP_FAILURE") == 1
        failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error
        assert variable in failure.to_string() and "rejected the credentials" in failure.to_string()
        assert leaks_in_text(event_log_text(instance, result.run_id)) == []
    assert leaks_in_files([home]) == {}  # event log database and captured compute logs


def test_tv5_services_status_shows_no_password(servers: dict[str, str]) -> None:
    env = {**os.environ, "TV5_POSTGRES_URL": servers["postgres"], "TV5_REDIS_URL": _wrong(servers["redis"], "redis")}
    for only in ("postgres", "redis"):
        done = subprocess.run(
            [sys.executable, "-m", "tv5_assets.cli", "services", "status", "--only", only],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        output = done.stdout + done.stderr
        assert "127.0.0.1" in output, output
        assert leaks_in_text(output) == [], output
