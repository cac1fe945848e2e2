"""The group through Dagster on small hand-built MovieLens tables: assets, checks, exports, tags.

The upstream tables are written where the IO manager reads them, so the real code location runs
exactly as in production (unselected upstream assets load from storage).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from conftest_helpers import materialize_embeddings
from embeddings_frames import movie_genome_frame, movies_frame, ratings_frame, tags_frame

from tv5_assets.definitions import defs as load_defs
from tv5_assets.k8s import A100_POOL
from tv5_assets.schemas.embeddings import MEDIA_EMBEDDINGS, MEDIA_TEXT, SIMILAR_MOVIES, USER_EMBEDDINGS
from tv5_assets_tests.conftest import environment

defs = load_defs()

GROUP_KEYS = ["media_text", "media_embeddings", "user_embeddings", "similar_movies"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dg.ExecuteInProcessResult]]:
    data = tmp_path_factory.mktemp("tv5-embeddings-data")
    movies = movies_frame()
    assets_dir = data / "assets"
    assets_dir.mkdir()
    movies.write_parquet(assets_dir / "movies.parquet")
    movie_genome_frame(movies).write_parquet(assets_dir / "movie_genome.parquet")
    tags_frame(movies).write_parquet(assets_dir / "tags.parquet")
    ratings_frame(movies).write_parquet(assets_dir / "ratings.parquet")
    # A private, cold embedding cache: the figures below describe a run that encodes every text.
    with environment({"TV5_DATA_DIR": str(data)}, unset=["TV5_EMBEDDING_CACHE_DIR"]):
        yield data, materialize_embeddings()


def _read(data: Path, key: str) -> pl.DataFrame:
    return pl.read_parquet(data / "assets" / f"{key}.parquet")


def test_group_materializes_with_every_check_passing(tiny_run) -> None:
    _, result = tiny_run
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == set(GROUP_KEYS)
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 9
    failed = {e.check_name: e.description for e in evaluations if not e.passed}
    assert not failed, failed


def test_outputs_follow_the_column_contracts(tiny_run) -> None:
    data, _ = tiny_run
    for key, schema in (
        ("media_text", MEDIA_TEXT),
        ("media_embeddings", MEDIA_EMBEDDINGS),
        ("user_embeddings", USER_EMBEDDINGS),
        ("similar_movies", SIMILAR_MOVIES),
    ):
        assert _read(data, key).schema == schema, key


def test_user_edge_cases_are_labelled(tiny_run) -> None:
    data, _ = tiny_run
    users = _read(data, "user_embeddings")
    labels = dict(users.select("user_id", "weighting").iter_rows())
    assert labels[1001] == labels[1002] == labels[1003] == "fallback_all_rated"
    assert sum(1 for v in labels.values() if v == "liked") == len(labels) - 3


def test_exports_exist_and_align_with_the_assets(tiny_run) -> None:
    data, _ = tiny_run
    media = _read(data, "media_embeddings")
    vectors = np.load(data / "embeddings" / "media" / "content_vectors.npy")
    assert vectors.dtype == np.float32 and vectors.shape == (media.height, 384)
    assert np.array_equal(vectors, media["embedding"].to_numpy())
    lines = (data / "embeddings" / "media" / "metadata.jsonl").read_text().splitlines()
    metadata = [json.loads(line) for line in lines]
    assert [m["movie_id"] for m in metadata] == media["movie_id"].to_list()
    assert [m["media_id"] for m in metadata] == media["media_id"].to_list()
    titles = dict(movies_frame().select("movie_id", "display_title").iter_rows())
    assert all(m["title"] == titles[m["movie_id"]] for m in metadata)

    users = _read(data, "user_embeddings")
    user_vectors = np.load(data / "embeddings" / "users" / "preference_vectors.npy")
    assert np.array_equal(user_vectors, users["embedding"].to_numpy())
    assert json.loads((data / "embeddings" / "users" / "user_ids.json").read_text()) == users["user_key"].to_list()
    leftovers = [p.name for p in (data / "embeddings").iterdir() if p.name.startswith(".")]
    assert not leftovers, f"staging folders left behind: {leftovers}"


def test_model_and_run_figures_are_recorded(tiny_run) -> None:
    _, result = tiny_run
    events = {
        e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    media = events["media_embeddings"]
    assert media["model_name"].value == "all-MiniLM-L6-v2"
    assert len(media["weights_sha256"].value) == 64
    assert media["dim"].value == 384 and media["texts_per_second"].value > 0
    assert events["similar_movies"]["threshold"].value == 0.8 and events["similar_movies"]["top_k"].value == 20
    assert events["user_embeddings"]["users_fallback_all_rated"].value == 3


def test_rematerializing_gives_the_same_vectors(tiny_run) -> None:
    data, _ = tiny_run
    before = _read(data, "media_embeddings")
    neighbours_before = _read(data, "similar_movies")
    assert materialize_embeddings(["media_embeddings", "similar_movies"]).success
    assert _read(data, "media_embeddings").equals(before)
    assert _read(data, "similar_movies").equals(neighbours_before)


def test_gpu_assets_carry_the_executor_tags_and_pool() -> None:
    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    graph = defs.get_repository_def().asset_graph
    for key in GROUP_KEYS:
        node = graph.get(dg.AssetKey(key))
        assets_def = graph.assets_def_for_key(dg.AssetKey(key))
        op_tags = assets_def.op.tags
        if key in ("media_embeddings", "similar_movies"):
            assert specs[key].tags.get("tv5/executor") == "a100"
            raw = op_tags["dagster-k8s/config"]
            config = json.loads(raw) if isinstance(raw, str) else raw
            assert config == A100_POOL.k8s_config()
            assert op_tags["tv5/executor"] == "a100"
            assert config["container_config"]["resources"]["limits"]["nvidia.com/gpu"] == 1
            assert config["pod_spec_config"]["node_selector"] == {
                "cloud.google.com/gke-accelerator": "nvidia-tesla-a100"
            }
            assert node.pools == {"gpu"}
        else:
            assert "tv5/executor" not in specs[key].tags
            assert "dagster-k8s/config" not in op_tags and "tv5/executor" not in op_tags
            assert not node.pools
