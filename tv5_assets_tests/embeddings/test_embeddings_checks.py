"""The checks' logic catches what it claims to: bad vectors, misaligned ids, meaningless vectors,
broken neighbour lists."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from embeddings_frames import movie_genome_frame, movies_frame, tags_frame

from tv5_assets.defs.embeddings.checks import id_alignment_problems, similar_pairs_problems, vector_problems
from tv5_assets.defs.embeddings.sanity import franchise_pairs, reencode_agreement, semantic_sanity
from tv5_assets.defs.embeddings.text import build_media_text, top_genome_tags
from tv5_assets.encoder.model import LoadedModel, encode_texts


def _unit(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_vector_problems_name_nan_zero_and_non_unit_rows() -> None:
    vectors = _unit(6)
    vectors[1, 0] = np.nan
    vectors[2] = 0.0
    vectors[3] *= 1.01
    problems, _ = vector_problems(vectors, np.arange(10, 16), "movie")
    assert len(problems) == 3
    assert "NaN" in problems[0] and "[11]" in problems[0]
    assert "all zeros" in problems[1] and "[12]" in problems[1]
    assert "not unit length" in problems[2] and "[13]" in problems[2]
    assert vector_problems(_unit(3)[:, :100], np.arange(3), "movie")[0][0].startswith("movie vectors have shape")
    assert vector_problems(_unit(5), np.arange(5), "movie")[0] == []


def test_id_alignment_problems_find_missing_extra_duplicate_and_unsorted() -> None:
    expected = pl.Series([1, 2, 3, 4])
    problems, _ = id_alignment_problems(pl.Series([1, 3, 3, 2, 9]), expected, "media_embeddings", "movies")
    text = " | ".join(problems)
    assert "not sorted" in text and "appear twice" in text
    assert "1 movies ids have no media_embeddings row (e.g. [4])" in text
    assert "1 media_embeddings ids are not in movies (e.g. [9])" in text
    assert id_alignment_problems(pl.Series([1, 2, 3, 4]), expected, "x", "movies")[0] == []


def _pairs(rows: list[tuple[int, int, float, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"movie_id": pl.Int32, "similar_movie_id": pl.Int32, "score": pl.Float32, "rank": pl.Int16},
        orient="row",
    )


def test_similar_pairs_problems() -> None:
    ids = pl.Series([1, 2, 3, 4])
    good = _pairs([(1, 2, 0.95, 1), (1, 3, 0.85, 2), (2, 1, 0.95, 1)])
    assert similar_pairs_problems(good, ids, 0.8, 2)[0] == []
    bad = _pairs([(1, 1, 0.99, 1), (1, 2, 0.79, 2), (1, 3, 0.9, 3), (2, 9, 0.9, 2)])
    text = " | ".join(similar_pairs_problems(bad, ids, 0.8, 2)[0])
    for expected in ("below the threshold", "self pairs", "more than k=2", "ranks that are not", "not in movies"):
        assert expected in text


@pytest.fixture(scope="module")
def catalogue(default_model: LoadedModel) -> tuple[np.ndarray, pl.DataFrame]:
    movies = movies_frame()
    genome = movie_genome_frame(movies)
    texts = build_media_text(movies, genome, tags_frame(movies))
    vectors, _ = encode_texts(default_model, texts["text"].to_list(), batch_size=64)
    rows = movies.sort("movie_id").join(
        top_genome_tags(genome, 10).collect(), on="movie_id", how="left", maintain_order="left"
    )
    return vectors, rows


def _sanity(vectors: np.ndarray, rows: pl.DataFrame, **kwargs):
    empty = pl.lit([], dtype=pl.List(pl.String))
    return semantic_sanity(
        vectors, rows["genres"], rows["genome_tag_list"].fill_null(empty), rows["display_title"], **kwargs
    )


def test_semantic_sanity_passes_on_real_vectors(catalogue) -> None:
    vectors, rows = catalogue
    report = _sanity(vectors, rows, min_franchise_pairs=5)
    assert report.passed, report.summary()
    assert report.figures["related_definition"].startswith("shares >=1 genre")
    assert report.figures["franchise_test"] == "applied" and report.figures["franchise_pairs"] == 9


@pytest.mark.parametrize("corruption", ["shuffled", "random", "identical"])
def test_semantic_sanity_fails_on_meaningless_or_misaligned_vectors(catalogue, corruption: str) -> None:
    vectors, rows = catalogue
    if corruption == "shuffled":
        bad = vectors[np.random.default_rng(1).permutation(len(vectors))]
    elif corruption == "random":
        bad = _unit(len(vectors), seed=3)
    else:
        bad = np.repeat(vectors[:1], len(vectors), axis=0)
    report = _sanity(bad, rows, min_franchise_pairs=5)
    assert not report.passed and report.failures, report.figures


def test_semantic_sanity_is_undecided_not_passed_on_too_little_data(catalogue) -> None:
    vectors, rows = catalogue
    report = _sanity(vectors[:12], rows.head(12))
    assert not report.passed and report.insufficient and not report.failures


def test_franchise_pairs_from_titles() -> None:
    titles = pl.Series(
        [
            "Toy Story",
            "Toy Story 2",
            "The Godfather",
            "The Godfather: Part II",
            "Rocky",
            "Rocky III",
            "Heat",
            "Heat Wave",
            "Alien",
            "Aliens",
            "Mission: Impossible",
            "Mission: Impossible II",
        ]
    )
    pairs = {tuple(p) for p in franchise_pairs(titles).tolist()}
    assert pairs == {(0, 1), (2, 3), (4, 5), (10, 11)}


def test_reencoding_ties_each_vector_to_its_own_text(default_model: LoadedModel, catalogue) -> None:
    """An off-by-one keeps pairwise structure on a periodic catalogue (the semantic tests cannot see
    it); re-embedding sampled texts can."""
    vectors, rows = catalogue
    texts = build_media_text(movies_frame(), movie_genome_frame(movies_frame()), tags_frame(movies_frame()))
    sample = np.arange(0, len(vectors), 7)
    sample_texts = [texts["text"][int(i)] for i in sample]

    def encode(batch: list[str]) -> np.ndarray:
        return encode_texts(default_model, batch, batch_size=32)[0]

    ids = rows["movie_id"].to_numpy()[sample]
    assert reencode_agreement(encode, sample_texts, ids, vectors[sample]).passed
    shifted = np.roll(vectors, 1, axis=0)
    report = reencode_agreement(encode, sample_texts, ids, shifted[sample])
    assert not report.passed and len(report.mismatched_ids) == len(sample)
