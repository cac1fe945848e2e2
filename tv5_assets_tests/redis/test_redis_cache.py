"""The `redis` group against a real Redis: contents, TTLs, idempotency, atomic switch, failures."""

from __future__ import annotations

import polars as pl
import pytest
import redis

from tv5_assets.defs.redis import protocol
from tv5_assets.defs.redis.cache import (
    PLATFORM_TTL_S,
    TRENDS_TTL_S,
    get_platforms,
    get_trend,
    glob_escape,
    refresh_family,
    staging_prefix,
    top_trending,
)
from tv5_assets.defs.redis.protocol import resp_command, send_commands
from tv5_assets.errors import ServiceUnavailableError
from tv5_assets.resources.redis import RedisResource
from tv5_assets_tests.conftest import materialize

pytestmark = pytest.mark.services


def _materialize(inputs, resource, raise_on_error: bool = True, pipeline_commands: int = 10_000, top_n: int = 100):
    return materialize(
        "group:redis",
        resources={"io_manager": inputs.io_manager(), "redis": resource},
        raise_on_error=raise_on_error,
        run_config={
            "ops": {
                "redis_platform_cache": {"config": {"pipeline_commands": pipeline_commands}},
                "redis_trends_cache": {"config": {"pipeline_commands": pipeline_commands, "top_n": top_n}},
            }
        },
    )


def _snapshot(client: redis.Redis, namespace: str) -> dict[str, object]:
    """Every key of the namespace (locks excluded) with its type and value."""
    out: dict[str, object] = {}
    for raw in client.scan_iter(match=f"{glob_escape(namespace)}:*", count=1000):
        key = raw.decode()
        if ":lock:" in key:
            continue
        kind = client.type(key).decode()
        if kind == "string":
            out[key] = client.get(key)
        elif kind == "hash":
            out[key] = client.hgetall(key)
        elif kind == "zset":
            out[key] = client.zrange(key, 0, -1, withscores=True)
        else:
            out[key] = kind
    return out


def _expected_platforms(frame: pl.DataFrame, media_id: str) -> list[dict] | None:
    rows = frame.filter(pl.col("media_id") == media_id).sort("platform_id")
    if rows.height == 0:
        return None
    return rows.select("platform_id", "platform_name", "availability_type", "region", "quality", "subtitles").to_dicts()


