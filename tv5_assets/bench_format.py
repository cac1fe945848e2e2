"""`tv5 bench`, the printing half: a `RunReport` as a table and a summary, and the comparison with
the naive row-by-row baseline (`bench_baseline.py`) on the same stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from .bench_report import RunReport


# ------------------------------------------------------------------------------------ printing
def _fmt(value: float | int | None, spec: str, width: int = 0) -> str:
    """`value` formatted by `spec`, or "-" when missing, right-aligned in `width` characters."""
    return ("-" if value is None else format(value, spec)).rjust(width)


def format_table(report: RunReport) -> str:
    """One fixed-width line per asset, in start order; `start s` counts from the run's start.

    An asset computed by a step of another name (a multi-asset) shows that step in brackets.
    """
    origin = report.start or min((a.start for a in report.assets if a.start is not None), default=0.0)
    rows = sorted(report.assets, key=lambda a: (a.start is None, a.start or 0.0, a.asset))
    labels = [a.asset if a.asset == a.step else f"{a.asset} [{a.step}]" for a in rows]
    width = max([len("asset"), *map(len, labels)])
    lines = [
        f"{'start s':>8} {'wall s':>8}  {'asset':<{width}}  {'status':<12} {'rows':>12} {'rows/s':>12} "
        f"{'peak MB':>8} {'pid':>7}"
    ]
    for label, a in zip(labels, rows):
        start = a.start - origin if a.start is not None else None
        lines.append(
            f"{_fmt(start, '.1f', 8)} {_fmt(a.seconds, '.2f', 8)}  {label:<{width}}  {a.status:<12} "
            f"{_fmt(a.rows, ',d', 12)} {_fmt(a.rows_per_s, ',.0f', 12)} {_fmt(a.peak_rss_mb, '.1f', 8)} {_fmt(a.pid, 'd', 7)}"
        )
    return "\n".join(lines)


def format_summary(report: RunReport) -> str:
    """The lines under the table: checks, critical path, run totals and memory peaks."""
    c = report.checks
    slowest = ", ".join(f"{key} {seconds:.2f} s" for key, seconds in c.slowest) or "-"
    lines = [
        f"asset checks: {c.steps} check steps, {c.seconds:.1f} s summed, {len(c.failed_steps)} failed steps; "
        f"{c.evaluations} evaluations, {len(c.failed)} not passed",
        f"  slowest: {slowest}",
        *(f"  {r.state}: {r.asset} / {r.check} (step {r.step_key})" for r in c.failed),
        *(f"  failed step: {key}" for key in c.failed_steps),
        f"critical path: {report.critical_path_s:.1f} s of {_fmt(report.wall_s, '.1f')} s wall: "
        + " -> ".join(f"{key} ({_step_seconds(report, key):.1f})" for key in report.critical_path),
    ]
    counts: dict[str, int] = {}
    for step in report.steps:
        counts[step.status] = counts.get(step.status, 0) + 1
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    busy = sum(s.seconds or 0.0 for s in report.steps)
    lines.append(
        f"run {report.run_id} {report.status}: {_fmt(report.wall_s, '.1f')} s wall, {len(report.steps)} steps ({tally}), "
        f"{busy:.1f} s inside steps summed"
    )
    m = report.memory
    if m:
        lines.append(
            f"memory: run process tree peak {_fmt(m['peak_tree_rss_mb'], ',.0f')} MB (sum of RSS over the CLI and its "
            f"step processes, sampled every {m['interval_s']} s); machine in use peak {_fmt(m['peak_system_used_mb'], ',.0f')} MB "
            f"({_fmt(m['system_used_before_mb'], ',.0f')} MB before the run; includes the stores and anything else running)"
        )
    return "\n".join(lines)


def _step_seconds(report: RunReport, key: str) -> float:
    return next((s.seconds or 0.0 for s in report.steps if s.key == key), 0.0)


# ------------------------------------------------------------------------- naive baseline ratios
# part -> (our asset, what its rate means); the naive part does the same kind of work row by row.
COMPARED = {
    "parse": ("ratings", "ratings asset: rows / step wall s (read, parse, validate, write Parquet)"),
    "neo4j": (
        "neo4j_movies",
        "neo4j_movies asset: movies / load seconds from its metadata (genres and edges written too); "
        "when neo4j_bulk_import built the graph: its nodes and relationships / (stop + import + start) seconds",
    ),
    "postgres": ("agentdb_episodes", "agentdb_episodes asset: rows / step wall s (build, COPY, index, swap)"),
}


def our_rate(part: str, report: RunReport) -> float | None:
    """Our rate for a baseline part, from the same bench run."""
    asset = next((a for a in report.assets if a.asset == COMPARED[part][0]), None)
    if asset is None:
        return None
    if part == "neo4j":
        bulk = next(
            (a for a in report.assets if a.asset == "neo4j_bulk_import" and a.metadata.get("nodes_and_relationships")),
            None,
        )
        if bulk is not None:  # the online asset skipped: the offline path did the writing
            m = bulk.metadata
            seconds = sum(m.get(k) or 0.0 for k in ("stop_seconds", "import_seconds", "start_seconds"))
            return round(m["nodes_and_relationships"] / seconds, 1) if seconds else None
        movies, seconds = asset.metadata.get("movies"), asset.metadata.get("seconds") or asset.seconds
        return round(movies / seconds, 1) if movies is not None and seconds else None
    return asset.rows_per_s


def compare(baseline: Mapping[str, object], report: RunReport | None) -> dict[str, dict[str, object]]:
    """Per part: the naive figure, our rate and ours / naive."""
    rows = {}
    for part, naive in baseline.items():
        ours = our_rate(part, report) if report else None
        ratio = ours / naive.rows_per_s if ours is not None and naive.rows_per_s else None
        rows[part] = {
            "naive": asdict(naive),
            "ours_rows_per_s": ours,
            "ours_source": COMPARED[part][1],
            "ours_over_naive": round(ratio, 1) if ratio is not None else None,
        }
    return rows


def format_comparison(comparison: Mapping[str, Mapping[str, object]], scale: float, budget_s: float) -> str:
    lines = [
        f"naive baseline (the plan's row-by-row loops) on scale {scale:g}, at most {budget_s:.0f} s per part:",
        f"  {'part':<9} {'naive rows':>11} {'naive s':>8} {'naive rows/s':>13} {'ours rows/s':>12} {'ours/naive':>11}",
    ]
    for part, row in comparison.items():
        naive = row["naive"]
        if naive["error"]:
            lines.append(f"  {part:<9} failed: {naive['error']}")
            continue
        ratio = row["ours_over_naive"]
        lines.append(
            f"  {part:<9} {naive['rows']:>11,} {naive['seconds']:>8.1f} {_fmt(naive['rows_per_s'], ',.0f', 13)} "
            f"{_fmt(row['ours_rows_per_s'], ',.0f', 12)} {(_fmt(ratio, ',.1f') + 'x') if ratio is not None else '-':>11}"
            + ("" if naive["complete"] else "  (stopped by the time budget)")
        )
    return "\n".join(lines)
