"""A user's neighbourhood in the knowledge graph (Neo4j): their top-rated movies with genres, and the
users who rated the most of the same movies.

    python examples/neo4j_user_neighbourhood.py --user-id 1 --limit 5
"""

import argparse
import sys

from _common import print_table

from tv5_assets.resources.neo4j import neo4j_resource_from_env

PROFILE = "MATCH (u:User {user_id: $user_id}) RETURN u.archetype AS archetype, u.country AS country"
TOP_RATED = """
MATCH (:User {user_id: $user_id})-[r:RATED]->(m:Movie)
WITH m, r ORDER BY r.score DESC, r.timestamp DESC, m.media_id LIMIT $limit
OPTIONAL MATCH (m)-[:HAS_GENRE]->(g:Genre)
RETURN m.media_id AS media_id, m.display_title AS title, r.score AS score, collect(g.name) AS genres
ORDER BY score DESC, media_id
"""
NEIGHBOURS = """
MATCH (:User {user_id: $user_id})-[:RATED]->(m:Movie)<-[:RATED]-(other:User)
RETURN other.user_id AS user_id, other.archetype AS archetype, count(m) AS shared_movies
ORDER BY shared_movies DESC, user_id LIMIT $limit
"""


def main() -> None:
    parser = argparse.ArgumentParser(description="Show a user's neighbourhood in the Neo4j knowledge graph.")
    parser.add_argument("--user-id", type=int, default=1, help="MovieLens userId (default: 1)")
    parser.add_argument("--limit", type=int, default=5, help="rows per table (default: 5)")
    args = parser.parse_args()
    params = {"user_id": f"user_{args.user_id:08d}", "limit": args.limit}

    graph = neo4j_resource_from_env().process_config_and_initialize()
    with graph.driver() as driver:
        profile, _, _ = driver.execute_query(PROFILE, params, database_=graph.database)
        if not profile:
            sys.exit(f"{params['user_id']} is not in the graph at {graph.address}; materialize the neo4j group")
        rated, _, _ = driver.execute_query(TOP_RATED, params, database_=graph.database)
        neighbours, _, _ = driver.execute_query(NEIGHBOURS, params, database_=graph.database)

    print(f"{params['user_id']} ({profile[0]['archetype']}, {profile[0]['country']}), top-rated movies:")
    print_table(
        ["media_id", "title", "score", "genres"],
        [(r["media_id"], r["title"], r["score"], "|".join(sorted(r["genres"]))) for r in rated],
    )
    print(f"\nUsers who rated the same movies as {params['user_id']}:")
    print_table(["user_id", "archetype", "shared_movies"], [tuple(r.values()) for r in neighbours])


if __name__ == "__main__":
    main()
