"""The embedding cache with the real model: hits, misses, keys, switch, corrupt shards, exact bits.

Encoder calls are counted through encode_with_cache's `encode` seam (the real encode_texts
underneath), and through the asset's `texts_encoded` metadata; the model itself is never mocked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
from embeddings_frames import movie_genome_frame, movies_frame, tags_frame

from tv5_assets.defs.embeddings.cache import (
    CACHE_DIR_ENV,
    CACHE_SWITCH_ENV,
    CacheKey,
    EmbeddingCache,
    cache_root,
    encode_with_cache,
    model_key,
    open_cache,
    text_hashes,
)
from tv5_assets.defs.embeddings.text import build_media_text
from tv5_assets.encoder.model import LoadedModel, encode_texts

BATCH = 64


class CountingEncoder:
    """The real encoder, recording the texts of each call."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return encode_texts(self.loaded, texts, BATCH)[0]

    @property
    def encoded(self) -> list[str]:
        return [text for call in self.calls for text in call]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """100 texts from the project's own template over small hand-built tables."""
    movies = movies_frame(n_per_genre=15)
    frame = build_media_text(movies, movie_genome_frame(movies), tags_frame(movies))
    return frame["text"].to_list()


@pytest.fixture(scope="module")
def uncached(default_model: LoadedModel, texts: list[str]) -> np.ndarray:
    return encode_texts(default_model, texts, BATCH)[0]


@pytest.fixture(scope="module")
def filled(default_model, texts, tmp_path_factory) -> tuple[Path, CountingEncoder, np.ndarray]:
    """A cache filled once by a cold run over `texts` (copied by each test that changes it)."""
    root = tmp_path_factory.mktemp("filled-cache")
    encoder = CountingEncoder(default_model)
    vectors, _ = encode_with_cache(texts, encoder, EmbeddingCache(root, model_key(default_model), warn=pytest.fail))
    return root, encoder, vectors


@pytest.fixture
def cache(default_model: LoadedModel, filled, tmp_path: Path) -> EmbeddingCache:
    """A private copy of the filled cache."""
    shutil.copytree(filled[0], tmp_path / "cache")
    return EmbeddingCache(tmp_path / "cache", model_key(default_model), warn=pytest.fail)


def test_second_run_with_the_same_texts_encodes_nothing(default_model, texts, uncached, filled, cache) -> None:
    _, cold, first = filled
    assert len(cold.calls) == 1 and sorted(cold.encoded) == sorted(set(texts))
    warm = CountingEncoder(default_model)
    second, report = encode_with_cache(texts, warm, cache)
    assert warm.calls == [] and report.encoded == 0 and report.hits == len(texts)
    assert report.size_bytes > 0 and report.shards == 1
    # Bit-identical: cold, warm and a plain encode without any cache.
    assert np.array_equal(first, uncached) and np.array_equal(second, uncached)


def test_changing_one_percent_encodes_exactly_those(default_model, texts, cache) -> None:
    changed = list(texts)
    changed[37] = changed[37] + " Themes: remastered."  # 1 of 100
    encoder = CountingEncoder(default_model)
    vectors, report = encode_with_cache(changed, encoder, cache)
    assert encoder.calls == [[changed[37]]]
    assert report.encoded == 1 and report.hits == len(texts) - 1 and report.shards == 2
    # The mix of cached and fresh vectors equals encoding the changed list from scratch.
    assert np.array_equal(vectors, encode_texts(default_model, changed, BATCH)[0])


def test_another_model_key_misses(default_model, texts, uncached, cache) -> None:
    key = model_key(default_model)
    assert model_key(default_model).digest == key.digest  # stable for the same model
    for change in ({"precision": "bfloat16"}, {"weights_sha256": "0" * 64}, {"dim": 385}):
        assert model_key(dataclasses.replace(default_model, **change)).digest != key.digest, change
    other = EmbeddingCache(cache.root, CacheKey({**key.fields, "max_seq_length": 128}), warn=pytest.fail)
    assert other.folder != cache.folder
    encoder = CountingEncoder(default_model)
    vectors, report = encode_with_cache(texts[:20], encoder, other)
    assert encoder.calls == [texts[:20]] and report.hits == 0
    assert np.array_equal(vectors, uncached[:20])  # a vector does not depend on what else is encoded


def test_disabled_cache_encodes_everything(default_model, texts, uncached, filled, tmp_path, monkeypatch) -> None:
    shutil.copytree(filled[0], tmp_path / "cache")
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path / "cache"))
    assert cache_root() == tmp_path / "cache" and open_cache(default_model) is not None
    monkeypatch.setenv(CACHE_SWITCH_ENV, "0")
    assert open_cache(default_model) is None
    monkeypatch.delenv(CACHE_SWITCH_ENV)
    assert open_cache(default_model, enabled=False) is None  # the asset's config switch
    encoder = CountingEncoder(default_model)
    vectors, report = encode_with_cache(texts[:20], encoder, None)
    assert encoder.calls == [texts[:20]] and report.hits == 0 and report.encoded == 20
    assert report.metadata()["cache_key"] == "off"
    assert np.array_equal(vectors, uncached[:20])


