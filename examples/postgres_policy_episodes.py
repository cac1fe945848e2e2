"""A user's reinforcement-learning policy and latest episodes from the AgentDB (PostgreSQL).

python examples/postgres_policy_episodes.py --user-id 1 --episodes 5
"""

import argparse
import sys

from _common import print_table
from psycopg import errors, sql

from tv5_assets.resources.postgres import postgres_resource_from_env

POLICY = "SELECT archetype, exploration_rate, total_visits, q_values FROM {}.policies WHERE user_id = %s"
EPISODES = (
    "SELECT step, timestamp, action, rating, reward, is_terminal FROM {}.episodes "
    "WHERE user_id = %s ORDER BY timestamp DESC, step DESC LIMIT %s"
)


def main() -> None:
    parser = argparse.ArgumentParser(description="Show a user's policy and latest episodes (PostgreSQL AgentDB).")
    parser.add_argument("--user-id", type=int, default=1, help="MovieLens userId (default: 1)")
    parser.add_argument("--episodes", type=int, default=5, help="latest episodes to show (default: 5)")
    args = parser.parse_args()
    user_id = f"user_{args.user_id:08d}"

    agentdb = postgres_resource_from_env().process_config_and_initialize()
    schema = sql.Identifier(agentdb.schema_name)
    try:
        with agentdb.connection() as conn:
            policy = conn.execute(sql.SQL(POLICY).format(schema), (user_id,)).fetchone()
            episodes = conn.execute(sql.SQL(EPISODES).format(schema), (user_id, args.episodes)).fetchall()
    except errors.UndefinedTable as error:
        sys.exit(f"the AgentDB at {agentdb.address} is not loaded ({error.diag.message_primary}); materialize it")
    if policy is None:
        sys.exit(f"{user_id} has no policy in {agentdb.address}; materialize agentdb_policies")

    archetype, epsilon, visits, q_values = policy
    best = sorted(q_values.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    print(f"Policy of {user_id}: archetype {archetype}, epsilon {epsilon:.2f}, {visits} visits")
    print("Best actions (genre: Q-value): " + ", ".join(f"{genre}: {q:.3f}" for genre, q in best))
    print(f"\nLatest {len(episodes)} episodes:")
    print_table(
        ["step", "timestamp", "action", "rating", "reward", "terminal"],
        [(s, f"{ts:%Y-%m-%d %H:%M}", a, r, f"{rw:+.2f}", t) for s, ts, a, r, rw, t in episodes],
    )


if __name__ == "__main__":
    main()
