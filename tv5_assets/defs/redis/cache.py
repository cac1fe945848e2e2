"""The Redis cache: key layout, value builders (polars), atomic refresh, and readers.

Key layout (namespace `ns`, default "tv5"; the plan's `platform:{media_id}` under the namespace):

| key                          | type   | value                                               | TTL     |
|------------------------------|--------|-----------------------------------------------------|---------|
| `{ns}:platform:{media_id}`   | string | JSON list of the movie's platforms (see below)      | 24 h    |
| `{ns}:trend:{media_id}`      | hash   | date, popularity_score, view_count_estimate, search_volume of the latest day | 15 min |
| `{ns}:trending`              | zset   | top trending media ids, score = popularity_score    | 15 min  |

A platform entry is {"platform_id", "platform_name", "availability_type", "region", "quality",
"subtitles"}, entries sorted by platform_id. Movies on no platform have no key.

Readers GET/HGET/ZREVRANGE those keys directly (one round trip), or use `get_platforms`,
`get_trend` and `top_trending` below. A missing key means "not cached" (unknown movie, or the TTL
ran out because no refresh happened in time).

Atomic refresh, no empty window. A refresh writes the complete new set under a staging prefix
`{ns}:staging:{tag}:` with the final TTLs (pipelined, see protocol.py), then one Lua script
(atomic in Redis: no client runs between its commands) checks that every staged key exists,
RENAMEs each over its live name and UNLINKs live keys that are not in the new set. Readers
therefore see the whole old set or the whole new set; RENAME keeps the staged TTL, and with the
server's lazy-free settings the replaced values are freed off the main thread. A load that fails
before the switch only leaves staging keys, which it deletes (and which expire anyway).
Why not a version pointer key: it would make every read two round trips (pointer, then value);
the price of RENAME is that the switch blocks Redis for about a microsecond per key (about 0.1 s
for the 62k movies of ml-25m), acceptable here; past millions of keys a pointer would be the
better design. The script derives key names from its arguments, so it assumes a single Redis
node, not Redis Cluster.

A refresh of one family (`platform` or `trend`) holds a Redis lock `{ns}:lock:{family}`, so two
refreshes never interleave; staging keys of a crashed refresh are swept by the next one.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from ... import load_locks
from ...resources.redis import glob_escape as glob_escape  # re-exported: readers of the cache use it
from .protocol import DEFAULT_CHUNK, resp_command, send_commands

if TYPE_CHECKING:
    import redis

PLATFORM_TTL_S = 24 * 3600
TRENDS_TTL_S = 15 * 60
DEFAULT_TOP_TRENDING = 100
PLATFORM_FIELDS = ["platform_id", "platform_name", "availability_type", "region", "quality", "subtitles"]
TREND_FIELDS = ["date", "popularity_score", "view_count_estimate", "search_volume"]
SCAN_COUNT = 10_000

# KEYS: none (names derive from ARGV; single-node Redis).
# ARGV: staged prefix, live prefix, n, suffix_1..suffix_n, then live keys to delete.
_SWAP_SCRIPT = """
local staged, live, n = ARGV[1], ARGV[2], tonumber(ARGV[3])
for i = 4, 3 + n do
  if redis.call('EXISTS', staged .. ARGV[i]) == 0 then
    return redis.error_reply('staged key missing: ' .. staged .. ARGV[i] .. ' (expired or evicted); nothing was switched')
  end
end
for i = 4, 3 + n do
  redis.call('RENAME', staged .. ARGV[i], live .. ARGV[i])
end
local removed = 0
for i = 4 + n, #ARGV do
  removed = removed + redis.call('UNLINK', ARGV[i])
end
return {n, removed}
"""


# ------------------------------------------------------------------------------------ key names
def platform_key(namespace: str, media_id: str) -> str:
    return f"{namespace}:platform:{media_id}"


def trend_key(namespace: str, media_id: str) -> str:
    return f"{namespace}:trend:{media_id}"


def trending_key(namespace: str) -> str:
    return f"{namespace}:trending"


def staging_prefix(namespace: str, tag: str) -> str:
    return f"{namespace}:staging:{tag}:"


# -------------------------------------------------------------------------------------- readers
def get_platforms(client: redis.Redis, media_id: str, namespace: str = "tv5") -> list[dict] | None:
    """The platforms a movie streams on, or None when the movie is not cached."""
    raw = client.get(platform_key(namespace, media_id))
    return None if raw is None else json.loads(raw)


def get_trend(client: redis.Redis, media_id: str, namespace: str = "tv5") -> dict[str, str] | None:
    """The latest day's trend figures of a movie, or None when it is not trending/cached."""
    raw = client.hgetall(trend_key(namespace, media_id))
    if not raw:
        return None
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in raw.items()
    }


def top_trending(client: redis.Redis, count: int = 10, namespace: str = "tv5") -> list[tuple[str, float]]:
    """The `count` most popular movies of the latest day, most popular first."""
    rows = client.zrevrange(trending_key(namespace), 0, count - 1, withscores=True)
    return [(m.decode() if isinstance(m, bytes) else m, float(s)) for m, s in rows]


