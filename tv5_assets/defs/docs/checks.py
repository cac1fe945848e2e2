"""Checks of the `docs` group."""

import dagster as dg

from ...registry import STORE_KEYS
from ...resources.code_location import RESOURCE_KEY as CODE_LOCATION
from .assets import asset_entries, data_dictionary, dictionary_path, store_resources, whole_graph
from .dictionary import missing_terms
from .stores import required_terms

SHOWN = 20


@dg.asset_check(
    asset=data_dictionary,
    blocking=True,
    description="Every asset with each of its declared columns, and every store object the definitions declare "
    "(collection fields, labels, relationship types and properties, constraints, tables and columns, Redis key "
    "patterns and fields) appears in its own section of the data dictionary.",
    required_resource_keys={*STORE_KEYS, CODE_LOCATION},
)
def dictionary_lists_everything(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    path = dictionary_path()
    if not path.exists():
        return dg.AssetCheckResult(passed=False, description=f"{path} does not exist: materialize data_dictionary")
    entries = asset_entries(whole_graph(context), None)
    required = required_terms(entries, store_resources(context))
    problems = missing_terms(path.read_text(encoding="utf-8"), required)
    return dg.AssetCheckResult(
        passed=not problems,
        metadata={
            "sections_required": len(required),
            "terms_required": sum(len(t) for t in required.values()),
            "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems[:SHOWN]) or "none"),
            "problem_count": len(problems),
        },
    )


CHECKS = [dictionary_lists_everything]
