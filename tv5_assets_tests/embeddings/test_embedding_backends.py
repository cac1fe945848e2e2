"""Encoder backends: the choice (auto by what is installed and the device), the fallback to torch,
the cache key, and, where openvino is installed, agreement with torch float32."""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np
import pytest

from tv5_assets.defs.embeddings.cache import model_key
from tv5_assets.encoder import backends
from tv5_assets.encoder.backends import BackendError, choose_backend, choose_backend_precision
from tv5_assets.encoder.model import LoadedModel, ModelLoadError, encode_texts, load_model

# Fixed texts of the media_text shape: short and long, with and without tags.
TEXTS = [
    "Heat.",
    "Toy Story (1995). Genres: Adventure, Animation, Children, Comedy, Fantasy.",
    "Starship Raiders (2001). Genres: Sci-Fi. Themes: space, aliens, robots.",
    "Love Letter (1998). Genres: Romance. Themes: love story, wedding, sweet.",
    "Humble Orbit: The Beginning (2004). Genres: Comedy, Crime, Sci-Fi.",
    "The Haunting (1963). Genres: Horror. Themes: haunted house, scary, creepy, gore, atmospheric, "
    "psychological, ghosts, mansion, classic, black and white.",
    "Le Fabuleux Destin d'Amélie Poulain (Amélie) (2001). Genres: Comedy, Romance. Themes: quirky, "
    "paris, whimsical, french, feel-good, romantic comedy, colourful, imagination, cute, narrated.",
    "Outlaw (1960). Genres: Western.",
]


def missing_unless(*names: str):
    return lambda backend: [] if backend in names else [backend]


@pytest.mark.parametrize(
    ("requested", "device", "present", "bf16", "expected"),
    [
        ("auto", "cpu", ("openvino",), True, "openvino"),
        ("auto", "cpu", ("openvino",), False, "torch"),  # OpenVINO fp32 is not clearly faster
        ("auto", "cpu", (), True, "torch"),
        ("auto", "cuda", ("openvino",), True, "torch"),
        ("torch", "cpu", ("openvino",), True, "torch"),
        ("OpenVINO", "cpu", ("openvino",), False, "openvino"),  # asked for: float32 then
        ("openvino", "cpu", (), True, "torch"),  # asked for, not installed: torch, with a note
    ],
)
def test_backend_choice(requested, device, present, bf16, expected) -> None:
    choice = choose_backend(requested, device, missing_unless(*present), lambda: bf16)
    assert choice.backend == expected
    if requested == "openvino" and not present:
        assert "pip install 'tv5-assets[openvino]'" in choice.note and "falling back to torch" in choice.note
    elif requested != "auto" or present:
        assert not choice.note


def test_auto_without_openvino_says_so_only_where_it_would_pay(tmp_path, monkeypatch) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu avx2 avx512f avx512_bf16 avx512_vnni\n")
    assert backends.cpu_flags_have_bf16(cpuinfo)
    cpuinfo.write_text("processor : 0\nflags : fpu avx2 avx512f\n")
    assert not backends.cpu_flags_have_bf16(cpuinfo)
    assert not backends.cpu_flags_have_bf16(tmp_path / "absent")
    for flag, noted in ((True, True), (False, False)):
        monkeypatch.setattr(backends, "cpu_flags_have_bf16", lambda flag=flag: flag)
        choice = choose_backend("auto", "cpu", missing_unless())
        assert choice.backend == "torch" and bool(choice.note) == noted


def test_backend_errors() -> None:
    for unknown in ("tensorrt", "onnx"):  # onnx: measured batch-mate dependent, not offered
        with pytest.raises(BackendError, match="not one of"):
            choose_backend(unknown, "cpu")
    with pytest.raises(BackendError, match="CPU only"):
        choose_backend("openvino", "cuda:0", missing_unless("openvino"), lambda: True)
    with pytest.raises(ModelLoadError, match="not one of"):
        load_model(device="cpu", backend="tensorrt")


