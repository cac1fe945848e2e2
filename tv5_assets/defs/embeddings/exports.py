"""The plan's deliverable files, for tools outside Dagster (under `$TV5_DATA_DIR/embeddings/`):

    media/content_vectors.npy    float32 (movies, 384), L2-normalised, rows sorted by movie_id
    media/metadata.jsonl         one {"media_id", "movie_id", "title"} per line, same order
    users/preference_vectors.npy float32 (users, 384), L2-normalised, rows sorted by user_id
    users/user_ids.json          ["user_00000001", ...] (the plan's user ids), same order

Each folder is written complete beside its final place and swapped in with renames, so a reader
sees the previous pair or the new pair, never vectors from one run with ids from another (during
the swap the folder is briefly absent: a reader then gets "file not found", never a mismatch).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import polars as pl

from ... import atomic, settings

MEDIA_VECTORS = "content_vectors.npy"
MEDIA_METADATA = "metadata.jsonl"
USER_VECTORS = "preference_vectors.npy"
USER_IDS = "user_ids.json"


def exports_root() -> Path:
    return settings.data_dir() / "embeddings"


def media_export_dir() -> Path:
    return exports_root() / "media"


def user_export_dir() -> Path:
    return exports_root() / "users"


def write_media_export(vectors: np.ndarray, metadata: pl.DataFrame, folder: Path | None = None) -> Path:
    """`metadata` has media_id, movie_id, title, one row per vector, in the vectors' order."""
    if metadata.height != vectors.shape[0]:
        raise ValueError(f"media export: {vectors.shape[0]} vectors but {metadata.height} metadata rows")
    final = folder or media_export_dir()
    with atomic.replacing(final, folder=True) as tmp:
        np.save(tmp / MEDIA_VECTORS, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
        metadata.select("media_id", "movie_id", "title").write_ndjson(tmp / MEDIA_METADATA)
        _fsync_all(tmp)
    return final


def write_user_export(vectors: np.ndarray, user_keys: list[str], folder: Path | None = None) -> Path:
    if len(user_keys) != vectors.shape[0]:
        raise ValueError(f"user export: {vectors.shape[0]} vectors but {len(user_keys)} user ids")
    final = folder or user_export_dir()
    with atomic.replacing(final, folder=True) as tmp:
        np.save(tmp / USER_VECTORS, np.ascontiguousarray(vectors, dtype=np.float32), allow_pickle=False)
        (tmp / USER_IDS).write_text(json.dumps(user_keys))
        _fsync_all(tmp)
    return final


def _fsync_all(folder: Path) -> None:
    """Flush file contents before the rename publishes them (a crash must not publish empty files)."""
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
