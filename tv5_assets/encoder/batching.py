"""Texts to batches: each text tokenised once, batches of one token length (so no padding).

A text's vector must not depend on its batch mates: padding changes the floats a little, so the
encoder never pads. Texts are ordered by token length (shortest first, ties by position) and cut
into batches of one length each; the features of each batch are sliced from one tokenisation of
all texts (`tokenize_all`), exactly as the model's own tokenize would make them for that batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Tokens:
    """Every text tokenised once: its token count and, when the model's features carry an attention
    mask, its features (int64, right-padded to the longest text) to slice batches from."""

    lengths: np.ndarray
    features: dict[str, np.ndarray] | None = None

    def batch(self, positions: np.ndarray) -> dict[str, np.ndarray]:
        """The features of texts that share one token length, exactly as the model's own tokenize
        would make them for that batch (no padding is needed, so none is left)."""
        assert self.features is not None
        length = int(self.lengths[positions[0]])
        return {name: np.ascontiguousarray(values[positions, :length]) for name, values in self.features.items()}


def model_features(model: Any, texts: list[str]) -> Any:
    """The model's own features for `texts` (torch tensors by name), as encode() makes them."""
    # encode() tokenizes through preprocess (sentence-transformers >= 6; tokenize before), with the
    # default prompt when the model has one: the same call, so the same token ids and counts.
    prompt_name = getattr(model, "default_prompt_name", None)
    prompt = (getattr(model, "prompts", None) or {}).get(prompt_name) if prompt_name else None
    return model.preprocess(texts, prompt=prompt) if hasattr(model, "preprocess") else model.tokenize(texts)


def tokenize_all(loaded: Any, texts: Sequence[str], names: Sequence[str] = (), chunk: int = 4096) -> Tokens:
    """Tokens per text exactly as the model sees them (its own tokenize: stripping, truncation at
    max_seq_length), and the features named `names` to encode from; character counts and no
    features for a model whose features carry no attention mask."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for offset in range(0, len(texts), chunk):
        features = model_features(loaded.model, list(texts[offset : offset + chunk]))
        mask = features.get("attention_mask") if hasattr(features, "get") else None
        if mask is None:
            return Tokens(lengths)
        lengths[offset : offset + len(mask)] = mask.sum(dim=1).cpu().numpy()
        for name in names:
            parts[name].append(features[name].cpu().numpy().astype(np.int64, copy=False))
    if not names or not len(texts):
        return Tokens(lengths)
    width = max(p.shape[1] for p in parts[names[0]])
    return Tokens(
        lengths,
        {
            name: np.concatenate([np.pad(p, ((0, 0), (0, width - p.shape[1]))) for p in chunks])
            for name, chunks in parts.items()
        },
    )


def token_lengths(loaded: Any, texts: Sequence[str], chunk: int = 4096) -> np.ndarray:
    """Tokens per text exactly as the model sees them (see `tokenize_all`)."""
    return tokenize_all(loaded, texts, chunk=chunk).lengths


def encoding_order(lengths: Sequence[int] | np.ndarray) -> np.ndarray:
    """Positions sorted by length, ties by position: the order depends on the inputs only."""
    return np.argsort(np.asarray(lengths, dtype=np.int64), kind="stable")


def batch_plan(lengths: Sequence[int] | np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Positions in batches of at most `batch_size` that each hold ONE token length (shortest
    first, ties by position): no padding, so a text's vector does not depend on its batch mates."""
    order = encoding_order(lengths)
    if order.size == 0:
        return []
    ordered = np.asarray(lengths, dtype=np.int64)[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], order.size]
    size = max(1, batch_size)
    return [
        order[o : min(o + size, end)] for begin, end in zip(starts, ends, strict=True) for o in range(begin, end, size)
    ]
