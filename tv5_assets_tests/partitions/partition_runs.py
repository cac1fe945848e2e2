"""Run the user-growing assets in one deployment mode, in a fresh process (the mode is read when the
definitions are imported), against the stores named by the environment:

    python partition_runs.py full            # unpartitioned: the Neo4j nodes, then the four assets
    python partition_runs.py partitions K..  # TV5_USER_PARTITIONS set: each partition key in turn

TV5_TEST_PG_SCHEMA and TV5_TEST_MILVUS_PREFIX keep the test's PostgreSQL tables and Milvus
collections apart from a developer's; Neo4j is the configured database (the test empties it).
Every materialization runs the assets' checks too; a failed check fails the process.
"""

from __future__ import annotations

import os
import sys

import dagster as dg

USER_ASSETS = ["user_embeddings", "agentdb_episodes", "neo4j_ratings", "milvus_user_collection"]
FULL_ONLY = ["neo4j_constraints", "neo4j_movies", "neo4j_users"]


def _definitions() -> tuple[list, dict]:
    from tv5_assets.definitions import defs as load_defs
    from tv5_assets.resources.milvus import milvus_resource_from_env
    from tv5_assets.resources.postgres import postgres_resource_from_env

    defs = load_defs()
    resources = dict(defs.resources or {})
    resources["postgres"] = postgres_resource_from_env(schema_name=os.environ["TV5_TEST_PG_SCHEMA"])
    resources["milvus"] = milvus_resource_from_env(collection_prefix=os.environ["TV5_TEST_MILVUS_PREFIX"])
    return [*(defs.assets or []), *(defs.asset_checks or [])], resources


def _selection(names: list[str]) -> str:
    return " or ".join(f"key:{name}" for name in names)


def _run(assets: list, resources: dict, names: list[str], key: str | None = None) -> bool:
    result = dg.materialize(
        assets, selection=_selection(names), resources=resources, partition_key=key, raise_on_error=False
    )
    failed = [e.asset_check_key.to_user_string() for e in result.get_asset_check_evaluations() if not e.passed]
    if not result.success or failed:
        print(f"{names} partition {key}: success={result.success}, failed checks {failed}", file=sys.stderr)
    return result.success and not failed


def main(argv: list[str]) -> int:
    mode, keys = argv[0], argv[1:]
    assets, resources = _definitions()
    if mode == "full":
        ok = _run(assets, resources, FULL_ONLY) and _run(assets, resources, USER_ASSETS)
    else:
        ok = all(_run(assets, resources, USER_ASSETS, key) for key in keys)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
