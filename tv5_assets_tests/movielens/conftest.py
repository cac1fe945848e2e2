"""Fixtures for the movielens tests: private env folders so these runs never touch the session's."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def private_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Returns set_release(folder): points TV5_MOVIELENS_DIR there and TV5_DATA_DIR at a private folder."""
    data = tmp_path / "data"
    monkeypatch.setenv("TV5_DATA_DIR", str(data))

    def set_release(folder: Path) -> Path:
        monkeypatch.setenv("TV5_MOVIELENS_DIR", str(folder))
        return data

    return set_release
