"""Materialize the embeddings group (and its checks) from the real code location."""

from __future__ import annotations

import dagster as dg


def materialize_embeddings(selection: str | list[str] = "group:embeddings") -> dg.ExecuteInProcessResult:
    """`selection`: a selection string or a list of asset keys; failures are returned, not raised."""
    from tv5_assets.definitions import defs as load_defs

    defs = load_defs()

    return dg.materialize(
        [*(defs.assets or []), *(defs.asset_checks or [])],
        selection=selection,
        resources=dict(defs.resources or {}),
        raise_on_error=False,
    )
