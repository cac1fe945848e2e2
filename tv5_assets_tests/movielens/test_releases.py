"""The release check (tv5_assets/movielens_releases.py): a folder is matched to its GroupLens release
and a cut or altered file fails before parsing. No services.

Most tests register a generated folder as a fake release (its manifest is built here and passed as
the release table); the real manifests are checked for form, and with sparse files of the published
sizes (nothing is read: a size mismatch fails before hashing).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest
from movielens_files import materialize, output_metadata, step_failures, write_release

from tv5_assets.generator import write_sample
from tv5_assets.movielens_releases import (
    ML_25M,
    RELEASES,
    UNRECOGNISED_NOTE,
    FileFigures,
    Release,
    ReleaseMismatchError,
    check_release,
    identify,
)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release-sample")
    write_sample(out, scale=0.001, seed=1)
    return out


@pytest.fixture
def folder(generated: Path, tmp_path: Path) -> Path:
    return shutil.copytree(generated, tmp_path / "ml-fake")


def manifest_of(folder: Path, name: str = "ml-fake") -> Release:
    files = {}
    for path in sorted(folder.glob("*.csv")):
        files[path.name] = FileFigures(path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
    return Release(name, files, sources=("built by the test",))


def check(folder: Path, release: Release, tmp_path: Path, **kwargs):
    return check_release(folder, releases=(release, *RELEASES), cache_dir=tmp_path / "cache", **kwargs)


def test_intact_release_passes_and_metadata_names_it(folder: Path, tmp_path: Path) -> None:
    fake = manifest_of(folder)
    result = check(folder, fake, tmp_path)
    assert result.status == "verified" and result.release == "ml-fake"
    assert set(result.checked) == set(fake.files) and not result.size_only
    meta = result.metadata()
    assert meta["release"] == "ml-fake" and "every file matches" in meta["release_check"]


def test_file_cut_at_a_line_boundary_fails_naming_file_and_both_sizes(folder: Path, tmp_path: Path) -> None:
    fake = manifest_of(folder)
    ratings = folder / "ratings.csv"
    data = ratings.read_bytes()
    cut = data[: data.rindex(b"\n", 0, len(data) // 2) + 1]  # a smaller file that still parses
    ratings.write_bytes(cut)
    with pytest.raises(ReleaseMismatchError) as raised:
        check(folder, fake, tmp_path)
    text = str(raised.value)
    assert str(ratings) in text and f"{len(cut)} bytes" in text and f"is {len(data)} bytes" in text
    assert "cut or incomplete download" in text and "Download ml-fake again" in text
    assert "TV5_VERIFY_RELEASE=0" in text and "verify_release: false" in text
    assert raised.value.release == "ml-fake" and [p.path for p in raised.value.problems] == [ratings]
    assert not (tmp_path / "cache" / "release_sha256.json").exists()  # sizes first: nothing was hashed


def test_file_cut_inside_its_last_field_fails(folder: Path, tmp_path: Path) -> None:
    fake = manifest_of(folder)
    tags = folder / "tags.csv"
    tags.write_bytes(tags.read_bytes().rstrip(b"\r\n")[:-4])  # the last timestamp loses its digits
    with pytest.raises(ReleaseMismatchError, match=re.escape(str(tags))):
        check(folder, fake, tmp_path)


def test_cut_movies_file_still_identifies_its_release(folder: Path, tmp_path: Path) -> None:
    fake = manifest_of(folder)
    movies = folder / "movies.csv"
    movies.write_bytes(movies.read_bytes()[:100])
    with pytest.raises(ReleaseMismatchError, match="movies.csv: 100 bytes"):
        check(folder, fake, tmp_path)


def test_same_size_file_with_one_changed_byte_fails_on_the_checksum(folder: Path, tmp_path: Path) -> None:
    fake = manifest_of(folder)
    ratings = folder / "ratings.csv"
    data = bytearray(ratings.read_bytes())
    last = data.rindex(b",") + 1  # first digit of the last timestamp
    data[last] = ord("1") if data[last] != ord("1") else ord("2")
    ratings.write_bytes(bytes(data))
    with pytest.raises(ReleaseMismatchError) as raised:
        check(folder, fake, tmp_path)
    text = str(raised.value)
    assert str(ratings) in text and "sha256" in text and fake.files["ratings.csv"].sha256 in text
    assert f"{len(data)} bytes as published" in text


def test_folder_matching_no_release_is_accepted_as_unrecognised(folder: Path, tmp_path: Path) -> None:
    assert UNRECOGNISED_NOTE == "unrecognised folder: not checked against a release"
    for releases in (RELEASES, (manifest_of(write_release(tmp_path / "other")), *RELEASES)):
        result = check_release(folder, releases=releases, cache_dir=tmp_path / "cache")
        assert result.status == "unrecognised" and result.release is None
        assert result.metadata()["release_check"] == UNRECOGNISED_NOTE
    assert not (tmp_path / "cache").exists()  # an unrecognised folder costs a listing, no read


def test_verify_release_setting_and_config_skip_the_check(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = manifest_of(folder)
    (folder / "ratings.csv").write_bytes(b"userId,movieId,rating,timestamp\n")
    assert "verify_release: false" in check(folder, fake, tmp_path, verify=False).note
    monkeypatch.setenv("TV5_VERIFY_RELEASE", "0")
    result = check(folder, fake, tmp_path)
    assert result.status == "skipped" and "TV5_VERIFY_RELEASE=0" in result.metadata()["release_check"]


def test_checksums_are_cached_and_invalidated_by_mtime(folder: Path, tmp_path: Path) -> None:
    fake = manifest_of(folder)
    first = check(folder, fake, tmp_path)
    assert sorted(first.hashed) == sorted(fake.files) and not first.from_cache
    second = check(folder, fake, tmp_path)
    assert second.hashed == () and sorted(second.from_cache) == sorted(fake.files)
    assert second.metadata()["release_files_hashed"] == 0

    ratings = folder / "ratings.csv"
    stat = ratings.stat()
    os.utime(ratings, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # touched: same bytes
    third = check(folder, fake, tmp_path)
    assert third.hashed == ("ratings.csv",) and third.status == "verified"

    # same size, same mtime as cached, different content: the cache trusts (path, size, mtime) by design,
    # so an edit is caught only once the mtime moves, as any write does
    data = bytearray(ratings.read_bytes())
    data[-3] = ord("1") if data[-3] != ord("1") else ord("2")
    ratings.write_bytes(bytes(data))
    with pytest.raises(ReleaseMismatchError):
        check(folder, fake, tmp_path)


# ------------------------------------------------------------------------------ the real manifests


def test_real_manifests_are_well_formed() -> None:
    names = [r.name for r in RELEASES]
    assert len(names) == len(set(names))
    assert {"ml-25m", "ml-latest-small", "ml-latest"} <= set(names)
    for release in RELEASES:
        assert release.sources, f"{release.name} names no source"
        for name, figures in release.files.items():
            assert name.endswith(".csv") and isinstance(figures.size, int) and figures.size > 0
            assert figures.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", figures.sha256), (release.name, name)
    ml25 = dict(ML_25M.files)
    assert len(ml25) == 6 and all(f.sha256 for f in ml25.values())
    assert next(r for r in RELEASES if r.name == "ml-latest").files == {}


def test_identification_by_names_and_sizes() -> None:
    assert identify({"movies.csv": 3038099, "ratings.csv": 5}) is ML_25M  # movies.csv decides
    assert identify({"ratings.csv": 678260987, "tags.csv": 38810332, "movies.csv": 1}) is ML_25M
    assert identify({"genome-tags.csv": 18103, "movies.csv": 1, "ratings.csv": 2}) is None  # one coincidence
    assert identify({"movies.csv": 494431}).name == "ml-latest-small"


def sparse_ml25m(folder: Path, cut: dict[str, int] | None = None) -> Path:
    """Sparse files with ml-25m's published sizes (no disk, never read: sizes are compared first)."""
    folder.mkdir(parents=True)
    for name, figures in ML_25M.files.items():
        with open(folder / name, "wb") as handle:
            handle.truncate((cut or {}).get(name, figures.size))
    return folder


