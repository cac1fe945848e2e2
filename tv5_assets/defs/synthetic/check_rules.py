"""The rule helpers of the `synthetic` checks: a frame judged by named row rules, a share tested
against its target, with examples of the offending rows as metadata (no check definitions here).
"""

from __future__ import annotations

import math

import dagster as dg
import polars as pl

from ...io_managers import markdown_preview

STANDARD_ERRORS = 4.0
EXAMPLE_ROWS = 5


def evaluate_rules(frame: pl.DataFrame, rules: dict[str, pl.Expr]) -> tuple[bool, dict]:
    """Each rule is a boolean expression that is True on a violating row (null counts as a
    violation). One pass computes every rule's count; failing rules get example rows."""
    if frame.height == 0:
        return True, {"rows": 0, "rules_checked": len(rules)}
    counts = frame.select([rule.fill_null(True).sum().alias(name) for name, rule in rules.items()]).row(0, named=True)
    failing = {name: int(count) for name, count in counts.items() if count}
    metadata: dict = {"rows": frame.height, "rules_checked": len(rules), "rules_failing": len(failing)}
    lines = ["| rule | violating rows |", "|---|---:|"] + [f"| {name} | {count:,} |" for name, count in counts.items()]
    metadata["rules"] = dg.MetadataValue.md("\n".join(lines))
    for name in list(failing)[:3]:
        examples = frame.filter(rules[name].fill_null(True)).head(EXAMPLE_ROWS)
        metadata[f"examples: {name}"] = dg.MetadataValue.md(markdown_preview(examples, rows=EXAMPLE_ROWS))
    return not failing, metadata


def rules_result(
    frame: pl.DataFrame,
    rules: dict[str, pl.Expr],
    what: str,
    extra_failures: dict | None = None,
    extra_metadata: dict | None = None,
) -> dg.AssetCheckResult:
    passed, metadata = evaluate_rules(frame, rules)
    extra_failures = {k: v for k, v in (extra_failures or {}).items() if v}
    for name, detail in extra_failures.items():
        metadata[f"failed: {name}"] = str(detail)
    metadata.update(extra_metadata or {})
    passed = passed and not extra_failures
    failing = [k for k in metadata if k.startswith("examples: ") or k.startswith("failed: ")]
    description = (
        f"{what}: all rules hold"
        if passed
        else f"{what}: rules broken ({', '.join(f.split(': ', 1)[1] for f in failing)}); see metadata for examples. "
        "This is a generator bug (tv5_assets/defs/synthetic/); fix it and re-materialize."
    )
    return dg.AssetCheckResult(passed=passed, description=description, metadata=metadata)


def not_in(column: str, allowed: list) -> pl.Expr:
    return ~pl.col(column).is_in(allowed)


def list_not_subset(column: str, allowed: list[str]) -> pl.Expr:
    return pl.col(column).list.eval(~pl.element().is_in(allowed)).list.any()


def list_has_duplicates(column: str) -> pl.Expr:
    return pl.col(column).list.n_unique() != pl.col(column).list.len()


def out_of_range(column: str, low: float, high: float) -> pl.Expr:
    return ~pl.col(column).is_between(low, high) | pl.col(column).is_nan()


def share_result(name: str, successes: int, trials: int, target: float) -> dg.AssetCheckResult:
    """Observed share within STANDARD_ERRORS binomial standard errors of the target."""
    if trials == 0:
        return dg.AssetCheckResult(passed=True, description=f"{name}: no rows, nothing to test")
    share = successes / trials
    standard_error = math.sqrt(max(target * (1 - target), 1e-12) / trials)
    tolerance = STANDARD_ERRORS * standard_error
    passed = abs(share - target) <= tolerance
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{name} {share:.4f} vs target {target} (tolerance +-{tolerance:.4f} = {STANDARD_ERRORS:g} SE, n={trials})"
        + ("" if passed else ": outside tolerance; the generator's probabilities are off"),
        metadata={
            "share": round(share, 5),
            "target": target,
            "tolerance": round(tolerance, 5),
            "standard_error": round(standard_error, 6),
            "trials": trials,
            "deviation_in_standard_errors": round((share - target) / standard_error, 2) if standard_error else 0.0,
        },
    )
