"""Group `docs`: `data_dictionary`, $TV5_DATA_DIR/docs/data_dictionary.md.

It runs after every store load and writes, atomically, one Markdown file: every asset of the code
location (description, columns, types, meanings, latest row count) and every store object (Milvus
collections, Neo4j labels and relationship types, PostgreSQL tables, Redis key patterns), each
from its definitions completed by the live server (dictionary.py, stores.py).
"""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from ...atomic import replacing
from ...conventions import OWNERS
from ...registry import STORE_KEYS
from ...resources.code_location import RESOURCE_KEY as CODE_LOCATION
from ...settings import data_dir
from ...store_load import STORE_LOAD_ASSETS
from . import stores
from .dictionary import AssetEntry, Column, asset_part, render

GROUP = "docs"
RELATIVE_PATH = "docs/data_dictionary.md"


def dictionary_path() -> Path:
    return data_dir() / RELATIVE_PATH


def _columns(metadata: dict) -> tuple[Column, ...] | None:
    value = metadata.get("dagster/column_schema")
    schema = getattr(value, "schema", value)
    if schema is None:
        return None
    return tuple(Column(c.name, c.type, c.description or "") for c in schema.columns)


def _row_count(instance: dg.DagsterInstance, key: dg.AssetKey) -> int | None:
    event = instance.get_latest_materialization_event(key)
    materialization = event.asset_materialization if event else None
    value = materialization.metadata.get("dagster/row_count") if materialization else None
    return None if value is None else int(getattr(value, "value", value))


def asset_entries(asset_graph, instance: dg.DagsterInstance | None) -> list[AssetEntry]:
    """Every materializable asset of the graph, with its latest row count when an instance is given."""
    entries = []
    for key in sorted(asset_graph.materializable_asset_keys):
        node = asset_graph.get(key)
        entries.append(
            AssetEntry(
                key=key.to_user_string(),
                group=node.group_name or "default",
                description=node.description or "",
                kinds=tuple(node.kinds),
                columns=_columns(node.metadata),
                row_count=_row_count(instance, key) if instance is not None else None,
            )
        )
    return entries


def whole_graph(context):
    """The code location's whole asset graph (a run's context holds only its selection)."""
    return getattr(context.resources, CODE_LOCATION).asset_graph()


def store_resources(context) -> dict:
    """Every store's resource, by store key (the asset and its check ask for all of them)."""
    return {key: getattr(context.resources, key) for key in STORE_KEYS}


def write_dictionary(text: str, final: Path) -> None:
    with replacing(final) as staged:
        staged.write_text(text, encoding="utf-8")


@dg.asset(
    code_version="1",
    group_name=GROUP,
    kinds={"markdown"},
    owners=OWNERS,
    deps=STORE_LOAD_ASSETS,
    description=(
        f"$TV5_DATA_DIR/{RELATIVE_PATH}: the data dictionary. Every asset (description, columns, types, "
        "meanings, latest row count) and every store object (Milvus collection fields and index, Neo4j labels, "
        "relationship types, properties and constraints, PostgreSQL tables from the SQLAlchemy model, Redis key "
        "patterns and TTLs), from the definitions and the live servers. Replaced atomically."
    ),
    metadata={"relative_path": RELATIVE_PATH},
    required_resource_keys={*STORE_KEYS, CODE_LOCATION},
)
def data_dictionary(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    entries = asset_entries(whole_graph(context), context.instance)
    parts = [asset_part(entries), *stores.store_parts(store_resources(context))]
    header = f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by the `data_dictionary` asset; do not edit."
    text = render(parts, header)
    final = dictionary_path()
    write_dictionary(text, final)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(len(p.sections) for p in parts),
            "assets": len(entries),
            "store_objects": sum(len(p.sections) for p in parts[1:]),
            "bytes": len(text.encode()),
            "path": dg.MetadataValue.path(str(final)),
        }
    )


ASSETS = [data_dictionary]
