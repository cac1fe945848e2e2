"""Checks of the `exports` group, all blocking: a file that fails them must not be trusted.

Per JSONL file (one step reads the file once for both): `lines_match_upstream`, the line count
equals the records the upstream implies (its rows; for availability, its movies), and
`sample_parses_back`, 1,000 lines at seeded random positions parse with `json` to the same values
as the upstream rows (verify.py). Per Parquet copy: `copy_matches_upstream`, the upstream's schema
and row count.
"""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl

from ...settings import data_dir
from . import layouts, verify
from .assets import PARQUET_ASSETS


def _problems_metadata(problems: list[str]) -> dict:
    if not problems:
        return {}
    shown = problems[: verify.SHOWN]
    more = f"\n- ... and {len(problems) - len(shown):,} more" if len(problems) > len(shown) else ""
    return {"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in shown) + more)}


def _missing_file(export: layouts.JsonlExport, path: Path) -> list[dg.AssetCheckResult]:
    description = f"{path} does not exist: materialize {export.name}"
    return [
        dg.AssetCheckResult(asset_key=export.name, check_name=name, passed=False, description=description)
        for name in ("lines_match_upstream", "sample_parses_back")
    ]


def jsonl_checks(export: layouts.JsonlExport) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name=f"{export.name}_checks",
        specs=[
            dg.AssetCheckSpec(
                "lines_match_upstream",
                asset=export.name,
                blocking=True,
                additional_deps=[export.upstream],
                description=f"{export.path} has one line per {export.one_line_per} of `{export.upstream}`.",
            ),
            dg.AssetCheckSpec(
                "sample_parses_back",
                asset=export.name,
                blocking=True,
                additional_deps=[export.upstream],
                description=f"{verify.SAMPLE_LINES:,} lines at seeded random positions parse back to the values "
                f"of the upstream `{export.upstream}` rows.",
            ),
        ],
        ins={"upstream": dg.AssetIn(export.upstream)},
    )
    def _checks(upstream: pl.LazyFrame) -> Iterator[dg.AssetCheckResult]:
        path = data_dir() / export.path
        if not path.exists():
            yield from _missing_file(export, path)
            return
        verdict = verify.verify_jsonl(path, export.records(upstream), export.schema())
        yield dg.AssetCheckResult(
            asset_key=export.name,
            check_name="lines_match_upstream",
            passed=verdict.counts_match,
            metadata={
                "lines": verdict.lines,
                "expected_lines": verdict.expected_lines,
                "path": dg.MetadataValue.path(str(path)),
            },
            description=None
            if verdict.counts_match
            else f"{verdict.lines:,} lines, expected {verdict.expected_lines:,}",
        )
        yield dg.AssetCheckResult(
            asset_key=export.name,
            check_name="sample_parses_back",
            passed=not verdict.mismatches,
            metadata={
                "sampled_lines": verdict.sampled,
                "mismatches": len(verdict.mismatches),
                **_problems_metadata(verdict.mismatches),
            },
            description=f"{len(verdict.mismatches):,} of {verdict.sampled:,} sampled lines differ from upstream"
            if verdict.mismatches
            else None,
        )

    return _checks


JSONL_CHECKS = [jsonl_checks(export) for export in layouts.EXPORTS]


def parquet_check(table: str, asset: dg.AssetsDefinition) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name="copy_matches_upstream",
        blocking=True,
        description=f"The Parquet copy has the schema and row count of `{table}`.",
        additional_ins={"upstream": dg.AssetIn(table)},
    )
    def _check(upstream: pl.LazyFrame) -> dg.AssetCheckResult:
        path = data_dir() / layouts.parquet_path(table)
        problems, rows = verify.parquet_problems(path, upstream)
        metadata = {"rows": rows, "path": dg.MetadataValue.path(str(path)), **_problems_metadata(problems)}
        return dg.AssetCheckResult(passed=not problems, metadata=metadata)

    return _check


PARQUET_CHECKS = [
    parquet_check(table, asset) for table, asset in zip(layouts.PARQUET_TABLES, PARQUET_ASSETS, strict=True)
]

CHECKS = [*JSONL_CHECKS, *PARQUET_CHECKS]
