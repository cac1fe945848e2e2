"""Assets of the `exports` group: the plan's JSONL files, and the Parquet tables for analytics.

    movies, ratings, tags, user_profiles, platform_availability, viewing_contexts, subtitle_segments
        --> one `<name>_jsonl` asset per file (record shapes: layouts.py)
        --> one `<name>_parquet` asset per table ($TV5_DATA_DIR/processed/parquet/<name>.parquet)

The files are the output: the assets return MaterializeResult and nothing goes through the IO
manager. Upstream tables arrive as LazyFrames and stream to disk (writers.py), so memory stays
bounded at 25M ratings; each file is replaced atomically.
"""

from collections.abc import Callable
from pathlib import Path

import dagster as dg
import polars as pl

from ...conventions import CPU_HEAVY, OWNERS
from ...io_managers import table_schema
from ...settings import data_dir
from . import layouts, writers

GROUP = "exports"
HEAVY_TABLES = {"ratings"}  # 25M rows: every core for tens of seconds
FIRST_LINE_BYTES = 2_000


def _written(
    write: Callable[[pl.LazyFrame, Path], writers.Written], frame: pl.LazyFrame, final: Path
) -> writers.Written:
    """Write, turning an I/O failure into a step failure that names the file (no retry: a full
    disk stays full)."""
    try:
        return write(frame, final)
    except writers.ExportError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error


def _first_line(path: Path) -> str:
    with open(path, "rb") as handle:
        return handle.readline(FIRST_LINE_BYTES).decode("utf-8", errors="replace").rstrip("\n")


def _description(export: layouts.JsonlExport) -> str:
    note = f" Note: {export.note}." if export.note else ""
    return (
        f"$TV5_DATA_DIR/{export.path}: one JSON object per {export.one_line_per} of `{export.upstream}`, "
        f"streamed and replaced atomically. Fields: {export.declared()['fields']}.{note}"
    )


def _line_schema(export: layouts.JsonlExport) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=name, type=dtype) for name, dtype in export.declared()["columns"]]
    )


def jsonl_asset(export: layouts.JsonlExport, code_version: str) -> dg.AssetsDefinition:
    @dg.asset(
        code_version=code_version,
        name=export.name,
        ins={"upstream": dg.AssetIn(export.upstream)},
        group_name=GROUP,
        kinds={"json", "polars"},
        owners=OWNERS,
        op_tags=CPU_HEAVY if export.upstream in HEAVY_TABLES else None,
        description=_description(export),
        metadata={"dagster/column_schema": _line_schema(export), "relative_path": export.path},
    )
    def _export(upstream: pl.LazyFrame) -> dg.MaterializeResult:
        final = data_dir() / export.path
        written = _written(writers.write_jsonl, export.records(upstream).drop(layouts.LINE), final)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": written.rows,
                **written.metadata(unit="lines"),
                "upstream_rows": upstream.select(pl.len()).collect().item(),
                "path": dg.MetadataValue.path(str(final)),
                "first_line": dg.MetadataValue.text(_first_line(final)),
            }
        )

    return _export


JSONL_ASSETS = [jsonl_asset(export, code_version="1") for export in layouts.EXPORTS]


def parquet_asset(table: str, code_version: str) -> dg.AssetsDefinition:
    @dg.asset(
        code_version=code_version,
        name=f"{table}_parquet",
        ins={"upstream": dg.AssetIn(table)},
        group_name=GROUP,
        kinds={"parquet", "polars"},
        owners=OWNERS,
        op_tags=CPU_HEAVY if table in HEAVY_TABLES else None,
        description=(
            f"$TV5_DATA_DIR/{layouts.parquet_path(table)}: the `{table}` table for analytics, one zstd "
            "Parquet file with the same columns and types, streamed and replaced atomically."
        ),
        metadata={
            "dagster/column_schema": table_schema(layouts.PARQUET_TABLES[table]),
            "relative_path": layouts.parquet_path(table),
        },
    )
    def _copy(upstream: pl.LazyFrame) -> dg.MaterializeResult:
        final = data_dir() / layouts.parquet_path(table)
        written = _written(writers.write_parquet, upstream, final)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": written.rows,
                **written.metadata(),
                "path": dg.MetadataValue.path(str(final)),
            }
        )

    return _copy


PARQUET_ASSETS = [parquet_asset(table, code_version="1") for table in layouts.PARQUET_TABLES]

ASSETS = [*JSONL_ASSETS, *PARQUET_ASSETS]
