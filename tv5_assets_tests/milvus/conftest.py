"""Fixtures for the `milvus` group: the upstream tables stored where the IO manager reads them, and a
Milvus resource with a collection prefix private to the session (dropped afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from milvus_frames import MilvusInputs, build_media_embeddings, build_movies, build_user_embeddings, build_user_profiles

from tv5_assets.endpoints import MILVUS
from tv5_assets.resources.milvus import MilvusResource
from tv5_assets_tests.conftest import drop_milvus_prefixed, require_service


@pytest.fixture(scope="session")
def milvus_inputs(tmp_path_factory: pytest.TempPathFactory) -> MilvusInputs:
    """The four upstream tables, stored where the IO manager reads them."""
    assets_dir = tmp_path_factory.mktemp("milvus-assets")
    movies = build_movies()
    profiles = build_user_profiles()
    inputs = MilvusInputs(assets_dir, movies, build_media_embeddings(movies), profiles, build_user_embeddings(profiles))
    for name in ("movies", "media_embeddings", "user_profiles", "user_embeddings"):
        getattr(inputs, name).write_parquet(assets_dir / f"{name}.parquet")
    return inputs


@pytest.fixture(scope="session")
def milvus_resource() -> Iterator[MilvusResource]:
    """The configured Milvus (TV5_MILVUS_URI or the local stack) with a prefix private to this session."""
    resource = MilvusResource(
        uri=MILVUS.url(),
        token=MILVUS.value("TV5_MILVUS_TOKEN"),
        collection_prefix=f"t{uuid.uuid4().hex[:8]}_",
    )

    def connect() -> MilvusResource:
        with resource.get_client() as client:
            client.list_collections()
        return resource

    require_service("milvus", connect)
    yield resource
    with resource.get_client() as client:
        drop_milvus_prefixed(client, resource.collection_prefix)


@pytest.fixture
def milvus_client(milvus_resource: MilvusResource):
    with milvus_resource.get_client() as client:
        yield client
