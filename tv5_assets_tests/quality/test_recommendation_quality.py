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
from tv5_assets.defs.quality.recommendation import (
    METHODS,
    GraphBounds,
    RecommendationQualityConfig,
    graph_recommendations,
    markdown_table,
)
from tv5_assets.fidelity_recs import HASH_MODULUS, HASH_MULTIPLIER, co_rating_neighbours
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


def test_co_rating_neighbours_keep_hash_ordered_raters_and_rank_by_seeds_shared() -> None:
    """Users 1 and 2 seed movie 10 (user 1 also 11); raters at 4 or above: 1-12 and 1-9; user 13 rated 3."""
    rows = [(u, 10, 5.0) for u in range(1, 13)] + [(u, 11, 4.0) for u in range(1, 10)] + [(13, 10, 3.0)]
    schema = {"user_id": pl.Int32, "movie_id": pl.Int32, "rating": pl.Float32}
    ratings = pl.DataFrame(rows, schema=schema, orient="row").lazy()
    seeds = pl.DataFrame(
        {"user_id": [1, 1, 2], "movie_id": [10, 11, 10]}, schema={k: pl.Int32 for k in schema if k != "rating"}
    )
    bounds = GraphBounds(raters_per_movie=3, neighbours=3, seed=5)

    def first_by_hash(candidates: list[int]) -> list[int]:
        return sorted(candidates, key=lambda u: ((u * HASH_MULTIPLIER + 5) % HASH_MODULUS, u))[:3]

    expected: dict[int, list[int]] = {}
    for user, user_seeds in ((1, (10, 11)), (2, (10,))):
        shared: dict[int, int] = {}
        for movie in user_seeds:
            for other in first_by_hash([u for u, m, r in rows if m == movie and r >= 4.0 and u != user]):
                shared[other] = shared.get(other, 0) + 1
        expected[user] = sorted(shared, key=lambda o: (-shared[o], o))[:3]
    # The hash order, not the id order, picks the raters (else this test could not tell them apart).
    assert first_by_hash(list(range(2, 13))) != [2, 3, 4]
    got = co_rating_neighbours(ratings, seeds, bounds)
    assert {u: got.filter(pl.col("user_id") == u)["neighbour"].to_list() for u in (1, 2)} == expected
    assert 13 not in got["neighbour"].to_list()


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


# The walk written all in Cypher, as it was before the first hop moved to polars: the oracle the
# split implementation must equal (it reads every rater of every seed, too slow at ml-25m size).
ALL_CYPHER_WALK = """
UNWIND $users AS u
CALL (u) {
  MATCH (me:User {user_id: u.user_key})
  UNWIND u.seeds AS seed
  MATCH (m:Movie {media_id: seed})
  CALL (m, me) {
    MATCH (m)<-[r:RATED]-(other:User)
    WHERE r.score >= $min_rating AND other <> me
    WITH other
    ORDER BY (toInteger(substring(other.user_id, 5)) * 2654435761 + $seed) % 4294967296, other.user_id
    RETURN other LIMIT $raters_per_movie
  }
  WITH u, other, count(*) AS shared
  ORDER BY shared DESC, other.user_id
  LIMIT $neighbours
  MATCH (other)-[r2:RATED]->(rec:Movie)
  WHERE r2.score >= $min_rating AND NOT rec.media_id IN u.seen
  WITH rec, count(*) AS votes
  ORDER BY votes DESC, rec.movie_id
  LIMIT 10
  RETURN collect(rec.movie_id) AS recs
}
RETURN u.user_id AS user_id, recs
"""


@pytest.mark.services
def test_graph_method_equals_the_walk_written_all_in_cypher(evaluated: dg.ExecuteInProcessResult) -> None:
    from tv5_assets.fidelity_recs import seed_movies
    from tv5_assets.resources.neo4j import neo4j_resource_from_env

    assert evaluated.success
    ratings = evaluated.output_for_node("ratings", "ratings")
    ratings = ratings.lazy() if isinstance(ratings, pl.DataFrame) else ratings
    config = RecommendationQualityConfig()
    split = split_holdout(ratings, 60, config.seed, config.holdout, config.min_rating, config.min_train_ratings)
    bounds = GraphBounds(10, 2, config.seed, 6, min_rating=config.min_rating)  # small caps: the hash order matters
    neo4j = neo4j_resource_from_env()
    seeds = seed_movies(split.train, bounds).group_by("user_id").agg("movie_id")
    seeds_of = dict(zip(seeds["user_id"].to_list(), seeds["movie_id"].to_list(), strict=True))
    seen = split.train.group_by("user_id").agg("movie_id")
    seen_of = dict(zip(seen["user_id"].to_list(), seen["movie_id"].to_list(), strict=True))
    payload = [
        {
            "user_id": user,
            "user_key": f"user_{user:08d}",
            "seeds": [f"ml_{m}" for m in seeds_of.get(user, [])],
            "seen": [f"ml_{m}" for m in seen_of.get(user, [])],
        }
        for user in split.users.tolist()
    ]
    with neo4j.driver() as driver:
        records, _, _ = driver.execute_query(
            ALL_CYPHER_WALK,
            users=payload,
            min_rating=bounds.min_rating,
            raters_per_movie=bounds.raters_per_movie,
            seed=bounds.seed,
            neighbours=bounds.neighbours,
            database_=neo4j.database,
        )
        frame, stats = graph_recommendations(driver, neo4j.database, split.users, split.train, ratings, bounds)
    oracle = {int(r["user_id"]): [int(m) for m in r["recs"]] for r in records}
    got = {
        int(user): [int(m) for m in frame.filter(pl.col("user_id") == user).sort("rank")["movie_id"].to_list()]
        for user in split.users.tolist()
    }
    assert sum(len(v) for v in oracle.values()) > 0
    assert got == {user: oracle.get(user, []) for user in got}
    assert stats["graph_neighbour_pairs"] > 0
