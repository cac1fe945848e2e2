"""The code location's own asset graph, for the assets that describe the whole graph (the data
dictionary and its check).

A step's context holds only its run's selection (`dg.materialize` in tests builds a repository of
the selected assets, and gives the step no repository at all), so such an asset cannot read the
graph from its context. It cannot import `tv5_assets.definitions` either: that module loads every
`defs/` folder, the asset's own included, which would make the library and the folders import one
another. So `definitions.py`, which builds the location, hands a way to build it to this resource.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

RESOURCE_KEY = "code_location"


@dataclass(frozen=True)
class CodeLocation:
    """`build` returns the code location's Definitions (definitions.defs)."""

    build: Callable[[], dg.Definitions]

    def asset_graph(self):
        """The asset graph of the whole location, whatever the run selected."""
        return self.build().resolve_asset_graph()


def code_location_resource(build: Callable[[], dg.Definitions]) -> dg.ResourceDefinition:
    return dg.ResourceDefinition.hardcoded_resource(
        CodeLocation(build), description="The code location's asset graph (for the data dictionary)."
    )
