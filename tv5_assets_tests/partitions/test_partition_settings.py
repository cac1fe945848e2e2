"""The partition setting, the keys it gives, the IO manager's per-partition files, and the pieces of a
partitioned load that need no store (episode numbering, Milvus stale-key filters, user vectors)."""

from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from tv5_assets.defs.embeddings.user_vectors import user_preference_vectors
from tv5_assets.defs.postgres.assets import episode_range_batches
from tv5_assets.defs.postgres.transitions import build_episodes, movie_genre_masks
from tv5_assets.io_managers import Tv5IOManager, read_frame
from tv5_assets.partitions import PartitionSettingError, UserRange, key_digits, parse_ranges, range_of
from tv5_assets.stores.milvus.loading import stale_filters


def test_off_by_default() -> None:
    for text in ("", " ", "0", "off", "none"):
        assert parse_ranges(text) is None


def test_grid_setting_gives_contiguous_ranges_with_an_open_end() -> None:
    ranges = parse_ranges("3x40000")
    assert ranges == [UserRange(1, 40000), UserRange(40001, 80000), UserRange(80001, None)]
    assert [r.key(key_digits(ranges)) for r in ranges] == [
        "users-000001-040000",
        "users-040001-080000",
        "users-080001-up",
    ]


def test_explicit_ranges_and_keys_round_trip() -> None:
    ranges = parse_ranges("1-50000, 50001-1000000, 1000001-")
    digits = key_digits(ranges)
    assert digits == 7
    for r in ranges:
        assert range_of(r.key(digits)) == r
    assert range_of("users-000001-040000").key_bounds() == ("user_00000001", "user_00040000")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2-100,101-", "start at user id 1"),
        ("1-100,101-200", "open-ended"),
        ("1-100,102-", "contiguous"),
        ("1-100,50-", "contiguous"),
        ("four", "is not a range"),
        ("0x100", "at least 1"),
    ],
)
def test_bad_settings_say_what_is_accepted(text: str, problem: str) -> None:
    with pytest.raises(PartitionSettingError, match=problem):
        parse_ranges(text)


def test_range_predicate_selects_exactly_the_range() -> None:
    frame = pl.DataFrame({"user_id": [1, 110, 111, 220, 221, 10_000]})
    assert frame.filter(UserRange(111, 220).contains_expr())["user_id"].to_list() == [111, 220]
    assert frame.filter(UserRange(221, None).contains_expr())["user_id"].to_list() == [221, 10_000]


def test_io_manager_writes_one_file_per_partition_and_reads_them_back(tmp_path: Path) -> None:
    partitions = dg.StaticPartitionsDefinition(["users-000001-000002", "users-000003-up"])
    frames = {
        "users-000001-000002": pl.DataFrame({"user_id": [1, 2], "x": [0.5, 1.5]}),
        "users-000003-up": pl.DataFrame({"user_id": [3, 7], "x": [2.5, 3.5]}),
    }

    @dg.asset(partitions_def=partitions)
    def per_user(context: dg.AssetExecutionContext) -> pl.DataFrame:
        return frames[context.partition_key]

    @dg.asset
    def everyone(per_user: pl.DataFrame) -> pl.DataFrame:
        return per_user

    io = Tv5IOManager(base_dir=str(tmp_path))
    for key in partitions.get_partition_keys():
        assert dg.materialize([per_user], partition_key=key, resources={"io_manager": io}).success
    assert sorted(p.name for p in (tmp_path / "per_user.partitions").iterdir()) == [f"{k}.parquet" for k in frames]
    assert not (tmp_path / "per_user.parquet").exists()
    assert dg.materialize([per_user, everyone], selection="everyone", resources={"io_manager": io}).success
    expected = pl.concat(list(frames.values()))
    assert pl.read_parquet(tmp_path / "everyone.parquet").equals(expected)
    assert read_frame("per_user", lazy=False, base_dir=tmp_path).equals(expected)


