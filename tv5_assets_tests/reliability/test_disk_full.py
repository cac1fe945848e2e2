"""A full disk while the platform writes its files: a clear message, the previous version intact, and
a re-run that succeeds once space is freed.

Each test mounts a small tmpfs of its own (small_disk.py; skipped where mounting is not permitted),
writes a first version of a file there, fills the filesystem, and writes a larger second version:
- the write fails with `DiskFullError`, whose message says "Disk full", names the file and the
  filesystem with its free space, and says what to do (free space, or point TV5_DATA_DIR elsewhere);
- the first version is still there, byte for byte, and no staging file is left behind;
- after the filler is deleted, the same write succeeds and serves the second version.

The IO manager is driven by real Dagster runs (`dg.materialize`) for every stored type (DataFrame,
LazyFrame through `sink_parquet`, numpy array, one partition); exports and embeddings exports by
their real writers. The Neo4j import files and backups use the same `atomic.replacing(folder=True)`
as the embeddings exports.
"""

# no `from __future__ import annotations`: Dagster resolves the `Version` config annotation at import

import json
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from small_disk import fill, leftovers, make_room, small_disk

from tv5_assets.disk_full import DiskFullError, is_disk_full, store_full
from tv5_assets.io_managers import Tv5IOManager

DISK_MB = 4
SMALL, LARGE = 2_000, 300_000  # float64 rows: ~16 KB, then ~2.4 MB that zstd cannot shrink


class Version(dg.Config):
    rows: int = SMALL
    seed: int = 1


def _values(config: Version) -> np.ndarray:
    return np.random.default_rng(config.seed).random(config.rows)


@dg.asset
def frame(config: Version) -> pl.DataFrame:
    return pl.DataFrame({"x": _values(config)})


@dg.asset
def lazy(config: Version) -> pl.LazyFrame:
    return pl.LazyFrame({"x": _values(config)})


@dg.asset
def array(config: Version) -> np.ndarray:
    return _values(config)


@dg.asset(partitions_def=dg.StaticPartitionsDefinition(["p1"]))
def part(config: Version) -> pl.DataFrame:
    return pl.DataFrame({"x": _values(config)})


ASSETS = {"frame": (frame, "frame.parquet"), "lazy": (lazy, "lazy.parquet"), "array": (array, "array.npy")}
ASSETS["part"] = (part, "part.partitions/p1.parquet")


def _materialize(asset, base: Path, rows: int, seed: int) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [asset],
        resources={"io_manager": Tv5IOManager(base_dir=str(base))},
        run_config={"ops": {asset.op.name: {"config": {"rows": rows, "seed": seed}}}},
        partition_key="p1" if asset.partitions_def else None,
        raise_on_error=False,
    )


def _failure_text(result: dg.ExecuteInProcessResult) -> str:
    """The failed step's error and its causes, `Class: message` each, as the UI shows them."""
    (event,) = result.get_step_failure_events()
    error, lines = event.step_failure_data.error, []
    while error is not None:
        lines.append(f"{error.cls_name}: {error.message.strip()}")
        error = error.cause
    return "\n".join(lines)


def _stored(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path, allow_pickle=False)
    return pl.read_parquet(path)["x"].to_numpy()


def assert_disk_full_message(text: str, path: Path) -> None:
    assert "Disk full" in text, text
    assert str(path) in text, text
    assert "free of" in text and "ran out of space" in text, text
    assert "is unchanged" in text and "Free space" in text and "TV5_DATA_DIR" in text, text


@pytest.mark.parametrize("kind", sorted(ASSETS))
def test_io_manager_on_a_full_disk_keeps_the_previous_version(kind: str, tmp_path: Path) -> None:
    asset, relative = ASSETS[kind]
    with small_disk(tmp_path / "disk", DISK_MB) as disk:
        stored = disk / relative
        assert _materialize(asset, disk, SMALL, seed=1).success
        before = stored.read_bytes()

        fill(disk, leave=256 * 1024)
        failed = _materialize(asset, disk, LARGE, seed=2)
        assert not failed.success
        text = _failure_text(failed)
        assert "DiskFullError" in text, text
        assert_disk_full_message(text, stored)
        assert stored.read_bytes() == before  # the previous version, byte for byte
        np.testing.assert_array_equal(_stored(stored), _values(Version(rows=SMALL, seed=1)))
        assert leftovers(disk) == []

        make_room(disk)
        assert _materialize(asset, disk, LARGE, seed=2).success
        np.testing.assert_array_equal(_stored(stored), _values(Version(rows=LARGE, seed=2)))
        assert leftovers(disk) == []


