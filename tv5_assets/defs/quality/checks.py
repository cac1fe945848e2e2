"""Checks of the `quality` group. They judge what the assets recorded in this run (the report's counts,
the benchmark's figures), read back from the asset's latest materialization: the count is measured
once, and the check says what it means.

- cross_store_report: one blocking check per store (every count equals its upstream count; a
  failure names store, object, expected and found; Redis keys that merely outlived their TTL since
  the load fail with WARN, anything else with ERROR), and one on the embeddings (dimension 384 in
  Parquet and Milvus, no NaN or all-zero row).
- query_benchmarks: WARN checks against the targets (vector search p50 < 10 ms with recall@10 >= 0.95,
  graph traversal p50 < 10 ms, PostgreSQL and Redis lookups p50 < 2 ms), each with its figures.
"""

from typing import Any

import dagster as dg

from ...schemas.embeddings import EMBEDDING_DIM
from . import benchmarks, counts
from .assets import cross_store_report, query_benchmarks

REPORT_KEY = cross_store_report.key
BENCHMARK_KEY = query_benchmarks.key


def latest_metadata(context: dg.AssetCheckExecutionContext, key: dg.AssetKey) -> dict[str, Any]:
    """The plain values of the asset's latest materialization (this run's, when it ran)."""
    event = context.instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return {}
    return {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}


# --------------------------------------------------------------------------- cross_store_report
COUNT_CHECKS = {f"{counts.STORE_SLUGS[store]}_counts_match": store for store in counts.STORES}


def store_count_result(check: str, store: str, rows: list[counts.Count]) -> dg.AssetCheckResult:
    """Pass when every object of `store` holds its upstream count; the description names each that does not.
    Keys that expired by their TTL since the load (and nothing else wrong) fail with WARN severity: the
    cache is stale, not broken, and a reload brings it back."""
    mine = [r for r in rows if r.store == store]
    wrong = [r for r in mine if not r.matches]
    only_expired = bool(wrong) and all(r.expired for r in wrong)
    if not mine:
        description = f"{store}: cross_store_report recorded no counts (materialize it first)"
    elif wrong:
        description = "; ".join(r.message() for r in wrong)
    else:
        description = f"{store}: all {len(mine)} objects hold their upstream counts"
    metadata: dict[str, Any] = {}
    for r in mine:
        metadata[f"{r.slug}_expected"] = r.expected
        if r.found is not None:
            metadata[f"{r.slug}_found"] = r.found
    if wrong:
        metadata["mismatches"] = dg.MetadataValue.md("\n".join(f"- {r.message()}" for r in wrong))
    return dg.AssetCheckResult(
        asset_key=REPORT_KEY,
        check_name=check,
        passed=bool(mine) and not wrong,
        severity=dg.AssetCheckSeverity.WARN if only_expired else dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata=metadata,
    )


def embeddings_result(embeddings: dict[str, dict[str, Any]]) -> dg.AssetCheckResult:
    problems = []
    for name, figures in embeddings.items():
        fields = {k: figures[k] for k in counts.VectorStats.__dataclass_fields__}
        problems += counts.VectorStats(**fields).problems(f"{name} (Parquet)")
        live = figures.get("milvus_dim")
        if live is not None and live != EMBEDDING_DIM:
            problems.append(f"{name} (Milvus): dimension {live}, expected {EMBEDDING_DIM}")
    if not embeddings:
        problems.append("cross_store_report recorded no embedding statistics (materialize it first)")
    metadata = {f"{name}_{k}": v for name, f in embeddings.items() for k, v in f.items() if v is not None}
    return dg.AssetCheckResult(
        asset_key=REPORT_KEY,
        check_name="embeddings_sound",
        passed=not problems,
        description="; ".join(problems) or "dimension 384, no NaN or all-zero row in either table",
        metadata=metadata,
    )


