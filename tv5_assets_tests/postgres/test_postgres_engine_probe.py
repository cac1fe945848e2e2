"""`tv5 bench`'s COPY probe against the real PostgreSQL: it copies the table's own rows and leaves no table."""

from __future__ import annotations

import pytest

from tv5_assets.engine_limits import copy_alone
from tv5_assets.resources.postgres import PostgresResource

pytestmark = pytest.mark.services


def test_copy_probe_copies_the_tables_own_rows_and_leaves_no_table(postgres_resource: PostgresResource) -> None:
    schema = postgres_resource.schema_name
    with postgres_resource.connection(autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".probe_source (id bigint, state jsonb, note text)')
        conn.execute(
            f"""INSERT INTO "{schema}".probe_source
            SELECT i, jsonb_build_object('step', i), 'n' || i FROM generate_series(1, 5000) AS i"""
        )
    figure = copy_alone(postgres_resource, table="probe_source", rows=3000)
    assert figure.units == 3000 and figure.seconds > 0 and figure.engine_per_s > 0
    with postgres_resource.connection(autocommit=True) as conn:
        assert conn.execute("SELECT to_regclass('pg_temp.tv5_engine_probe')").fetchone()[0] is None
        conn.execute(f'DROP TABLE "{schema}".probe_source')
