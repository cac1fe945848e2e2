"""`recommendation_quality`: the hold-out split and the metrics on a hand-made frame (known values),
and the asset materialized on the generated sample against the real Milvus and Neo4j of the local stack."""

import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from tv5_assets.defs.quality.holdout import (
    popular_unseen,
    popularity_ranking,
    random_hit_rate,
    ranked,
    score,
    split_holdout,
)
from tv5_assets.defs.quality.recommendation import METHODS, markdown_table
from tv5_assets_tests.conftest import drop_milvus_prefixed, materialize, require_service

# (user, movie, rating, timestamp seconds)
ROWS = [
    (1, 10, 5.0, 1),
    (1, 11, 4.0, 2),
    (1, 12, 3.0, 3),
    (1, 13, 4.5, 4),
    (1, 14, 4.0, 4),  # same second as 13: the higher movie id counts as later
    (2, 10, 2.0, 1),
    (2, 11, 4.0, 2),
    (2, 15, 5.0, 3),
    (3, 10, 5.0, 1),  # one positive only: not eligible
    (3, 11, 3.0, 2),
]


def tiny_ratings() -> pl.LazyFrame:
    users, movies, ratings, seconds = zip(*ROWS, strict=True)
    return pl.DataFrame(
        {
            "user_id": pl.Series(users, dtype=pl.Int32),
            "movie_id": pl.Series(movies, dtype=pl.Int32),
            "rating": pl.Series(ratings, dtype=pl.Float32),
            "timestamp": [datetime.fromtimestamp(s, UTC) for s in seconds],
        }
    ).lazy()


def pairs(frame: pl.DataFrame) -> set[tuple[int, int]]:
    return set(frame.select("user_id", "movie_id").iter_rows())


def test_holdout_takes_each_users_last_positives_and_keeps_them_out_of_training() -> None:
    split = split_holdout(tiny_ratings(), count=10, seed=1, holdout=2, min_rating=4.0, min_train=1)
    assert split.users.tolist() == [1, 2]
    assert split.eligible_users == 2
    assert pairs(split.test) == {(1, 13), (1, 14), (2, 11), (2, 15)}
    assert pairs(split.train) == {(1, 10), (1, 11), (1, 12), (2, 10)}
    assert split.leaked_pairs() == 0


def test_sample_is_seeded_and_bounded() -> None:
    first = split_holdout(tiny_ratings(), count=1, seed=3, holdout=2, min_train=1)
    again = split_holdout(tiny_ratings(), count=1, seed=3, holdout=2, min_train=1)
    assert first.users.tolist() == again.users.tolist() and first.users.size == 1
    assert split_holdout(tiny_ratings(), count=10, seed=3, holdout=2, min_train=2).users.tolist() == [1]


def test_metrics_match_hand_computed_values() -> None:
    test = pl.DataFrame({"user_id": [1, 1, 2, 2], "movie_id": [13, 14, 11, 15]}, schema_overrides={"user_id": pl.Int32})
    recs = ranked(np.array([1, 2], dtype=np.int32), [[13, 20, 14], [20, 21]])
    result = score(recs, test, users=2, catalogue=8)
    # user 1: hits at ranks 1 and 3 -> DCG 1 + 1/log2(4) = 1.5; ideal for 2 hits 1 + 1/log2(3); user 2: none.
    ndcg_user_1 = 1.5 / (1.0 + 1.0 / math.log2(3))
    assert result["hr"] == pytest.approx(0.5)
    assert result["ndcg"] == pytest.approx(ndcg_user_1 / 2)
    assert result["coverage"] == pytest.approx(4 / 8)
    perfect = score(ranked(np.array([1, 2]), [[13, 14], [15, 11]]), test, users=2, catalogue=8)
    assert perfect["hr"] == 1.0 and perfect["ndcg"] == pytest.approx(1.0)


def test_popularity_ignores_held_out_ratings_and_seen_movies() -> None:
    split = split_holdout(tiny_ratings(), count=10, seed=1, holdout=2, min_train=1)
    ranking = popularity_ranking(tiny_ratings(), split.test)
    assert ranking.tolist() == [10, 11, 12]  # 13, 14, 15 were only rated in the hold-out
    recs = popular_unseen(split.users, split.train, ranking)
    assert recs.filter(pl.col("user_id") == 2)["movie_id"].to_list() == [11, 12]
    assert recs.filter(pl.col("user_id") == 1).height == 0


def test_random_baseline_is_certain_when_the_pool_is_small() -> None:
    split = split_holdout(tiny_ratings(), count=10, seed=1, holdout=2, min_train=1)
    assert random_hit_rate(split.test, split.train, catalogue=8) == pytest.approx(1.0)
    large = random_hit_rate(split.test, split.train, catalogue=100_000)
    assert large == pytest.approx(1 - (1 - 2 / 100_000) ** 10, rel=1e-2)


# --------------------------------------------------------------------------- on the real stores
@pytest.fixture(scope="module")
def evaluated(data_env: Path) -> Iterator[dg.ExecuteInProcessResult]:
    """Everything upstream and the asset, materialized from the sample into the local stack's stores."""
    from tv5_assets.endpoints import MILVUS
    from tv5_assets.resources.milvus import MilvusResource
    from tv5_assets.resources.neo4j import neo4j_resource_from_env

    milvus = MilvusResource(uri=MILVUS.url(), collection_prefix=f"t{uuid.uuid4().hex[:8]}_")
    neo4j = neo4j_resource_from_env()
    require_service("milvus", lambda: _list_collections(milvus))
    require_service("neo4j", neo4j.server_info)
    resources = {"milvus": milvus, "neo4j": neo4j}
    result = materialize("*recommendation_quality", resources=resources, raise_on_error=False)
    yield result
    with milvus.get_client() as client:
        drop_milvus_prefixed(client, milvus.collection_prefix)


def _list_collections(milvus) -> list[str]:
    with milvus.get_client() as client:
        return client.list_collections()


@pytest.mark.services
def test_materializes_on_the_sample_with_sound_metrics(evaluated: dg.ExecuteInProcessResult) -> None:
    assert evaluated.success
    frame = evaluated.output_for_node("recommendation_quality")
    assert frame["method"].to_list() == list(METHODS)
    assert frame["leaked_pairs"].to_list() == [0, 0, 0]
    users = frame["users"][0]
    assert users == min(2000, frame["eligible_users"][0]) and users > 0
    (event,) = [
        e for e in evaluated.get_asset_materialization_events() if e.asset_key == dg.AssetKey("recommendation_quality")
    ]
    metadata = event.materialization.metadata
    for method in METHODS:
        for metric in ("hr_at_10", "ndcg_at_10", "coverage"):
            assert 0.0 <= metadata[f"{method}_{metric}"].value <= 1.0
    assert "| popularity |" in markdown_table(frame)
    checks = {e.check_name: e.passed for e in evaluated.get_asset_check_evaluations()}
    assert checks["recommendation_quality_is_sound"]
    assert checks["recommendation_quality_beats_random"]  # on the sample: content 0.91, graph 0.93, random 0.69
