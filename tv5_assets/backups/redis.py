"""Cache backup: every key of the platform's namespace as Redis' own DUMP payload plus its PTTL.

The logical form works against any server (an external one whose RDB file is out of reach too):
SCAN the namespace, then `DUMP` and `PTTL` each key, pipelined, into a Parquet file (key, value
bytes, milliseconds left or 0 for no expiry). Restore is `RESTORE key ttl value REPLACE` per key,
pipelined, so TTLs are kept (counted from the restore, not the backup); keys of the namespace that
the backup does not hold are unlinked afterwards. Keys change one by one
during a SCAN, so the file is per-key consistent; the platform's cache loads swap whole keys by
RENAME, so no key is ever half-written.

For the local server the backup also copies an RDB snapshot (`BGSAVE`, wait until it finishes,
copy `CONFIG GET dir`/`dbfilename`): the server's own point-in-time image of the whole instance,
for a restore by replacing the file while the server is stopped.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import polars as pl
import redis as redis_py

from ..endpoints import REDIS
from ..resources.redis import RedisResource, glob_escape
from .common import BackupError, StoreBackup, file_entries

KEYS_FILE = "redis/keys.parquet"
RDB_FILE = "redis/dump.rdb"
SCAN_COUNT = 1000
BGSAVE_TIMEOUT_S = 600.0


def namespace_pattern(resource: RedisResource) -> str:
    return f"{glob_escape(resource.namespace)}:*"


def dump_keys(client: redis_py.Redis, pattern: str) -> pl.DataFrame:
    """(key, pttl_ms, value) of every key matching `pattern`; a key that expired meanwhile is left out."""
    keys, ttls, values = [], [], []
    batch: list[bytes] = []

    def flush() -> None:
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.pttl(key)
            pipe.dump(key)
        replies = pipe.execute()
        for key, ttl, value in zip(batch, replies[0::2], replies[1::2], strict=True):
            if value is not None and ttl != -2:
                keys.append(key)
                ttls.append(max(int(ttl), 0))  # -1 (no expiry) -> 0, RESTORE's "persist"
                values.append(value)
        batch.clear()

    for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
        batch.append(key)
        if len(batch) >= SCAN_COUNT:
            flush()
    if batch:
        flush()
    return pl.DataFrame(
        {"key": keys, "pttl_ms": ttls, "value": values},
        schema={"key": pl.Binary, "pttl_ms": pl.Int64, "value": pl.Binary},
    ).sort("key")


def count_keys(client: redis_py.Redis, pattern: str) -> int:
    return sum(1 for _ in client.scan_iter(match=pattern, count=SCAN_COUNT))


def copy_rdb(client: redis_py.Redis, target: Path, timeout_s: float = BGSAVE_TIMEOUT_S) -> None:
    """BGSAVE (after any save already running), wait until LASTSAVE moves past it, copy the RDB file."""
    before = client.lastsave()
    time.sleep(1.0)  # LASTSAVE has one-second resolution: our save must show a later second
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client.bgsave()
            break
        except redis_py.ResponseError as error:  # another save is running: ours starts after it
            if "in progress" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    while client.info("persistence").get("rdb_bgsave_in_progress") or client.lastsave() <= before:
        if time.monotonic() > deadline:
            raise BackupError(f"Redis BGSAVE did not finish within {timeout_s:.0f} s")
        time.sleep(0.2)
    if client.info("persistence").get("rdb_last_bgsave_status") != "ok":
        raise BackupError("Redis BGSAVE failed; see the server log")
    folder = client.config_get("dir")["dir"]
    name = client.config_get("dbfilename")["dbfilename"]
    shutil.copyfile(Path(folder) / name, target)


def backup_redis(resource: RedisResource, root: Path, rdb: bool | None = None) -> StoreBackup:
    """Keys of the namespace to root/redis/keys.parquet; plus the RDB file for the local server."""
    started = time.perf_counter()
    target = root / KEYS_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    pattern = namespace_pattern(resource)
    client = resource.client()
    try:
        frame = dump_keys(client, pattern)
        frame.write_parquet(target)
        files = [target]
        if rdb if rdb is not None else not REDIS.external():
            copy_rdb(client, root / RDB_FILE)
            files.append(root / RDB_FILE)
        live = count_keys(client, pattern)
        version = str(client.info("server").get("redis_version", "?"))
    finally:
        client.close()
    return StoreBackup(
        store="redis",
        address=resource.address,
        files=file_entries(root, files),
        counts={"keys": frame.height},
        live_counts={"keys": live},
        tools={"redis-server": version, "form": "DUMP/PTTL per key (+ RDB for the local server)"},
        seconds=time.perf_counter() - started,
        extra={"pattern": pattern, "keys_with_ttl": int((frame["pttl_ms"] > 0).sum())},
    )


def restore_redis(resource: RedisResource, root: Path, batch: int = SCAN_COUNT) -> dict[str, int]:
    """RESTORE every key of the backup (REPLACE), with its TTL, then unlink the namespace's keys the
    backup does not hold; returns the namespace's key count."""
    frame = pl.read_parquet(root / KEYS_FILE)
    client = resource.client()
    try:
        for offset in range(0, frame.height, batch):
            pipe = client.pipeline(transaction=False)
            part = frame.slice(offset, batch)
            for key, ttl, value in zip(part["key"], part["pttl_ms"], part["value"], strict=True):
                pipe.restore(key, ttl, value, replace=True)
            pipe.execute()
        stray = set(client.scan_iter(match=namespace_pattern(resource), count=SCAN_COUNT)) - set(frame["key"])
        if stray:  # keys written after the backup: the namespace is left exactly as it was backed up
            client.unlink(*stray)
        return {"keys": count_keys(client, namespace_pattern(resource))}
    finally:
        client.close()
