"""Group `milvus`: the media and user embeddings as Milvus collections, loaded blue/green.

See collections.py for the schemas and loading.py for the load protocol. Each asset returns a
MaterializeResult: the data lives in Milvus, behind the alias `media_embeddings`/`user_embeddings`.
"""

from collections.abc import Callable

import dagster as dg
import polars as pl
from pydantic import Field

from ...conventions import CPU_HEAVY, CRITICAL_PATH
from ...partitions import UserRange, context_range, user_partitions_def
from ...resources.milvus import MilvusResource
from ...store_load import MILVUS, store_asset, store_errors
from ...stores.milvus.collections import MEDIA_COLLECTION, USER_COLLECTION, CollectionSpec, media_rows, user_rows
from ...stores.milvus.loading import LoadReport, load_blue_green, upsert_range


class MilvusLoadConfig(dg.Config):
    max_batch_mb: float = Field(
        default=20.0, gt=0, description="Largest insert request, in MB (rows per batch follow from the row size)."
    )
    index_timeout_s: float = Field(
        default=3600.0, gt=0, description="How long to wait for a Milvus server's asynchronous index build."
    )


def _load(
    context: dg.AssetExecutionContext,
    config: MilvusLoadConfig,
    milvus: MilvusResource,
    spec: CollectionSpec,
    build_rows: Callable[[], pl.DataFrame],
) -> dg.MaterializeResult:
    with store_errors(MILVUS, milvus.address, f"loading the {spec.logical_name} collection", milvus.unavailable):
        rows = build_rows()  # inside: bad upstream rows fail once instead of being retried
        with milvus.get_client() as client:
            report = load_blue_green(
                client,
                spec,
                rows,
                alias=milvus.collection_name(spec.logical_name),
                max_batch_bytes=int(config.max_batch_mb * 1024 * 1024),
                index_timeout_s=config.index_timeout_s,
                log=context.log.info,
            )
    return dg.MaterializeResult(metadata=_metadata(report, milvus))


def _load_range(
    context: dg.AssetExecutionContext,
    config: MilvusLoadConfig,
    milvus: MilvusResource,
    users: UserRange,
    build_rows: Callable[[], pl.DataFrame],
) -> dg.MaterializeResult:
    """One user-range partition into the collection the alias serves (loading.upsert_range)."""
    alias = milvus.collection_name(USER_COLLECTION.logical_name)
    with store_errors(MILVUS, milvus.address, f"loading {users.describe()} into {alias}", milvus.unavailable):
        rows = build_rows()
        with milvus.get_client() as client:
            report = upsert_range(
                client,
                USER_COLLECTION,
                rows,
                alias,
                users.first,
                users.last,
                max_batch_bytes=int(config.max_batch_mb * 1024 * 1024),
                log=context.log.info,
            )
    context.log.info(f"{alias}: {report.rows:,} entities of {users.describe()} upserted into {report.collection}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": report.rows,
            "rows": report.rows,
            "user_range": users.describe(),
            "collection_version": report.collection,
            "alias": alias,
            "created_collection": report.created,
            "milvus_address": milvus.address,
            "upsert_batches": report.batches,
            "upsert_seconds": round(report.upsert_seconds, 3),
            "flush_seconds": round(report.flush_seconds, 3),
            "stale_key_gaps_deleted": report.stale_deleted_gaps,
        }
    )


def _metadata(report: LoadReport, milvus: MilvusResource) -> dict:
    return {
        "dagster/row_count": report.rows,
        "rows": report.rows,
        "collection_version": report.collection,
        "alias": report.alias,
        "previous_version": report.previous_collection or "",
        "dropped_versions": dg.MetadataValue.json(report.dropped_versions),
        "milvus_address": milvus.address,
        "insert_batches": report.batches,
        "rows_per_batch": report.rows_per_batch,
        "insert_seconds": round(report.insert_seconds, 3),
        "insert_rows_per_second": round(report.insert_rows_per_second, 1),
        "flush_seconds": round(report.flush_seconds, 3),
        "index_seconds": round(report.index_seconds, 3),
        # Milvus Lite builds HNSW when the collection is loaded, a server in the background after
        # create_index: index plus load is the comparable "index build" figure.
        "index_build_seconds": round(report.index_seconds + report.load_seconds, 3),
        "load_seconds": round(report.load_seconds, 3),
        "index_params": dg.MetadataValue.json(report.index_params),
    }


@store_asset(
    MILVUS,
    code_version="2",
    op_tags=CPU_HEAVY,
    description=(
        "Milvus collection `media_embeddings` (an alias onto a versioned collection): one entity per movie, "
        "primary key movie_id, media_id/title/display_title/year/genres for filtered search, 384-d vector "
        f"with a {MEDIA_COLLECTION.index.describe()} index. Built beside the served version and switched "
        "in by moving the alias, so searches never see a half-loaded collection."
    ),
    metadata={"dagster/column_schema": MEDIA_COLLECTION.table_schema(), "milvus/alias": MEDIA_COLLECTION.logical_name},
)
def milvus_media_collection(
    context: dg.AssetExecutionContext,
    config: MilvusLoadConfig,
    milvus: MilvusResource,
    media_embeddings: pl.LazyFrame,
    movies: pl.LazyFrame,
) -> dg.MaterializeResult:
    return _load(context, config, milvus, MEDIA_COLLECTION, lambda: media_rows(media_embeddings, movies))


@store_asset(
    MILVUS,
    code_version="2",
    op_tags={**CPU_HEAVY, **CRITICAL_PATH},
    description=(
        "Milvus collection `user_embeddings` (an alias onto a versioned collection): one entity per user, "
        "primary key movielens_user_id, user_id (user_{id:08d})/archetype/country/weighting for filtered "
        f"search, 384-d preference vector with a {USER_COLLECTION.index.describe()} index (graph indexes miss in "
        "the users' narrow cone, see collections.py); blue/green like the media collection. With "
        "TV5_USER_PARTITIONS set, partitioned by user-id range: a partition upserts its users into the served "
        "collection and deletes the range's stale ones."
    ),
    partitions_def=user_partitions_def(),
    metadata={"dagster/column_schema": USER_COLLECTION.table_schema(), "milvus/alias": USER_COLLECTION.logical_name},
)
def milvus_user_collection(
    context: dg.AssetExecutionContext,
    config: MilvusLoadConfig,
    milvus: MilvusResource,
    user_embeddings: pl.LazyFrame,
    user_profiles: pl.LazyFrame,
) -> dg.MaterializeResult:
    users = context_range(context)
    if users is not None:  # user_embeddings is this partition's file already
        return _load_range(context, config, milvus, users, lambda: user_rows(user_embeddings, user_profiles))
    return _load(context, config, milvus, USER_COLLECTION, lambda: user_rows(user_embeddings, user_profiles))


ASSETS = [milvus_media_collection, milvus_user_collection]
