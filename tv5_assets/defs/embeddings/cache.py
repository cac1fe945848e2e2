"""Embedding cache: vectors of texts already encoded, so a rebuild encodes only new or changed texts.

Layout: `<root>/<model key>/shard-<sha256 of the file, 32 hex>.parquet`, each shard a table
(text_hash: 32-byte sha256 of the UTF-8 text, embedding: float32[dim]), plus `key.json` (what the
key is made of). Root: `$TV5_EMBEDDING_CACHE_DIR`, default `$TV5_DATA_DIR/cache/embeddings`;
`TV5_EMBEDDING_CACHE=0` turns the cache off.

- The model key covers everything that changes the bits of a vector: model name, weights hash,
  a hash of the module/tokenizer configuration (pooling, lower-casing, vocabulary), device kind
  (CPU instruction set or GPU model), backend (torch, openvino, onnx: backends.py) and its version,
  precision, normalisation, max sequence length and the
  torch / transformers / sentence-transformers versions. Vectors are stored exactly as the encoder
  returned them (float32, after normalisation), so a hit is bit-identical to a fresh encoding:
  encode_texts batches by token length, which makes a text's vector independent of its batch mates.
- Shards are immutable and written aside, then renamed in (tv5_assets/atomic.py): readers see a
  whole shard or none. The name carries the sha256 of the file's bytes and every read checks it,
  so a truncated or bit-flipped shard is never served: it is reported (warning naming the file),
  moved aside as `*.corrupt` and its texts are encoded again. Concurrent runs at worst both encode
  the same texts (duplicates across shards are harmless: same key, same text, same bits).
- Appends make many small shards; past COMPACT_AT_SHARDS, the small ones are merged.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ... import atomic
from ...encoder.fingerprint import config_fingerprint
from ...encoder.model import LoadedModel
from ...schemas.embeddings import EMBEDDING_DIM
from ...settings import data_dir, env_flag

CACHE_SWITCH_ENV = "TV5_EMBEDDING_CACHE"  # "0"/"off"/"false" disables it
CACHE_DIR_ENV = "TV5_EMBEDDING_CACHE_DIR"
# Bump when the way vectors are made or stored changes (batching, normalisation, shard layout):
# old entries then sit under another key and are never served.
SCHEME = 1
KEY_FILE = "key.json"
SHARD_PREFIX = "shard-"
SHARD_SUFFIX = ".parquet"
NAME_HASH_CHARS = 32
COMPACT_AT_SHARDS = 16  # more shards than this: merge the small ones
SMALL_SHARD_BYTES = 64 * 2**20  # shards under this are merged; bigger ones are left alone
STALE_STAGING_SECONDS = 24 * 3600  # staging files of crashed writers older than this are removed


Warn = Callable[[str], None]
Encoder = Callable[[list[str]], np.ndarray]

_log = logging.getLogger(__name__)


# -------------------------------------------------------------------------------------- settings
def cache_enabled(config_flag: bool = True) -> bool:
    """On unless the asset's config or TV5_EMBEDDING_CACHE turns it off."""
    return config_flag and env_flag(CACHE_SWITCH_ENV, default=True)


def cache_root() -> Path:
    configured = os.environ.get(CACHE_DIR_ENV, "").strip()
    return Path(configured).expanduser().absolute() if configured else data_dir() / "cache" / "embeddings"


def text_hashes(texts: Sequence[str]) -> pl.Series:
    """sha256 of each text's UTF-8 bytes (32 bytes each). A hashlib call per text (about 1 µs),
    nothing next to encoding; polars has no stable cryptographic hash of its own."""
    return pl.Series("text_hash", [hashlib.sha256(t.encode("utf-8")).digest() for t in texts], dtype=pl.Binary)


# ------------------------------------------------------------------------------------- model key
@dataclass(frozen=True)
class CacheKey:
    fields: dict[str, Any]

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.fields, sort_keys=True).encode()).hexdigest()

    @property
    def folder_name(self) -> str:
        """Readable and unique: `<model>-<device kind>[-<backend>]-<precision>-<digest prefix>`."""
        parts = ("model", "device_kind", "backend", "precision")
        readable = "-".join(str(self.fields[k]) for k in parts if k in self.fields)
        safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in readable)
        return f"{safe}-{self.digest[:16]}"


