"""Query benchmarks against the live stores: the queries, the timing loop, exact recall, the table.

Plain functions; `query_benchmarks` (assets.py) runs them with the stores' resources. Every query
kind runs `warmup` untimed queries first (connections opened, server caches and plans warm,
PostgreSQL statements prepared), then each timed query runs alone, one call at a time, its result
read to the end inside the timed span: latency as one client sees it, not throughput.

Vector searches are scored against exact search on the same vectors: the Parquet embeddings the
collections were loaded from, cosine by a numpy matrix product (the vectors are unit length). A hit
counts when its exact score reaches the exact 10th best (minus 1e-5), so ties at the boundary
(identical vectors) do not count as misses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ... import registry
from ..neo4j.checks import TRAVERSAL  # the plan's traversal: a user's rated movies and their genres

TOP_K = 10
TIE_TOLERANCE = 1e-5

# Two hops from the user: movies similar to the user's best-rated ones (at most $seeds of them, so a
# heavy rater's query stays bounded) that the user has not rated, ranked by the summed
# (rating x similarity) of the paths that reach them.
TWO_HOP = (
    "MATCH (u:User {user_id: $user_id})-[r:RATED]->(m:Movie) WHERE r.score >= $min_score "
    "WITH u, m, r ORDER BY r.score DESC, r.timestamp DESC LIMIT $seeds "
    "MATCH (m)-[s:SIMILAR_TO]->(rec:Movie) WHERE NOT (u)-[:RATED]->(rec) "
    "RETURN rec.media_id AS media_id, sum(r.score * s.score) AS weight, count(*) AS paths "
    "ORDER BY weight DESC, media_id LIMIT 10"
)
TWO_HOP_SEEDS = 50
POLICY_LOOKUP = (
    "SELECT user_id, q_values, exploration_rate, total_visits, archetype, updated_at FROM {policies} WHERE user_id = %s"
)
LAST_EPISODES = (
    "SELECT episode_id, step, timestamp, action, rating, reward, state, next_state, is_terminal "
    "FROM {episodes} WHERE user_id = %s ORDER BY timestamp DESC, step DESC LIMIT 50"
)


@dataclass(frozen=True)
class QueryKind:
    """One benchmarked query: its metadata prefix, store, what it does, and its target if any."""

    key: str
    store: str
    label: str
    target_p50_ms: float | None = None
    min_recall: float | None = None


VECTOR_P50_MS, VECTOR_RECALL, GRAPH_P50_MS, LOOKUP_P50_MS = 10.0, 0.95, 10.0, 2.0
KINDS: tuple[QueryKind, ...] = (
    QueryKind("milvus_media_top10", "Milvus", "top-10 on media (a movie's vector)", VECTOR_P50_MS, VECTOR_RECALL),
    QueryKind("milvus_users_top10", "Milvus", "top-10 on users (a user's vector)", VECTOR_P50_MS, VECTOR_RECALL),
    QueryKind("milvus_user_to_media_top10", "Milvus", "top-10 media for a user's preference vector"),
    QueryKind("milvus_media_genre_filtered", "Milvus", "top-10 on media, filtered by a genre (array_contains)"),
    QueryKind("neo4j_user_traversal", "Neo4j", "a user's rated movies and their genres", GRAPH_P50_MS),
    QueryKind("neo4j_two_hop_recommendation", "Neo4j", "50 best-rated movies -> SIMILAR_TO -> unrated movies, top 10"),
    QueryKind("postgres_policy_lookup", "PostgreSQL", "a user's policy by primary key", LOOKUP_P50_MS),
    QueryKind("postgres_last_50_episodes", "PostgreSQL", "a user's last 50 episodes", LOOKUP_P50_MS),
    QueryKind("redis_platform_read", "Redis", "a movie's platforms (get_platforms)", LOOKUP_P50_MS),
    QueryKind("redis_trending_top20", "Redis", "trending top 20 (top_trending)", LOOKUP_P50_MS),
)
KIND_BY_KEY = {k.key: k for k in KINDS}


@dataclass
class Timing:
    """Latencies (ms) and result sizes of one query kind; recall for vector searches."""

    key: str
    latencies_ms: list[float]
    rows: list[int]
    recall: float | None = None
    extra: dict[str, float] = field(default_factory=dict)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def figures(self) -> dict[str, float | int]:
        """Numeric metadata: `<key>_p50_ms` ... so the UI plots each across runs."""
        out: dict[str, float | int] = {
            f"{self.key}_queries": len(self.latencies_ms),
            f"{self.key}_p50_ms": round(self.percentile(50), 3),
            f"{self.key}_p95_ms": round(self.percentile(95), 3),
            f"{self.key}_p99_ms": round(self.percentile(99), 3),
            f"{self.key}_mean_ms": round(float(np.mean(self.latencies_ms)), 3) if self.latencies_ms else float("nan"),
            f"{self.key}_rows_per_query": round(float(np.mean(self.rows)), 2) if self.rows else 0.0,
        }
        if self.recall is not None:
            out[f"{self.key}_recall_at_10"] = round(self.recall, 4)
        out.update({f"{self.key}_{name}": value for name, value in self.extra.items()})
        return out


def timed(
    key: str, run: Callable[[Any], Any], params: Sequence[Any], warmup: Sequence[Any], size: Callable[[Any], int] = len
) -> tuple[Timing, list[Any]]:
    """Run `warmup` untimed, then each of `params` timed on its own; returns the timing and the results."""
    for p in warmup:
        run(p)
    latencies, results = [], []
    for p in params:
        started = time.perf_counter()
        result = run(p)
        latencies.append((time.perf_counter() - started) * 1000.0)
        results.append(result)
    return Timing(key, latencies, [size(r) for r in results]), results


def sample_rows(n: int, count: int, seed: int, stream: int) -> np.ndarray:
    """`count` row positions out of `n`, the same for a seed (each query kind its own stream); drawn
    with replacement only when the table has fewer rows than queries (a small sample)."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng([seed, stream])
    return rng.choice(n, size=count, replace=n < count)