@dg.multi_asset_check(
    name="cross_store_report_checks",
    specs=[
        *(
            dg.AssetCheckSpec(
                check,
                asset=cross_store_report,
                blocking=True,
                description=f"Every {store} object holds exactly its upstream count (store, object, expected and "
                "found named on failure; a store that could not be read fails).",
            )
            for check, store in COUNT_CHECKS.items()
        ),
        dg.AssetCheckSpec(
            "embeddings_sound",
            asset=cross_store_report,
            blocking=True,
            description=f"Media and user vectors: dimension {EMBEDDING_DIM} in Parquet and in Milvus, no row "
            "with NaN or infinity, no all-zero row.",
        ),
    ],
    description="Judges the counts and embedding statistics cross_store_report recorded.",
)
def cross_store_report_checks(context: dg.AssetCheckExecutionContext):
    recorded = latest_metadata(context, REPORT_KEY)
    rows = [counts.Count.from_json(r) for r in recorded.get("counts") or []]
    for check, store in COUNT_CHECKS.items():
        yield store_count_result(check, store, rows)
    yield embeddings_result(recorded.get("embeddings") or {})


# ------------------------------------------------------------------------------ query_benchmarks
TARGET_CHECKS = {b.target_check: b.targets for b in benchmarks.store_benchmarks()}


def _target_text(kind: benchmarks.QueryKind) -> str:
    parts = [f"p50 < {kind.target_p50_ms:g} ms"] if kind.target_p50_ms is not None else []
    if kind.min_recall is not None:
        parts.append(f"recall@10 >= {kind.min_recall:g}")
    return " and ".join(parts)


def target_result(check: str, keys: tuple[str, ...], figures: dict[str, Any]) -> dg.AssetCheckResult:
    """WARN when a kind misses its target (or was not measured); its figures go in the metadata."""
    misses, metadata = [], {}
    for key in keys:
        kind = benchmarks.KIND_BY_KEY[key]
        p50, recall = figures.get(f"{key}_p50_ms"), figures.get(f"{key}_recall_at_10")
        metadata[f"{key}_target"] = _target_text(kind)
        for name in ("p50_ms", "p95_ms", "p99_ms", "queries", "recall_at_10"):
            if f"{key}_{name}" in figures:
                metadata[f"{key}_{name}"] = figures[f"{key}_{name}"]
        if not isinstance(p50, int | float):
            misses.append(f"{key}: not measured")
            continue
        if kind.target_p50_ms is not None and not p50 < kind.target_p50_ms:
            misses.append(f"{key}: p50 {p50:.2f} ms, target < {kind.target_p50_ms:g} ms")
        if kind.min_recall is not None and not (isinstance(recall, int | float) and recall >= kind.min_recall):
            misses.append(f"{key}: recall@10 {recall}, target >= {kind.min_recall:g}")
    met = ", ".join(f"{k} p50 {figures[f'{k}_p50_ms']:.2f} ms" for k in keys if f"{k}_p50_ms" in figures)
    return dg.AssetCheckResult(
        asset_key=BENCHMARK_KEY,
        check_name=check,
        passed=not misses,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(misses) if misses else f"on target: {met}",
        metadata=metadata,
    )


@dg.multi_asset_check(
    name="query_benchmark_targets",
    specs=[
        dg.AssetCheckSpec(
            check,
            asset=query_benchmarks,
            description="WARN unless "
            + "; ".join(f"{k}: {_target_text(benchmarks.KIND_BY_KEY[k])}" for k in keys)
            + " (the figures are in the check's metadata).",
        )
        for check, keys in TARGET_CHECKS.items()
    ],
    description="Judges query_benchmarks' figures against the targets (WARN severity).",
)
def query_benchmark_targets(context: dg.AssetCheckExecutionContext):
    figures = latest_metadata(context, BENCHMARK_KEY)
    for check, keys in TARGET_CHECKS.items():
        yield target_result(check, keys, figures)


CHECKS = [cross_store_report_checks, query_benchmark_targets]
