"""Pure logic of the `milvus` group: rows built from the upstream tables, validation, batch sizing,
index read-back. No server needed."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from milvus_frames import build_media_embeddings, build_movies, build_user_embeddings, build_user_profiles

from tv5_assets.errors import ServiceUnavailableError
from tv5_assets.resources.milvus import MilvusResource, is_transient, milvus_resource_from_env
from tv5_assets.stores.milvus.collections import (
    MEDIA_COLLECTION,
    NO_YEAR,
    USER_COLLECTION,
    CollectionInputError,
    estimated_row_bytes,
    media_rows,
    rows_per_batch,
    user_rows,
)
from tv5_assets.stores.milvus.indexes import index_mismatches, normalise_index_description


def test_media_rows_join_catalogue_fields_in_schema_order() -> None:
    movies = build_movies(30)
    embeddings = build_media_embeddings(movies)
    rows = media_rows(embeddings.lazy(), movies.lazy())
    assert rows.schema == MEDIA_COLLECTION.polars_schema()
    assert rows["movie_id"].to_list() == sorted(movies["movie_id"].to_list())
    assert rows["year"].null_count() == 0  # a movie without a year is stored with NO_YEAR
    assert (rows["year"] == NO_YEAR).sum() == movies["year"].null_count() > 0
    joined = rows.join(
        movies.select("movie_id", pl.col("genres").alias("expected")).cast({"movie_id": pl.Int64}), on="movie_id"
    )
    assert (joined["genres"] == joined["expected"]).all()
    assert np.allclose(rows["embedding"].to_numpy(), embeddings.sort("movie_id")["embedding"].to_numpy())


def test_media_rows_name_the_movies_missing_from_the_catalogue() -> None:
    movies = build_movies(30)
    embeddings = build_media_embeddings(movies)
    with pytest.raises(CollectionInputError, match=r"2 row\(s\) of media_embeddings .*\[7, 14\]"):
        media_rows(embeddings.lazy(), movies.slice(2).lazy())


def test_user_rows_carry_profile_fields_and_plan_ids() -> None:
    profiles = build_user_profiles(20)
    rows = user_rows(build_user_embeddings(profiles).lazy(), profiles.lazy())
    assert rows.schema == USER_COLLECTION.polars_schema()
    assert rows["user_id"][0] == "user_00000001" and rows["movielens_user_id"][0] == 1
    assert rows["archetype"].to_list() == profiles["archetype"].to_list()


def test_too_long_title_is_refused_before_the_store_is_touched() -> None:
    movies = build_movies(5).with_columns(
        pl.when(pl.col("movie_id") == 21)
        .then(pl.lit("x" * 3000))
        .otherwise(pl.col("display_title"))
        .alias("display_title")
    )
    with pytest.raises(CollectionInputError, match=r"display_title is longer .* movie_id \[21\]"):
        media_rows(build_media_embeddings(movies).lazy(), movies.lazy())


def test_batches_stay_under_the_byte_limit() -> None:
    movies = build_movies(50)
    rows = media_rows(build_media_embeddings(movies).lazy(), movies.lazy())
    sizes = estimated_row_bytes(rows, MEDIA_COLLECTION)
    assert sizes.min() > 4 * 384  # the vector alone is 1,536 bytes
    limit = 20 * 1024 * 1024
    per_batch = rows_per_batch(rows, MEDIA_COLLECTION, limit)
    assert per_batch * sizes.max() <= limit < (per_batch + 1) * sizes.max()
    assert rows_per_batch(rows, MEDIA_COLLECTION, 10) == 1  # never zero


@pytest.mark.parametrize(
    "description",
    [
        # Milvus Lite: nested ints
        {
            "index_type": "HNSW",
            "metric_type": "COSINE",
            "params": {"M": 16, "efConstruction": 200},
            "state": "Finished",
        },
        # Milvus server: flattened strings (and sometimes a JSON params string)
        {"index_type": "HNSW", "metric_type": "COSINE", "M": "16", "efConstruction": "200"},
        {"index_type": "HNSW", "metric_type": "COSINE", "params": '{"M": 16, "efConstruction": 200}'},
    ],
)
def test_index_read_back_accepts_both_engine_shapes(description: dict) -> None:
    kept = normalise_index_description(description, MEDIA_COLLECTION.index)
    assert kept == {"index_type": "HNSW", "metric_type": "COSINE", "M": 16, "efConstruction": 200}
    assert index_mismatches(kept, MEDIA_COLLECTION.index) == []


def test_index_read_back_flags_dropped_parameters() -> None:
    media = MEDIA_COLLECTION.index
    kept = normalise_index_description({"index_type": "HNSW", "metric_type": "COSINE"}, media)  # params dropped
    assert index_mismatches(kept, media) == [
        "M: asked 16, engine kept None",
        "efConstruction: asked 200, engine kept None",
    ]
    kept = normalise_index_description(
        {"index_type": "HNSW", "metric_type": "L2", "params": {"M": 48, "efConstruction": 200}}, media
    )
    assert [p.split(":")[0] for p in index_mismatches(kept, media)] == ["metric_type", "M"]
    users = USER_COLLECTION.index  # a server's flattened string values, and the wrong index type
    kept = normalise_index_description({"index_type": "IVF_FLAT", "metric_type": "COSINE", "nlist": "512"}, users)
    assert (
        kept == {"index_type": "IVF_FLAT", "metric_type": "COSINE", "nlist": 512}
        and index_mismatches(kept, users) == []
    )
    kept = normalise_index_description({"index_type": "HNSW", "metric_type": "COSINE", "M": "16"}, users)
    assert index_mismatches(kept, users) == [
        "index_type: asked 'IVF_FLAT', engine kept 'HNSW'",
        "nlist: asked 512, engine kept None",
    ]


def test_only_store_outages_are_retried() -> None:
    assert is_transient(ServiceUnavailableError("down"))
    assert is_transient(ConnectionRefusedError())
    assert not is_transient(CollectionInputError("bad row"))
    assert not is_transient(RuntimeError("bug"))


def test_resource_reads_uri_and_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TV5_MILVUS_URI", "https://milvus.example.com:19530")
    monkeypatch.setenv("TV5_MILVUS_TOKEN", "root:s3cret")
    declared = milvus_resource_from_env()
    assert declared.uri == "TV5_MILVUS_URI"  # an EnvVar: the value stays out of the run config and the UI
    resource = declared.process_config_and_initialize()  # what Dagster does when a run starts
    assert resource.uri == "https://milvus.example.com:19530"
    assert resource.token == "root:s3cret"
    error = resource.unavailable("refused by root:s3cret")
    assert "s3cret" not in str(error) and "https://milvus.example.com:19530" in str(error)
    assert "TV5_MILVUS_URI" in str(error)


def test_addresses_never_show_credentials() -> None:
    assert MilvusResource(uri="https://user:pw@host.example:443/db?token=abc").address == "https://host.example:443/db"
    assert MilvusResource(uri="http://127.0.0.1:59530").address == "http://127.0.0.1:59530"


def test_insert_request_carries_every_column_and_the_exact_vector_bytes() -> None:
    from pymilvus.grpc_gen import schema_pb2

    from tv5_assets.stores.milvus.wire import insert_request

    movies = build_movies(30)
    rows = media_rows(build_media_embeddings(movies).lazy(), movies.lazy())
    request = insert_request("media_v1", MEDIA_COLLECTION, rows)
    assert request.collection_name == "media_v1" and request.num_rows == rows.height
    fields = {f.field_name: f for f in request.fields_data}
    assert list(fields) == MEDIA_COLLECTION.column_order
    assert list(fields["movie_id"].scalars.long_data.data) == rows["movie_id"].to_list()
    assert list(fields["year"].scalars.int_data.data) == rows["year"].to_list()
    assert list(fields["title"].scalars.string_data.data) == rows["title"].to_list()
    assert [list(a.string_data.data) for a in fields["genres"].scalars.array_data.data] == rows["genres"].to_list()
    vectors = fields["embedding"].vectors
    assert vectors.dim == MEDIA_COLLECTION.dim
    sent = np.asarray(vectors.float_vector.data, dtype=np.float32).reshape(rows.height, -1)
    assert np.array_equal(sent, rows["embedding"].to_numpy())  # bit for bit, no float round trip
    # and the message survives the wire: serialise, parse, compare
    again = type(request).FromString(request.SerializeToString())
    assert again == request and isinstance(again.fields_data[-1].vectors.float_vector, schema_pb2.FloatArray)


def test_insert_request_refuses_nulls_and_wrong_dimensions() -> None:
    from tv5_assets.stores.milvus.wire import insert_request

    movies = build_movies(10)
    rows = media_rows(build_media_embeddings(movies).lazy(), movies.lazy())
    with pytest.raises(ValueError, match="column title has nulls"):
        insert_request("c", MEDIA_COLLECTION, rows.with_columns(pl.lit(None, dtype=pl.String).alias("title")))
    short = rows.with_columns(pl.col("embedding").arr.head(8).list.to_array(8))
    with pytest.raises(ValueError, match=r"embedding has shape \(10, 8\), expected \(rows, 384\)"):
        insert_request("c", MEDIA_COLLECTION, short)