def test_backend_precision_follows_the_cpu(monkeypatch) -> None:
    monkeypatch.setattr(backends, "openvino_has_bf16", lambda: True)
    assert choose_backend_precision("auto", "openvino") == "bfloat16"
    assert choose_backend_precision("float32", "openvino") == "float32"
    monkeypatch.setattr(backends, "openvino_has_bf16", lambda: False)
    assert choose_backend_precision("auto", "openvino") == "float32"
    assert choose_backend_precision("bfloat16", "openvino") == "bfloat16"
    with pytest.raises(BackendError):
        choose_backend_precision("float16", "openvino")


def test_the_cache_key_includes_the_backend(fp32_model: LoadedModel) -> None:
    torch_key = model_key(fp32_model)
    assert "backend" not in torch_key.fields  # torch keys unchanged: caches made before backends stay valid
    seen = {torch_key.digest}
    for backend, version in (("openvino", "2026.4.1"), ("openvino", "2026.5.0")):
        key = model_key(dataclasses.replace(fp32_model, backend=backend, backend_version=version))
        assert key.fields["backend"] == backend and key.fields["backend_version"] == version
        assert backend in key.folder_name
        assert key.digest not in seen
        seen.add(key.digest)
    assert fp32_model.provenance()["backend"] == "torch"


def test_a_missing_backend_falls_back_to_torch_with_a_warning(monkeypatch) -> None:
    monkeypatch.setattr(backends, "missing_packages", lambda backend: ["openvino"])
    warnings: list[str] = []
    loaded = load_model(device="cpu", precision="auto", backend="openvino", warn=warnings.append)
    assert loaded.backend == "torch" and loaded.runner is None and loaded.backend_version == ""
    assert len(warnings) == 1 and "openvino" in warnings[0] and "falling back to torch" in warnings[0]


def test_a_failed_export_falls_back_to_torch_with_a_warning(monkeypatch) -> None:
    monkeypatch.setattr(backends, "missing_packages", lambda backend: [])
    monkeypatch.setattr(backends, "choose_backend_precision", lambda precision, backend: "float32")

    def broken(*args, **kwargs):
        raise RuntimeError("cannot trace this model")

    monkeypatch.setattr(backends, "build_runner", broken)
    warnings: list[str] = []
    loaded = load_model(device="cpu", backend="openvino", warn=warnings.append)
    assert loaded.backend == "torch"
    assert len(warnings) == 1 and "cannot trace this model" in warnings[0]


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_installed_openvino_agrees_with_torch(precision, fp32_model, tmp_path, monkeypatch) -> None:
    backend = "openvino"
    if importlib.util.find_spec("openvino") is None:
        pytest.skip(f"openvino is not installed ({backends.install_hint(backend)})")
    monkeypatch.setenv("TV5_DATA_DIR", str(tmp_path))
    loaded = load_model(device="cpu", precision=precision, backend=backend, threads=2, warn=pytest.fail)
    assert loaded.backend == backend and loaded.precision == precision and loaded.backend_version
    assert loaded.extra["encoder_file"].startswith(str(tmp_path / "cache" / "encoders"))  # never the package
    vectors, _ = encode_texts(loaded, TEXTS, batch_size=4)
    reference, _ = encode_texts(fp32_model, TEXTS, batch_size=4)
    cosine = np.einsum("ij,ij->i", vectors, reference)
    assert cosine.min() >= 0.99, cosine
    # A vector is a function of its text alone: alone or among others, the same bits.
    alone = np.concatenate([encode_texts(loaded, [text], batch_size=1)[0] for text in TEXTS])
    assert np.array_equal(alone, vectors)
    # The second load reuses the export.
    again = load_model(device="cpu", precision=precision, backend=backend, threads=2, warn=pytest.fail)
    assert again.extra["encoder_file"] == loaded.extra["encoder_file"]
    assert np.array_equal(encode_texts(again, TEXTS, batch_size=4)[0], vectors)