def test_refresh_serves_platforms_and_trends_with_their_ttls(cache_inputs, redis_resource, redis_client):
    result = _materialize(cache_inputs, redis_resource, top_n=10)
    ns = redis_resource.namespace
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == {"redis_platform_cache_complete", "redis_trends_cache_complete"}
    assert all(c.passed for c in checks.values()), {n: c.metadata for n, c in checks.items()}

    availability = cache_inputs.platform_availability
    for movie_id in range(1, 61):
        media_id = f"ml_{movie_id}"
        assert get_platforms(redis_client, media_id, ns) == _expected_platforms(availability, media_id)
    assert redis_client.exists(f"{ns}:platform:ml_1") == (1 if _expected_platforms(availability, "ml_1") else 0)

    latest = cache_inputs.trends.filter(pl.col("date") == pl.col("date").max()).sort(
        ["popularity_score", "media_id"], descending=[True, False]
    )
    assert [m for m, _ in top_trending(redis_client, 10, ns)] == latest["media_id"].head(10).to_list()
    assert redis_client.zcard(f"{ns}:trending") == 10
    first = latest.row(0, named=True)
    assert get_trend(redis_client, first["media_id"], ns) == {
        "date": str(first["date"]),
        "popularity_score": str(pl.Series([first["popularity_score"]], dtype=pl.Float32).cast(pl.String)[0]),
        "view_count_estimate": str(first["view_count_estimate"]),
        "search_volume": str(first["search_volume"]),
    }
    assert len(list(redis_client.scan_iter(match=f"{ns}:trend:*"))) == latest.height

    platform_ttls = [redis_client.ttl(k) for k in redis_client.scan_iter(match=f"{ns}:platform:*")]
    assert platform_ttls and all(PLATFORM_TTL_S - 60 < t <= PLATFORM_TTL_S for t in platform_ttls)
    trend_ttls = [redis_client.ttl(k) for k in redis_client.scan_iter(match=f"{ns}:trend*")]
    assert trend_ttls and all(TRENDS_TTL_S - 60 < t <= TRENDS_TTL_S for t in trend_ttls)
    assert not list(redis_client.scan_iter(match=f"{ns}:staging:*"))

    metadata = {
        e.event_specific_data.materialization.asset_key.to_user_string(): e.event_specific_data.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    platform = metadata["redis_platform_cache"]
    assert platform["keys"].value == availability["media_id"].n_unique()
    assert platform["ops_per_second"].value > 0 and "seconds" in platform and "rows_per_second" in platform


def test_the_checks_fail_on_a_changed_key_and_a_changed_ttl(cache_inputs, redis_resource, redis_client):
    from tv5_assets.defs.redis.cache import latest_trends, platform_values
    from tv5_assets.defs.redis.checks import redis_platform_cache_complete, redis_trends_cache_complete

    ns = redis_resource.namespace
    _materialize(cache_inputs, redis_resource)
    first_platform = platform_values(cache_inputs.platform_availability.lazy())["media_id"][0]
    first_trend = latest_trends(cache_inputs.trends.lazy())["media_id"][0]
    redis_client.set(f"{ns}:platform:{first_platform}", "[]", keepttl=True)
    redis_client.expire(f"{ns}:trend:{first_trend}", 10 * TRENDS_TTL_S)
    platform = redis_platform_cache_complete(
        redis=redis_resource, platform_availability=cache_inputs.platform_availability.lazy()
    )
    trends = redis_trends_cache_complete(redis=redis_resource, trends=cache_inputs.trends.lazy())
    assert not platform.passed and "1 sampled platform keys missing or different" in platform.metadata["problems"].value
    assert not trends.passed and "sampled trend TTLs outside" in trends.metadata["problems"].value


def test_rematerializing_gives_the_same_cache(cache_inputs, redis_resource, redis_client):
    _materialize(cache_inputs, redis_resource)
    before = _snapshot(redis_client, redis_resource.namespace)
    _materialize(cache_inputs, redis_resource, pipeline_commands=7)
    assert _snapshot(redis_client, redis_resource.namespace) == before
    assert len(before) > 50


def test_a_refresh_drops_movies_that_left_the_input(cache_inputs, redis_resource, redis_client):
    ns = redis_resource.namespace
    _materialize(cache_inputs, redis_resource)
    fewer = cache_inputs.platform_availability.filter(pl.col("movie_id") <= 20)
    later = cache_inputs.trends.filter(pl.col("movie_id") <= 5).with_columns(pl.col("date").dt.offset_by("1d"))
    cache_inputs.store(platform_availability=fewer, trends=later)
    _materialize(cache_inputs, redis_resource)
    platform_keys = {k.decode() for k in redis_client.scan_iter(match=f"{ns}:platform:*")}
    assert platform_keys == {f"{ns}:platform:{m}" for m in fewer["media_id"].unique()}
    trend_keys = {k.decode() for k in redis_client.scan_iter(match=f"{ns}:trend:*")}
    assert trend_keys == {f"{ns}:trend:ml_{m}" for m in range(1, 6)}
    assert redis_client.zcard(f"{ns}:trending") == 5


def test_a_refresh_failing_half_way_keeps_the_previous_cache(cache_inputs, redis_resource, redis_client, monkeypatch):
    ns = redis_resource.namespace
    _materialize(cache_inputs, redis_resource)
    before = _snapshot(redis_client, ns)
    changed = cache_inputs.platform_availability.with_columns(pl.lit("Global").alias("region"))
    cache_inputs.store(
        platform_availability=changed, trends=cache_inputs.trends.with_columns(pl.col("search_volume") + 1)
    )
    seen_during_refresh = []

    def fail_on_second_chunk(label: str, chunk_index: int, commands_so_far: int) -> None:
        seen_during_refresh.append(_snapshot(redis_client, ns))
        if chunk_index >= 1:
            raise RuntimeError("injected failure inside the pipeline loop")

    monkeypatch.setattr(protocol, "after_chunk", fail_on_second_chunk)
    result = _materialize(cache_inputs, redis_resource, raise_on_error=False, pipeline_commands=5)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert len(failures) == 2 and all("injected failure" in str(e.event_specific_data.error) for e in failures)
    assert seen_during_refresh
    live_views = [{k: v for k, v in view.items() if ":staging:" not in k} for view in seen_during_refresh]
    assert all(view == before for view in live_views)  # readers saw the old cache throughout
    assert _snapshot(redis_client, ns) == before  # and still do; staging keys are gone


def test_the_switch_refuses_a_staged_set_with_a_missing_key(redis_resource, redis_client):
    ns = redis_resource.namespace
    redis_client.set(f"{ns}:platform:ml_1", "old")
    staged = staging_prefix(ns, "x")
    commands = (
        pl.DataFrame({"k": [staged + "platform:ml_1"]}).select(resp_command("SET", pl.col("k"), "new")).to_series()
    )
    with pytest.raises(redis.ResponseError, match="staged key missing"):
        refresh_family(
            redis_client,
            ns,
            "platform",
            "x",
            commands,
            ["platform:ml_1", "platform:ml_2"],
            live_patterns=[f"{ns}:platform:*"],
        )
    assert redis_client.get(f"{ns}:platform:ml_1") == b"old"
    assert not list(redis_client.scan_iter(match=f"{ns}:staging:*"))


def test_resp_encoding_is_exact_for_multibyte_values():
    frame = pl.DataFrame({"k": ["a:é"], "v": ['["漢"]']})
    encoded = frame.select(resp_command("SET", pl.col("k"), pl.col("v"), "EX", "60")).item()
    assert encoded.encode() == (
        b'*5\r\n$3\r\nSET\r\n$4\r\na:\xc3\xa9\r\n$7\r\n["\xe6\xbc\xa2"]\r\n$2\r\nEX\r\n$2\r\n60\r\n'
    )


def test_an_error_reply_raises_and_the_client_stays_usable(redis_resource, redis_client):
    ns = redis_resource.namespace
    redis_client.set(f"{ns}:s", "x")
    frame = pl.DataFrame({"k": [f"{ns}:a", f"{ns}:s", f"{ns}:b"]})
    commands = frame.select(resp_command("HSET", pl.col("k"), "f", "1")).to_series()  # HSET on a string: WRONGTYPE
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        send_commands(redis_client, commands, label="test", chunk=10)
    assert redis_client.ping() and redis_client.hget(f"{ns}:a", "f") == b"1"
    nulls = pl.DataFrame({"k": [f"{ns}:c", None]}).select(resp_command("SET", pl.col("k"), "v")).to_series()
    with pytest.raises(ValueError, match="null argument"):
        send_commands(redis_client, nulls, label="test")


def test_an_unreachable_server_gives_a_clear_error_without_the_password():
    resource = RedisResource(url="redis://:s3cret-pw@127.0.0.1:1/0", connect_timeout_s=1)
    with pytest.raises(ServiceUnavailableError) as caught:
        resource.client()
    message = str(caught.value)
    assert "127.0.0.1:1/0" in message and "Redis" in message
    assert "tv5 services up" in message and "TV5_REDIS_URL" in message
    assert "s3cret-pw" not in message
    assert resource.address == "127.0.0.1:1/0"
