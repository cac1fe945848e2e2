"""`tv5 services up | down | status`: the local stack as native processes, no Docker.

Each service lives in its own module (postgres.py, redis.py, milvus.py, neo4j.py) and subclasses
`LocalService` (base.py); the store registry (tv5_assets/registry.py) names it. A service whose URL
the user set in the environment (TV5_POSTGRES_URL, TV5_REDIS_URL, TV5_MILVUS_URI, TV5_NEO4J_URI) is
external: the platform uses it and `up`/`down` leave it alone.
"""

from __future__ import annotations

import sys

from ..registry import BY_KEY, STORE_KEYS
from .base import LocalService, ServiceStatus

# One local service per store of the registry, in its start order. Each class (or factory) is
# imported when asked for, so one missing toolchain doesn't break the others.
SERVICES = STORE_KEYS


def get_service(name: str, **options) -> LocalService:
    return BY_KEY[name].load("service")(**options)


def run_action(action: str, only: list[str] | None = None, truncate_cut_log: bool = False) -> int:
    """`truncate_cut_log`: start Neo4j once letting recovery drop an unreadable end of its log."""
    names = only or list(SERVICES)
    unknown = sorted(set(names) - set(SERVICES))
    if unknown:
        print(f"unknown service(s): {', '.join(unknown)}; choose from {', '.join(SERVICES)}", file=sys.stderr)
        return 2
    if truncate_cut_log and (action != "up" or names != ["neo4j"]):
        print("--truncate-cut-log is for `tv5 services up --only neo4j` alone", file=sys.stderr)
        return 2
    options = {"truncate_cut_log": True} if truncate_cut_log else {}
    failed = 0
    # Stop in reverse order of start.
    for name in reversed(names) if action == "down" else names:
        try:
            service = get_service(name, **options)
            status: ServiceStatus = getattr(service, action)()
        except Exception as error:  # report every service, then fail
            failed += 1
            print(f"{name:8s} ERROR    {error}", file=sys.stderr)
            continue
        state = "running" if status.running else "stopped"
        if action == "up" and not status.running:
            failed += 1
        print(f"{name:8s} {state:8s} {status.address} {status.detail}".rstrip())
    return 1 if failed else 0
