"""The determinism check of the `synthetic` assets, built once for each of them by `deterministic_check`.

The asset records its config and a content hash (common.frame_digest) in its materialization; the
check re-runs the same generator on the same inputs with that config and requires three equal
hashes: recorded, stored Parquet read back, and recomputed. A generator with an unseeded draw, a
dependence on thread scheduling or on row order of a parallel group_by fails it.
"""

# No `from __future__ import annotations` here: Dagster reads a check's input types from the
# evaluated annotations of the signature `deterministic_check` builds.

import inspect
from collections.abc import Callable

import dagster as dg
import polars as pl

from .common import frame_digest


def latest_metadata(context: dg.AssetCheckExecutionContext, key: str) -> dict:
    event = context.instance.get_latest_materialization_event(dg.AssetKey(key))
    if event is None or event.asset_materialization is None:
        return {}
    return {name: value.value for name, value in event.asset_materialization.metadata.items()}


def determinism_result(
    context: dg.AssetCheckExecutionContext,
    key: str,
    config_type: type[dg.Config],
    regenerate: Callable[[dg.Config], pl.DataFrame],
    stored: pl.DataFrame,
) -> dg.AssetCheckResult:
    metadata = latest_metadata(context, key)
    if "config" not in metadata or "content_hash" not in metadata:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{key}: the latest materialization has no recorded config/content_hash; re-materialize it.",
        )
    config = config_type(**metadata["config"])
    recorded = metadata["content_hash"]
    stored_hash = frame_digest(stored)
    recomputed_hash = frame_digest(regenerate(config))
    passed = recorded == stored_hash == recomputed_hash
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            f"{key}: re-running the generator with seed {config.seed} reproduced the stored content hash"
            if passed
            else f"{key}: content hashes differ (recorded {recorded[:12]}, stored {stored_hash[:12]}, "
            f"recomputed {recomputed_hash[:12]}): the output is not a pure function of inputs and seed, "
            "or the stored file is not the one this run wrote."
        ),
        metadata={
            "recorded_hash": recorded,
            "stored_hash": stored_hash,
            "recomputed_hash": recomputed_hash,
            "seed": config.seed,
        },
    )


def deterministic_check(
    asset: str, config_type: type[dg.Config], generate: Callable[..., pl.DataFrame], **upstream: type
) -> dg.AssetChecksDefinition:
    """`<asset>_deterministic` (non-blocking, ERROR): re-runs `generate(config, *upstream assets)`,
    the asset's own generator call (assets.py), with the config recorded in the latest
    materialization, and compares content hashes (determinism_result).

    `upstream` names the assets `generate` takes after the config, in its order, each with the type
    the IO manager loads it as (pl.DataFrame or pl.LazyFrame).
    """

    def check(context: dg.AssetCheckExecutionContext, **inputs: pl.DataFrame | pl.LazyFrame) -> dg.AssetCheckResult:
        stored = inputs.pop(asset)
        return determinism_result(
            context, asset, config_type, lambda config: generate(config, *(inputs[name] for name in upstream)), stored
        )

    # Dagster reads a check's inputs (and the types to load them as) from its signature.
    check.__signature__ = inspect.Signature(
        [
            inspect.Parameter(
                "context", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=dg.AssetCheckExecutionContext
            ),
            *(
                inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=kind)
                for name, kind in {asset: pl.DataFrame, **upstream}.items()
            ),
        ],
        return_annotation=dg.AssetCheckResult,
    )
    check.__name__ = f"{asset}_deterministic"
    return dg.asset_check(
        asset=asset,
        name=check.__name__,
        additional_ins={name: dg.AssetIn(name) for name in upstream},
        description="Re-running the generator with the recorded seed reproduces the stored content hash.",
    )(check)