# ------------------------------------------------------------------------------------- builders
def platform_values(platform_availability: pl.LazyFrame) -> pl.DataFrame:
    """media_id -> JSON list of its platforms (long format in, one row per movie out, sorted)."""
    entry = pl.struct(*PLATFORM_FIELDS).struct.json_encode()
    return (
        platform_availability.select("media_id", *PLATFORM_FIELDS)
        .sort("media_id", "platform_id")
        .group_by("media_id", maintain_order=True)
        .agg(entry.str.join(",").alias("entries"))
        .select("media_id", pl.format("[{}]", pl.col("entries")).alias("platforms"))
        .collect()
    )


def latest_trends(trends: pl.LazyFrame) -> pl.DataFrame:
    """The rows of the latest date in `trends`, one per movie, most popular first."""
    latest = trends.select(pl.col("date").max()).collect().item()
    if latest is None:
        return pl.DataFrame(schema={"media_id": pl.String, **{f: pl.String for f in TREND_FIELDS}, "score": pl.Float64})
    return (
        trends.filter(pl.col("date") == latest)
        .unique("media_id", keep="first", maintain_order=True)
        .sort(["popularity_score", "media_id"], descending=[True, False])
        .select(
            "media_id",
            pl.col("date").cast(pl.String),
            pl.col("popularity_score").cast(pl.String),
            pl.col("view_count_estimate").cast(pl.String),
            pl.col("search_volume").cast(pl.String),
            pl.col("popularity_score").cast(pl.Float64).alias("score"),
        )
        .collect()
    )


# -------------------------------------------------------------------------------------- refresh
@dataclass
class RefreshReport:
    family: str
    keys: int = 0
    commands: int = 0
    write_seconds: float = 0.0
    swap_seconds: float = 0.0
    seconds: float = 0.0
    removed_stale_keys: int = 0
    swept_staging_keys: int = 0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ops_per_second(self) -> float:
        return self.commands / self.write_seconds if self.write_seconds > 0 else 0.0

    def metadata(self) -> dict[str, float | int]:
        return {
            "keys": self.keys,
            "commands": self.commands,
            "write_seconds": round(self.write_seconds, 3),
            "ops_per_second": round(self.ops_per_second),
            "swap_seconds": round(self.swap_seconds, 4),
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.keys / self.seconds) if self.seconds > 0 else 0,
            "removed_stale_keys": self.removed_stale_keys,
        }


def scan_keys(client: redis.Redis, pattern: str, count: int = SCAN_COUNT) -> list[bytes]:
    return list(client.scan_iter(match=pattern, count=count))


def _unlink_all(client: redis.Redis, keys: list[bytes], chunk: int = DEFAULT_CHUNK) -> int:
    removed = 0
    for offset in range(0, len(keys), chunk):
        removed += int(client.unlink(*keys[offset : offset + chunk]))
    return removed


def _server_run_id(client: redis.Redis) -> str:
    """The server process's run id: Redis draws a new one at every start."""
    return str(client.info("server")["run_id"])


# Deletes the lock only while it still holds the stale token read before (another refresh may take it meanwhile).
_BREAK_LOCK_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@contextmanager
def refresh_lock(client: redis.Redis, name: str, timeout_s: int, tag: str = "") -> Iterator[None]:
    """The family's refresh lock, its token prefixed with the server's run id.

    A refresh whose Redis server died mid-load (SIGKILL, OOM, a host crash) leaves its lock behind when
    the AOF had persisted it, and the next refresh would wait out the lock's whole TTL (10 minutes).
    Its holder lost its connection with the server it ran against, so a lock taken on an earlier
    server run (another run id) is stale and is broken; a lock of the current server run is waited
    for as usual. Tokens without a run id (older releases) are left to their TTL. The token's middle
    part is the holder's run tag, so a refresh that has to wait says whom it waits for (load_locks.py).
    """
    server = _server_run_id(client)
    held = client.get(name)
    if held is not None:
        holder_server = held.decode(errors="replace").partition(":")[0] if b":" in held else server
        if holder_server != server:
            client.eval(_BREAK_LOCK_SCRIPT, 1, name, held)
    lock = client.lock(name, timeout=timeout_s, blocking_timeout=timeout_s)
    token = f"{server}:{tag or 'untagged'}:{uuid.uuid4().hex}"
    if not lock.acquire(token=token, blocking=False):
        namespace, _, family = name.rpartition(":lock:")
        load_locks.waiting("Redis", f"the {family or name} cache of namespace {namespace}", _lock_holder(client, name))
        if not lock.acquire(token=token):
            from redis.exceptions import LockError

            raise LockError(
                f"Could not take the Redis lock {name} within {timeout_s} s: {_lock_holder(client, name)} holds "
                "it; retry when that refresh ends."
            )
    try:
        yield
    finally:
        lock.release()


def _lock_holder(client: redis.Redis, name: str) -> str:
    """The refresh holding lock `name`, from its token `<server run id>:<run tag>:<random>`."""
    held = client.get(name)
    if held is None:
        return "another refresh (it has just finished)"
    parts = held.decode(errors="replace").split(":")
    return load_locks.owner(parts[1]) if len(parts) == 3 and parts[1] != "untagged" else "another refresh"


