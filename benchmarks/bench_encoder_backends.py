"""Encoder backends on CPU against the torch float32 baseline: speed, agreement, batch-mate independence.

    python benchmarks/bench_encoder_backends.py [--texts PARQUET] [--limit N] [--threads 2]

Needs the `openvino` extra (pip install 'tv5-assets[openvino]'); the ONNX rows need onnxruntime
and onnx, the OpenVINO int8 row nncf (pip install onnxruntime onnx nncf). A variant whose package
is missing is reported as skipped.

Texts: the `text` column of a media_text Parquet file (default the demo data's,
/var/tmp/tv5-demo/assets/media_text.parquet), else 12,750 synthetic texts of the same shape.

For every variant: texts/s and the ratio to torch float32, measured interleaved (the texts are cut
into chunks of consecutive batches; every chunk is encoded by every variant in turn, starting with
a different one each time, so load from other jobs hits all alike); minimum and mean cosine to the
torch float32 vectors over ALL texts, and how many fall under 0.99 (the bar); and whether a
vector depends on its batch mates (a sample encoded alone must be bit-identical to the same texts
encoded among the others). Batches are the platform's own (batching.batch_plan: one token length per
batch, no padding).

Variants: torch float32 (baseline) and bfloat16 (--torch-bf16); OpenVINO float32 and bfloat16 as
backends.py ships them; ONNX Runtime float32 (not shipped: batch-mate dependent); int8 ONNX Runtime with dynamic quantization (the
avx512_vnni configuration of sentence-transformers' export_dynamic_quantized_onnx_model: QOperator,
per-channel symmetric int8 weights, asymmetric uint8 activations, no reduced range) and int8
OpenVINO with static quantization calibrated by NNCF on the run's own texts (what
export_static_quantized_openvino_model does). sentence-transformers' own backend="onnx"/"openvino"
load is tried first and its error printed when optimum does not import (optimum-onnx 0.1 pins
transformers < 4.58, optimum-intel 2.2 < 5.6).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
from gpu_embed import synthetic_texts  # noqa: E402
from harness import machine_note  # noqa: E402

DEFAULT_TEXTS = Path("/var/tmp/tv5-demo/assets/media_text.parquet")
BAR = 0.99
BUDGETS = (32, 48, 64, 128)  # max_seq_length candidates (the model's own is 256)
ISOLATION_SAMPLE = 256

Encode = Callable[[list[str]], np.ndarray]


@dataclass
class Variant:
    name: str
    backend: str
    precision: str
    encode: Encode | None
    note: str = ""
    seconds: float = 0.0
    vectors: np.ndarray | None = None
    extra: dict = field(default_factory=dict)


def load_texts(path: Path, limit: int) -> tuple[list[str], str]:
    if path.exists():
        texts = pl.read_parquet(path, columns=["text"])["text"].to_list()
        origin = str(path)
    else:
        texts, origin = synthetic_texts(12_750), "synthetic texts (title, year, genres, 10 tags)"
    return (texts[:limit] if limit else texts), origin


def token_budget(loaded, texts: list[str], lengths: np.ndarray, baseline: np.ndarray) -> None:
    from tv5_assets.encoder.model import encode_texts

    cuts = {p: int(np.percentile(lengths, p)) for p in (50, 90, 95, 99, 100)}
    print(
        f"\n== token lengths of {len(texts):,} texts (model max_seq_length {loaded.model.max_seq_length}): "
        + ", ".join(f"p{p} {v}" for p, v in cuts.items())
        + f"; mean {lengths.mean():.1f}; {len(np.unique(lengths))} distinct lengths",
        flush=True,
    )
    own = loaded.model.max_seq_length
    for budget in BUDGETS:
        over = np.flatnonzero(lengths > budget)
        line = f"max_seq_length {budget:>3}: {over.size:>6,} texts truncated ({over.size / len(texts):.2%})"
        if over.size:
            loaded.model.max_seq_length = budget
            try:
                cut, _ = encode_texts(loaded, [texts[i] for i in over], 64)
            finally:
                loaded.model.max_seq_length = own
            cosine = np.einsum("ij,ij->i", cut, baseline[over])
            saved = (lengths[over] - budget).sum() / lengths.sum()
            line += f", their min cosine to the full text {cosine.min():.4f}, tokens saved {saved:.2%}"
        print(line, flush=True)


def st_native_backends(location: str) -> None:
    from sentence_transformers import SentenceTransformer

    for backend in ("onnx", "openvino"):
        try:
            with tempfile.TemporaryDirectory() as scratch:
                SentenceTransformer(location, backend=backend, device="cpu", cache_folder=scratch)
            print(f"sentence-transformers backend={backend!r}: loads", flush=True)
        except Exception as error:
            print(f"sentence-transformers backend={backend!r}: unavailable ({type(error).__name__}: {error})"[:300])


def runner_encode(loaded, runner) -> Encode:
    from tv5_assets.encoder.backends import features_for, model_inputs

    names = loaded.input_names or model_inputs(loaded.model)[0]
    return lambda batch: runner(features_for(loaded.model, batch, names))


def export_onnx(model, target: Path) -> Path:
    """The whole sentence-transformers pipeline as ONNX (torch's TorchScript exporter, opset 17)."""
    import warnings

    import torch

    from tv5_assets.encoder.backends import OUTPUT, _wrapper, model_inputs

    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    names, extras = model_inputs(model)
    example = model.preprocess(["an example text", "a second, longer example text"])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _wrapper(model, names, extras),
            tuple(example[name] for name in names),
            str(target),
            dynamo=False,
            input_names=names,
            output_names=[OUTPUT],
            dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, OUTPUT: {0: "batch"}},
            opset_version=17,
        )
    return target