@pytest.mark.parametrize("damage", ["flip_a_byte", "truncate", "not_parquet_with_matching_name"])
def test_corrupt_shard_is_reported_and_ignored(default_model, texts, uncached, cache, damage) -> None:
    warnings: list[str] = []
    cache.warn = warnings.append
    (shard,) = cache.shards()
    data = bytearray(shard.read_bytes())
    if damage == "flip_a_byte":
        data[len(data) // 2] ^= 0x01
        shard.write_bytes(bytes(data))
    elif damage == "truncate":
        shard.write_bytes(bytes(data[: len(data) // 2]))
    else:  # garbage whose name carries its own checksum: passes the checksum, fails the parse
        shard.unlink()
        garbage = b"not a parquet file"
        shard = shard.with_name(f"shard-{hashlib.sha256(garbage).hexdigest()[:32]}.parquet")
        shard.write_bytes(garbage)
    encoder = CountingEncoder(default_model)
    vectors, report = encode_with_cache(texts[:20], encoder, cache)
    assert len(warnings) == 1 and str(shard) in warnings[0], warnings
    assert encoder.calls == [texts[:20]] and report.hits == 0 and report.shards_ignored == 1
    assert np.array_equal(vectors, uncached[:20])  # nothing from the damaged shard was served
    assert shard.with_name(shard.name + ".corrupt").exists() and len(cache.shards()) == 1  # the fresh one


def test_vectors_round_trip_bit_for_bit_and_compaction_keeps_them(tmp_path) -> None:
    rng = np.random.default_rng(1)
    key = CacheKey({"scheme": 1, "model": "test", "device_kind": "cpu", "precision": "float32", "dim": 8})
    cache = EmbeddingCache(tmp_path, key, warn=pytest.fail)
    texts = [f"text {i}" for i in range(40)]
    vectors = rng.standard_normal((40, 8)).astype(np.float32)
    vectors[0, 0] = np.float32(1e-45)  # a subnormal survives too
    for start in range(0, 40, 2):  # 20 appends, 2 texts each
        cache.append(text_hashes(texts[start : start + 2]), vectors[start : start + 2])
    assert len(cache.shards()) == 20
    assert cache.compact(at_shards=16) == 20 and len(cache.shards()) == 1
    found = cache.lookup(text_hashes(texts))
    order = pl.DataFrame({"text_hash": text_hashes(texts)}).join(found, on="text_hash", how="left")
    assert np.array_equal(order["embedding"].to_numpy(), vectors)
    # Same content appended twice (two concurrent runs): one file, same name.
    again = cache.append(text_hashes(texts[:2]), vectors[:2])
    assert again == cache.append(text_hashes(texts[:2]), vectors[:2])


def test_an_unusable_cache_folder_is_a_warning_not_a_failure(default_model, texts, uncached, tmp_path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    warnings: list[str] = []
    cache = EmbeddingCache(blocker, model_key(default_model), warn=warnings.append)
    vectors, report = encode_with_cache(texts[:5], CountingEncoder(default_model), cache)
    assert np.array_equal(vectors, uncached[:5]) and report.encoded == 5
    assert warnings and "could not write a shard" in warnings[0]


def test_a_folder_recorded_for_another_key_is_left_alone(tmp_path) -> None:
    key = CacheKey({"scheme": 1, "model": "test", "device_kind": "cpu", "precision": "float32", "dim": 8})
    first = EmbeddingCache(tmp_path, key, warn=pytest.fail)
    hashes = text_hashes(["a", "b"])
    first.append(hashes, np.ones((2, 8), np.float32))
    (first.folder / "key.json").write_text('{"model": "something else"}')
    warnings: list[str] = []
    second = EmbeddingCache(tmp_path, key, warn=warnings.append)
    assert second.lookup(hashes).height == 0 and second.append(hashes, np.ones((2, 8), np.float32)) is None
    assert len(warnings) == 1 and "another model key" in warnings[0]


# ------------------------------------------------------------------------------ through the asset
def _materialize(data: Path, use_cache: bool = True) -> tuple[pl.DataFrame, dict]:
    from tv5_assets.definitions import defs as load_defs

    defs = load_defs()
    result = dg.materialize(
        list(defs.assets or []),
        selection="media_embeddings",
        resources=dict(defs.resources or {}),
        run_config={"ops": {"media_embeddings": {"config": {"write_export": False, "use_cache": use_cache}}}},
    )
    (event,) = result.get_asset_materialization_events()
    metadata = {k: getattr(v, "value", v) for k, v in event.materialization.metadata.items()}
    return pl.read_parquet(data / "assets" / "media_embeddings.parquet"), metadata


def test_asset_output_is_identical_with_and_without_cache(tmp_path, monkeypatch) -> None:
    movies = movies_frame(n_per_genre=5)
    assets = tmp_path / "assets"
    assets.mkdir()
    movies.write_parquet(assets / "movies.parquet")
    build_media_text(movies, movie_genome_frame(movies), tags_frame(movies)).write_parquet(
        assets / "media_text.parquet"
    )
    monkeypatch.setenv("TV5_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(CACHE_DIR_ENV, raising=False)
    monkeypatch.delenv(CACHE_SWITCH_ENV, raising=False)

    without, off = _materialize(tmp_path, use_cache=False)
    cold_frame, cold = _materialize(tmp_path)
    warm_frame, warm = _materialize(tmp_path)
    assert off["texts_encoded"] == movies.height and off["cache_key"] == "off"
    assert cold["texts_encoded"] == movies.height and cold["cache_hits"] == 0
    assert warm["texts_encoded"] == 0 and warm["cache_hits"] == movies.height and "texts_per_second" not in warm
    assert warm["cache_key"] == cold["cache_key"] and warm["cache_bytes"] > 0
    assert str(warm["cache_dir"]).startswith(str(tmp_path / "cache" / "embeddings"))
    assert without.equals(cold_frame) and without.equals(warm_frame)
