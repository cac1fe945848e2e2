"""Pure logic of the AgentDB rows (no database): episodes, policies, chunking, partition split."""

from __future__ import annotations

import json

import polars as pl
import pytest
from agentdb_frames import build_movies, build_ratings, build_user_profiles, utc

from tv5_assets.defs.postgres import schema as model
from tv5_assets.defs.postgres.loader import pg_types
from tv5_assets.defs.postgres.partitioned_load import PartitionSpec, _validate_partitions, split_contiguous
from tv5_assets.defs.postgres.transitions import (
    ACTION_SPACE,
    ARCHETYPE_PRIORS,
    EPISODE_COLUMNS,
    POLICY_COLUMNS,
    build_episodes,
    build_policies,
    movie_genre_masks,
    q_values_json,
    user_chunks,
)
from tv5_assets.schemas.movielens import RATINGS, TIME_OF_DAY


def _ratings(rows: list[tuple[int, int, float, int, str]]) -> pl.LazyFrame:
    user, movie, rating, seconds, part = zip(*rows)
    return pl.LazyFrame(
        {
            "user_id": list(user),
            "movie_id": list(movie),
            "rating": list(rating),
            "timestamp": [utc(s) for s in seconds],
            "time_of_day": list(part),
        },
        schema=RATINGS,
    )


def _genres(pairs: dict[int, list[str]]) -> pl.LazyFrame:
    movies = pl.LazyFrame(
        {"movie_id": list(pairs), "genres": list(pairs.values())},
        schema={"movie_id": pl.Int32, "genres": pl.List(pl.String)},
    )
    return movie_genre_masks(movies)


def test_episodes_follow_each_users_time_order_with_states_rewards_and_terminals():
    # Given out of order; user 1 has a timestamp tie (movie 11 before 12) and a movie without metadata (99).
    ratings = _ratings(
        [
            (1, 13, 3.0, 300, "night"),
            (2, 10, 1.0, 50, "late_night"),
            (1, 12, 3.0, 200, "morning"),
            (1, 10, 5.0, 100, "evening"),
            (1, 99, 4.0, 400, "afternoon"),
            (1, 11, 0.5, 200, "morning"),
        ]
    )
    genres = _genres({10: ["Drama", "Comedy"], 11: ["Comedy"], 12: [], 13: ["Action"]})
    episodes = build_episodes(ratings, genres, first_episode_id=1).collect()

    assert episodes.columns == EPISODE_COLUMNS
    assert episodes["episode_id"].to_list() == [1, 2, 3, 4, 5, 6]
    assert episodes["user_id"].to_list() == ["user_00000001"] * 5 + ["user_00000002"]
    assert episodes["action"].to_list() == ["ml_10", "ml_11", "ml_12", "ml_13", "ml_99", "ml_10"]
    assert episodes["step"].to_list() == [0, 1, 2, 3, 4, 0]
    assert episodes["reward"].to_list() == pytest.approx([1.0, -1.0, 1 / 9, 1 / 9, 5 / 9, -7 / 9], abs=1e-6)
    states = [json.loads(s) for s in episodes["state"]]
    # recent_genres: genres of the previous three movies, as a set in action-space order.
    assert [s["recent_genres"] for s in states] == [
        [],
        ["Comedy", "Drama"],
        ["Comedy", "Drama"],
        ["Comedy", "Drama"],
        ["Action", "Comedy"],  # movie 10 (Drama) is four ratings back: out of the window
        [],  # user 2 does not inherit user 1's history
    ]
    assert [s["time_of_day"] for s in states] == ["evening", "morning", "morning", "night", "afternoon", "late_night"]
    assert [s["step"] for s in states] == [0, 1, 2, 3, 4, 0]
    # next_state is the following state of the same user; the last rating of each user is terminal.
    next_states = episodes["next_state"].to_list()
    assert next_states[:4] == episodes["state"].to_list()[1:5]
    assert next_states[4] is None and next_states[5] is None
    assert episodes["is_terminal"].to_list() == [False, False, False, False, True, True]


def test_rewards_map_the_star_scale_onto_minus_one_to_one():
    stars = [0.5 * k for k in range(1, 11)]
    ratings = _ratings([(1, 10, s, 100 + i, "morning") for i, s in enumerate(stars)])
    rewards = build_episodes(ratings, _genres({10: []})).collect()["reward"].to_list()
    assert rewards[0] == pytest.approx(-1.0) and rewards[-1] == pytest.approx(1.0)
    assert rewards == sorted(rewards) and all(-1.0 <= r <= 1.0 for r in rewards)


def test_chunked_build_equals_whole_build():
    ratings = build_ratings().lazy()
    masks = movie_genre_masks(build_movies().lazy())
    whole = build_episodes(ratings, masks, 1).collect()
    chunks = user_chunks(ratings, target_rows=150)
    assert chunks.height > 3
    parts = [
        build_episodes(
            ratings.filter(pl.col("user_id").is_between(c["first_user"], c["last_user"])), masks, c["first_episode_id"]
        ).collect()
        for c in chunks.iter_rows(named=True)
    ]
    assert pl.concat(parts).equals(whole)


