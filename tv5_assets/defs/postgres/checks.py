"""Checks of the AgentDB that query the live PostgreSQL tables (blocking: bad data stops downstream)."""

import dagster as dg
import polars as pl

from ...partitions import context_range, user_partitions_def
from ...resources.postgres import PostgresResource
from .assets import agentdb_episodes, agentdb_policies
from .transitions import ACTION_SPACE

SAMPLE_EPISODES = 10


def _qualified(schema: str, table: str) -> str:
    from .schema import qualified  # SQLAlchemy, imported where used (fast code-location start)

    return qualified(schema, table)


def _primary_key_columns(conn, schema: str, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = to_regclass(%s) AND i.indisprimary ORDER BY a.attnum",
        (_qualified(schema, table),),
    ).fetchall()
    return [r[0] for r in rows]


def _missing_table(postgres: PostgresResource, table: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=False,
        metadata={"problem": f"{postgres.schema_name}.{table} does not exist at {postgres.address}"},
    )


@dg.asset_check(
    asset=agentdb_policies,
    blocking=True,
    additional_ins={"user_profiles": dg.AssetIn("user_profiles")},
    description="policies holds one row per user profile (same count, unique user_id primary key), every "
    "Q-value document covers the whole action space, and exploration rates and visit counts are in range.",
)
def agentdb_policies_match_profiles(postgres: PostgresResource, user_profiles: pl.LazyFrame) -> dg.AssetCheckResult:
    expected = user_profiles.select(pl.len()).collect().item()
    schema = postgres.schema_name
    table = _qualified(schema, "policies")
    with postgres.connection(autocommit=True) as conn:
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
            return _missing_table(postgres, "policies")
        rows, distinct_users, bad_q, bad_rate, bad_visits = conn.execute(
            f"SELECT count(*), count(DISTINCT user_id), "
            f"count(*) FILTER (WHERE NOT (q_values ?& %s)), "
            f"count(*) FILTER (WHERE exploration_rate NOT BETWEEN 0 AND 1), "
            f"count(*) FILTER (WHERE total_visits < 0) FROM {table}",
            (ACTION_SPACE,),
        ).fetchone()
        key = _primary_key_columns(conn, schema, "policies")
    problems = []
    if rows != expected:
        problems.append(f"{rows} rows, but user_profiles has {expected}")
    if distinct_users != rows:
        problems.append(f"{rows - distinct_users} duplicate user_id value(s)")
    if key != ["user_id"]:
        problems.append(f"primary key is {key or 'missing'}, expected (user_id)")
    if bad_q:
        problems.append(f"{bad_q} q_values document(s) lack some of the {len(ACTION_SPACE)} actions")
    if bad_rate:
        problems.append(f"{bad_rate} exploration rate(s) outside [0, 1]")
    if bad_visits:
        problems.append(f"{bad_visits} negative visit count(s)")
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "rows": rows,
            "expected_rows": expected,
            "distinct_user_ids": distinct_users,
            "primary_key": ", ".join(key),
            "problems": "; ".join(problems) or "none",
        },
    )


def _episode_scope(context: dg.AssetCheckExecutionContext, ratings: pl.LazyFrame) -> tuple:
    """(ratings in scope, SQL filter, its parameters, first expected episode id): every rating, or the
    partition's user range."""
    users = context_range(context)
    if users is None:
        return ratings, "TRUE", [], 1
    before = ratings.filter(pl.col("user_id") < users.first).select(pl.len()).collect().item()
    first, last = users.key_bounds()
    if last is None:
        return ratings.filter(users.contains_expr()), "user_id >= %s", [first], before + 1
    return ratings.filter(users.contains_expr()), "user_id BETWEEN %s AND %s", [first, last], before + 1


@dg.asset_check(
    asset=agentdb_episodes,
    blocking=True,
    additional_ins={"ratings": dg.AssetIn("ratings")},
    description="episodes holds one row per rating with ids 1..N under a primary key, one terminal transition "
    "per user, rewards in [-1, 1], and a user's last 10 episodes come back newest first through the "
    "(user_id, timestamp) index. Partitioned: the same, within the partition's user range (ids continue "
    "after the ratings of the users below it).",
    partitions_def=user_partitions_def(),
)
def agentdb_episodes_match_ratings(
    context: dg.AssetCheckExecutionContext, postgres: PostgresResource, ratings: pl.LazyFrame
) -> dg.AssetCheckResult:
    ratings, where, params, first_id = _episode_scope(context, ratings)
    summary = ratings.select(
        pl.len().alias("rows"), pl.col("user_id").n_unique().alias("users"), pl.col("user_id").min().alias("first_user")
    ).collect()
    expected_rows, expected_users, first_user = summary.row(0)
    schema = postgres.schema_name
    table = _qualified(schema, "episodes")
    with postgres.connection(autocommit=True) as conn:
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
            return _missing_table(postgres, "episodes")
        rows, min_id, max_id, terminals, min_reward, max_reward, null_next = conn.execute(
            f"SELECT count(*), min(episode_id), max(episode_id), count(*) FILTER (WHERE is_terminal), "
            f"min(reward), max(reward), count(*) FILTER (WHERE next_state IS NULL) FROM {table} WHERE {where}",
            params,
        ).fetchone()
        key = _primary_key_columns(conn, schema, "episodes")
        sample: list[tuple] = []
        user_rows = 0
        if first_user is not None:
            user_key = f"user_{int(first_user):08d}"
            sample = conn.execute(
                f"SELECT episode_id, step, timestamp FROM {table} WHERE user_id = %s ORDER BY timestamp DESC, step DESC "
                f"LIMIT {SAMPLE_EPISODES}",
                (user_key,),
            ).fetchall()
            user_rows = ratings.filter(pl.col("user_id") == first_user).select(pl.len()).collect().item()
    problems = []
    if rows != expected_rows:
        problems.append(f"{rows} rows, but ratings has {expected_rows}")
    if rows and (min_id != first_id or max_id != first_id + rows - 1):
        problems.append(f"episode ids span {min_id}..{max_id}, expected {first_id}..{first_id + rows - 1}")
    if key != ["episode_id"]:
        problems.append(f"primary key is {key or 'missing'}, expected (episode_id)")
    if terminals != expected_users:
        problems.append(f"{terminals} terminal transitions, expected one per user ({expected_users})")
    if null_next != terminals:
        problems.append(f"{null_next} NULL next_state values but {terminals} terminal transitions")
    if rows and (min_reward < -1 or max_reward > 1):
        problems.append(f"rewards span [{min_reward}, {max_reward}], outside [-1, 1]")
    expected_sample = min(SAMPLE_EPISODES, user_rows)
    steps = [r[1] for r in sample]
    if len(sample) != expected_sample:
        problems.append(
            f"sample query returned {len(sample)} episode(s) for user {first_user}, expected {expected_sample}"
        )
    elif steps != sorted(steps, reverse=True) or (steps and steps[0] != user_rows - 1):
        problems.append(f"sample query for user {first_user} is not the newest episodes first: steps {steps}")
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "rows": rows,
            "expected_rows": expected_rows,
            "terminal_transitions": terminals,
            **({"min_reward": float(min_reward), "max_reward": float(max_reward)} if rows else {}),
            "primary_key": ", ".join(key),
            "sample_user": f"user_{int(first_user):08d}" if first_user is not None else "",
            "sample_steps": dg.MetadataValue.json(steps),
            "problems": "; ".join(problems) or "none",
        },
    )


CHECKS = [agentdb_policies_match_profiles, agentdb_episodes_match_ratings]
