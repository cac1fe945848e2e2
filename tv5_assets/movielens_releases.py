"""The official GroupLens MovieLens releases the platform knows, and the check that a folder is one.

A cut download parses: ratings.csv cut at a line boundary reads as a smaller release, a tags.csv cut
inside its last timestamp yields a tag dated 1970. So before parsing, the folder is matched to the
release whose files it holds (names and byte sizes; movies.csv's size decides when it matches) and
every file of that release present in the folder must have the published size (compared first: a
cut file fails at once, unhashed) and sha256. A folder that matches no release (a generated sample,
an export, ml-latest, which changes) is accepted as "unrecognised". `TV5_VERIFY_RELEASE=0` (or an
ingest asset's `verify_release: false`) skips the check.

sha256 of a file is computed once and cached in `$TV5_DATA_DIR/cache/release_sha256.json`, keyed by
path, size and mtime_ns, so a rerun costs a stat per file. Pure library: no Dagster, no `defs`.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import settings
from .errors import Tv5Error

VERIFY_ENV = "TV5_VERIFY_RELEASE"
CACHE_FILE = "release_sha256.json"
UNRECOGNISED_NOTE = "unrecognised folder: not checked against a release"


@dataclass(frozen=True)
class FileFigures:
    """A file as published: its size in bytes and, where confirmed, its sha256 (None: size only)."""

    size: int
    sha256: str | None = None


@dataclass(frozen=True)
class Release:
    """A GroupLens release: its files' figures (empty: known by name only) and where they come from."""

    name: str
    files: Mapping[str, FileFigures] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    note: str = ""

    @property
    def download_url(self) -> str:
        return f"https://files.grouplens.org/datasets/movielens/{self.name}.zip"


# Figures of the files inside the zips (never the zip archives' own checksums). A file or a digest
# that could not be confirmed from a named source is left out, never guessed.
ML_25M = Release(
    "ml-25m",
    {
        "ratings.csv": FileFigures(678260987, "9c85525758597dca76e8d98cebb9c13e018c2317b09a0878b6d383179526e385"),
        "tags.csv": FileFigures(38810332, "84793c391a8e2a8b93190b5e780f781563a184c413d02ff2104cc2f442e2830a"),
        "genome-scores.csv": FileFigures(435164157, "dcee649a8ba5c02b14b5ac5ff34dd27edcf58beff1d902cdf9c114927d1f8f70"),
        "movies.csv": FileFigures(3038099, "c50dea6973e619f9bc1decd4afa3e35358b83a5fb663dac0ec82252a011d023d"),
        "links.csv": FileFigures(1368578, "dd07bbd9aa8e76d263d8323ddd18ec87b6e00a79a68a5896afe9a737af22322b"),
        "genome-tags.csv": FileFigures(18103, "c84bf1e2addbf38432426a2bb2a117a59d76c0873fc875fe8764e92842fd3bfb"),
    },
    sources=(
        "sizes and sha256 confirmed for the platform by the project lead (ml-25m.zip, generated 2019-11-21); "
        "sizes also in public `hdfs fsck`/`dir` listings of ml-25m (e.g. ratings.csv 678260987 bytes)",
    ),
)

ML_LATEST_SMALL = Release(
    "ml-latest-small",
    {
        "ratings.csv": FileFigures(2483723, "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646"),
        "movies.csv": FileFigures(494431, "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07"),
        "links.csv": FileFigures(197979, "97ad18e4e56a09363c65676b6cb3482ce3e2cea2372a24620c1599c843325f31"),
        "tags.csv": FileFigures(118660, "92a9f8bb7916dceef6151209845788c3643f794dfa79d1feaec7121b5960399d"),
    },
    sources=("sizes and sha256 confirmed for the platform by the project lead (generated 2018-09-26)",),
    note="the 2018-09-26 generation; an older or newer ml-latest-small is a different release",
)

# ml-32m (generated 2023-10-13). ratings/movies/tags: size + sha256 from the manifest committed in
# github.com/LucisZhang/crossover-study, data/MANIFEST_ML32M.md (commit e2263d24), computed from
# ml-32m.zip; the ratings.csv and movies.csv digests are repeated independently in other public
# projects' docs, and all sizes match a public notebook's `ls -l` of an unzipped ml-32m (files dated
# Oct 13 2023). links.csv: size only, from that `ls -l` (no published digest found).
ML_32M = Release(
    "ml-32m",
    {
        "ratings.csv": FileFigures(877076222, "91159850e41ee59c86231165a688709647e2726cab2e7ba9faf04001bd5261ee"),
        "movies.csv": FileFigures(4242926, "b37ca1abc7798de741138ed252b62f69f7e37c84b8a8fab1b82d409b4c6c5cc2"),
        "tags.csv": FileFigures(72353890, "c52e458a89b9deee410f50813e7a64491fbe92a6f07b5c4b58e64c0b3cc95b89"),
        "links.csv": FileFigures(1950748),
    },
    sources=(
        "github.com/LucisZhang/crossover-study data/MANIFEST_ML32M.md (sizes, sha256 of ratings/movies/tags)",
        "public `ls -l` transcript of an unzipped ml-32m (sizes of all four files, links.csv 1950748)",
    ),
)