def test_cut_ml25m_ratings_fails_at_once(tmp_path: Path) -> None:
    folder = sparse_ml25m(tmp_path / "ml-25m", {"ratings.csv": 678_000_000})
    with pytest.raises(ReleaseMismatchError) as raised:
        check_release(folder, cache_dir=tmp_path / "cache")
    text = str(raised.value)
    assert f"{folder / 'ratings.csv'}: 678000000 bytes, but ml-25m's ratings.csv is 678260987 bytes" in text
    assert "https://files.grouplens.org/datasets/movielens/ml-25m.zip" in text


# ------------------------------------------------------------------------------ the ingest assets


def test_assets_check_the_release_before_parsing(tmp_path: Path, private_env) -> None:
    private_env(sparse_ml25m(tmp_path / "ml-25m", {"ratings.csv": 678_000_000}))
    text = step_failures(materialize("links", raise_on_error=False))["links"]
    assert "ReleaseMismatchError" in text and "ml-25m's ratings.csv is 678260987 bytes" in text
    config = {"ops": {"links": {"config": {"verify_release": False}}}}
    text = step_failures(materialize("links", raise_on_error=False, run_config=config))["links"]
    assert "ReleaseMismatchError" not in text and "links.csv" in text  # skipped: the parser meets the zeros


def test_assets_record_the_release_check(tmp_path: Path, private_env) -> None:
    private_env(write_release(tmp_path / "ml"))
    meta = output_metadata(materialize("links"), "links")
    assert meta["release"] == "unrecognised" and meta["release_check"] == UNRECOGNISED_NOTE
