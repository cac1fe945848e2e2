"""Bad-input corpus: every case through the real movielens assets.

Each case of `corpus.CASES` is planted in a copy of the generated sample and its file's asset is
materialized twice, strictly and with `quarantine: true`. A refused file or row must fail with a
message naming the file, the line, the rule and what to do (never only a traceback); a quarantine
run must set aside exactly the planted rows and keep all the others (kept + quarantined = rows in);
a harmless variant must give the same table as the clean file.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest

from tv5_assets.io_managers import read_frame
from tv5_assets_tests.reliability import corpus

RELIABILITY_PAGE = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"


@pytest.fixture(scope="module")
def clean_tables(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TV5_DATA_DIR with every file's table read from the clean sample (upstream tables, references)."""
    data = tmp_path_factory.mktemp("clean-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TV5_MOVIELENS_DIR", str(sample_dir))
        patch.setenv("TV5_DATA_DIR", str(data))
        upstream = dg.AssetSelection.assets(*corpus.ASSET_OF.values()).without_checks()
        result = corpus.materialize(upstream)
        assert result.success, corpus.step_errors(result)
    return data


@pytest.mark.parametrize("case", corpus.CASES, ids=[case.name for case in corpus.CASES])
def test_bad_input_case(
    case: corpus.Case, sample_dir: Path, clean_tables: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release, planted = corpus.build_case(case, sample_dir, tmp_path / "ml")
    data = Path(shutil.copytree(clean_tables, tmp_path / "data"))
    monkeypatch.setenv("TV5_MOVIELENS_DIR", str(release))
    monkeypatch.setenv("TV5_DATA_DIR", str(data))
    seen = corpus.observe(case, data)

    if case.outcome == corpus.ACCEPTED:
        assert seen.error is None and seen.quarantine_error is None, seen
        clean = read_frame(case.target, lazy=False, base_dir=clean_tables / "assets")
        assert read_frame(case.target, lazy=False, base_dir=data / "assets").equals(clean)
        assert seen.quarantined == 0
        return

    assert seen.error is not None, f"{case.name}: the strict run succeeded"
    for part in (case.file, case.rule, case.expected_advice):
        assert part in seen.error, (part, seen.error)
    if planted.line is not None:
        assert f", line {planted.line}: " in seen.error, seen.error
    assert seen.error.split(":")[0] in {"BadInputError", "MissingInputError"}, seen.error

    if case.outcome == corpus.FILE:
        assert seen.quarantine_error == seen.error  # quarantine cannot set a whole file aside
        return
    assert seen.quarantine_error is None, seen.quarantine_error
    assert seen.quarantined == planted.bad_rows
    assert seen.kept + seen.quarantined == corpus.data_rows(release / case.file)
    assert all(case.rule in rule for rule in seen.rules), seen.rules


def test_corpus_has_every_required_case() -> None:
    names = {case.name for case in corpus.CASES}
    assert len(names) == len(corpus.CASES) >= 15
    listed = {
        "truncated_mid_row",
        "wrong_header",
        "reordered_columns",
        "latin1",
        "utf8_bom",
        "lf_endings",
        "duplicate_keys",
        "off_half_star_grid",
        "negative_timestamp",
        "future_timestamp",
        "id_out_of_range",
        "unknown_movie",
        "empty_file",
        "header_only",
        "ten_mb_title",
        "nul_byte",
        "genome_scores_without_tags",
    }  # the cases the reliability work set out to cover
    assert listed <= names


def test_documented_table_is_current() -> None:
    assert corpus.markdown_table() in RELIABILITY_PAGE.read_text(), (
        "docs/reliability.md's bad-input table is stale: paste corpus.markdown_table() into it"
    )
