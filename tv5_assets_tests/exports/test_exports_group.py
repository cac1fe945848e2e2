"""The `exports` group on the generated sample (generator -> movielens -> synthetic -> exports): every
file lands where the plan puts it, every check passes, and a tampered file fails its blocking checks."""

import json
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from tv5_assets.defs.exports.assets import ASSETS
from tv5_assets.defs.exports.checks import CHECKS
from tv5_assets.defs.exports.layouts import EXPORTS, parquet_path
from tv5_assets.defs.exports.verify import SAMPLE_LINES, SAMPLE_SEED
from tv5_assets.defs.exports.writers import sample_positions
from tv5_assets.defs.synthetic.assets import ASSETS as SYNTHETIC_ASSETS
from tv5_assets.io_managers import Tv5IOManager

SYNTHETIC_UPSTREAM = [
    "user_profiles",
    "platform_availability",
    "viewing_contexts",
    "subtitle_features",
    "subtitle_segments",
]
SMALL_CONTEXTS = {"ops": {"viewing_contexts": {"config": {"count": 3_000}}}}


def run(selection, run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    """Synthetic and export assets with the export checks; movies, ratings and tags come from storage."""
    stored = [dg.AssetSpec(name) for name in ("movies", "ratings", "tags")]
    return dg.materialize(
        [*SYNTHETIC_ASSETS, *ASSETS, *CHECKS, *stored],
        selection=selection,
        resources={"io_manager": Tv5IOManager()},  # $TV5_DATA_DIR/assets, where the sample was ingested
        run_config=run_config,
        raise_on_error=False,
    )


def outcomes(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed for e in result.get_asset_check_evaluations()}


@pytest.fixture(scope="module")
def exported(movielens_materialized: Path) -> tuple[Path, dg.ExecuteInProcessResult]:
    assert run(SYNTHETIC_UPSTREAM, SMALL_CONTEXTS).success
    return movielens_materialized, run("group:exports")


def test_every_file_is_written_and_every_check_passes(exported) -> None:
    data, result = exported
    assert result.success
    checks = outcomes(result)
    assert len(checks) == len(CHECKS) + len(EXPORTS)  # the JSONL check steps report two checks each
    assert all(checks.values()), {name: ok for name, ok in checks.items() if not ok}
    metadata = {
        e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert set(metadata) == {a.key.to_user_string() for a in ASSETS}
    for export in EXPORTS:
        path, figures = data / export.path, metadata[export.name]
        assert path.read_bytes().count(b"\n") == figures["lines"].value == figures["dagster/row_count"].value > 0
        assert figures["size_mb"].value > 0 and figures["lines_per_second"].value > 0
        copy = pl.read_parquet(data / parquet_path(export.upstream))
        assert copy.equals(pl.read_parquet(data / "assets" / f"{export.upstream}.parquet"))


def test_files_hold_the_upstream_values(exported) -> None:
    data, _ = exported
    movies = pl.read_parquet(data / "assets" / "movies.parquet")
    lines = [
        json.loads(line) for line in (data / "processed/media/movies.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    # the sample plants quoting, non-ASCII, NBSP, moved articles and alternate titles: all come back
    assert [m["metadata"]["title"] for m in lines] == movies["title"].to_list()
    assert [m["metadata"]["alt_title"] for m in lines] == movies["alt_title"].to_list()
    tags = pl.read_parquet(data / "assets" / "tags.parquet")
    with open(data / "processed/interactions/tags.jsonl", encoding="utf-8") as handle:
        assert [json.loads(line)["tag"] for line in handle] == tags["tag"].to_list()


def _one_sampled_value_changed(jsonl: bytes) -> bytes:
    """The file with one value changed on the first line the sample check reads (a catalogue of
    thousands of lines is only sampled, so a change elsewhere may go unseen)."""
    lines = jsonl.split(b"\n")
    first = sample_positions(len([line for line in lines if line]), SAMPLE_LINES, SAMPLE_SEED)[0]
    record = json.loads(lines[first])
    metadata = record["metadata"]
    metadata["language"] = "zz" if metadata["language"] != "zz" else "yy"
    lines[first] = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
    return b"\n".join(lines)


def test_tampered_files_fail_their_blocking_checks(exported) -> None:
    data, _ = exported
    movies, tags = data / "processed/media/movies.jsonl", data / "processed/interactions/tags.jsonl"
    saved = {path: path.read_bytes() for path in (movies, tags)}
    try:
        movies.write_bytes(_one_sampled_value_changed(saved[movies]))
        tags.write_bytes(saved[tags].split(b"\n", 1)[1])  # the first line dropped: every later line moves up
        result = run(dg.AssetSelection.checks_for_assets("movies_jsonl", "tags_jsonl"))
    finally:
        for path, content in saved.items():
            path.write_bytes(content)
    checks = outcomes(result)
    assert not result.success  # blocking checks failed
    assert checks == {
        "movies_jsonl:lines_match_upstream": True,
        "movies_jsonl:sample_parses_back": False,
        "tags_jsonl:lines_match_upstream": False,
        "tags_jsonl:sample_parses_back": False,
    }
