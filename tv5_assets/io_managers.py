"""Typed IO manager: the asset's annotated return type decides how it is stored.

| annotated type   | on disk (under `TV5_DATA_DIR/assets/`)                         | loaded downstream as |
|------------------|----------------------------------------------------------------|----------------------|
| `pl.DataFrame`   | `a/b.parquet` (zstd); a folder `a/b/part-*.parquet` when large | the annotated type   |
| `pl.LazyFrame`   | streamed with `sink_parquet`, never collected in memory        | the annotated type   |
| `np.ndarray`     | `a/b.npy` (memory-mapped on load)                               | `np.ndarray`         |
| `None`/`MaterializeResult` | nothing (store loads own their data in the store)    | -                    |

Partitioned assets (user-id ranges, `tv5_assets/partitions.py`) store one Parquet file per partition,
`a/b.partitions/<partition key>.parquet` (beside, never inside, the unpartitioned layout); an input
gets the partitions it asks for (a partitioned downstream its own range, an unpartitioned one all of
them) as one frame, in partition-key order.

A downstream input may ask for `pl.LazyFrame` from an asset stored as `pl.DataFrame` and vice versa:
both are the same Parquet. Nothing goes through pickle: any other type is an error that says so.

Writes are atomic: the file is written beside its final path and renamed over it, so a reader (or
a crashed run) never sees half a Parquet file.

We considered dagster-polars (0.27.x): it handles polars frames but not numpy arrays, does not
write atomically and would need a second IO manager for arrays; this module is small enough to own.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import polars as pl

from . import atomic, settings

PARQUET_COMPRESSION = "zstd"
PREVIEW_ROWS = 5


def asset_path(base: Path, key: dg.AssetKey) -> Path:
    """`a/b` -> `<base>/a/b` (suffix added by the writer)."""
    return base.joinpath(*key.path)


PARTITIONS_SUFFIX = ".partitions"


def partition_path(base: Path, key: dg.AssetKey, partition_key: str) -> Path:
    """`a/b` partition `p` -> `<base>/a/b.partitions/p.parquet`."""
    target = asset_path(base, key)
    return target.with_name(target.name + PARTITIONS_SUFFIX) / f"{partition_key}.parquet"


def table_schema(schema: pl.Schema, descriptions: dict[str, str] | None = None) -> dg.TableSchema:
    descriptions = descriptions or {}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=name, type=str(dtype), description=descriptions.get(name))
            for name, dtype in schema.items()
        ]
    )


def markdown_preview(df: pl.DataFrame, rows: int = PREVIEW_ROWS, max_chars: int = 60) -> str:
    """A small markdown table for the UI (no pandas/tabulate needed)."""

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= max_chars else text[: max_chars - 1] + "…"

    head = df.head(rows)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    for row in head.iter_rows():
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def _column_descriptions(context: dg.OutputContext) -> dict[str, str]:
    """Column descriptions declared on the asset definition, merged into the runtime schema."""
    try:
        declared = (context.definition_metadata or {}).get("dagster/column_schema")
    except Exception:  # pragma: no cover - no definition metadata in some contexts
        return {}
    schema = getattr(declared, "schema", declared)
    if not isinstance(schema, dg.TableSchema):
        return {}
    return {c.name: c.description for c in schema.columns if c.description}


def _remove_other_layouts(final_file: Path, final_dir: Path, keep: Path) -> None:
    """A frame that shrank from a folder to one file (or grew) must not leave the other behind."""
    for other in (final_file, final_dir):
        if other != keep:
            atomic.remove(other)


class Tv5IOManager(dg.ConfigurableIOManager):
    """Stores polars frames as zstd Parquet and numpy arrays as `.npy`, chosen by annotated type."""

    base_dir: str | None = None
    """Root folder; default `$TV5_DATA_DIR/assets`."""
    max_rows_per_file: int = 10_000_000
    """DataFrames above this many rows are written as a folder of Parquet files."""

    def _base(self) -> Path:
        return Path(self.base_dir) if self.base_dir else settings.data_dir() / "assets"

    # ----------------------------------------------------------------------------------- write
    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        if context.has_asset_partitions:
            self._write_partition(context, obj)
            return
        target = asset_path(self._base(), context.asset_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(obj, pl.DataFrame):
            self._write_frame(context, obj, target)
        elif isinstance(obj, pl.LazyFrame):
            self._sink_lazy(context, obj, target)
        elif isinstance(obj, np.ndarray):
            self._write_array(context, obj, target)
        else:
            raise dg.DagsterInvariantViolationError(
                f"Asset {context.asset_key.to_user_string()} returned a {type(obj).__name__}; the "
                "TV5 IO manager stores only polars DataFrame/LazyFrame and numpy arrays (nothing "
                "goes through pickle). Return one of those, or a MaterializeResult."
            )

    def _write_frame(self, context: dg.OutputContext, df: pl.DataFrame, target: Path) -> None:
        file_path, dir_path = target.with_suffix(".parquet"), target
        if df.height > self.max_rows_per_file:
            final = dir_path
            with atomic.replacing(final, folder=True) as staged:
                for index, offset in enumerate(range(0, df.height, self.max_rows_per_file)):
                    df.slice(offset, self.max_rows_per_file).write_parquet(
                        staged / f"part-{index:05d}.parquet", compression=PARQUET_COMPRESSION
                    )
        else:
            final = file_path
            with atomic.replacing(final) as staged:
                df.write_parquet(staged, compression=PARQUET_COMPRESSION)
        _remove_other_layouts(file_path, dir_path, keep=final)
        self._record_frame(context, df.schema, df.height, final, df)

    def _write_partition(self, context: dg.OutputContext, obj: Any) -> None:
        """One file per partition, replaced atomically; other partitions' files are left alone."""
        if not isinstance(obj, pl.DataFrame | pl.LazyFrame):
            raise dg.DagsterInvariantViolationError(
                f"Partitioned asset {context.asset_key.to_user_string()} returned a {type(obj).__name__}; "
                "partitions are stored as Parquet: return a polars DataFrame or LazyFrame."
            )
        final = partition_path(self._base(), context.asset_key, context.asset_partition_key)
        final.parent.mkdir(parents=True, exist_ok=True)
        with atomic.replacing_file_from_threads(final) as staged:
            if isinstance(obj, pl.LazyFrame):
                obj.sink_parquet(staged, compression=PARQUET_COMPRESSION)
            else:
                obj.write_parquet(staged, compression=PARQUET_COMPRESSION)
        scan = pl.scan_parquet(final)
        rows = scan.select(pl.len()).collect().item()
        self._record_frame(context, scan.collect_schema(), rows, final, scan.head(PREVIEW_ROWS).collect())

    def _sink_lazy(self, context: dg.OutputContext, lf: pl.LazyFrame, target: Path) -> None:
        file_path = target.with_suffix(".parquet")
        with atomic.replacing_file_from_threads(file_path) as staged:
            lf.sink_parquet(staged, compression=PARQUET_COMPRESSION)
        _remove_other_layouts(file_path, target, keep=file_path)
        scan = pl.scan_parquet(file_path)
        rows = scan.select(pl.len()).collect().item()
        self._record_frame(context, scan.collect_schema(), rows, file_path, scan.head(PREVIEW_ROWS).collect())

    def _write_array(self, context: dg.OutputContext, array: np.ndarray, target: Path) -> None:
        final = target.with_suffix(".npy")
        with atomic.replacing(final, suffix=".npy") as staged:
            np.save(staged, array, allow_pickle=False)
        context.add_output_metadata(
            {
                "dagster/row_count": int(array.shape[0]) if array.ndim else 1,
                "shape": str(tuple(array.shape)),
                "dtype": str(array.dtype),
                "path": dg.MetadataValue.path(str(final)),
                "size_mb": round(final.stat().st_size / 1e6, 3),
            }
        )

    def _record_frame(
        self, context: dg.OutputContext, schema: pl.Schema, rows: int, path: Path, sample: pl.DataFrame
    ) -> None:
        size = sum(p.stat().st_size for p in path.rglob("*.parquet")) if path.is_dir() else path.stat().st_size
        context.add_output_metadata(
            {
                "dagster/row_count": int(rows),
                "dagster/column_schema": table_schema(schema, _column_descriptions(context)),
                "path": dg.MetadataValue.path(str(path)),
                "size_mb": round(size / 1e6, 3),
                "preview": dg.MetadataValue.md(markdown_preview(sample)),
            }
        )

    # ------------------------------------------------------------------------------------ read
    def load_input(self, context: dg.InputContext) -> Any:
        key = context.upstream_output.asset_key if context.upstream_output else context.asset_key
        target = asset_path(self._base(), key)
        wanted = context.dagster_type.typing_type
        wanted = _unwrap_optional(wanted)
        if context.has_asset_partitions:
            files = [partition_path(self._base(), key, p) for p in sorted(context.asset_partition_keys)]
            return _read_partitions(key, files, lazy=wanted is pl.LazyFrame)
        npy = target.with_suffix(".npy")
        if wanted is np.ndarray or (npy.exists() and wanted not in (pl.DataFrame, pl.LazyFrame)):
            if not npy.exists():
                raise _missing(key, npy)
            return np.load(npy, mmap_mode="r", allow_pickle=False)
        return _read_parquet(key, target, lazy=wanted is pl.LazyFrame)