def device_kind(device: str) -> str:
    """What decides the kernels: the CPU's instruction set, or the GPU model and its capability."""
    import torch

    if device.startswith("cuda"):
        major, minor = torch.cuda.get_device_capability(torch.device(device))
        return f"cuda-{torch.cuda.get_device_name(torch.device(device))}-sm{major}{minor}"
    return f"cpu-{torch.backends.cpu.get_cpu_capability()}"


def model_key(loaded: LoadedModel, normalised: bool = True) -> CacheKey:
    from importlib import metadata

    import torch

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return ""

    fields = {
        "scheme": SCHEME,
        "model": loaded.source.name,
        "weights_sha256": loaded.weights_sha256,
        "config_sha256": config_fingerprint(loaded.model),
        "device_kind": device_kind(loaded.device),
        "precision": loaded.precision,
        "normalised": normalised,
        "max_seq_length": int(getattr(loaded.model, "max_seq_length", 0) or 0),
        "dim": loaded.dim,
        "torch": torch.__version__,
        "transformers": version("transformers"),
        "sentence_transformers": version("sentence-transformers"),
    }
    if loaded.backend != "torch":  # torch keys keep their fields: caches made before backends stay valid
        fields["backend"] = loaded.backend
        fields["backend_version"] = loaded.backend_version
    return CacheKey(fields)


# ----------------------------------------------------------------------------------------- store
def _shard_schema(dim: int) -> pl.Schema:
    return pl.Schema({"text_hash": pl.Binary, "embedding": pl.Array(pl.Float32, dim)})


