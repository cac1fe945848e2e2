"""Semantic sanity of the movie vectors: tests that random, shuffled or misaligned vectors fail.

Vectors that are misaligned with their ids (an off-by-one, a sort lost on the way), random, or
all alike have no relation to the movies' metadata; these tests measure exactly that relation,
on a seeded sample of anchor movies compared against every movie:

1. Related pairs are closer than the average pair of the same kind of movies. "Related" = sharing
   at least one genre and at least two of the top genome tags (the strict definition); where the
   genome yields too few such pairs (no genome in the release, or a tiny sample) = having the same,
   non-empty set of genres. Rule: mean cosine of related pairs - mean cosine of the baseline pairs
   >= max(`pair_margin`, `z` standard errors). The baseline is every pair the definition could have
   picked: both movies with genome tags (strict), both with genres (same genres). Texts with a
   "Themes:" list are longer, and short texts are closer to one another than long ones, so a
   baseline over all pairs would mix in a length effect that depends on how much of the catalogue
   has a genome (ml-25m: 22%). The baseline is an exact mean over the anchors' pairs, not a
   sample; the z rule makes a pass by luck improbable (z = 4: about 3 in 100,000).
2. The nearest neighbour shares a genre far above chance. Chance is exact too: for each anchor
   the fraction of other movies sharing one of its genres. Rule: the nearest neighbours' rate
   closes at least `nn_gap_fraction` of the gap between chance and 100% (with Drama in ~40% of
   the catalogue chance is high, so a fixed "+10 points" would be either trivial or impossible),
   and exceeds chance by `z` binomial standard errors.
3. Franchise pairs ("Toy Story" / "Toy Story 2", "The Godfather" / "The Godfather: Part II",
   "Rocky" / "Rocky III"): titles with the same base before a colon or a sequel number are closer
   than the average pair by max(`franchise_margin`, `z` standard errors). Real MovieLens has hundreds of such pairs; a
   generated release has them only if its titles do, so with fewer than `min_franchise_pairs`
   pairs the test reports "not applicable" and the verdict rests on tests 1 and 2.

Each test needs a minimum sample; when one lacks it, the result is "insufficient" (the check then
fails with WARN severity, never passes silently).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    import scipy.sparse as sp

SEQUEL_SUFFIX = r"\s+(?:\d{1,2}|ii|iii|iv|v|vi|vii|viii|ix|x|part\s+\w+|chapter\s+\w+|episode\s+\w+)$"


@dataclass
class SanityReport:
    passed: bool
    insufficient: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    figures: dict[str, float | int | str] = field(default_factory=dict)

    def summary(self) -> str:
        if self.failures:
            return "semantic sanity FAILED: " + "; ".join(self.failures)
        if self.insufficient:
            return "semantic sanity could not be decided: " + "; ".join(self.insufficient)
        return "semantic sanity passed"


def _incidence(lists: pl.Series) -> sp.csr_matrix:
    """Binary rows x vocabulary matrix from a list-of-strings column."""
    import scipy.sparse as sp  # imported where used: the code location loads without scipy (fast start)

    exploded = (
        pl.DataFrame({"items": lists})
        .with_row_index("row")
        .explode("items")
        .drop_nulls("items")
        .unique(["row", "items"])
    )
    if exploded.height == 0:
        return sp.csr_matrix((len(lists), 1), dtype=np.float32)
    codes = exploded["items"].rank("dense").cast(pl.Int64).to_numpy() - 1
    rows = exploded["row"].cast(pl.Int64).to_numpy()
    return sp.csr_matrix((np.ones(rows.size, np.float32), (rows, codes)), shape=(len(lists), int(codes.max()) + 1))


class _PairStats:
    """Running sum, sum of squares and count of the cosines of each kind of pair."""

    KINDS = ("strict", "same_genres", "all", "both_genome", "both_genres")
    BASELINE = {"strict": "both_genome", "same_genres": "both_genres"}

    def __init__(self) -> None:
        self.sums = dict.fromkeys(self.KINDS, 0.0)
        self.squares = dict.fromkeys(self.KINDS, 0.0)
        self.counts = dict.fromkeys(self.KINDS, 0)

    def add(self, name: str, scores: np.ndarray, mask: np.ndarray) -> None:
        picked = scores[mask].astype(np.float64)
        self.sums[name] += float(picked.sum())
        self.squares[name] += float((picked * picked).sum())
        self.counts[name] += int(mask.sum())

    def mean(self, name: str) -> float:
        return self.sums[name] / self.counts[name]

    def variance(self, name: str) -> float:
        mean = self.mean(name)
        return max(self.squares[name] / self.counts[name] - mean * mean, 0.0)


@dataclass
class _Metadata:
    """What the tests compare the vectors with: genre and genome-tag incidence, genre-set codes."""

    genre_matrix: np.ndarray
    tag_matrix: sp.csr_matrix
    tag_matrix_t: sp.csr_matrix
    genre_set: np.ndarray  # integer code of each movie's sorted genre set
    has_genre: np.ndarray
    has_tags: np.ndarray

    @classmethod
    def of(cls, genres: pl.Series, genome_tags: pl.Series) -> _Metadata:
        genre_matrix = _incidence(genres).toarray()
        tag_matrix = _incidence(genome_tags)
        genre_set = (
            pl.DataFrame({"g": genres}).select(pl.col("g").list.sort().list.join("|").rank("dense"))["g"].to_numpy()
        )
        has_tags = np.asarray(tag_matrix.sum(axis=1)).ravel() > 0
        return cls(genre_matrix, tag_matrix, tag_matrix.T.tocsr(), genre_set, genre_matrix.sum(axis=1) > 0, has_tags)


@dataclass
class _AnchorScan:
    """Pair statistics and nearest-neighbour figures over every anchor, gathered chunk by chunk."""

    pairs: _PairStats = field(default_factory=_PairStats)
    nn_shares: list[np.ndarray] = field(default_factory=list)
    chance_rates: list[np.ndarray] = field(default_factory=list)

    def add_chunk(self, v: np.ndarray, meta: _Metadata, rows: np.ndarray) -> None:
        n = v.shape[0]
        local = np.arange(rows.size)
        scores = v[rows] @ v.T
        not_self = np.ones_like(scores, dtype=bool)
        not_self[local, rows] = False
        shared_genres = meta.genre_matrix[rows] @ meta.genre_matrix.T
        shared_tags = (meta.tag_matrix[rows] @ meta.tag_matrix_t).toarray()
        strict = (shared_genres >= 1) & (shared_tags >= 2) & not_self
        same = (meta.genre_set[rows][:, None] == meta.genre_set[None, :]) & meta.has_genre[rows][:, None] & not_self
        both_genome = meta.has_tags[rows][:, None] & meta.has_tags[None, :] & not_self
        both_genres = meta.has_genre[rows][:, None] & meta.has_genre[None, :] & not_self
        kinds = (("strict", strict), ("same_genres", same), ("all", not_self))
        for name, mask in (*kinds, ("both_genome", both_genome), ("both_genres", both_genres)):
            self.pairs.add(name, scores, mask)
        with_genre = meta.has_genre[rows]
        masked = np.where(not_self, scores, -np.inf)
        nearest = masked.argmax(axis=1)
        self.nn_shares.append((shared_genres[local, nearest] >= 1)[with_genre])
        sharing = ((shared_genres >= 1) & not_self).sum(axis=1) / (n - 1)
        self.chance_rates.append(sharing[with_genre])


def franchise_pairs(titles: pl.Series) -> np.ndarray:
    """(pairs, 2) row indices of titles sharing a franchise base; at least one carries a marker."""
    frame = (
        pl.DataFrame({"title": titles})
        .with_row_index("row")
        .with_columns(lower=pl.col("title").fill_null("").str.to_lowercase().str.strip_chars())
    )
    frame = (
        frame.with_columns(
            has_colon=pl.col("lower").str.contains(":"),
            before_colon=pl.col("lower").str.split(":").list.first().str.strip_chars(),
        )
        .with_columns(
            has_suffix=pl.col("before_colon").str.contains(SEQUEL_SUFFIX),
            base=pl.col("before_colon").str.replace(SEQUEL_SUFFIX, "").str.strip_chars(),
        )
        .with_columns(marked=pl.col("has_colon") | pl.col("has_suffix"))
    )
    frame = frame.filter(pl.col("base").str.len_chars() >= 3)
    # Families bigger than 30 are generic bases (for example "untitled"), not franchises.
    sizes = frame.group_by("base").agg(pl.len().alias("size"), pl.col("marked").any().alias("any_marked"))
    frame = frame.join(sizes.filter((pl.col("size") >= 2) & (pl.col("size") <= 30) & pl.col("any_marked")), on="base")
    left = frame.select("base", pl.col("row").alias("a"), pl.col("marked").alias("a_marked"))
    right = frame.select("base", pl.col("row").alias("b"), pl.col("marked").alias("b_marked"))
    pairs = left.join(right, on="base").filter((pl.col("a") < pl.col("b")) & (pl.col("a_marked") | pl.col("b_marked")))
    return pairs.select("a", "b").to_numpy().astype(np.int64).reshape(-1, 2)


def semantic_sanity(
    vectors: np.ndarray,
    genres: pl.Series,
    genome_tags: pl.Series,
    titles: pl.Series,
    seed: int = 0,
    anchors: int = 2000,
    chunk: int = 256,
    min_pairs: int = 50,
    min_anchors: int = 30,
    pair_margin: float = 0.02,
    nn_gap_fraction: float = 0.25,
    z: float = 4.0,
    franchise_margin: float = 0.1,
    min_franchise_pairs: int = 10,
) -> SanityReport:
    """Run the three tests on unit vectors whose rows match `genres`/`genome_tags`/`titles`."""
    n = int(vectors.shape[0])
    report = SanityReport(passed=False)
    if n < 3:
        report.insufficient.append(f"only {n} movies")
        return report
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    meta = _Metadata.of(genres, genome_tags)
    rng = np.random.default_rng(seed)
    anchor_rows = np.sort(rng.choice(n, size=min(anchors, n), replace=False))
    scan = _AnchorScan()
    for start in range(0, anchor_rows.size, chunk):
        scan.add_chunk(v, meta, anchor_rows[start : start + chunk])

    mean_all = scan.pairs.mean("all")
    report.figures.update({"anchors": int(anchor_rows.size), "mean_cosine_all_pairs": round(mean_all, 4)})
    _test_related_pairs(report, scan.pairs, min_pairs, pair_margin, z)
    _test_nearest_neighbours(report, scan, min_anchors, nn_gap_fraction, z)
    _test_franchise_pairs(report, v, titles, mean_all, min_franchise_pairs, franchise_margin, z)
    report.passed = not report.failures and not report.insufficient
    return report


def _test_related_pairs(report: SanityReport, pairs: _PairStats, min_pairs: int, pair_margin: float, z: float) -> None:
    """Test 1: related pairs are closer than the average pair of the same kind of movies."""
    definition = "strict" if pairs.counts["strict"] >= min_pairs else "same_genres"
    baseline = _PairStats.BASELINE[definition]
    report.figures["related_definition"] = (
        "shares >=1 genre and >=2 top genome tags" if definition == "strict" else "same non-empty genre set"
    )
    report.figures["related_pairs"] = pairs.counts[definition]
    if pairs.counts[definition] < min_pairs:
        report.insufficient.append(f"only {pairs.counts[definition]} related pairs (need {min_pairs})")
        return
    related_mean, baseline_mean = pairs.mean(definition), pairs.mean(baseline)
    gap = related_mean - baseline_mean
    error = np.sqrt(
        pairs.variance(definition) / pairs.counts[definition] + pairs.variance(baseline) / pairs.counts[baseline]
    )
    required = float(max(pair_margin, z * error))
    report.figures["mean_cosine_related_pairs"] = round(related_mean, 4)
    report.figures["mean_cosine_baseline_pairs"] = round(baseline_mean, 4)
    report.figures["baseline_pairs"] = "both with genome tags" if definition == "strict" else "both with genres"
    report.figures["related_minus_baseline"] = round(gap, 4)
    report.figures["related_required_gap"] = round(required, 4)
    if gap < required:
        report.failures.append(
            f"related pairs ({report.figures['related_definition']}) average cosine {related_mean:.3f}, "
            f"pairs {report.figures['baseline_pairs']} {baseline_mean:.3f}: the gap {gap:.3f} is below {required:.3f} "
            "(vectors look unrelated to their movies: misaligned ids or a broken text/model?)"
        )


def _test_nearest_neighbours(
    report: SanityReport, scan: _AnchorScan, min_anchors: int, nn_gap_fraction: float, z: float
) -> None:
    """Test 2: the nearest neighbour shares a genre far above chance."""
    nn = np.concatenate(scan.nn_shares)
    chance = np.concatenate(scan.chance_rates)
    report.figures["nn_anchors_with_genres"] = int(nn.size)
    if nn.size < min_anchors:
        report.insufficient.append(f"only {nn.size} anchors with genres (need {min_anchors})")
        return
    nn_rate, chance_rate = float(nn.mean()), float(chance.mean())
    binomial_error = np.sqrt(max(chance_rate * (1.0 - chance_rate), 1e-12) / nn.size)
    required = float(max(chance_rate + nn_gap_fraction * (1.0 - chance_rate), chance_rate + z * binomial_error))
    report.figures.update(
        {
            "nn_shares_genre_rate": round(nn_rate, 4),
            "chance_shares_genre_rate": round(chance_rate, 4),
            "nn_required_rate": round(required, 4),
        }
    )
    if nn_rate < required:
        report.failures.append(
            f"nearest neighbours share a genre {nn_rate:.1%} of the time, chance is {chance_rate:.1%}; "
            f"need at least {required:.1%}"
        )


def _test_franchise_pairs(
    report: SanityReport,
    v: np.ndarray,
    titles: pl.Series,
    mean_all: float,
    min_franchise_pairs: int,
    franchise_margin: float,
    z: float,
) -> None:
    """Test 3: franchise pairs are closer than the average pair (when the titles have enough)."""
    pairs = franchise_pairs(titles)
    report.figures["franchise_pairs"] = int(pairs.shape[0])
    if pairs.shape[0] < min_franchise_pairs:
        report.figures["franchise_test"] = f"not applicable (fewer than {min_franchise_pairs} pairs)"
        return
    cos = np.einsum("ij,ij->i", v[pairs[:, 0]], v[pairs[:, 1]]).astype(np.float64)
    franchise_mean = float(cos.mean())
    required = float(max(franchise_margin, z * float(cos.std()) / np.sqrt(cos.size)))
    report.figures.update(
        {
            "franchise_test": "applied",
            "mean_cosine_franchise_pairs": round(franchise_mean, 4),
            "franchise_minus_all": round(franchise_mean - mean_all, 4),
            "franchise_required_gap": round(required, 4),
        }
    )
    if franchise_mean - mean_all < required:
        report.failures.append(
            f"franchise pairs average cosine {franchise_mean:.3f}, all pairs {mean_all:.3f}: gap below {required:.3f}"
        )


@dataclass
class AgreementReport:
    passed: bool
    sampled: int
    min_cosine: float
    mismatched_ids: list[int]


def reencode_agreement(
    encode, texts: list[str], ids: np.ndarray, stored: np.ndarray, min_cosine: float = 0.99
) -> AgreementReport:
    """Re-embed `texts` with `encode` (texts -> unit vectors) and compare each with its stored
    vector. Unlike pairwise tests, this ties every sampled vector to its own movie's text, so any
    misalignment (a shift, a lost sort) fails whatever the catalogue looks like. `min_cosine`
    leaves room for precision and batching differences (bf16/fp16 vs fp32 agree to >= 0.999)."""
    fresh = encode(texts)
    cosines = np.einsum("ij,ij->i", np.asarray(fresh, np.float32), np.asarray(stored, np.float32))
    bad = cosines < min_cosine
    return AgreementReport(
        passed=bool(len(texts)) and not bad.any(),
        sampled=len(texts),
        min_cosine=float(cosines.min()) if len(texts) else float("nan"),
        mismatched_ids=[int(i) for i in np.asarray(ids)[bad]],
    )
