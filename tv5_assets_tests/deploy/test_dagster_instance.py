"""The Dagster instance files: dagster.yaml (SQLite under DAGSTER_HOME, one machine) and
deploy/dagster-postgres.yaml (PostgreSQL run, event-log and schedule storage, a shared instance).

The PostgreSQL test runs a tiny asset job in-process and starts a schedule against the local
stack's server with the file as shipped, its settings from the DAGSTER_PG_* variables, plus a
`search_path` so every Dagster table lands in a schema private to the test (dropped afterwards),
away from the AgentDB tables.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dagster as dg
import psycopg
import pytest
import yaml
from psycopg import sql

from tv5_assets.endpoints import POSTGRES
from tv5_assets_tests.conftest import require_service

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_YAML = REPO_ROOT / "dagster.yaml"
POSTGRES_YAML = REPO_ROOT / "deploy" / "dagster-postgres.yaml"
TINY_DEFS = Path(__file__).with_name("tiny_instance_defs.py")
PG_VARS = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD")


def _tiny_defs() -> dg.Definitions:
    spec = importlib.util.spec_from_file_location("tiny_instance_defs", TINY_DEFS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.defs


def test_the_postgres_variant_is_the_local_file_plus_postgres_storage() -> None:
    local = yaml.safe_load(LOCAL_YAML.read_text())
    shared = yaml.safe_load(POSTGRES_YAML.read_text())
    assert "storage" not in local  # SQLite under DAGSTER_HOME, Dagster's default
    assert {k: v for k, v in shared.items() if k != "storage"} == local
    postgres_db = shared["storage"]["postgres"]["postgres_db"]
    # Every setting from the environment: no host, user and above all no password in the file.
    assert postgres_db == {
        "hostname": {"env": "DAGSTER_PG_HOST"},
        "port": {"env": "DAGSTER_PG_PORT"},
        "db_name": {"env": "DAGSTER_PG_DB"},
        "username": {"env": "DAGSTER_PG_USER"},
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "scheme": "postgresql+psycopg2",
    }


def test_the_local_instance_keeps_runs_in_sqlite_under_dagster_home(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_YAML.read_text())
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert type(instance.schedule_storage).__name__ == "SqliteScheduleStorage"
        result = _tiny_defs().resolve_job_def("tiny_job").execute_in_process(instance=instance)
        assert result.success
        assert instance.get_run_by_id(result.run_id).status == dg.DagsterRunStatus.SUCCESS
    assert (home / "history" / "runs.db").is_file()


@dataclass
class PgInstance:
    instance: dg.DagsterInstance
    url: str
    schema: str

    def query(self, statement: str, *params: object) -> list[tuple]:
        """Run `statement` with `{schema}` replaced by the test's schema (quoted)."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql.SQL(statement).format(schema=sql.Identifier(self.schema)), params).fetchall()


@pytest.fixture
def pg_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PgInstance]:
    url = POSTGRES.url()
    schema = f"dagster_t_{uuid.uuid4().hex[:10]}"
    with require_service("postgres", lambda: psycopg.connect(url, connect_timeout=5, autocommit=True)) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    parts = urlsplit(url)
    values = (parts.hostname, str(parts.port or 5432), parts.path.lstrip("/"), parts.username, parts.password)
    for name, value in zip(PG_VARS, values):
        monkeypatch.setenv(name, unquote(value or ""))
    config = yaml.safe_load(POSTGRES_YAML.read_text())
    config["storage"]["postgres"]["postgres_db"]["params"] = {"options": f"-csearch_path={schema}"}
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield PgInstance(instance, url, schema)
    finally:
        instance.dispose()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.mark.services
def test_a_run_its_events_and_a_schedule_land_in_postgres(pg_instance: PgInstance) -> None:
    from dagster._core.test_utils import in_process_test_workspace
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    instance = pg_instance.instance
    assert type(instance.run_storage).__name__ == "PostgresRunStorage"
    result = _tiny_defs().resolve_job_def("tiny_job").execute_in_process(instance=instance)
    assert result.success

    runs = pg_instance.query("SELECT pipeline_name, status FROM {schema}.runs WHERE run_id = %s", result.run_id)
    assert runs == [("tiny_job", "SUCCESS")]
    events = dict(
        pg_instance.query(
            "SELECT dagster_event_type, count(*) FROM {schema}.event_logs WHERE run_id = %s GROUP BY 1",
            result.run_id,
        )
    )
    # Dagster stores the run's own events under their historical names (PIPELINE_*).
    assert events["PIPELINE_SUCCESS"] == 1 and events["STEP_SUCCESS"] == 2, events
    assert events["ASSET_MATERIALIZATION"] == 2, events
    assert instance.get_latest_materialization_event(dg.AssetKey("tiny_total")).run_id == result.run_id

    origin = LoadableTargetOrigin(python_file=str(TINY_DEFS), attribute="defs")
    with in_process_test_workspace(instance, origin) as workspace:
        entry = next(iter(workspace.get_code_location_entries().values()))
        assert entry.code_location, entry.load_error
        (repository,) = entry.code_location.get_repositories().values()
        schedule = repository.get_schedule("tiny_schedule")
        instance.start_schedule(schedule)
    states = pg_instance.query(
        "SELECT instigator_type, status FROM {schema}.instigators WHERE selector_id = %s", schedule.selector_id
    )
    assert states == [("SCHEDULE", "RUNNING")]
    state = instance.get_instigator_state(schedule.get_remote_origin_id(), schedule.selector_id)
    assert state.instigator_data.cron_schedule == "*/15 * * * *"
