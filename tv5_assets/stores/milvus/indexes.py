"""The vector index of a Milvus collection: build it, read it back, and insist on the parameters asked for.

Some client paths silently drop index parameters (see `create_vector_index`), so every load reads the
index back with `describe_index` and fails when it differs; the checks and the data dictionary use the
same normalised description.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ...errors import Tv5Error
from .collections import VECTOR_FIELD, IndexSpec


class IndexParamsNotKeptError(Tv5Error):
    """The engine built an index other than the one requested."""


def create_vector_index(client, collection: str, index: IndexSpec) -> None:
    """The collection's index with its build parameters, sent so that both engines keep them.

    `MilvusClient` flattens index params into separate key/value pairs; a Milvus server reads those,
    but Milvus Lite 3.2 reads only a JSON `params` entry (what the deprecated ORM sends) and silently
    builds with its defaults otherwise. So the params go both ways: flattened, and nested under
    `params` (which a Milvus server also expands). `verify_index_params` then reads back what the
    engine actually kept.
    """
    index_params = client.prepare_index_params()
    index_params.add_index(
        field_name=VECTOR_FIELD,
        index_type=index.index_type,
        metric_type=index.metric_type,
        index_name=f"{VECTOR_FIELD}_{index.index_type.lower()}",
        params={**index.build_params, "params": dict(index.build_params)},
    )
    client.create_index(collection, index_params)


def describe_vector_index(client, collection: str) -> dict[str, Any] | None:
    """`describe_index` of the vector field's index (Milvus Lite names it after the field), or None."""
    names = client.list_indexes(collection, field_name=VECTOR_FIELD)
    if not names:
        return None
    return client.describe_index(collection, names[0])


def normalise_index_description(description: dict[str, Any], index: IndexSpec) -> dict[str, Any]:
    """{"index_type", "metric_type", <the index's build parameters>} from either engine's describe_index shape.

    Milvus Lite answers `{"params": {"M": 16, ...}}`; a Milvus server answers flattened string
    values (`"M": "16"`), sometimes with a JSON `params` string as well.
    """
    build: dict[str, Any] = {}
    nested = description.get("params")
    if isinstance(nested, str):
        try:
            nested = json.loads(nested)
        except ValueError:
            nested = None
    if isinstance(nested, dict):
        build.update(nested)
    for key in index.build_params:
        if key in description:
            build[key] = description[key]
    out: dict[str, Any] = {
        "index_type": str(description.get("index_type", "")),
        "metric_type": str(description.get("metric_type", "")),
    }
    for key in index.build_params:
        value = build.get(key)
        try:
            out[key] = int(value) if value is not None else None
        except (TypeError, ValueError):
            out[key] = value
    return out


def index_mismatches(kept: dict[str, Any], index: IndexSpec) -> list[str]:
    """What differs between the kept index and the requested one (empty when they agree)."""
    wanted = {"index_type": index.index_type, "metric_type": index.metric_type, **index.build_params}
    return [
        f"{key}: asked {value!r}, engine kept {kept.get(key)!r}"
        for key, value in wanted.items()
        if kept.get(key) != value
    ]


def verify_index_params(client, collection: str, index: IndexSpec) -> dict[str, Any]:
    description = describe_vector_index(client, collection)
    if description is None:
        raise IndexParamsNotKeptError(
            f"Milvus collection {collection} has no index on {VECTOR_FIELD} after create_index"
        )
    kept = normalise_index_description(description, index)
    problems = index_mismatches(kept, index)
    if problems:
        raise IndexParamsNotKeptError(
            f"Milvus built a different index on {collection}.{VECTOR_FIELD} than requested ({'; '.join(problems)}). "
            "The client or server dropped the parameters; check the pymilvus/Milvus versions against "
            "create_vector_index in tv5_assets/stores/milvus/loading.py."
        )
    return kept


def wait_for_index(client, collection: str, rows: int, timeout_s: float) -> None:
    """A Milvus server builds indexes asynchronously; Milvus Lite reports Finished at once (it builds in load)."""
    deadline = time.monotonic() + timeout_s
    while True:
        description = describe_vector_index(client, collection) or {}
        state = str(description.get("state", ""))
        indexed = int(description.get("indexed_rows", 0) or 0)
        pending = int(description.get("pending_index_rows", 0) or 0)
        if state.endswith("Finished") and (indexed >= rows or pending == 0):
            return
        if state.endswith("Failed"):
            raise IndexParamsNotKeptError(f"Milvus failed to build the index of {collection}: {description}")
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"Milvus index of {collection} not built after {timeout_s:.0f} s ({indexed}/{rows} rows)"
            )
        time.sleep(1.0)