def ort_runner(path: Path, threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda features: np.asarray(session.run(None, dict(features))[0], dtype=np.float32)


def torch_encode(loaded) -> Encode:
    import torch

    def encode(batch: list[str]) -> np.ndarray:
        with torch.inference_mode():
            return loaded.model.encode(
                batch, batch_size=len(batch), convert_to_numpy=True, normalize_embeddings=False, show_progress_bar=False
            )

    return encode


def build_variants(args, texts: list[str], plan: list[np.ndarray]) -> list[Variant]:
    from tv5_assets.encoder import backends
    from tv5_assets.encoder.fingerprint import config_fingerprint
    from tv5_assets.encoder.model import load_model

    work = Path(args.work)
    base = load_model(device="cpu", precision="float32", threads=args.threads, backend="torch")
    variants = [Variant("torch fp32", "torch", "float32", torch_encode(base))]
    if args.torch_bf16:
        bf16 = load_model(device="cpu", precision="bfloat16", threads=args.threads, backend="torch")
        variants.append(Variant("torch bf16", "torch", "bfloat16", torch_encode(bf16)))
    config = config_fingerprint(base.model)
    names, _ = backends.model_inputs(base.model)

    def shipped(backend: str, precision: str) -> Variant:
        name = f"{backend} {'bf16' if precision == 'bfloat16' else 'fp32'}"
        if backends.missing_packages(backend):
            return Variant(name, backend, precision, None, f"skipped: {backends.install_hint(backend)}")
        started = time.perf_counter()
        runner, path = backends.build_runner(
            base.model, base.source.name, backend, precision, args.threads, base.weights_sha256, config, work
        )
        variant = Variant(name, backend, precision, runner_encode(base, runner))
        variant.extra = {"path": path, "prepare_s": time.perf_counter() - started}
        return variant

    ov32 = shipped("openvino", "float32")
    variants += [ov32, shipped("openvino", "bfloat16")]

    # ONNX Runtime float32 (not shipped: its vectors depend on batch mates)
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
        started = time.perf_counter()
        onnx_path = export_onnx(base.model, work / f"onnx-{base.weights_sha256[:16]}" / "model.onnx")
        ort32 = Variant("onnx fp32", "onnx", "float32", runner_encode(base, ort_runner(onnx_path, args.threads)))
        ort32.extra = {"path": onnx_path, "prepare_s": time.perf_counter() - started}
    else:
        ort32 = Variant("onnx fp32", "onnx", "float32", None, "skipped: pip install onnxruntime onnx")
    variants.append(ort32)

    # int8 ONNX Runtime, dynamic quantization (avx512_vnni configuration)
    if ort32.encode is not None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        source = ort32.extra["path"]
        target = source.with_name("model_qint8_avx512_vnni.onnx")
        started = time.perf_counter()
        if not target.exists():
            quantize_dynamic(
                source,
                target,
                per_channel=True,
                reduce_range=False,
                weight_type=QuantType.QInt8,
                op_types_to_quantize=["MatMul", "Attention", "Gather", "EmbedLayerNormalization", "Transpose"],
                extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
            )
        variant = Variant("onnx int8 dynamic", "onnx", "int8", runner_encode(base, ort_runner(target, args.threads)))
        variant.extra = {"prepare_s": time.perf_counter() - started}
        variants.append(variant)
    else:
        variants.append(Variant("onnx int8 dynamic", "onnx", "int8", None, "skipped: onnxruntime missing"))

    # int8 OpenVINO, static quantization calibrated on the run's texts
    try:
        import nncf
    except ImportError:
        nncf = None
    if ov32.encode is not None and nncf is not None:
        import openvino

        started = time.perf_counter()
        target = ov32.extra["path"].with_name("openvino_model_qint8_static.xml")
        if not target.exists():
            step = max(1, len(plan) // args.calibration_batches)
            calibration = [
                backends.features_for(base.model, [texts[i] for i in batch], names) for batch in plan[::step]
            ]
            quantized = nncf.quantize(
                openvino.Core().read_model(ov32.extra["path"]),
                nncf.Dataset(calibration),
                model_type=nncf.ModelType.TRANSFORMER,
                subset_size=len(calibration),
            )
            openvino.save_model(quantized, str(target), compress_to_fp16=False)
        variant = Variant(
            "openvino int8 static",
            "openvino",
            "int8",
            runner_encode(base, backends.openvino_runner(target, args.threads, "float32")),
            f"calibrated on {args.calibration_batches} batches of the run's texts",
        )
        variant.extra = {"prepare_s": time.perf_counter() - started}
        variants.append(variant)
    else:
        variants.append(Variant("openvino int8 static", "openvino", "int8", None, "skipped: openvino or nncf missing"))
    return variants


def interleaved(variants: list[Variant], texts: list[str], plan: list[np.ndarray], chunk_texts: int) -> None:
    live = [v for v in variants if v.encode is not None]
    for v in live:
        v.vectors = np.zeros((len(texts), 384), dtype=np.float32)
        v.encode([texts[i] for i in plan[0]])  # warm-up
    chunks, current, size = [], [], 0
    for batch in plan:
        current.append(batch)
        size += len(batch)
        if size >= chunk_texts:
            chunks.append(current)
            current, size = [], 0
    if current:
        chunks.append(current)
    for number, chunk in enumerate(chunks):
        for k in range(len(live)):
            v = live[(number + k) % len(live)]
            started = time.perf_counter()
            for batch in chunk:
                v.vectors[batch] = v.encode([texts[i] for i in batch])
            v.seconds += time.perf_counter() - started
        done = sum(len(b) for c in chunks[: number + 1] for b in c)
        print(f"  {done:,}/{len(texts):,} texts", flush=True)


def isolation(variant: Variant, texts: list[str], sample: np.ndarray) -> tuple[bool, float]:
    """(bit-identical, max abs difference) between texts encoded alone and among their batch mates."""
    from tv5_assets.encoder.model import l2_normalise

    alone = l2_normalise(np.concatenate([variant.encode([texts[i]]) for i in sample]).astype(np.float32))
    among = variant.vectors[sample]
    return bool(np.array_equal(alone, among)), float(np.abs(alone - among).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", default=str(DEFAULT_TEXTS))
    parser.add_argument("--limit", type=int, default=0, help="first N texts only (0 = all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=1000, help="texts per interleaving chunk")
    parser.add_argument("--calibration-batches", type=int, default=40)
    parser.add_argument("--torch-bf16", action="store_true")
    parser.add_argument("--work", default="/var/tmp/tv5-bench-encoders", help="exported models go here")
    args = parser.parse_args()

    import torch

    from tv5_assets.encoder.batching import batch_plan, token_lengths
    from tv5_assets.encoder.model import l2_normalise

    torch.set_num_threads(args.threads)
    texts, origin = load_texts(Path(args.texts), args.limit)
    print(f"machine: {machine_note()}; {args.threads} threads; {len(texts):,} texts from {origin}", flush=True)
    from tv5_assets.encoder.model import load_model

    probe = load_model(device="cpu", precision="float32", threads=args.threads, backend="torch")
    st_native_backends(probe.source.location)
    lengths = token_lengths(probe, texts)
    variants_plan = batch_plan(lengths, args.batch_size)
    variants = build_variants(args, texts, variants_plan)
    for v in variants:
        if "prepare_s" in v.extra:
            print(f"{v.name}: export/quantization {v.extra['prepare_s']:.0f} s", flush=True)
    print("\n== encoding all texts, variants interleaved", flush=True)
    interleaved(variants, texts, variants_plan, args.chunk)
    for v in variants:
        if v.vectors is not None:
            v.vectors = l2_normalise(v.vectors)
    baseline = variants[0]
    token_budget(probe, texts, lengths, baseline.vectors)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(len(texts), size=min(ISOLATION_SAMPLE, len(texts)), replace=False))
    print(f"\n== {len(texts):,} texts, batch {args.batch_size}, {args.threads} threads; {machine_note()}")
    header = (
        f"| {'variant':<21} | backend  | precision | texts/s | vs torch fp32 | min cosine | mean cosine "
        f"| < {BAR} | batch-mate independent |"
    )
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for v in variants:
        if v.vectors is None:
            print(f"| {v.name:<21} | {v.backend:<8} | {v.precision:<9} | {v.note} |")
            continue
        rate = len(texts) / v.seconds
        cosine = np.einsum("ij,ij->i", v.vectors, baseline.vectors)
        same, diff = isolation(v, texts, sample)
        independent = "yes (bit-identical)" if same else f"no (max abs diff {diff:.1e})"
        print(
            f"| {v.name:<21} | {v.backend:<8} | {v.precision:<9} | {rate:7.1f} | {baseline.seconds / v.seconds:12.2f}x "
            f"| {cosine.min():10.5f} | {cosine.mean():11.6f} | {int((cosine < BAR).sum()):>6} | {independent:<22} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