def test_exports_on_a_full_disk_keep_the_previous_file(tmp_path: Path) -> None:
    from tv5_assets.defs.exports.writers import ExportError, write_jsonl, write_parquet

    large = Version(rows=100_000, seed=2)  # ~2.5 MB as JSON lines, ~0.8 MB as Parquet
    for write, name in ((write_jsonl, "media.jsonl"), (write_parquet, "media.parquet")):
        with small_disk(tmp_path / name, DISK_MB) as disk:
            final = disk / name
            write(pl.LazyFrame({"x": _values(Version(rows=SMALL))}), final)
            before = final.read_bytes()
            fill(disk, leave=256 * 1024)
            with pytest.raises(ExportError) as raised:  # the exports' own error, with the disk-full message
                write(pl.LazyFrame({"x": _values(large)}), final)
            assert isinstance(raised.value.__cause__, DiskFullError)
            assert_disk_full_message(str(raised.value), final)
            assert final.read_bytes() == before and leftovers(disk) == []
            make_room(disk)
            assert write(pl.LazyFrame({"x": _values(large)}), final).rows == large.rows


def test_embeddings_export_folder_on_a_full_disk_keeps_the_previous_folder(tmp_path: Path) -> None:
    """A folder written whole and swapped in (embeddings exports; the Neo4j import files and backups
    use the same `atomic.replacing(folder=True)`)."""
    from tv5_assets.defs.embeddings.exports import write_user_export

    def vectors(users: int, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).random((users, 64), dtype=np.float32)

    with small_disk(tmp_path / "disk", DISK_MB) as disk:
        final = disk / "users"
        write_user_export(vectors(10, 1), [f"u{i}" for i in range(10)], folder=final)
        before = {p.name: p.read_bytes() for p in final.iterdir()}
        fill(disk, leave=256 * 1024)
        big = 12_000  # 3 MB of float32
        with pytest.raises(DiskFullError) as raised:
            write_user_export(vectors(big, 2), [f"u{i}" for i in range(big)], folder=final)
        assert_disk_full_message(str(raised.value), final)
        assert {p.name: p.read_bytes() for p in final.iterdir()} == before and leftovers(disk) == []
        make_room(disk)
        write_user_export(vectors(big, 2), [f"u{i}" for i in range(big)], folder=final)
        assert len(json.loads((final / "user_ids.json").read_text())) == big


def test_disk_full_is_recognised_in_every_voice() -> None:
    """What the writers and stores say on a full disk (seen on the small tmpfs and the stores below)."""
    import errno

    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert is_disk_full(
        pl.exceptions.ComputeError(
            "parquet: File out of specification: underlying IO error: No space left on device (os error 28)"
        )
    )
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(OSError("300000 requested and 131056 written"))  # numpy: decided by free space
    assert store_full(RuntimeError("MISCONF Errors writing to the AOF file: No space left on device")) == "disk"
    assert store_full(RuntimeError("OOM command not allowed when used memory > 'maxmemory'.")) == "memory"
    assert store_full(RuntimeError("quota exceeded[reason=disk quota exceeded, please allocate more resources]"))
    assert store_full(RuntimeError("connection refused")) is None


def test_neo4j_log_append_failure_reads_as_a_full_disk_that_needs_a_restart() -> None:
    """Neo4j's words (measured on a full tmpfs): its client sees the log error, then the panic."""
    import neo4j.exceptions

    from tv5_assets.disk_full import needs_restart, store_full_advice

    append = neo4j.exceptions.DatabaseError._hydrate_neo4j(
        code="Neo.DatabaseError.Transaction.TransactionLogError",
        message="Could not append transaction: Transaction #43 {...} to log.",
    )
    panic = neo4j.exceptions.DatabaseError._hydrate_neo4j(
        code="Neo.DatabaseError.Transaction.TransactionStartFailed",
        message="The database has encountered a critical error, and needs to be restarted. Please see database logs.",
    )
    assert store_full(append) == "disk" and needs_restart(append)
    assert store_full(panic) is None and needs_restart(panic)  # no disk named: restart advice only
    assert not needs_restart(RuntimeError("connection refused"))
    advice = store_full_advice("Neo4j", "disk", append, "neo4j")
    assert "Neo4j's disk is full" in advice and "tv5 services up --only neo4j --truncate-cut-log" in advice
