"""Checks on the live Milvus collections (through their aliases), blocking: downstream search must not
run on a collection that lost rows, lost its index parameters or cannot find its own vectors."""

import dagster as dg
import polars as pl

from ...partitions import UserRange, context_range, user_partitions_def
from ...resources.milvus import MilvusResource
from ...stores.milvus.collections import MEDIA_COLLECTION, USER_COLLECTION, VERSION_SEPARATOR, CollectionSpec
from ...stores.milvus.indexes import describe_vector_index, index_mismatches, normalise_index_description
from ...stores.milvus.loading import alias_target, count_entities, count_in_range, self_search_misses
from .assets import milvus_media_collection, milvus_user_collection

SELF_SEARCH_SAMPLE = 8


def _sample_ids(upstream: pl.LazyFrame, id_column: str, sample: int) -> list[int]:
    """Evenly spaced ids over the sorted upstream ids: deterministic, covers first and last."""
    ids = upstream.select(pl.col(id_column).sort()).collect()[id_column]
    if ids.len() == 0:
        return []
    positions = sorted({round(i * (ids.len() - 1) / max(sample - 1, 1)) for i in range(min(sample, ids.len()))})
    return [int(ids[p]) for p in positions]


def _entity_count_result(
    milvus: MilvusResource, spec: CollectionSpec, upstream: pl.LazyFrame, users: UserRange | None = None
) -> dg.AssetCheckResult:
    """Entities against upstream rows: all of them, or a user-range partition's (upstream is then
    that partition's rows)."""
    expected = int(upstream.select(pl.len()).collect().item())
    alias = milvus.collection_name(spec.logical_name)
    with milvus.get_client() as client:
        if users is None:
            stored = count_entities(client, alias)
        else:
            stored = count_in_range(client, alias, spec.primary_key.name, users.first, users.last)
    scope = {} if users is None else {"user_range": users.describe()}
    return dg.AssetCheckResult(
        passed=stored == expected,
        metadata={"stored_entities": stored, "upstream_rows": expected, "difference": stored - expected, **scope},
    )


def _index_result(milvus: MilvusResource, spec: CollectionSpec) -> dg.AssetCheckResult:
    with milvus.get_client() as client:
        description = describe_vector_index(client, milvus.collection_name(spec.logical_name))
    if description is None:
        return dg.AssetCheckResult(passed=False, metadata={"problem": "no index on the vector field"})
    kept = normalise_index_description(description, spec.index)
    problems = index_mismatches(kept, spec.index)
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={"index_params": dg.MetadataValue.json(kept), "mismatches": dg.MetadataValue.json(problems)},
    )


def _self_search_result(
    milvus: MilvusResource, spec: CollectionSpec, upstream: pl.LazyFrame, upstream_id: str
) -> dg.AssetCheckResult:
    ids = _sample_ids(upstream, upstream_id, SELF_SEARCH_SAMPLE)
    with milvus.get_client() as client:
        misses = self_search_misses(client, milvus.collection_name(spec.logical_name), spec, ids)
    return dg.AssetCheckResult(
        passed=not misses,
        metadata={"sampled_ids": dg.MetadataValue.json(ids), "misses": dg.MetadataValue.json(misses)},
    )


def _alias_result(milvus: MilvusResource, what: str) -> dg.AssetCheckResult:
    from pymilvus.client.types import LoadState  # imported where used: the code location loads without pymilvus

    alias = milvus.collection_name(what)
    with milvus.get_client() as client:
        target = alias_target(client, alias)
        exists = target is not None and client.has_collection(target)
        state = client.get_load_state(target)["state"] if exists else None
    versioned = target is not None and target.startswith(f"{alias}{VERSION_SEPARATOR}")
    return dg.AssetCheckResult(
        passed=bool(exists and versioned and state == LoadState.Loaded),
        metadata={"alias": alias, "collection": target or "", "exists": exists, "load_state": str(state)},
    )


def _build_checks(
    asset: dg.AssetsDefinition,
    spec: CollectionSpec,
    upstream: str,
    upstream_id: str,
    partitions_def: dg.PartitionsDefinition | None = None,
) -> list:
    """The four blocking checks of one collection; the work is in the `_*_result` functions above.
    With `partitions_def` (user-range partitions) each check runs per partition, the count within its range."""
    what = spec.logical_name

    @dg.asset_check(
        asset=asset,
        name="entity_count_matches_upstream",
        blocking=True,
        additional_ins={"upstream": dg.AssetIn(upstream)},
        description=f"The live {what} collection holds exactly one entity per row of {upstream}.",
        partitions_def=partitions_def,
    )
    def entity_count_matches_upstream(
        context: dg.AssetCheckExecutionContext, milvus: MilvusResource, upstream: pl.LazyFrame
    ) -> dg.AssetCheckResult:
        return _entity_count_result(milvus, spec, upstream, context_range(context))

    @dg.asset_check(
        asset=asset,
        name="index_as_requested",
        blocking=True,
        partitions_def=partitions_def,
        description=f"describe_index on {what}: {spec.index.describe()}, as kept by the engine.",
    )
    def index_as_requested(milvus: MilvusResource) -> dg.AssetCheckResult:
        return _index_result(milvus, spec)

    @dg.asset_check(
        asset=asset,
        name="stored_vector_finds_itself",
        blocking=True,
        partitions_def=partitions_def,
        additional_ins={"upstream": dg.AssetIn(upstream)},
        description=(
            f"For {SELF_SEARCH_SAMPLE} ids spread over {what}, the stored vector searched through the alias "
            f"({spec.index.describe()}) returns that entity first (an identical vector tying for first also passes)."
        ),
    )
    def stored_vector_finds_itself(milvus: MilvusResource, upstream: pl.LazyFrame) -> dg.AssetCheckResult:
        return _self_search_result(milvus, spec, upstream, upstream_id)

    @dg.asset_check(
        asset=asset,
        name="alias_serves_loaded_version",
        blocking=True,
        partitions_def=partitions_def,
        description=f"The alias {what} points at an existing versioned collection that is loaded.",
    )
    def alias_serves_loaded_version(milvus: MilvusResource) -> dg.AssetCheckResult:
        return _alias_result(milvus, what)

    return [entity_count_matches_upstream, index_as_requested, stored_vector_finds_itself, alias_serves_loaded_version]


media_collection_checks = _build_checks(milvus_media_collection, MEDIA_COLLECTION, "media_embeddings", "movie_id")
user_collection_checks = _build_checks(
    milvus_user_collection, USER_COLLECTION, "user_embeddings", "user_id", user_partitions_def()
)
CHECKS = [*media_collection_checks, *user_collection_checks]
