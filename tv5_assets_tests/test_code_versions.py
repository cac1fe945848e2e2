"""Every asset declares its `code_version`, so Dagster can tell which assets a code change made stale.

Without one, Dagster uses the run id as the code version: every run looks like new code, and
"Materialize stale" cannot skip anything. The version is a short string ("1") bumped by hand when
what the asset writes changes (CONTRIBUTING.md, docs/operating.md).
"""

from __future__ import annotations

import dagster as dg

from tv5_assets.definitions import defs as load_defs


def missing_code_versions(defs: dg.Definitions) -> list[str]:
    return sorted(spec.key.to_user_string() for spec in defs.resolve_all_asset_specs() if not spec.code_version)


def test_every_asset_has_a_code_version() -> None:
    missing = missing_code_versions(load_defs())
    assert not missing, (
        f"assets without a code_version: {missing}; pass code_version='1' where each is defined "
        "(a factory takes it as a parameter)"
    )


def test_code_versions_are_short_explicit_strings() -> None:
    versions = {spec.key.to_user_string(): spec.code_version for spec in load_defs().resolve_all_asset_specs()}
    odd = {name: version for name, version in versions.items() if version and (len(version) > 16 or " " in version)}
    assert not odd, f"code versions should be short labels such as '1' or '2', bumped by hand: {odd}"


def test_the_check_finds_an_asset_without_one() -> None:
    @dg.asset
    def unversioned() -> None: ...

    @dg.asset(code_version="1")
    def versioned() -> None: ...

    assert missing_code_versions(dg.Definitions(assets=[unversioned, versioned])) == ["unversioned"]