# ----------------------------------------------------------------------------------- exact search
def exact_thresholds(queries: np.ndarray, base: np.ndarray, k: int = TOP_K, chunk: int = 256) -> np.ndarray:
    """Each query's k-th best exact cosine over `base` (-inf when `base` has no row)."""
    out = np.full(queries.shape[0], -np.inf, dtype=np.float64)
    if base.shape[0] == 0:
        return out
    kk = min(k, base.shape[0])
    for start in range(0, queries.shape[0], chunk):
        scores = queries[start : start + chunk] @ base.T
        out[start : start + chunk] = np.partition(scores, -kk, axis=1)[:, -kk]
    return out


def recall_at_k(
    queries: np.ndarray,
    hit_rows: Sequence[Sequence[int]],
    base: np.ndarray,
    thresholds: np.ndarray,
    candidates: Sequence[int] | None = None,
    k: int = TOP_K,
) -> float:
    """Mean over queries of (correct distinct hits) / min(k, candidates); a hit is correct when its
    exact score reaches the query's k-th best exact score. `hit_rows` are row positions in `base`
    (-1 for an id the table does not hold); `candidates` the size of each query's searchable set."""
    scores = []
    for i, rows in enumerate(hit_rows):
        pool = base.shape[0] if candidates is None else candidates[i]
        wanted = min(k, pool)
        if wanted == 0:
            continue
        distinct = [r for r in dict.fromkeys(rows) if r >= 0][:k]
        exact = base[distinct] @ queries[i] if distinct else np.zeros(0)
        correct = int((exact >= thresholds[i] - TIE_TOLERANCE).sum())
        scores.append(min(correct, wanted) / wanted)
    return float(np.mean(scores)) if scores else float("nan")


