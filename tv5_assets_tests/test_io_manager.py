"""The typed IO manager: the annotated type decides storage, and the value comes back typed."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from tv5_assets.io_managers import Tv5IOManager, read_frame


def _run(assets, base: Path, **kwargs):
    return dg.materialize(assets, resources={"io_manager": Tv5IOManager(base_dir=str(base), **kwargs)})


def _metadata(result, key: str) -> dict:
    (event,) = [
        e
        for e in result.get_asset_materialization_events()
        if e.event_specific_data.materialization.asset_key == dg.AssetKey.from_user_string(key)
    ]
    return event.event_specific_data.materialization.metadata


def test_frames_and_arrays_round_trip_with_their_types(tmp_path: Path) -> None:
    seen: dict[str, object] = {}

    @dg.asset(key_prefix=["nested"])
    def frame() -> pl.DataFrame:
        return pl.DataFrame(
            {"id": [1, 2, 3], "tags": [["a"], [], ["b", "c"]]}, schema={"id": pl.Int32, "tags": pl.List(pl.String)}
        )

    @dg.asset
    def lazy() -> pl.LazyFrame:
        return pl.LazyFrame({"x": list(range(10))})

    @dg.asset
    def array() -> np.ndarray:
        return np.arange(12, dtype=np.float32).reshape(3, 4)

    @dg.asset(ins={"frame": dg.AssetIn(key=["nested", "frame"])})
    def consumer(frame: pl.LazyFrame, lazy: pl.DataFrame, array: np.ndarray) -> pl.DataFrame:
        seen.update(frame=frame, lazy=lazy, array=array)
        return frame.collect().with_columns(total=pl.lit(float(array.sum())))

    result = _run([frame, lazy, array, consumer], tmp_path)
    assert result.success
    assert (tmp_path / "nested" / "frame.parquet").is_file()
    assert (tmp_path / "lazy.parquet").is_file()
    assert (tmp_path / "array.npy").is_file()
    assert isinstance(seen["frame"], pl.LazyFrame)
    assert isinstance(seen["lazy"], pl.DataFrame) and seen["lazy"].height == 10
    assert isinstance(seen["array"], np.ndarray) and seen["array"].shape == (3, 4)
    assert read_frame("nested/frame", lazy=False, base_dir=tmp_path)["tags"].to_list() == [["a"], [], ["b", "c"]]

    meta = _metadata(result, "nested/frame")
    assert meta["dagster/row_count"].value == 3
    assert [c.name for c in meta["dagster/column_schema"].schema.columns] == ["id", "tags"]
    assert _metadata(result, "lazy")["dagster/row_count"].value == 10
    assert _metadata(result, "array")["shape"].value == "(3, 4)"
    assert not list(tmp_path.rglob("*.tmp-*")), "temporary files left behind"


def test_large_frames_become_a_folder_and_shrinking_removes_it(tmp_path: Path) -> None:
    size = {"n": 25}

    @dg.asset
    def big() -> pl.DataFrame:
        return pl.DataFrame({"i": list(range(size["n"]))})

    assert _run([big], tmp_path, max_rows_per_file=10).success
    parts = sorted(p.name for p in (tmp_path / "big").iterdir())
    assert parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert read_frame("big", lazy=False, base_dir=tmp_path)["i"].to_list() == list(range(25))

    size["n"] = 5
    assert _run([big], tmp_path, max_rows_per_file=10).success
    assert not (tmp_path / "big").exists()
    assert read_frame("big", lazy=False, base_dir=tmp_path).height == 5


def test_unsupported_types_are_refused_not_pickled(tmp_path: Path) -> None:
    @dg.asset
    def a_dict() -> dict:
        return {"a": 1}

    with pytest.raises(Exception, match="nothing goes through pickle"):
        _run([a_dict], tmp_path)
    assert not list(tmp_path.rglob("*.pickle")) and not list(tmp_path.rglob("a_dict*"))


def test_missing_upstream_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="Materialize it first"):
        read_frame("never_built", base_dir=tmp_path)


def test_a_failed_write_keeps_the_previous_version_and_leaves_no_staging_files(tmp_path: Path) -> None:
    fail = {"now": False}

    @dg.asset
    def table() -> pl.LazyFrame:
        if fail["now"]:  # fails while streaming, after the staging file was opened
            return pl.LazyFrame({"a": ["1", "x"]}).select(pl.col("a").cast(pl.Int64, strict=True))
        return pl.LazyFrame({"a": [1, 2, 3]})

    assert _run([table], tmp_path).success
    fail["now"] = True
    with pytest.raises(pl.exceptions.InvalidOperationError, match="str"):
        _run([table], tmp_path)
    assert read_frame("table", lazy=False, base_dir=tmp_path)["a"].to_list() == [1, 2, 3]
    assert not [p for p in tmp_path.rglob("*") if ".tmp-" in p.name], "staging files left behind"
