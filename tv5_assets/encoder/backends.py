"""Inference backends for the embedding model on CPU: torch (sentence-transformers) or OpenVINO.

- The sentence-transformers pipeline (transformer, pooling, normalisation) is converted once per
  model and tool versions into `$TV5_DATA_DIR/cache/encoders/<folder>` (never into the package):
  OpenVINO IR straight from torch (`openvino.convert_model`), written aside and renamed in, so a
  killed run leaves no half model behind.
- Tokenisation stays sentence-transformers' own (same token ids, same truncation), so only the
  forward pass changes: OpenVINO runs the same float32 weights.
- "auto" is OpenVINO in bfloat16 on a CPU where OpenVINO's plugin reports BF16 (AVX512-BF16 or
  AMX) and the `openvino` package is installed (the `openvino` extra); torch everywhere else (on
  CUDA always). "openvino" asked for runs bfloat16 there and float32 elsewhere (precision "auto").
  OpenVINO asked for but not installed falls back to torch with a warning naming the extra; so
  does a model that cannot be converted.
- Measured (benchmarks/bench_encoder_backends.py, docs/benchmarks.md) on the 2-core development
  machine (AMD EPYC, AVX512-BF16 and VNNI, no AMX), interleaved with torch float32, quiet machine,
  4,000 media texts: OpenVINO bf16 1.92x (632 vs 329 texts/s), OpenVINO fp32 1.25x (not clearly
  faster, so not chosen by "auto"); over all 12,750 texts of the demo data, min cosine to torch
  fp32 0.99996 (bf16) and 1.00000 (fp32). ONNX Runtime is not offered: float32 only 1.08x, and its
  vectors change with their batch mates (up to 7.5e-8, at every optimisation level and thread
  count); its dynamic int8 fell under the 0.99 cosine bar (min 0.981, 474 texts under).
- Batches hold one token length each (batching.batch_plan), nothing is padded, and OpenVINO's vectors
  were bit-identical whether a text is encoded alone or among others (256 texts, fp32 and bf16).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .. import atomic
from ..settings import data_dir
from .batching import model_features

BACKENDS = ("auto", "torch", "openvino")
# What each backend imports; the extra of this project that installs it has the backend's name.
PACKAGES = {"openvino": ("openvino",)}
DISTRIBUTIONS = {"openvino": "openvino"}
EXPORT_SCHEME = 1  # bump when the converted graph changes (inputs, outputs, converter settings)
MODEL_FILE = "openvino_model.xml"
ENCODERS_DIR = ("cache", "encoders")
OUTPUT = "sentence_embedding"

Runner = Callable[[Mapping[str, np.ndarray]], np.ndarray]

_log = logging.getLogger(__name__)


class BackendError(RuntimeError):
    """A backend setting that cannot work (unknown name, not on this device, wrong precision)."""


@dataclass(frozen=True)
class BackendChoice:
    backend: str
    note: str = ""  # why another backend than the one asked for, for the run log


def missing_packages(backend: str) -> list[str]:
    """The modules `backend` needs that are not importable here (none for torch)."""
    return [name for name in PACKAGES.get(backend, ()) if importlib.util.find_spec(name) is None]


def backend_version(backend: str) -> str:
    if backend == "torch":
        return ""
    try:
        return metadata.version(DISTRIBUTIONS[backend])
    except metadata.PackageNotFoundError:
        return ""


def install_hint(backend: str) -> str:
    return f"pip install 'tv5-assets[{backend}]'"


def choose_backend(
    requested: str,
    device: str,
    missing: Callable[[str], list[str]] | None = None,
    has_bf16: Callable[[], bool] | None = None,
) -> BackendChoice:
    """The backend to run. 'auto': OpenVINO on a CPU where it has BF16 (measured 1.9x torch fp32;
    its float32 only 1.25x, not worth a second runtime), else torch; torch on CUDA. A backend
    asked for but not installed falls back to torch with a note saying what to install."""
    missing = missing or missing_packages
    has_bf16 = has_bf16 or openvino_has_bf16
    wanted = requested.strip().lower()
    if wanted not in BACKENDS:
        raise BackendError(f"backend {requested!r} is not one of {', '.join(BACKENDS)}")
    on_cuda = device.startswith("cuda")
    if wanted == "torch" or (wanted == "auto" and on_cuda):
        return BackendChoice("torch")
    if on_cuda:
        raise BackendError(f"backend {wanted!r} runs on CPU only here; on {device} use 'torch' or 'auto'")
    absent = missing("openvino")
    if wanted == "auto":
        if not absent:
            return BackendChoice("openvino" if has_bf16() else "torch")
        if cpu_flags_have_bf16():  # the case where installing it pays
            return BackendChoice(
                "torch",
                "embedding backend auto: this CPU has BF16 but openvino is not installed, so torch runs "
                f"(OpenVINO bf16 measured about 1.9x faster; {install_hint('openvino')})",
            )
        return BackendChoice("torch")
    if absent:
        return BackendChoice(
            "torch",
            f"embedding backend {wanted!r} asked for but {', '.join(absent)} is not installed: falling back to "
            f"torch ({install_hint(wanted)})",
        )
    return BackendChoice(wanted)


def cpu_flags_have_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """The CPU advertises AVX512-BF16 or AMX-BF16 (Linux), without importing openvino."""
    try:
        flags = next((line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def openvino_has_bf16() -> bool:
    """The OpenVINO CPU plugin reports BF16 (AVX512-BF16 or AMX): its bf16 path is the fast one there."""
    try:
        import openvino

        return "BF16" in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # no plugin, odd build: float32 is always right
        return False


def choose_backend_precision(requested: str, backend: str) -> str:
    """Precision on OpenVINO: 'auto' is bfloat16 where its CPU plugin has BF16, else float32."""
    wanted = requested.strip().lower()
    if wanted == "auto":
        return "bfloat16" if openvino_has_bf16() else "float32"
    if wanted in ("float32", "bfloat16"):
        return wanted
    raise BackendError(f"precision {requested!r} is not supported by the {backend} backend: use float32 or bfloat16")


# ------------------------------------------------------------------------------------------ export
def model_inputs(model: Any) -> tuple[list[str], dict[str, Any]]:
    """The tensor inputs the model's tokenizer produces (ordered) and its other feature entries."""
    features = model.preprocess(["an example text"]) if hasattr(model, "preprocess") else model.tokenize(["x"])
    import torch

    names = [k for k, v in features.items() if isinstance(v, torch.Tensor)]
    return names, {k: v for k, v in features.items() if not isinstance(v, torch.Tensor)}