def _unwrap_optional(tp: Any) -> Any:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _missing(key: dg.AssetKey, path: Path) -> dg.DagsterInvariantViolationError:
    return dg.DagsterInvariantViolationError(
        f"Upstream asset {key.to_user_string()} has no stored value at {path}. Materialize it first "
        f"(for example `dagster asset materialize -m tv5_assets --select {key.to_user_string()}`), "
        "or check that TV5_DATA_DIR points at the same folder as the run that produced it."
    )


def read_frame(key: str | dg.AssetKey, lazy: bool = True, base_dir: Path | None = None) -> pl.LazyFrame | pl.DataFrame:
    """Read a stored asset outside Dagster (benchmarks, notebooks, tests)."""
    asset_key = key if isinstance(key, dg.AssetKey) else dg.AssetKey.from_user_string(key)
    target = asset_path(base_dir or settings.data_dir() / "assets", asset_key)
    partitions = target.with_name(target.name + PARTITIONS_SUFFIX)
    if partitions.is_dir() and not (target.is_dir() or target.with_suffix(".parquet").exists()):
        return _read_partitions(asset_key, sorted(partitions.glob("*.parquet")), lazy)  # every partition
    return _read_parquet(asset_key, target, lazy)


def _read_partitions(key: dg.AssetKey, files: list[Path], lazy: bool) -> pl.LazyFrame | pl.DataFrame:
    """The asked partitions' files as one frame; a missing one is an error naming it."""
    for path in files:
        if not path.exists():
            raise _missing(key, path)
    patterns = [str(p) for p in files]
    return pl.scan_parquet(patterns) if lazy else pl.read_parquet(patterns)


def _read_parquet(key: dg.AssetKey, target: Path, lazy: bool) -> pl.LazyFrame | pl.DataFrame:
    """The stored frame at `target` (one file, or a folder of parts), lazily or collected."""
    source = target if target.is_dir() else target.with_suffix(".parquet")
    if not source.exists():
        raise _missing(key, source)
    pattern = str(source / "*.parquet") if source.is_dir() else str(source)
    return pl.scan_parquet(pattern) if lazy else pl.read_parquet(pattern)