def refresh_family(
    client: redis.Redis,
    namespace: str,
    family: str,
    tag: str,
    staged_commands: pl.Series,
    suffixes: list[str],
    live_patterns: list[str],
    extra_live_keys: list[str] | None = None,
    chunk: int = DEFAULT_CHUNK,
    lock_timeout_s: int = 600,
) -> RefreshReport:
    """Write `staged_commands` (which create exactly `staging_prefix + suffix` for each suffix), then
    switch them in atomically, deleting live keys matched by `live_patterns` (or listed in
    `extra_live_keys`) that the new set does not contain."""
    report = RefreshReport(family=family, keys=len(suffixes))
    started = time.perf_counter()
    staged = staging_prefix(namespace, tag)
    live = f"{namespace}:"
    ns = glob_escape(namespace)
    with refresh_lock(client, f"{namespace}:lock:{family}", lock_timeout_s, tag):
        leftovers = scan_keys(client, f"{ns}:staging:*:{family}*")
        report.swept_staging_keys = _unlink_all(client, leftovers)
        try:
            write_started = time.perf_counter()
            report.commands = send_commands(client, staged_commands, label=f"{namespace}:{family}", chunk=chunk)
            report.write_seconds = time.perf_counter() - write_started
            new_keys = {live + s for s in suffixes}
            current = {k.decode() for p in live_patterns for k in scan_keys(client, p)}
            current.update(k for k in (extra_live_keys or []) if client.exists(k))
            stale = sorted(current - new_keys)
            swap_started = time.perf_counter()
            _, removed = client.eval(_SWAP_SCRIPT, 0, staged, live, len(suffixes), *suffixes, *stale)
            report.swap_seconds = time.perf_counter() - swap_started
            report.removed_stale_keys = int(removed)
        except BaseException:
            _unlink_all(client, scan_keys(client, f"{glob_escape(staged)}*"))
            raise
    report.seconds = time.perf_counter() - started
    return report


def refresh_platforms(
    client: redis.Redis,
    namespace: str,
    platform_availability: pl.LazyFrame,
    tag: str,
    ttl_s: int = PLATFORM_TTL_S,
    chunk: int = DEFAULT_CHUNK,
) -> RefreshReport:
    """Replace every `{ns}:platform:{media_id}` by the given availability, atomically."""
    values = platform_values(platform_availability)
    staged = staging_prefix(namespace, tag)
    commands = values.select(
        resp_command(
            "SET", pl.lit(staged + "platform:") + pl.col("media_id"), pl.col("platforms"), "EX", str(int(ttl_s))
        )
    ).to_series()
    suffixes = ("platform:" + values["media_id"]).to_list()
    report = refresh_family(
        client,
        namespace,
        "platform",
        tag,
        commands,
        suffixes,
        live_patterns=[f"{glob_escape(namespace)}:platform:*"],
        chunk=chunk,
    )
    report.extra["movies"] = values.height
    return report


def refresh_trends(
    client: redis.Redis,
    namespace: str,
    trends: pl.LazyFrame,
    tag: str,
    top_n: int = DEFAULT_TOP_TRENDING,
    ttl_s: int = TRENDS_TTL_S,
    chunk: int = DEFAULT_CHUNK,
) -> RefreshReport:
    """Replace every `{ns}:trend:{media_id}` hash and `{ns}:trending` by the latest day of `trends`."""
    latest = latest_trends(trends)
    staged = staging_prefix(namespace, tag)
    key = pl.lit(staged + "trend:") + pl.col("media_id")
    hset = resp_command("HSET", key, *(arg for f in TREND_FIELDS for arg in (f, pl.col(f))))
    expire = resp_command("EXPIRE", key, str(int(ttl_s)))
    # HSET then EXPIRE for each movie, interleaved so a chunk never splits a pair across a failure.
    commands = latest.select(pl.concat_list(hset, expire).alias("c")).explode("c").to_series()
    top = latest.head(max(top_n, 0))
    suffixes = ("trend:" + latest["media_id"]).to_list()
    if top.height:
        scores_and_members = [
            str(arg) for pair in zip(top["score"].to_list(), top["media_id"].to_list()) for arg in pair
        ]
        zadd = pl.Series(
            [
                _resp(["ZADD", staged + "trending", *scores_and_members]),
                _resp(["EXPIRE", staged + "trending", str(int(ttl_s))]),
            ]
        )
        commands = pl.concat([commands, zadd])
        suffixes.append("trending")
    report = refresh_family(
        client,
        namespace,
        "trend",
        tag,
        commands,
        suffixes,
        live_patterns=[f"{glob_escape(namespace)}:trend:*"],
        extra_live_keys=[trending_key(namespace)],
        chunk=chunk,
    )
    report.extra.update(
        movies=latest.height,
        trending=top.height,
        date=latest["date"][0] if latest.height else "",
    )
    return report


def _resp(args: list[str]) -> str:
    """One RESP command from Python strings (for the few single commands)."""
    return f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