def _wrapper(model: Any, names: list[str], extras: dict[str, Any]):
    """The whole sentence-transformers pipeline as a module of positional tensors -> embeddings."""
    import torch

    class Pipeline(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors):
            return self.model({**dict(zip(names, tensors, strict=True)), **extras})[OUTPUT]

    return Pipeline().eval()


def export_key(backend: str, weights_sha256: str, config_sha256: str, names: list[str]) -> dict[str, Any]:
    import torch

    return {
        "scheme": EXPORT_SCHEME,
        "backend": backend,
        "backend_version": backend_version(backend),
        "torch": torch.__version__,
        "weights_sha256": weights_sha256,
        "config_sha256": config_sha256,
        "inputs": names,
    }


def export_folder(model_name: str, key: Mapping[str, Any], root: Path | None = None) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in f"{model_name}-{key['backend']}")
    return (root or data_dir().joinpath(*ENCODERS_DIR)) / f"{safe}-{digest}"


def export(model: Any, backend: str, folder: Path, key: Mapping[str, Any]) -> Path:
    """The converted model file in `folder`, converting first when absent (written aside, renamed in)."""
    final = folder / MODEL_FILE
    if final.exists() and (folder / "export.json").exists():
        return final
    import torch

    names, extras = model_inputs(model)
    example = model.preprocess(["an example text", "a second, longer example text"])
    tensors = tuple(example[name] for name in names)
    pipeline = _wrapper(model, names, extras)
    with atomic.replacing(folder, folder=True) as staged, torch.inference_mode(False), torch.no_grad():
        import openvino

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer chatter about constant shapes: batches are never padded
            converted = openvino.convert_model(
                pipeline,
                example_input=tensors,
                input=[(openvino.PartialShape([-1, -1]), openvino.Type.i64) for _ in names],
            )
        for port, name in zip(converted.inputs, names, strict=True):  # positional: name them as the tokenizer does
            port.get_tensor().set_names({name})
        openvino.save_model(converted, str(staged / MODEL_FILE), compress_to_fp16=False)
        (staged / "export.json").write_text(json.dumps(key, indent=2, sort_keys=True) + "\n")
    return final


# ------------------------------------------------------------------------------------------ runners
def openvino_runner(path: Path, threads: int, precision: str) -> Runner:
    import openvino

    compiled = openvino.Core().compile_model(
        str(path),
        "CPU",
        {
            "INFERENCE_PRECISION_HINT": "bf16" if precision == "bfloat16" else "f32",
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "PERFORMANCE_HINT": "LATENCY",
        },
    )
    request = compiled.create_infer_request()

    def run(features: Mapping[str, np.ndarray]) -> np.ndarray:
        request.infer(dict(features))
        return np.array(request.get_output_tensor(0).data, dtype=np.float32, copy=True)

    return run


def build_runner(
    model: Any,
    model_name: str,
    backend: str,
    precision: str,
    threads: int,
    weights_sha256: str,
    config_sha256: str,
    root: Path | None = None,
) -> tuple[Runner, Path]:
    """Convert (once) and load `model` for `backend`; returns the runner and the converted file."""
    names, _ = model_inputs(model)
    key = export_key(backend, weights_sha256, config_sha256, names)
    path = export(model, backend, export_folder(model_name, key, root), key)
    return openvino_runner(path, threads, precision), path


def features_for(model: Any, texts: list[str], names: list[str]) -> dict[str, np.ndarray]:
    """Token ids etc. exactly as model.encode would make them (same prompt, same truncation), as int64 arrays."""
    features = model_features(model, texts)
    return {n: features[n].cpu().numpy().astype(np.int64, copy=False) for n in names}