# ml-20m (2015, updated 2016-10-17: new links.csv, genome files added). Sizes only; no per-file
# sha256 was found published anywhere. ratings/movies/tags.csv sizes: the Databricks copy
# dbfs:/databricks-datasets/cs110x/ml-20m/data-001 as listed in the public cs110 ALS lab notes
# (ratings.csv also in a 2020 `hdfs fsck` of a fresh download: 533444411 bytes). links.csv (changed
# in 2016, the listed size is the old one) and the genome files: left out, not confirmed.
ML_20M = Release(
    "ml-20m",
    {
        "ratings.csv": FileFigures(533444411),
        "movies.csv": FileFigures(1397542),
        "tags.csv": FileFigures(16603996),
    },
    sources=(
        "Databricks cs110x/ml-20m/data-001 file listing (ratings, movies, tags sizes)",
        "public `hdfs fsck` of ml-20m ratings.csv (533444411 bytes)",
    ),
    note="sizes only: no per-file sha256 is published; links.csv and genome files are not checked",
)

ML_LATEST = Release(
    "ml-latest", sources=("grouplens.org",), note="regenerated from time to time: known by name only, never checked"
)

RELEASES: tuple[Release, ...] = (ML_25M, ML_32M, ML_20M, ML_LATEST_SMALL, ML_LATEST)


# ------------------------------------------------------------------------------ errors, results


@dataclass(frozen=True)
class FileProblem:
    path: Path
    size: int
    expected: FileFigures
    sha256: str | None = None  # set when the size matched and the digest did not

    def describe(self, release: str) -> str:
        name = self.path.name
        if self.sha256 is None:
            why = "cut or incomplete download" if self.size < self.expected.size else "not the published file"
            return f"{self.path}: {self.size} bytes, but {release}'s {name} is {self.expected.size} bytes ({why})"
        return (
            f"{self.path}: {self.size} bytes as published, but its sha256 is {self.sha256} where {release}'s "
            f"{name} has {self.expected.sha256} (corrupted or edited)"
        )


class ReleaseMismatchError(Tv5Error):
    """A folder holds a known GroupLens release, but some of its files differ from the published ones."""

    def __init__(self, release: Release, folder: Path, problems: Sequence[FileProblem]):
        self.release = release.name
        self.folder = Path(folder)
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p.describe(release.name)}" for p in self.problems)
        super().__init__(
            f"{self.folder} holds the GroupLens {release.name} release, but {len(self.problems)} file(s) differ "
            f"from the published ones:\n{lines}\n"
            f"Download {release.name} again ({release.download_url}), unzip it over {self.folder} and rerun. "
            f"To ingest these files anyway (changed on purpose), set {VERIFY_ENV}=0 or the ingest assets' "
            "`verify_release: false` config."
        )


@dataclass(frozen=True)
class ReleaseCheck:
    """What the check found; `metadata()` is what the ingest assets record."""

    folder: Path
    status: str  # "verified", "unrecognised" or "skipped"
    release: str | None = None
    note: str = ""
    checked: tuple[str, ...] = ()  # files compared with the release (size, and sha256 when known)
    size_only: tuple[str, ...] = ()  # of those, the ones with no confirmed sha256
    hashed: tuple[str, ...] = ()  # files read to compute sha256 in this call
    from_cache: tuple[str, ...] = ()  # files whose sha256 came from the cache (a stat, no read)
    absent: tuple[str, ...] = ()  # files of the release missing from the folder (e.g. genome removed)
    seconds: float = 0.0

    def metadata(self) -> dict[str, str | int | float]:
        meta: dict[str, str | int | float] = {
            "release": self.release or self.status,
            "release_check": self.note,
            "release_check_seconds": round(self.seconds, 3),
        }
        if self.status == "verified":
            meta.update(
                release_files_checked=", ".join(self.checked),
                release_files_hashed=len(self.hashed),
                release_files_from_cache=len(self.from_cache),
            )
        return meta


# ------------------------------------------------------------------------------ identification


def _csv_sizes(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.suffix == ".csv" and p.is_file()}


