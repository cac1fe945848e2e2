"""The `milvus` group against the live store: load + checks, idempotent re-load with the alias switch,
a failure half-way that leaves the previous version served, filtered search, index verification."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
from milvus_frames import MilvusInputs, materialize_milvus

from tv5_assets.resources.milvus import MilvusResource
from tv5_assets.stores.milvus import loading
from tv5_assets.stores.milvus.collections import MEDIA_COLLECTION, NO_YEAR, VECTOR_FIELD

pytestmark = pytest.mark.services

MEDIA = "milvus_media_collection"
USERS = "milvus_user_collection"


def snapshot(client, collection: str, primary_key: str) -> pl.DataFrame:
    """Everything stored in a collection (through its alias), sorted by primary key."""
    rows = client.query(collection, filter=f"{primary_key} >= 0", output_fields=["*"], limit=16_384)
    frame = pl.DataFrame([{**r, VECTOR_FIELD: np.asarray(r[VECTOR_FIELD], dtype=np.float32)} for r in rows])
    return frame.select(sorted(frame.columns)).sort(primary_key)  # a server returns fields in any order


@pytest.fixture(scope="module")
def loaded(milvus_resource: MilvusResource, milvus_inputs: MilvusInputs):
    """Both collections materialized once (with their checks) for the tests of this module."""
    return materialize_milvus([MEDIA, USERS], milvus_resource, milvus_inputs)


def test_load_stores_every_row_and_all_checks_pass(loaded, milvus_resource, milvus_inputs, milvus_client) -> None:
    assert loaded.success
    evaluations = loaded.get_asset_check_evaluations()
    assert len(evaluations) == 8
    failed = [(e.asset_key.to_user_string(), e.check_name, e.metadata) for e in evaluations if not e.passed]
    assert failed == []

    media = snapshot(milvus_client, milvus_resource.collection_name("media_embeddings"), "movie_id")
    expected = milvus_inputs.movies.join(milvus_inputs.media_embeddings.select("movie_id", VECTOR_FIELD), on="movie_id")
    assert media["movie_id"].to_list() == expected["movie_id"].to_list()
    assert media["media_id"].to_list() == expected["media_id"].to_list()
    assert media["year"].to_list() == expected["year"].fill_null(NO_YEAR).to_list()  # no year: NO_YEAR
    assert media["genres"].to_list() == expected["genres"].to_list()  # empty lists stay empty
    assert np.allclose(np.stack(media[VECTOR_FIELD].to_list()), expected[VECTOR_FIELD].to_numpy(), atol=1e-6)

    users = snapshot(milvus_client, milvus_resource.collection_name("user_embeddings"), "movielens_user_id")
    assert users["user_id"].to_list() == milvus_inputs.user_profiles["user_key"].to_list()
    assert users["archetype"].to_list() == milvus_inputs.user_profiles["archetype"].to_list()

    metadata = {m.asset_key.to_user_string(): m.metadata for m in loaded.asset_materializations_for_node(MEDIA)}[MEDIA]
    assert metadata["rows"].value == milvus_inputs.movies.height
    assert metadata["index_params"].value == {
        "index_type": "HNSW",
        "metric_type": "COSINE",
        "M": 16,
        "efConstruction": 200,
    }
    assert metadata["insert_rows_per_second"].value > 0
    assert metadata["collection_version"].value.startswith(milvus_resource.collection_name("media_embeddings__v"))


def test_filtered_search_by_year_and_genre(loaded, milvus_resource, milvus_inputs, milvus_client) -> None:
    alias = milvus_resource.collection_name("media_embeddings")
    movies = milvus_inputs.movies
    wanted = movies.filter((pl.col("year") >= 1990) & pl.col("genres").list.contains("Comedy"))
    assert 0 < wanted.height < movies.height
    query = milvus_inputs.media_embeddings.filter(pl.col("movie_id") == wanted["movie_id"][0])[VECTOR_FIELD].to_numpy()
    hits = milvus_client.search(
        alias,
        data=[query[0]],
        filter='year >= 1990 and array_contains(genres, "Comedy")',
        limit=wanted.height + 10,
        search_params=MEDIA_COLLECTION.index.search_params,
        output_fields=["movie_id", "year", "genres"],
    )[0]
    assert sorted(hit["entity"]["movie_id"] for hit in hits) == sorted(wanted["movie_id"].to_list())
    assert hits[0]["entity"]["movie_id"] == wanted["movie_id"][0]

    no_year = milvus_client.query(alias, filter=f"year == {NO_YEAR}", output_fields=["movie_id"], limit=1000)
    assert (
        sorted(r["movie_id"] for r in no_year) == movies.filter(pl.col("year").is_null())["movie_id"].sort().to_list()
    )

    users = milvus_client.query(
        milvus_resource.collection_name("user_embeddings"),
        filter='archetype == "family"',
        output_fields=["user_id"],
        limit=1000,
    )
    family = milvus_inputs.user_profiles.filter(pl.col("archetype") == "family")["user_key"]
    assert 0 < len(users) == family.len()


def test_rematerialize_keeps_contents_switches_alias_and_drops_old_version(
    loaded, milvus_resource, milvus_inputs, milvus_client
) -> None:
    alias = milvus_resource.collection_name("media_embeddings")
    before_version = loading.alias_target(milvus_client, alias)
    before = snapshot(milvus_client, alias, "movie_id")

    result = materialize_milvus([MEDIA], milvus_resource, milvus_inputs)

    assert result.success and all(e.passed for e in result.get_asset_check_evaluations())
    after_version = loading.alias_target(milvus_client, alias)
    assert after_version != before_version
    assert not milvus_client.has_collection(before_version)
    assert loading.versions_of(milvus_client, alias) == [after_version]
    assert snapshot(milvus_client, alias, "movie_id").equals(before)


def test_failure_half_way_leaves_previous_version_served(
    loaded, milvus_resource, milvus_inputs, milvus_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    alias = milvus_resource.collection_name("user_embeddings")
    served = loading.alias_target(milvus_client, alias)
    count = loading.count_entities(milvus_client, alias)
    calls = []
    real_insert = loading.insert_batch

    def insert_then_fail(client, collection, spec, batch):
        calls.append(collection)
        if len(calls) == 3:
            raise RuntimeError("injected failure in the batch loop")
        return real_insert(client, collection, spec, batch)

    monkeypatch.setattr(loading, "insert_batch", insert_then_fail)
    result = materialize_milvus(
        [USERS],
        milvus_resource,
        milvus_inputs,
        run_config={"ops": {USERS: {"config": {"max_batch_mb": 0.05}}}},  # ~30 rows per batch
        raise_on_error=False,
    )

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "injected failure in the batch loop" in str(failure.event_specific_data.error)
    assert len(calls) == 3, "a data/code error must fail once, not be retried"
    assert loading.alias_target(milvus_client, alias) == served
    assert loading.count_entities(milvus_client, alias) == count
    assert loading.versions_of(milvus_client, alias) == [served]  # the partial new version was dropped
    assert not milvus_client.has_collection(calls[0])


def test_an_index_other_than_the_requested_one_fails_the_load(
    loaded, milvus_resource, milvus_inputs, milvus_client, monkeypatch
) -> None:
    """Whatever the client path or engine did to the parameters, the read-back must catch a different index
    (Milvus Lite silently ignores flattened params; here the engine is simply handed other ones)."""
    alias = milvus_resource.collection_name("media_embeddings")
    served = loading.alias_target(milvus_client, alias)
    real_create = loading.create_vector_index

    def other_params(client, collection, index):
        real_create(client, collection, dataclasses.replace(index, build_params={**index.build_params, "M": 8}))

    monkeypatch.setattr(loading, "create_vector_index", other_params)

    result = materialize_milvus([MEDIA], milvus_resource, milvus_inputs, raise_on_error=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error)
    assert "different index" in message and "M: asked 16, engine kept 8" in message
    assert loading.alias_target(milvus_client, alias) == served
    assert loading.versions_of(milvus_client, alias) == [served]
