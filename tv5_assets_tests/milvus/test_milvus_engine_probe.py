"""`tv5 bench`'s insert probe against the real Milvus: every row acknowledged, its collection dropped."""

from __future__ import annotations

import pytest

from tv5_assets.engine_limits import milvus_insert_alone
from tv5_assets.resources.milvus import MilvusResource

pytestmark = pytest.mark.services


def test_milvus_probe_inserts_every_row_and_drops_its_collection(milvus_resource: MilvusResource) -> None:
    figure = milvus_insert_alone(milvus_resource, rows=2000, batch_rows=500)
    assert figure.units == 2000 and figure.engine_per_s > 0
    with milvus_resource.get_client() as client:
        assert not [
            c for c in client.list_collections() if c.startswith(milvus_resource.collection_name("tv5_engine_probe_"))
        ]
