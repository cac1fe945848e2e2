"""The `postgres` group against a real PostgreSQL: contents, idempotency, atomic swap, failures."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import dagster as dg
import polars as pl
import psycopg
import pytest

from tv5_assets.defs.postgres import loader
from tv5_assets.defs.postgres import schema as model
from tv5_assets.defs.postgres.assets import _load_errors
from tv5_assets.defs.postgres.binary_copy import HEADER, TRAILER, encode_tuples
from tv5_assets.defs.postgres.transitions import build_episodes, build_policies, movie_genre_masks
from tv5_assets.errors import ServiceUnavailableError
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets_tests.conftest import materialize

pytestmark = pytest.mark.services

SELECTION = "key:agentdb_policies or key:agentdb_episodes"


def _run_config(batch_ratings: int = 200, workers: int = 2, policy_batch: int = 7) -> dict:
    return {
        "ops": {
            "agentdb_episodes": {"config": {"batch_ratings": batch_ratings, "load_workers": workers}},
            "agentdb_policies": {"config": {"batch_rows": policy_batch}},
        }
    }


def _materialize(inputs, postgres, raise_on_error: bool = True, **config):
    return materialize(
        SELECTION,
        resources={"io_manager": inputs.io_manager(), "postgres": postgres},
        raise_on_error=raise_on_error,
        run_config=_run_config(**config),
    )


def _fingerprint(postgres: PostgresResource, table: str, key: str) -> tuple[int, str]:
    with postgres.connection(autocommit=True) as conn:
        return conn.execute(
            f"SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY {key})), '') "
            f"FROM {model.qualified(postgres.schema_name, table)} t"
        ).fetchone()


def _relations(postgres: PostgresResource) -> list[str]:
    with postgres.connection(autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1",
            (postgres.schema_name,),
        ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture(scope="module")
def loaded(agentdb_inputs, postgres_resource):
    result = _materialize(agentdb_inputs, postgres_resource)
    return result


def test_load_writes_exactly_the_computed_transitions(loaded, agentdb_inputs, postgres_resource):
    expected = build_episodes(
        agentdb_inputs.ratings.lazy(), movie_genre_masks(agentdb_inputs.movies.lazy()), 1
    ).collect()
    with postgres_resource.connection(autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT episode_id, user_id, step, timestamp, time_of_day, action, rating, reward, state, next_state, "
            f"is_terminal FROM {model.qualified(postgres_resource.schema_name, 'episodes')} ORDER BY episode_id"
        ).fetchall()
    assert len(rows) == expected.height == agentdb_inputs.ratings.height
    for got, want in zip(rows, expected.iter_rows()):
        assert got[:6] == (*want[:3], want[3], want[4], want[5])
        assert got[6] == pytest.approx(want[6]) and got[7] == pytest.approx(want[7], abs=1e-6)
        assert got[8] == json.loads(want[8])
        assert got[9] == (json.loads(want[9]) if want[9] is not None else None)
        assert got[10] is want[10]


def test_policies_hold_one_initialised_row_per_profile(loaded, agentdb_inputs, postgres_resource):
    expected = build_policies(agentdb_inputs.user_profiles.lazy(), agentdb_inputs.ratings.lazy()).collect()
    with postgres_resource.connection(autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT user_id, state_hash, q_values, exploration_rate, total_visits, archetype, updated_at "
            f"FROM {model.qualified(postgres_resource.schema_name, 'policies')} ORDER BY user_id"
        ).fetchall()
    assert [r[0] for r in rows] == expected["user_id"].to_list()
    for got, want in zip(rows, expected.iter_rows()):
        assert got[1] is None and got[2] == json.loads(want[2])
        assert got[3] == pytest.approx(0.1) and got[4] == 0 and got[5] == want[5] and got[6] == want[6]


def test_load_metadata_and_live_checks(loaded):
    assert loaded.success
    checks = {e.check_name: e for e in loaded.get_asset_check_evaluations()}
    assert set(checks) == {"agentdb_policies_match_profiles", "agentdb_episodes_match_ratings"}
    assert all(c.passed for c in checks.values()), {n: c.metadata for n, c in checks.items()}
    metadata = {
        e.event_specific_data.materialization.asset_key.to_user_string(): e.event_specific_data.materialization.metadata
        for e in loaded.get_asset_materialization_events()
    }
    episodes = metadata["agentdb_episodes"]
    for key in ("rows", "seconds", "rows_per_second", "index_build_seconds", "copy_rows_per_second"):
        assert key in episodes
    assert episodes["partitions"].value == 2
    assert episodes["rows"].value > 0 and episodes["rows_per_second"].value > 0


def test_episodes_table_is_range_partitioned_with_the_models_keys(loaded, postgres_resource):
    schema = postgres_resource.schema_name
    with postgres_resource.connection(autocommit=True) as conn:
        partitions = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s) ORDER BY 1",
            (model.qualified(schema, "episodes"),),
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = 'episodes' ORDER BY 1", (schema,)
        ).fetchall()
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                f"EXPLAIN SELECT * FROM {model.qualified(schema, 'episodes')} WHERE user_id = 'user_00000003' "
                "ORDER BY timestamp DESC LIMIT 10"
            ).fetchall()
        )
    assert [p[0] for p in partitions] == ["episodes_p0", "episodes_p1"]
    assert {i[0] for i in indexes} == {"episodes_pkey", "episodes_action_idx", "episodes_user_id_timestamp_idx"}
    assert "user_id_timestamp_idx" in plan


def test_rematerializing_gives_the_same_contents_whatever_the_batching(loaded, agentdb_inputs, postgres_resource):
    before = (
        _fingerprint(postgres_resource, "episodes", "episode_id"),
        _fingerprint(postgres_resource, "policies", "user_id"),
    )
    _materialize(agentdb_inputs, postgres_resource, batch_ratings=97, workers=3, policy_batch=1000)
    after = (
        _fingerprint(postgres_resource, "episodes", "episode_id"),
        _fingerprint(postgres_resource, "policies", "user_id"),
    )
    assert after == before
    assert before[0][0] == agentdb_inputs.ratings.height
    assert _relations(postgres_resource) == ["episodes", "episodes_p0", "episodes_p1", "episodes_p2", "policies"]


@pytest.mark.parametrize(("table", "key"), [("episodes", "episode_id"), ("policies", "user_id")])
def test_a_load_failing_half_way_keeps_the_previous_version(
    loaded, agentdb_inputs, postgres_resource, monkeypatch, table, key
):
    before = _fingerprint(postgres_resource, table, key)
    seen_during_load = []

    def fail_on_second_batch(table_name: str, batch_index: int, rows_so_far: int) -> None:
        if table_name != table:
            return
        seen_during_load.append(_fingerprint(postgres_resource, table, key))  # a reader while the load runs
        if batch_index >= 1:
            raise RuntimeError("injected failure inside the batch loop")

    monkeypatch.setattr(loader, "after_batch", fail_on_second_batch)
    result = _materialize(agentdb_inputs, postgres_resource, raise_on_error=False)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert any("injected failure" in str(e.event_specific_data.error) for e in failures)
    assert seen_during_load and all(seen == before for seen in seen_during_load)
    assert _fingerprint(postgres_resource, table, key) == before
    assert not [r for r in _relations(postgres_resource) if "__staging_" in r]


def test_staging_tables_of_a_crashed_load_are_swept(loaded, agentdb_inputs, postgres_resource):
    schema = postgres_resource.schema_name
    with postgres_resource.connection(autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {model.qualified(schema, 'episodes__staging_dead_p0')} (x int)")
    _materialize(agentdb_inputs, postgres_resource)
    assert "episodes__staging_dead_p0" not in _relations(postgres_resource)


def test_binary_copy_round_trips_every_supported_type(postgres_resource):
    frame = pl.DataFrame(
        {
            "i2": [1, None, -32768],
            "i4": [2_000_000_000, -5, None],
            "i8": [2**62, None, -1],
            "f4": [1.5, None, -0.0],
            "f8": [1e300, 2.5, None],
            "b": [True, None, False],
            "ts": [datetime(1900, 1, 1, tzinfo=UTC), None, datetime(2999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)],
            "t": ['é漢字\\\t"', "", None],
            "j": ['{"a": [1, "x\\n"], "b": null}', None, "[]"],
        },
        schema_overrides={"i2": pl.Int16, "i4": pl.Int32, "f4": pl.Float32, "ts": pl.Datetime("us", "UTC")},
    )
    types = {
        "i2": "int2",
        "i4": "int4",
        "i8": "int8",
        "f4": "float4",
        "f8": "float8",
        "b": "bool",
        "ts": "timestamptz",
        "t": "text",
        "j": "jsonb",
    }
    with postgres_resource.connection() as conn:
        conn.execute(
            "CREATE TEMP TABLE rt (i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, b bool, ts timestamptz, t text, j jsonb)"
        )
        with conn.cursor().copy("COPY rt FROM STDIN (FORMAT binary)") as copy:
            copy.write(HEADER)
            copy.write(encode_tuples(frame, types))
            copy.write(TRAILER)
        rows = conn.execute("SELECT * FROM rt").fetchall()
    expected = [
        tuple(json.loads(v) if (c == "j" and v is not None) else v for c, v in zip(frame.columns, row))
        for row in frame.iter_rows()
    ]
    assert rows == expected


def test_an_unreachable_server_gives_a_clear_error_without_the_password():
    resource = PostgresResource(url="postgresql://tv5:s3cret-pw@127.0.0.1:1/tv5", connect_timeout_s=2)
    with pytest.raises(ServiceUnavailableError) as caught:
        resource.ping()
    message = str(caught.value)
    assert "127.0.0.1:1/tv5" in message and "PostgreSQL" in message
    assert "tv5 services up" in message and "TV5_POSTGRES_URL" in message
    assert "s3cret-pw" not in message
    assert resource.address == "127.0.0.1:1/tv5"
    # Inside an asset the same error surfaces (and is retryable through the RetryPolicy).
    with pytest.raises(ServiceUnavailableError, match="127.0.0.1:1/tv5"), _load_errors(resource, "policies"):
        loader.load_table(resource.connect, model.policies, "x", [], "t")


def test_a_server_dropping_mid_load_is_retryable_but_a_full_disk_is_not(postgres_resource):
    with pytest.raises(ServiceUnavailableError, match="not reachable"), _load_errors(postgres_resource, "episodes"):
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    with pytest.raises(dg.Failure, match="No space left") as caught, _load_errors(postgres_resource, "episodes"):
        raise psycopg.errors.DiskFull("could not extend file: No space left on device")
    assert caught.value.allow_retries is False
    assert f"episodes in PostgreSQL at {postgres_resource.address}" in caught.value.description