@dataclass
class EmbeddingCache:
    """One model key's folder of shards. Every method is safe against concurrent runs."""

    root: Path
    key: CacheKey
    warn: Warn = _log.warning
    ignored: list[str] = field(default_factory=list)  # shards reported as unreadable by this object
    _key_checked: bool | None = field(default=None, repr=False)

    @property
    def folder(self) -> Path:
        return self.root / self.key.folder_name

    @property
    def dim(self) -> int:
        return int(self.key.fields.get("dim", EMBEDDING_DIM))

    def shards(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(self.folder.glob(f"{SHARD_PREFIX}*{SHARD_SUFFIX}"))

    def size_bytes(self) -> int:
        return sum(max(_size(path), 0) for path in self.shards())

    def _read(self, path: Path) -> pl.DataFrame | None:
        """The verified shard; None (after a warning) when unreadable; None silently when gone."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # another run compacted it: its rows live in the merged shard
            return None
        except OSError as error:
            self._reject(path, f"cannot be read ({error})")
            return None
        expected = path.name[len(SHARD_PREFIX) : -len(SHARD_SUFFIX)]
        if hashlib.sha256(data).hexdigest()[:NAME_HASH_CHARS] != expected:
            self._reject(path, "its bytes do not match the checksum in its name (truncated or altered)")
            return None
        try:
            frame = pl.read_parquet(io.BytesIO(data))
        except Exception as error:  # any parse failure is the shard's fault, never the run's
            self._reject(path, f"is not a readable Parquet file ({type(error).__name__}: {error})")
            return None
        if frame.schema != _shard_schema(self.dim):
            self._reject(path, f"has columns {dict(frame.schema)}, expected {dict(_shard_schema(self.dim))}")
            return None
        return frame

    def _reject(self, path: Path, why: str) -> None:
        aside = path.with_name(path.name + ".corrupt")
        try:
            path.replace(aside)  # out of the glob: the next runs neither read nor warn about it again
            where = f"moved aside to {aside.name}; delete it once inspected"
        except OSError:
            where = "left in place"
        self.ignored.append(str(path))
        self.warn(f"embedding cache: ignoring shard {path}: {why}; its texts are encoded again ({where})")

    def _key_matches(self) -> bool:
        """False (warned once) when the folder's key.json describes another key: a digest
        collision or a hand-edited folder; then this run neither reads nor writes there."""
        if self._key_checked is not None:
            return self._key_checked
        path = self.folder / KEY_FILE
        self._key_checked = True
        try:
            recorded = json.loads(path.read_text())
        except (FileNotFoundError, NotADirectoryError):  # nothing written there yet
            return True
        except (OSError, ValueError) as error:
            self.warn(f"embedding cache: {path} is unreadable ({error}); the folder's shards are still checksummed")
            return True
        if recorded != self.key.fields:
            self.warn(f"embedding cache: {path} describes another model key; not using {self.folder}")
            self._key_checked = False
        return self._key_checked

    def lookup(self, hashes: pl.Series) -> pl.DataFrame:
        """(text_hash, embedding) of the given hashes found in the cache, one row per hash."""
        wanted = hashes.unique().to_frame("text_hash")
        found = [pl.DataFrame(schema=_shard_schema(self.dim))]
        if self._key_matches():
            for path in self.shards():
                frame = self._read(path)
                if frame is not None:
                    found.append(frame.join(wanted, on="text_hash", how="semi"))
        return pl.concat(found).unique("text_hash", keep="first", maintain_order=True)

    def append(self, hashes: pl.Series, vectors: np.ndarray) -> Path | None:
        """Write one new shard; returns its path. A failed write (disk full, read-only) is a
        warning: the run's vectors are right either way."""
        if hashes.len() == 0 or not self._key_matches():
            return None
        frame = pl.DataFrame({"text_hash": hashes, "embedding": vectors}).cast(dict(_shard_schema(self.dim)))
        try:
            return self._write_shard(frame.unique("text_hash", keep="first", maintain_order=True))
        except OSError as error:
            self.warn(f"embedding cache: could not write a shard to {self.folder} ({error}); nothing cached this run")
            return None

    def _write_shard(self, frame: pl.DataFrame) -> Path:
        self._write_key_file()
        staged = atomic.staging_path(self.folder / f"{SHARD_PREFIX}new{SHARD_SUFFIX}")
        try:
            frame.write_parquet(staged, compression="zstd", statistics=False)
            with staged.open("rb") as handle:
                checksum = hashlib.file_digest(handle, "sha256").hexdigest()[:NAME_HASH_CHARS]
            final = self.folder / f"{SHARD_PREFIX}{checksum}{SHARD_SUFFIX}"
            atomic.swap_in(staged, final)  # same bytes -> same name: a concurrent twin is harmless
        except BaseException:
            atomic.remove(staged)
            raise
        return final

    def _write_key_file(self) -> None:
        path = self.folder / KEY_FILE
        if path.exists():
            return
        with atomic.replacing(path) as staged:
            staged.write_text(json.dumps(self.key.fields, indent=2, sort_keys=True) + "\n")

    def compact(self, at_shards: int = COMPACT_AT_SHARDS, small_bytes: int = SMALL_SHARD_BYTES) -> int:
        """Merge the small shards into one when there are more than `at_shards`; returns how many
        were merged. The merged shard is renamed in before the old ones go, so every row stays
        readable throughout; a reader that misses a vanished shard just encodes its texts."""
        self._remove_stale_staging()
        shards = self.shards()
        if len(shards) <= at_shards or not self._key_matches():
            return 0
        small = [p for p in shards if _size(p) < small_bytes]
        frames = [(p, f) for p in small if (f := self._read(p)) is not None]
        if len(frames) < 2:
            return 0
        merged = pl.concat([f for _, f in frames]).unique("text_hash", keep="first").sort("text_hash")
        try:
            written = self._write_shard(merged)
        except OSError as error:
            self.warn(f"embedding cache: compaction of {self.folder} failed ({error}); shards left as they were")
            return 0
        for path, _ in frames:
            if path != written:
                path.unlink(missing_ok=True)
        return len(frames)

    def _remove_stale_staging(self) -> None:
        if not self.folder.is_dir():
            return
        cutoff = time.time() - STALE_STAGING_SECONDS
        for path in self.folder.glob(".*.tmp-*"):
            try:
                if path.stat().st_mtime < cutoff:
                    atomic.remove(path)
            except FileNotFoundError:
                continue


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # compacted away by another run
        return -1


def open_cache(loaded: LoadedModel, enabled: bool = True, warn: Warn = _log.warning) -> EmbeddingCache | None:
    """The cache for this model under cache_root(), or None when it is turned off."""
    if not cache_enabled(enabled):
        return None
    return EmbeddingCache(cache_root(), model_key(loaded), warn)


# ----------------------------------------------------------------------------------- encode path
@dataclass
class CachedEncodeReport:
    texts: int
    encoded: int
    hits: int
    lookup_seconds: float = 0.0
    encode_seconds: float = 0.0
    key: str = ""
    folder: str = ""
    size_bytes: int = 0
    shards: int = 0
    shards_ignored: int = 0
    shards_compacted: int = 0

    def metadata(self) -> dict[str, Any]:
        figures: dict[str, Any] = {
            "texts": self.texts,
            "texts_encoded": self.encoded,
            "cache_hits": self.hits,
            "cache_enabled": bool(self.key),
            "cache_key": self.key or "off",
            "cache_dir": self.folder,
            "cache_bytes": self.size_bytes,
            "cache_shards": self.shards,
            "cache_shards_ignored": self.shards_ignored,
            "cache_shards_compacted": self.shards_compacted,
            "cache_lookup_seconds": round(self.lookup_seconds, 3),
            "encode_seconds": round(self.encode_seconds, 3),
        }
        if self.encoded:  # the encoder's own rate; absent when nothing was encoded
            figures["texts_per_second"] = round(self.encoded / max(self.encode_seconds, 1e-9), 1)
        return figures


def _safely(cache: EmbeddingCache, what: str, action: Callable[[], Any], fallback: Any) -> Any:
    """The cache only ever saves work: a filesystem error in it is a warning, never a failed run."""
    try:
        return action()
    except OSError as error:
        cache.warn(f"embedding cache: {what} in {cache.folder} failed ({error}); the run goes on without it")
        return fallback


def encode_with_cache(
    texts: Sequence[str], encode: Encoder, cache: EmbeddingCache | None, dim: int = EMBEDDING_DIM
) -> tuple[np.ndarray, CachedEncodeReport]:
    """float32 (len(texts), dim) vectors in the order of `texts`: hits from `cache`, the rest from
    `encode` (called at most once, with each missing text once), which are then cached.

    `encode` is the seam: the asset passes the model's encode_texts, tests count what it gets.
    """
    count = len(texts)
    if cache is None:
        started = time.perf_counter()
        vectors = np.asarray(encode(list(texts)), dtype=np.float32) if count else np.zeros((0, dim), np.float32)
        return vectors, CachedEncodeReport(count, count, 0, encode_seconds=time.perf_counter() - started)
    started = time.perf_counter()
    positions = pl.DataFrame({"text_hash": text_hashes(texts)}).with_row_index("position")
    found = _safely(cache, "lookup", lambda: cache.lookup(positions["text_hash"]), None)
    if found is None:  # an unlistable folder: every text is a miss, the run goes on
        found = pl.DataFrame(schema=_shard_schema(dim))
    rows = positions.join(found, on="text_hash", how="left").sort("position")
    lookup_seconds = time.perf_counter() - started
    hit = rows["embedding"].is_not_null().to_numpy()
    out = np.zeros((count, dim), dtype=np.float32)
    if hit.any():
        out[hit] = rows.filter(pl.col("embedding").is_not_null())["embedding"].to_numpy()
    # Each missing text once (duplicates within the run share a hash), in first-seen order.
    missing = rows.filter(pl.col("embedding").is_null()).unique("text_hash", keep="first", maintain_order=True)
    encode_seconds = 0.0
    if missing.height:
        started = time.perf_counter()
        fresh = np.asarray(encode([texts[i] for i in missing["position"].to_list()]), dtype=np.float32)
        encode_seconds = time.perf_counter() - started
        fill = missing.select("text_hash").with_row_index("fresh_row")
        targets = rows.select("position", "text_hash").filter(~pl.Series(hit)).join(fill, on="text_hash")
        out[targets["position"].to_numpy()] = fresh[targets["fresh_row"].to_numpy()]
        _safely(cache, "append", lambda: cache.append(missing["text_hash"], fresh), None)
    compacted = _safely(cache, "compaction", cache.compact, 0)
    shards = _safely(cache, "listing", cache.shards, [])
    return out, CachedEncodeReport(
        texts=count,
        encoded=missing.height,
        hits=int(hit.sum()),
        lookup_seconds=lookup_seconds,
        encode_seconds=encode_seconds,
        key=cache.key.folder_name,
        folder=str(cache.folder),
        size_bytes=sum(max(_size(path), 0) for path in shards),
        shards=len(shards),
        shards_ignored=len(cache.ignored),
        shards_compacted=compacted,
    )
