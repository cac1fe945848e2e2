"""`tv5 bench`'s engine probes: the sampling, the ratios, failure reporting, and the PostgreSQL and
Milvus probes against the real engines (they must measure, and leave nothing behind)."""

from __future__ import annotations

import os
import uuid

import pytest

from tv5_assets import settings
from tv5_assets.engine_limits import (
    EngineFigure,
    copy_alone,
    format_limits,
    measure,
    milvus_insert_alone,
    spread_sample,
)
from tv5_assets.resources.milvus import MilvusResource
from tv5_assets.resources.postgres import PostgresResource
from tv5_assets_tests.conftest import require_service


def test_spread_sample_covers_every_length_and_keeps_small_inputs() -> None:
    texts = [("x" * n) for n in range(1, 101)]
    sample = spread_sample(list(reversed(texts)), 5)
    assert [len(t) for t in sample] == [1, 26, 51, 75, 100]  # positions 0, 25, 50, 74, 99 of the sorted texts
    assert spread_sample(texts[:3], 5) == texts[:3]


def test_probes_are_compared_with_the_run_and_a_failing_probe_is_reported() -> None:
    def broken() -> EngineFigure:
        raise RuntimeError("server went away")

    figures = measure(
        [("media_embeddings", lambda: EngineFigure("media_embeddings", "encoder alone", 600, 2.0)), ("agentdb_episodes", broken)],
        ours={"media_embeddings": {"texts_per_second": 150.0}},
        log=lambda _: None,
    )
    assert figures[0].engine_per_s == 300.0 and figures[0].engine_over_ours == 2.0
    assert figures[1].error == "RuntimeError: server went away" and figures[1].ours_per_s is None
    text = format_limits(figures)
    assert "2.00x" in text and "probe failed: RuntimeError: server went away" in text


@pytest.mark.services
def test_copy_probe_copies_the_tables_own_rows_and_leaves_no_table() -> None:
    resource = PostgresResource(
        url=os.environ.get("TV5_POSTGRES_URL", "").strip() or settings.LOCAL_POSTGRES_URL,
        schema_name=f"t_{uuid.uuid4().hex[:10]}",
    )
    require_service("postgres", resource.ping)
    try:
        with resource.connection(autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{resource.schema_name}"')
            conn.execute(f'CREATE TABLE "{resource.schema_name}".episodes (id bigint, state jsonb, note text)')
            conn.execute(
                f"""INSERT INTO "{resource.schema_name}".episodes
                SELECT i, jsonb_build_object('step', i), 'n' || i FROM generate_series(1, 5000) AS i"""
            )
        figure = copy_alone(resource, rows=3000)
        assert figure.units == 3000 and figure.seconds > 0 and figure.engine_per_s > 0
        with resource.connection(autocommit=True) as conn:
            assert conn.execute("SELECT to_regclass('pg_temp.tv5_engine_probe')").fetchone()[0] is None
    finally:
        with resource.connection(autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{resource.schema_name}" CASCADE')


@pytest.mark.services
def test_milvus_probe_inserts_every_row_and_drops_its_collection() -> None:
    resource = MilvusResource(
        uri=os.environ.get("TV5_MILVUS_URI", "").strip() or settings.LOCAL_MILVUS_URI,
        token=os.environ.get("TV5_MILVUS_TOKEN") or None,
        collection_prefix=f"t{uuid.uuid4().hex[:8]}_",
    )

    def connect() -> None:
        with resource.get_client() as client:
            client.list_collections()

    require_service("milvus", connect)
    figure = milvus_insert_alone(resource, rows=2000, batch_rows=500)
    assert figure.units == 2000 and figure.engine_per_s > 0
    with resource.get_client() as client:
        assert not [c for c in client.list_collections() if c.startswith(resource.collection_prefix)]
