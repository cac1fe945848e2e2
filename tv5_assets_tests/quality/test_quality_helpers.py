"""The `quality` group's plain helpers, without a store: recall with ties, vector statistics, the
messages and verdicts of the checks, deterministic samples."""

from __future__ import annotations

import dagster as dg
import numpy as np
import polars as pl
import pytest

from tv5_assets.defs.quality import benchmarks, counts
from tv5_assets.defs.quality.checks import embeddings_result, store_count_result, target_result


def _unit(rows: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_recall_is_one_for_exact_hits_and_counts_ties_as_found() -> None:
    base = _unit(50)
    queries = base[:5]
    thresholds = benchmarks.exact_thresholds(queries, base)
    exact = [list(np.argsort(-(base @ q))[:10]) for q in queries]
    assert benchmarks.recall_at_k(queries, exact, base, thresholds) == 1.0
    # an identical vector at the boundary is as good as the one exact search listed
    twin = np.vstack([base, base[exact[0][9]]])
    hits = [exact[0][:9] + [50]]
    assert benchmarks.recall_at_k(queries[:1], hits, twin, thresholds[:1]) == 1.0
    # half the hits wrong, a repeated hit and an unknown id count for nothing
    far = list(np.argsort(base @ queries[0])[:5])
    assert benchmarks.recall_at_k(queries[:1], [exact[0][:5] + far], base, thresholds[:1]) == 0.5
    assert benchmarks.recall_at_k(queries[:1], [[exact[0][0]] * 10 + [-1]], base, thresholds[:1]) == 0.1


def test_recall_of_a_filtered_search_is_out_of_the_candidates_it_could_find() -> None:
    base = _unit(40, seed=1)
    rows = np.array([3, 7, 11])  # a rare genre: three movies
    q = base[3:4]
    thresholds = benchmarks.exact_thresholds(q, base[rows])
    assert benchmarks.recall_at_k(q, [[3, 7, 11]], base, thresholds, [3]) == 1.0
    assert benchmarks.recall_at_k(q, [[3]], base, thresholds, [3]) == pytest.approx(1 / 3)


def test_vector_stats_find_nan_zero_rows_and_dimension_across_blocks() -> None:
    vectors = _unit(7, dim=4)
    vectors[2] = np.nan
    vectors[5] = 0.0
    frame = pl.DataFrame({"embedding": vectors}, schema={"embedding": pl.Array(pl.Float32, 4)}).lazy()
    stats = counts.vector_stats(frame, chunk_rows=3)
    assert (stats.rows, stats.dim, stats.nan_rows, stats.zero_rows) == (7, 4, 1, 1)
    assert stats.norm_min == 0.0 and stats.norm_max == pytest.approx(1.0, abs=1e-6)
    assert stats.norm_mean == pytest.approx(5 / 6, abs=1e-6)
    problems = stats.problems("media_embeddings", expected_dim=384)
    assert any("dimension 4, expected 384" in p for p in problems)
    assert any("1 rows hold NaN" in p for p in problems) and any("1 all-zero rows" in p for p in problems)
    empty = counts.vector_stats(frame.head(0))
    assert (empty.rows, empty.dim, empty.norm_mean) == (0, 4, 0.0)


def test_a_count_message_names_store_object_and_both_counts() -> None:
    row = counts.Count("Redis", "platform", "tv5:platform:*", "keys", "movies in platform_availability", 104, 103)
    assert not row.matches
    assert row.message() == "Redis tv5:platform:*: expected 104 keys (movies in platform_availability), found 103"
    down = counts.Count("Milvus", "media_embeddings", "media_embeddings", "entities", "rows", 1_250, None, "refused")
    assert down.message().endswith("expected 1,250 entities (rows), found nothing (not read) (refused)")
    assert counts.Count.from_json(down.as_json()) == down


def test_a_store_that_cannot_be_read_gives_every_object_the_reason() -> None:
    def read():
        raise ConnectionError("PostgreSQL at 127.0.0.1:1/tv5 is not reachable (connection refused)\nmore")

    names = {"policies": ("agentdb.policies", "rows"), "episodes": ("agentdb.episodes", "rows")}
    found = counts.guarded(names, read)
    assert {f.count for f in found.values()} == {None}
    assert found["episodes"].note == "PostgreSQL at 127.0.0.1:1/tv5 is not reachable (connection refused)"
    ok = counts.guarded(names, lambda: {"policies": 3, "episodes": (0, "table does not exist")})
    assert ok["policies"].count == 3 and ok["episodes"] == counts.Found(
        "agentdb.episodes", "rows", 0, "table does not exist"
    )


def test_store_checks_fail_on_any_difference_and_pass_only_with_counts() -> None:
    rows = [
        counts.Count("Neo4j", "Movie", "(:Movie)", "nodes", "rows of movies", 125, 125),
        counts.Count("Neo4j", "RATED", "[:RATED]", "relationships", "pairs", 12_187, 12_186),
        counts.Count("Redis", "trend", "tv5:trend:*", "keys", "latest day", 125, 125),
    ]
    neo4j = store_count_result("neo4j_counts_match", "Neo4j", rows)
    assert not neo4j.passed
    assert neo4j.description == "Neo4j [:RATED]: expected 12,187 relationships (pairs), found 12,186"
    assert neo4j.metadata["RATED_found"].value == 12_186 and neo4j.metadata["RATED_expected"].value == 12_187
    assert store_count_result("redis_counts_match", "Redis", rows).passed
    assert not store_count_result("milvus_counts_match", "Milvus", rows).passed  # nothing recorded


def test_embedding_check_fails_on_a_wrong_milvus_dimension() -> None:
    good = {"rows": 3, "dim": 384, "nan_rows": 0, "zero_rows": 0, "norm_min": 1.0, "norm_mean": 1.0, "norm_max": 1.0}
    assert embeddings_result({"media_embeddings": {**good, "milvus_dim": 384}}).passed
    result = embeddings_result({"media_embeddings": {**good, "milvus_dim": 128}})
    assert not result.passed and "media_embeddings (Milvus): dimension 128, expected 384" in result.description


def test_target_checks_warn_with_the_figure() -> None:
    figures = {
        "milvus_media_top10_p50_ms": 3.1,
        "milvus_media_top10_recall_at_10": 0.99,
        "milvus_users_top10_p50_ms": 12.5,
        "milvus_users_top10_recall_at_10": 0.9,
    }
    result = target_result("vector_search_on_target", ("milvus_media_top10", "milvus_users_top10"), figures)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert "milvus_users_top10: p50 12.50 ms, target < 10 ms" in result.description
    assert "milvus_users_top10: recall@10 0.9, target >= 0.95" in result.description
    assert result.metadata["milvus_users_top10_p50_ms"].value == 12.5
    assert target_result("vector_search_on_target", ("milvus_media_top10",), figures).passed
    missing = target_result("redis_reads_on_target", ("redis_platform_read",), {})
    assert not missing.passed and "not measured" in missing.description


def test_samples_are_deterministic_per_seed_and_stream() -> None:
    a = benchmarks.sample_rows(1_000, 200, seed=42, stream=1)
    assert np.array_equal(a, benchmarks.sample_rows(1_000, 200, seed=42, stream=1))
    assert len(set(a.tolist())) == 200  # without replacement when the table is large enough
    assert not np.array_equal(a, benchmarks.sample_rows(1_000, 200, seed=42, stream=2))
    assert len(benchmarks.sample_rows(125, 200, seed=42, stream=1)) == 200  # a small sample repeats rows
    assert len(benchmarks.sample_rows(0, 200, seed=42, stream=1)) == 0


def test_genre_filters_quote_only_catalogue_genres() -> None:
    cat = benchmarks.Catalogue(
        media_ids=np.arange(4),
        media_vectors=_unit(4),
        media_genres=[["Drama"], ['Bad") or true or ("'], [], ["Drama", "Film-Noir"]],
        user_ids=np.arange(0),
        user_keys=[],
        user_vectors=np.zeros((0, 8), dtype=np.float32),
        platform_media=[],
    )
    rows, exprs, candidates = benchmarks.genre_filters(cat, np.array([0, 1, 2, 3]), seed=1, stream=1)
    assert rows.tolist() == [0, 3]
    assert exprs[0] == 'array_contains(genres, "Drama")'
    assert candidates[0].tolist() == [0, 3]


def test_keys_short_after_their_ttl_are_reported_as_expired_with_warn_severity() -> None:
    expected = {("Redis", "trend"): counts.Expected(125, "movies of the latest trends day")}
    found = {"Redis": {"trend": counts.Found("tv5:trend:*", "keys", 0)}}
    lost = counts.compare(expected, found, {("Redis", "trend"): ("redis_trends_cache", 120.0, 900)})
    assert not lost[0].expired
    result = store_count_result("redis_counts_match", "Redis", lost)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    stale = counts.compare(expected, found, {("Redis", "trend"): ("redis_trends_cache", 1_000.0, 900)})
    assert stale[0].expired and "re-materialize redis_trends_cache" in stale[0].note
    result = store_count_result("redis_counts_match", "Redis", stale)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert "expected 125 keys" in result.description and "found 0" in result.description


def test_rated_edges_are_the_distinct_user_movie_pairs() -> None:
    ratings = pl.DataFrame(
        {"user_id": [1, 1, 2, 1, 2], "movie_id": [3, 3, 3, 4, 5]}, schema={"user_id": pl.Int32, "movie_id": pl.Int32}
    )
    assert counts.distinct_rating_pairs(ratings.lazy()) == 4
    assert counts.distinct_rating_pairs(ratings.head(0).lazy()) == 0
