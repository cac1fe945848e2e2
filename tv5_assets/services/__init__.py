"""`tv5 services up | down | status`: the local stack as native processes, no Docker.

Each service lives in its own module (postgres.py, redis.py, milvus.py, neo4j.py) and subclasses
`LocalService` (base.py). A service whose URL the user set in the environment (TV5_POSTGRES_URL,
TV5_REDIS_URL, TV5_MILVUS_URI, TV5_NEO4J_URI) is external: the platform uses it and `up`/`down`
leave it alone.
"""

from __future__ import annotations

import importlib
import sys

from .base import LocalService, ServiceStatus

# name -> (module, class or factory); imported lazily so one missing toolchain doesn't break the others.
SERVICE_CLASSES: dict[str, tuple[str, str]] = {
    "postgres": ("tv5_assets.services.postgres", "PostgresService"),
    "redis": ("tv5_assets.services.redis", "RedisService"),
    "milvus": ("tv5_assets.services.milvus", "local_milvus_service"),
    "neo4j": ("tv5_assets.services.neo4j", "Neo4jService"),
}


def get_service(name: str) -> LocalService:
    module_name, class_name = SERVICE_CLASSES[name]
    return getattr(importlib.import_module(module_name), class_name)()


def run_action(action: str, only: list[str] | None = None) -> int:
    names = only or list(SERVICE_CLASSES)
    unknown = sorted(set(names) - set(SERVICE_CLASSES))
    if unknown:
        print(f"unknown service(s): {', '.join(unknown)}; choose from {', '.join(SERVICE_CLASSES)}", file=sys.stderr)
        return 2
    failed = 0
    # Stop in reverse order of start.
    for name in reversed(names) if action == "down" else names:
        try:
            service = get_service(name)
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
