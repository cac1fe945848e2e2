"""What identifies a sentence-transformers model beyond its weights: its modules' configs and tokenizer.

Shared by the embedding cache's key (cache.py) and the converted-encoder folders (backends.py via
model.py), so that both change when a pooling mode, lower-casing or vocabulary changes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# Keys of model/tokenizer configs that name a place on disk, not a behaviour: left out of the key,
# so the same model installed elsewhere shares its cache.
PLACE_KEYS = {"_name_or_path", "name_or_path", "vocab_file", "tokenizer_file", "is_local", "local_files_only"}


def config_fingerprint(model: Any) -> str:
    """sha256 over each module's type and config, the transformer's config and the tokenizer's
    settings and vocabulary: what the weights hash misses (pooling mode, lower-casing, ...)."""
    digest = hashlib.sha256()
    for module in model:
        parts: dict[str, Any] = {"type": f"{type(module).__module__}.{type(module).__qualname__}"}
        if callable(getattr(module, "get_config_dict", None)):
            parts["config"] = module.get_config_dict()
        if getattr(module, "auto_model", None) is not None:
            config = module.auto_model.config.to_dict()
            parts["model_config"] = {k: v for k, v in config.items() if k not in PLACE_KEYS | {"transformers_version"}}
        tokenizer = getattr(module, "tokenizer", None)
        if tokenizer is not None:
            parts["tokenizer"] = type(tokenizer).__name__
            parts["tokenizer_settings"] = {k: v for k, v in tokenizer.init_kwargs.items() if k not in PLACE_KEYS}
            vocabulary = json.dumps(sorted(tokenizer.get_vocab().items()), ensure_ascii=False)
            parts["vocabulary_sha256"] = hashlib.sha256(vocabulary.encode()).hexdigest()
        digest.update(json.dumps(parts, sort_keys=True, default=str).encode())
    return digest.hexdigest()