# -------------------------------------------------------------------------------------- markdown
def table(timings: list[Timing], machine: str) -> str:
    lines = [
        f"Machine: {machine}. Each kind: warm-up first, then one query per call, timed to the last row.",
        "",
        "| query | store | queries | p50 ms | p95 ms | p99 ms | recall@10 | rows/query | target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for t in timings:
        kind = KIND_BY_KEY[t.key]
        recall = "" if t.recall is None else f"{t.recall:.3f}"
        target = []
        if kind.target_p50_ms is not None:
            target.append(f"p50 < {kind.target_p50_ms:g} ms")
        if kind.min_recall is not None:
            target.append(f"recall >= {kind.min_recall:g}")
        lines.append(
            f"| {kind.label} (`{t.key}`) | {kind.store} | {len(t.latencies_ms)} | {t.percentile(50):.2f} | "
            f"{t.percentile(95):.2f} | {t.percentile(99):.2f} | {recall} | {np.mean(t.rows) if t.rows else 0:.1f} | "
            f"{', '.join(target)} |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------- the query runs
@dataclass(frozen=True)
class Catalogue:
    """What the queries are drawn from and scored against, rows sorted by id as in the collections."""

    media_ids: np.ndarray  # movie_id (the media collection's primary key)
    media_vectors: np.ndarray  # (movies, 384) float32, the Parquet the collection was loaded from
    media_genres: list[list[str]]
    user_ids: np.ndarray  # MovieLens userId (the user collection's primary key)
    user_keys: list[str]  # user_{id:08d}: the key of Neo4j, PostgreSQL
    user_vectors: np.ndarray
    platform_media: list[str]  # media ids in platform_availability (each has a Redis platform key)


@dataclass(frozen=True)
class Plan:
    """How many queries, how many warm-up queries, the seed of the sample, and the two-hop query's floor."""

    queries: int
    warmup: int
    seed: int
    two_hop_min_score: float = 4.0  # ratings at or above it count as liked

    def rows(self, n: int, stream: int) -> tuple[np.ndarray, np.ndarray]:
        """Timed and warm-up row positions for one query kind (its own random stream)."""
        return sample_rows(n, self.queries, self.seed, stream), sample_rows(n, self.warmup, self.seed, 100 + stream)


def _hit_rows(hits, primary_key: str, row_of: dict[int, int]) -> list[int]:
    """Row positions of a search's hits (pymilvus names the key by the field, older clients "id")."""
    rows = []
    for hit in hits:
        value = hit.get(primary_key)
        rows.append(row_of.get(int(value if value is not None else hit.get("id")), -1))
    return rows


def vector_search(
    client,
    key: str,
    alias: str,
    spec,
    queries: np.ndarray,
    warm: np.ndarray,
    base: np.ndarray,
    base_ids: np.ndarray,
    filters: tuple[list[str], list[str], list[np.ndarray]] | None = None,
) -> Timing:
    """Top-10 searches on `alias`, one per call, scored against exact search over `base`.
    `filters`: (expressions of the timed queries, of the warm-up queries, candidate rows of each timed one)."""
    params = spec.index.search_params
    timed_exprs, warm_exprs, candidates = filters or ([""] * len(queries), [""] * len(warm), None)

    def run(item: tuple[np.ndarray, str]):
        vector, expr = item
        return client.search(alias, data=[vector], limit=TOP_K, filter=expr, search_params=params)[0]

    timing, results = timed(key, run, list(zip(queries, timed_exprs)), list(zip(warm, warm_exprs)))
    row_of = {int(i): r for r, i in enumerate(base_ids.tolist())}
    hit_rows = [_hit_rows(hits, spec.primary_key.name, row_of) for hits in results]
    if candidates is None:
        thresholds = exact_thresholds(queries, base)
        timing.recall = recall_at_k(queries, hit_rows, base, thresholds)
    else:
        thresholds = np.empty(len(queries))
        groups: dict[str, list[int]] = {}
        for i, expr in enumerate(timed_exprs):
            groups.setdefault(expr, []).append(i)
        for members in groups.values():  # one matrix product per distinct filter
            thresholds[members] = exact_thresholds(queries[members], base[candidates[members[0]]])
        timing.recall = recall_at_k(queries, hit_rows, base, thresholds, [len(c) for c in candidates])
    return timing


def genre_filters(
    cat: Catalogue, positions: np.ndarray, seed: int, stream: int
) -> tuple[np.ndarray, list[str], list[np.ndarray]]:
    """For each sampled movie that has genres: one of its genres, the filter expression and the rows
    holding that genre. Genre names come from the catalogue (validated: letters, digits, ' ()-')."""
    rng = np.random.default_rng([seed, stream])
    rows_of: dict[str, list[int]] = {}
    for row, genres in enumerate(cat.media_genres):
        for genre in genres:
            rows_of.setdefault(genre, []).append(row)
    kept, exprs, candidates = [], [], []
    for position in positions:
        genres = [g for g in cat.media_genres[position] if _safe_genre(g)]
        if not genres:
            continue
        genre = genres[int(rng.integers(len(genres)))]
        kept.append(position)
        # Milvus 2.3 has no expression parameters: the literal is quoted, and only catalogue genres
        # of a safe alphabet get here.
        exprs.append(f'array_contains(genres, "{genre}")')
        candidates.append(np.asarray(rows_of[genre], dtype=np.int64))
    return np.asarray(kept, dtype=np.int64), exprs, candidates


def _safe_genre(genre: str) -> bool:
    return bool(genre) and all(ch.isalnum() or ch in " ()-" for ch in genre)


def milvus_timings(milvus, cat: Catalogue, plan: Plan) -> list[Timing]:
    from ...stores.milvus.collections import MEDIA_COLLECTION, USER_COLLECTION

    media_alias = milvus.collection_name(MEDIA_COLLECTION.logical_name)
    user_alias = milvus.collection_name(USER_COLLECTION.logical_name)
    m, m_warm = plan.rows(len(cat.media_ids), 1)
    u, u_warm = plan.rows(len(cat.user_ids), 2)
    r, r_warm = plan.rows(len(cat.user_ids), 3)
    # Filtered: drawn from the movies that have a genre, as many as the other kinds.
    with_genre = np.flatnonzero([bool(g) for g in cat.media_genres])
    f, f_warm = plan.rows(len(with_genre), 4)
    f_rows, f_exprs, f_candidates = genre_filters(cat, with_genre[f], plan.seed, 40)
    fw_rows, fw_exprs, _ = genre_filters(cat, with_genre[f_warm], plan.seed, 41)
    mv, uv = cat.media_vectors, cat.user_vectors
    with milvus.get_client() as client:
        return [
            vector_search(
                client, "milvus_media_top10", media_alias, MEDIA_COLLECTION, mv[m], mv[m_warm], mv, cat.media_ids
            ),
            vector_search(
                client, "milvus_users_top10", user_alias, USER_COLLECTION, uv[u], uv[u_warm], uv, cat.user_ids
            ),
            vector_search(
                client,
                "milvus_user_to_media_top10",
                media_alias,
                MEDIA_COLLECTION,
                uv[r],
                uv[r_warm],
                mv,
                cat.media_ids,
            ),
            vector_search(
                client,
                "milvus_media_genre_filtered",
                media_alias,
                MEDIA_COLLECTION,
                mv[f_rows],
                mv[fw_rows],
                mv,
                cat.media_ids,
                filters=(f_exprs, fw_exprs, f_candidates),
            ),
        ]


def neo4j_timings(neo4j, cat: Catalogue, plan: Plan, min_score: float | None = None) -> list[Timing]:
    """The traversal and the two-hop recommendation for sampled users, in one session (a pooled
    connection, as a service keeps it); parameters bound by the driver, never spliced in."""
    from ...stores.neo4j import loader

    min_score = plan.two_hop_min_score if min_score is None else min_score
    rows, warm = plan.rows(len(cat.user_keys), 5)
    users, warm_users = [cat.user_keys[i] for i in rows], [cat.user_keys[i] for i in warm]
    with neo4j.driver() as driver, neo4j.translate_errors("benchmarking graph queries"):
        with loader.session(driver, neo4j.database) as session:
            traversal, _ = timed(
                "neo4j_user_traversal", lambda user: session.run(TRAVERSAL, user_id=user).data(), users, warm_users
            )
            two_hop, results = timed(
                "neo4j_two_hop_recommendation",
                lambda user: session.run(TWO_HOP, user_id=user, min_score=min_score, seeds=TWO_HOP_SEEDS).data(),
                users,
                warm_users,
            )
    two_hop.extra["answered_fraction"] = round(float(np.mean([bool(r) for r in results])), 4) if results else 0.0
    return [traversal, two_hop]


def postgres_timings(postgres, cat: Catalogue, plan: Plan) -> list[Timing]:
    """Server-side prepared statements (`prepare=True`), on one connection, as a service would."""
    from ..postgres import schema as agentdb

    schema = postgres.schema_name
    policy = POLICY_LOOKUP.format(policies=agentdb.qualified(schema, "policies"))
    episodes = LAST_EPISODES.format(episodes=agentdb.qualified(schema, "episodes"))
    rows, warm = plan.rows(len(cat.user_keys), 6)
    users, warm_users = [cat.user_keys[i] for i in rows], [cat.user_keys[i] for i in warm]
    with postgres.connection(autocommit=True) as conn:
        lookup, _ = timed(
            "postgres_policy_lookup",
            lambda user: conn.execute(policy, (user,), prepare=True).fetchall(),
            users,
            warm_users,
        )
        last, _ = timed(
            "postgres_last_50_episodes",
            lambda user: conn.execute(episodes, (user,), prepare=True).fetchall(),
            users,
            warm_users,
        )
    return [lookup, last]


def redis_timings(redis, cat: Catalogue, plan: Plan) -> list[Timing]:
    """The cache's own readers: get_platforms for sampled movies, top_trending(20)."""
    from ..redis.cache import get_platforms, top_trending

    ns = redis.namespace
    rows, warm = plan.rows(len(cat.platform_media), 7)
    media, warm_media = [cat.platform_media[i] for i in rows], [cat.platform_media[i] for i in warm]
    client = redis.client()
    try:
        platforms, results = timed(
            "redis_platform_read",
            lambda media_id: get_platforms(client, media_id, ns),
            media,
            warm_media,
            size=lambda value: 0 if value is None else len(value),
        )
        trending, _ = timed(
            "redis_trending_top20",
            lambda _: top_trending(client, 20, ns),
            [None] * plan.queries,
            [None] * plan.warmup,
        )
    finally:
        client.close()
    platforms.extra["hit_fraction"] = round(float(np.mean([r is not None for r in results])), 4) if results else 0.0
    return [platforms, trending]


@dataclass(frozen=True)
class StoreBenchmarks:
    """One store's timed queries (in STORE_BENCHMARKS by its registry key): `timings(resource, catalogue, plan)`, and
    the WARN check that judges its kinds against their targets."""

    timings: Callable[[Any, Catalogue, Plan], list[Timing]]
    target_check: str
    targets: tuple[str, ...]  # the kinds (QueryKind.key) the check judges


MILVUS_BENCHMARKS = StoreBenchmarks(
    milvus_timings, "vector_search_on_target", ("milvus_media_top10", "milvus_users_top10")
)
NEO4J_BENCHMARKS = StoreBenchmarks(neo4j_timings, "graph_traversal_on_target", ("neo4j_user_traversal",))
POSTGRES_BENCHMARKS = StoreBenchmarks(
    postgres_timings, "postgres_lookups_on_target", ("postgres_policy_lookup", "postgres_last_50_episodes")
)
REDIS_BENCHMARKS = StoreBenchmarks(
    redis_timings, "redis_reads_on_target", ("redis_platform_read", "redis_trending_top20")
)
# By registry key: the registry names nothing of defs/ (the registry test asks for every store's entry).
STORE_BENCHMARKS: dict[str, StoreBenchmarks] = {
    registry.MILVUS.key: MILVUS_BENCHMARKS,
    registry.NEO4J.key: NEO4J_BENCHMARKS,
    registry.POSTGRES.key: POSTGRES_BENCHMARKS,
    registry.REDIS.key: REDIS_BENCHMARKS,
}


def store_benchmarks() -> list[StoreBenchmarks]:
    """Every store's benchmarks, in the registry's order by name."""
    return [STORE_BENCHMARKS[store.key] for store in registry.by_name()]


def run_stores(resources: dict[str, Any], cat: Catalogue, plan: Plan) -> list[Timing]:
    """Every store's timed queries, one store after the other (`resources` by store key)."""
    return [
        t for store in registry.by_name() for t in STORE_BENCHMARKS[store.key].timings(resources[store.key], cat, plan)
    ]
