"""The `embeddings` group on the generated sample (generator -> movielens ingestion -> this group),
as CI runs it: every asset materializes on CPU and every check passes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
from conftest_helpers import materialize_embeddings


def test_group_materializes_on_the_generated_sample(movielens_materialized: Path) -> None:
    data = movielens_materialized
    result = materialize_embeddings("group:embeddings")
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    failed = {e.check_name: (e.description, e.metadata) for e in evaluations if not e.passed}
    assert not failed, failed
    assert {e.check_name for e in evaluations} >= {
        "media_embeddings_semantic_sanity",
        "media_embeddings_match_their_texts",
    }

    movies = pl.read_parquet(data / "assets" / "movies.parquet")
    media = np.load(data / "embeddings" / "media" / "content_vectors.npy")
    metadata = [
        json.loads(line) for line in (data / "embeddings" / "media" / "metadata.jsonl").read_text().splitlines()
    ]
    assert media.shape == (movies.height, 384)
    assert [m["movie_id"] for m in metadata] == sorted(movies["movie_id"].to_list())

    rating_users = (
        pl.scan_parquet(data / "assets" / "ratings.parquet").select(pl.col("user_id").n_unique()).collect().item()
    )
    users = np.load(data / "embeddings" / "users" / "preference_vectors.npy")
    user_ids = json.loads((data / "embeddings" / "users" / "user_ids.json").read_text())
    assert users.shape == (rating_users, 384) and len(user_ids) == rating_users