def test_user_chunks_never_split_a_user_and_number_episodes_contiguously():
    ratings = build_ratings()
    chunks = user_chunks(ratings.lazy(), target_rows=100)
    assert chunks["rows"].sum() == ratings.height
    assert chunks["first_user"].to_list()[1:] == [u + 1 for u in chunks["last_user"].to_list()[:-1]]
    expected_first = [1, *(1 + chunks["rows"].cum_sum()).to_list()[:-1]]
    assert chunks["first_episode_id"].to_list() == expected_first
    per_user = ratings.group_by("user_id").len()
    for chunk in chunks.iter_rows(named=True):
        inside = per_user.filter(pl.col("user_id").is_between(chunk["first_user"], chunk["last_user"]))
        assert inside["len"].sum() == chunk["rows"]


def test_user_chunks_rejects_a_non_positive_target():
    with pytest.raises(ValueError, match="target_rows"):
        user_chunks(build_ratings().lazy(), 0)


def test_policies_start_from_the_archetype_with_zero_visits():
    ratings = build_ratings()
    profiles = build_user_profiles(ratings)
    policies = build_policies(profiles.lazy(), ratings.lazy(), exploration_rate=0.1).collect()
    assert policies.columns == POLICY_COLUMNS
    assert policies.height == profiles.height
    assert policies["user_id"].to_list() == profiles["user_key"].to_list()
    assert policies["total_visits"].to_list() == [0] * policies.height
    assert policies["exploration_rate"].to_list() == pytest.approx([0.1] * policies.height)
    assert policies["state_hash"].null_count() == policies.height
    last = ratings.group_by("user_id").agg(pl.col("timestamp").max()).sort("user_id")["timestamp"]
    assert policies["updated_at"].to_list() == last.to_list()
    for row in policies.iter_rows(named=True):
        q = json.loads(row["q_values"])
        assert list(q) == ACTION_SPACE
        assert q == {g: ARCHETYPE_PRIORS[row["archetype"]].get(g, 0.0) for g in ACTION_SPACE}


def test_unknown_archetype_starts_neutral():
    assert json.loads(q_values_json("not-an-archetype")) == {g: 0.0 for g in ACTION_SPACE}


def test_every_archetype_has_priors_over_real_actions():
    from tv5_assets.defs.synthetic.schemas import ARCHETYPES

    assert set(ARCHETYPE_PRIORS) == set(ARCHETYPES)
    assert all(set(priors) <= set(ACTION_SPACE) for priors in ARCHETYPE_PRIORS.values())


@pytest.mark.parametrize(
    ("weights", "parts", "expected"),
    [
        ([5, 5, 5, 5], 2, [range(0, 2), range(2, 4)]),
        ([10, 1, 1, 1], 3, [range(0, 1), range(1, 2), range(2, 4)]),
        ([1], 4, [range(0, 1)]),
        ([], 2, []),
        ([3, 3, 3], 1, [range(0, 3)]),
        ([1, 1, 1, 100], 2, [range(0, 3), range(3, 4)]),
    ],
)
def test_split_contiguous(weights, parts, expected):
    runs = split_contiguous(weights, parts)
    assert runs == expected
    assert [i for r in runs for i in r] == list(range(len(weights)))


def test_partitions_must_cover_the_key_space_contiguously():
    def none():
        return iter(())

    _validate_partitions([PartitionSpec(None, 10, none), PartitionSpec(10, None, none)])
    with pytest.raises(ValueError, match="contiguous"):
        _validate_partitions([PartitionSpec(None, 10, none), PartitionSpec(11, None, none)])
    with pytest.raises(ValueError, match="MINVALUE"):
        _validate_partitions([PartitionSpec(1, None, none)])


def test_the_binary_copy_column_order_puts_fixed_width_types_first():
    types = pg_types(model.episodes)
    assert set(types) == set(EPISODE_COLUMNS)
    assert list(types)[:6] == ["episode_id", "step", "timestamp", "rating", "reward", "is_terminal"]
    assert types["state"] == "jsonb" and types["timestamp"] == "timestamptz"


def test_staging_and_swap_ddl_derive_from_the_one_model():
    ddl = model.create_staging_ddl(model.episodes, "agentdb", "episodes__staging_x_p0", check='"episode_id" < 10')
    assert "CREATE TABLE agentdb.episodes__staging_x_p0" in ddl and "JSONB" in ddl and "PRIMARY KEY" not in ddl
    keys = dict(model.keys_ddl(model.episodes, "agentdb", "episodes__staging_x"))
    assert "PRIMARY KEY (episode_id)" in keys["primary key"]
    assert keys["episodes_user_id_timestamp_idx"].startswith("CREATE INDEX episodes__staging_x_user_id_timestamp_idx")
    renames = model.rename_ddl(model.episodes, "agentdb", "episodes__staging_x", "episodes")
    assert "RENAME TO episodes" in renames[0]
    assert any("RENAME TO episodes_user_id_timestamp_idx" in r for r in renames)


def test_time_of_day_vocabulary_is_json_safe():
    # State documents are assembled as text; their vocabularies must need no escaping.
    assert all(ch.isalnum() or ch in "-_" for word in [*TIME_OF_DAY, *ACTION_SPACE] for ch in word)
