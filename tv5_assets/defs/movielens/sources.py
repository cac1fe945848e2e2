"""The GroupLens files as observable source assets, whose data version is the file's sha256.

One source asset per file the parse assets read (`links_csv`, `movies_csv`, `ratings_csv`, `tags_csv`,
`genome_tags_csv`, `genome_scores_csv`), upstream of its parse asset (`deps=` in assets.py). An
observation ("Observe sources" in the UI, or the release sensor, which records one for each changed
file) stores the file's sha256 as the source's data version. A parse asset materialized from other
bytes is then stale, and so is everything below it: "Materialize stale" rebuilds exactly those.

The sha256 comes from the cache the release check keeps (movielens_releases.Sha256Cache in
$TV5_DATA_DIR/cache, keyed by path, size and mtime): a file the sensor or an ingest step already
hashed costs a stat. A genome file absent from the release (ml-latest-small and ml-32m have no
genome) is observed with the data version "absent", so its appearance later is a change; a missing
required file or folder fails the observation with what to do (assets.source_file).
"""

# No `from __future__ import annotations` here: Dagster reads the context's type from the live annotation.
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import dagster as dg

from ... import movielens_releases, settings
from ...conventions import OWNERS
from . import parsing
from .assets import GROUP, source_asset_key, source_file
from .csv_spec import FileSpec

FILES: tuple[FileSpec, ...] = (
    parsing.LINKS_FILE,
    parsing.MOVIES_FILE,
    parsing.RATINGS_FILE,
    parsing.TAGS_FILE,
    parsing.GENOME_TAGS_FILE,
    parsing.GENOME_SCORES_FILE,
)
SOURCE_KEYS: dict[str, dg.AssetKey] = {spec.file_name: source_asset_key(spec) for spec in FILES}
"""File name -> its source asset's key."""

ABSENT = "absent"
"""The data version of an optional file the release does not hold."""


def data_version(sha256: str | None) -> dg.DataVersion:
    """A file's data version: its sha256 (hex), or "absent"."""
    return dg.DataVersion(sha256 or ABSENT)


def file_digests(paths: Iterable[Path]) -> tuple[dict[Path, str], list[Path]]:
    """({path: sha256}, the paths read now): through the release check's cache, so each file is read
    once for the sensor, the observation and the ingest's release check together."""
    return movielens_releases.Sha256Cache(settings.data_dir() / "cache").digests(list(paths))


def _spec(spec: FileSpec) -> dg.AssetSpec:
    optional = " Optional: absent from releases without a tag genome (data version 'absent')." if spec.optional else ""
    return dg.AssetSpec(
        SOURCE_KEYS[spec.file_name],
        description=(
            f"{spec.file_name} in the GroupLens folder (TV5_MOVIELENS_DIR), as published: observed, never "
            f"written here. Its data version is the file's sha256, so a changed file marks what was parsed "
            f"from it stale.{optional}"
        ),
        group_name=GROUP,
        kinds={"csv"},
        owners=OWNERS,
        code_version="1",
        metadata={"file_name": spec.file_name, "optional": spec.optional},
    )


def observe(specs: Iterable[FileSpec]) -> Iterator[dg.ObserveResult]:
    """One observation per file: its sha256 as data version, with its path, size and sha256 as metadata."""
    specs = list(specs)
    paths = {spec.file_name: source_file(spec) for spec in specs}  # raises for a missing required file
    digests, hashed = file_digests(path for path in paths.values() if path is not None)
    for spec in specs:
        path = paths[spec.file_name]
        key = SOURCE_KEYS[spec.file_name]
        if path is None:
            note = f"{spec.file_name} is not in this release (optional: no tag genome); its tables are empty"
            yield dg.ObserveResult(asset_key=key, data_version=data_version(None), metadata={"note": note})
            continue
        yield dg.ObserveResult(
            asset_key=key,
            data_version=data_version(digests[path]),
            metadata={
                "path": dg.MetadataValue.path(str(path)),
                "size_bytes": path.stat().st_size,
                "sha256": digests[path],
                "hashed_now": path in hashed,  # False: from the cache (size and mtime unchanged)
            },
        )


# The decorator is marked beta in Dagster 1.13 (public, `dg.multi_observable_source_asset`); it is
# the one that takes AssetSpecs (owners, kinds, code_version), so its warning is not repeated at
# every load of the code location.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)

    @dg.multi_observable_source_asset(
        specs=[_spec(spec) for spec in FILES],
        name="observe_movielens_files",
        description="Record the sha256 of each selected GroupLens file as its data version.",
        can_subset=True,
    )
    def movielens_files(context: dg.AssetExecutionContext) -> Iterator[dg.ObserveResult]:
        selected = context.selected_asset_keys
        yield from observe(spec for spec in FILES if SOURCE_KEYS[spec.file_name] in selected)