def identify(sizes: Mapping[str, int], releases: Sequence[Release] = RELEASES) -> Release | None:
    """The release whose files these are: movies.csv at its published size decides; otherwise at least
    two files and half of those present must have their published sizes (a cut file or two still
    identify their release, a sample whose one file happens to match does not). None: no release."""
    best, best_key = None, (0, 0)
    for release in releases:
        present = [name for name in release.files if name in sizes]
        matches = [name for name in present if sizes[name] == release.files[name].size]
        movies_match = "movies.csv" in matches
        if not (movies_match or (len(matches) >= 2 and 2 * len(matches) >= len(present))):
            continue
        key = (int(movies_match), len(matches))
        if key > best_key:
            best, best_key = release, key
    return best


def verification_enabled() -> bool:
    return settings.env_flag(VERIFY_ENV, default=True)


def check_release(
    folder: Path,
    *,
    releases: Sequence[Release] = RELEASES,
    cache_dir: Path | None = None,
    verify: bool = True,
) -> ReleaseCheck:
    """Identify `folder` and check its files against the release; ReleaseMismatchError when one differs.

    `verify=False` (an asset's config) or `TV5_VERIFY_RELEASE=0` skips everything. `cache_dir`
    (default `$TV5_DATA_DIR/cache`) holds the sha256 cache."""
    started = time.perf_counter()
    folder = Path(folder)
    if not verify or not verification_enabled():
        how = f"{VERIFY_ENV}=0" if not verification_enabled() else "`verify_release: false` config"
        return ReleaseCheck(folder, "skipped", note=f"release check skipped ({how})")
    sizes = _csv_sizes(folder)
    release = identify(sizes, releases)
    if release is None:
        named = next((r for r in releases if r.name == folder.name and not r.files), None)
        note = f"{named.name}: {named.note}" if named else UNRECOGNISED_NOTE
        return ReleaseCheck(folder, "unrecognised", note=note, seconds=time.perf_counter() - started)
    present = [name for name in release.files if name in sizes]
    wrong_size = [
        FileProblem(folder / name, sizes[name], release.files[name])
        for name in present
        if sizes[name] != release.files[name].size
    ]
    if wrong_size:  # sizes first: a cut file fails at once, nothing is hashed
        raise ReleaseMismatchError(release, folder, wrong_size)
    with_digest = [name for name in present if release.files[name].sha256]
    digests, hashed = Sha256Cache(cache_dir or settings.data_dir() / "cache").digests(
        [folder / name for name in with_digest]
    )
    wrong_digest = [
        FileProblem(folder / name, sizes[name], release.files[name], digests[folder / name])
        for name in with_digest
        if digests[folder / name] != release.files[name].sha256
    ]
    if wrong_digest:
        raise ReleaseMismatchError(release, folder, wrong_digest)
    size_only = tuple(name for name in present if not release.files[name].sha256)
    note = f"{release.name}: every file matches the published " + (
        f"size and sha256 ({', '.join(size_only)}: size only)" if size_only else "size and sha256"
    )
    return ReleaseCheck(
        folder,
        "verified",
        release=release.name,
        note=note,
        checked=tuple(present),
        size_only=size_only,
        hashed=tuple(p.name for p in hashed),
        from_cache=tuple(name for name in with_digest if folder / name not in hashed),
        absent=tuple(name for name in release.files if name not in sizes),
        seconds=time.perf_counter() - started,
    )


# ------------------------------------------------------------------------------ sha256 cache


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


class Sha256Cache:
    """sha256 per file, kept in `<folder>/release_sha256.json` keyed by absolute path and valid while the
    file's size and mtime_ns are unchanged. A lock file serialises the ingest steps of one run, so the
    first one hashes and the others (started at the same time in other processes) read its result."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / CACHE_FILE

    def digests(self, paths: Sequence[Path]) -> tuple[dict[Path, str], list[Path]]:
        """({path: sha256}, the paths that had to be read)."""
        if not paths:
            return {}, []
        self.folder.mkdir(parents=True, exist_ok=True)
        with _locked(self.folder / f"{CACHE_FILE}.lock"):
            entries = self._load()
            found: dict[Path, str] = {}
            hashed: list[Path] = []
            for path in paths:
                key, stat = str(Path(path).absolute()), os.stat(path)
                entry = entries.get(key)
                if entry and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
                    found[path] = entry["sha256"]
                    continue
                found[path] = sha256_of(path)
                hashed.append(path)
                entries[key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": found[path]}
            if hashed:
                self._save(entries)
        return found, hashed

    def _load(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):  # absent or damaged: start over, it is only a cache
            return {}
        return data.get("files", {}) if isinstance(data, dict) else {}

    def _save(self, entries: dict[str, dict]) -> None:
        staged = self.path.with_name(f".{CACHE_FILE}.{os.getpid()}.tmp")
        staged.write_text(json.dumps({"version": 1, "files": entries}, indent=1, sort_keys=True))
        os.replace(staged, self.path)  # readers see the old cache or the new, never half


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no cross-process lock, at worst a file is hashed twice
        yield
        return
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