def _ratings() -> tuple[pl.LazyFrame, pl.LazyFrame]:
    rng = np.random.default_rng(3)
    n = 3000
    ratings = pl.DataFrame(
        {
            "user_id": rng.integers(1, 90, n).astype(np.int32),
            "movie_id": rng.integers(1, 40, n).astype(np.int32),
            "rating": (rng.integers(1, 11, n) / 2).astype(np.float32),
            "timestamp": pl.Series(rng.integers(10**9, 10**9 + 10**7, n) * 1_000_000).cast(pl.Datetime("us", "UTC")),
            "time_of_day": rng.choice(["morning", "evening"], n),
        }
    ).unique(["user_id", "movie_id"], keep="first", maintain_order=True)
    movies = pl.DataFrame({"movie_id": np.arange(1, 40, dtype=np.int32), "genres": [["Drama", "Comedy"]] * 39})
    return ratings.lazy(), movies.lazy()


def test_episode_ranges_number_rows_as_the_whole_table_does() -> None:
    ratings, movies = _ratings()
    whole = build_episodes(ratings, movie_genre_masks(movies)).collect()
    parts = []
    for users in (UserRange(1, 30), UserRange(31, 60), UserRange(61, None)):
        batches, _ = episode_range_batches(ratings, movies, users, batch_ratings=200)
        parts.extend(batches)
    assert pl.concat(parts).equals(whole)


def test_user_vectors_of_a_range_are_bit_identical_to_the_full_run() -> None:
    ratings, _ = _ratings()
    movie_ids = np.arange(1, 40)
    vectors = np.random.default_rng(5).normal(size=(39, 384)).astype(np.float32)
    whole = user_preference_vectors(ratings, movie_ids, vectors).frame()
    parts = [
        user_preference_vectors(ratings.filter(r.contains_expr()), movie_ids, vectors).frame()
        for r in (UserRange(1, 45), UserRange(46, None))
    ]
    assert pl.concat(parts).equals(whole)


def test_stale_filters_cover_exactly_the_missing_keys() -> None:
    kept = np.array([3, 4, 7, 10])
    (expression,) = stale_filters("pk", kept, first=1, last=12)
    assert expression == "(pk > 0 and pk < 3) or (pk > 4 and pk < 7) or (pk > 7 and pk < 10) or (pk > 10 and pk < 13)"
    (open_end,) = stale_filters("pk", np.array([5]), first=5, last=None)
    assert open_end == "(pk > 5)"
    assert stale_filters("pk", np.arange(1, 13), first=1, last=12) == []


def test_partitioned_mode_partitions_exactly_the_user_growing_assets_and_their_checks() -> None:
    """In a fresh process with TV5_USER_PARTITIONS set (read at import): the four assets, every check
    on them, and the `user_partitions` job share the range partitions; nothing else is partitioned."""
    import json
    import os
    import subprocess
    import sys

    probe = (
        "import json\n"
        "from tv5_assets.definitions import defs\n"
        "d = defs(); g = d.get_repository_def().asset_graph\n"
        "nodes = [g.get(k) for k in g.get_all_asset_keys() if g.get(k).partitions_def]\n"
        "assets = {n.key.to_user_string(): n.partitions_def.get_partition_keys() for n in nodes}\n"
        "checks = [g.get(c).partitions_def is not None for n in nodes for c in n.check_keys]\n"
        "job = d.resolve_job_def('user_partitions').partitions_def.get_partition_keys()\n"
        "print(json.dumps({'assets': assets, 'checks': checks, 'job': job}))\n"
    )
    env = {**os.environ, "TV5_USER_PARTITIONS": "2x100"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    keys = ["users-000001-000100", "users-000101-up"]
    assert found["assets"] == {
        name: keys for name in ("agentdb_episodes", "milvus_user_collection", "neo4j_ratings", "user_embeddings")
    }
    assert found["job"] == keys
    assert found["checks"] == [True] * 9  # embeddings 2, episodes 1, RATED 2, Milvus 4: all partitioned


def test_a_run_without_a_partition_key_is_refused_in_partitioned_mode(monkeypatch) -> None:
    from tv5_assets.partitions import context_range

    class Unkeyed:
        has_partition_key = False

    monkeypatch.delenv("TV5_USER_PARTITIONS", raising=False)
    assert context_range(Unkeyed()) is None
    monkeypatch.setenv("TV5_USER_PARTITIONS", "2x100")
    with pytest.raises(dg.Failure, match="no partition key"):
        context_range(Unkeyed())
