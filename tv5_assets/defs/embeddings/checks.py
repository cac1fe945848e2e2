"""Checks of the `embeddings` group. Blocking where bad vectors must not reach Milvus or Neo4j."""

from typing import Any

import dagster as dg
import numpy as np
import polars as pl

from ...encoder.model import encode_texts, load_model
from ...partitions import context_range, user_partitions_def
from ...schemas.embeddings import EMBEDDING_DIM
from ...schemas.movielens import media_id_expr, user_key_expr
from .assets import media_embeddings, media_text, similar_movies, user_embeddings, vectors_of
from .sanity import reencode_agreement, semantic_sanity
from .text import top_genome_tags
from .user_vectors import FALLBACK_ALL_RATED, LIKED

MEDIA_EMBEDDINGS_KEY = media_embeddings.key
SIMILAR_MOVIES_KEY = similar_movies.key  # the check's parameter of the same name shadows the asset
UNIT_NORM_TOLERANCE = 1e-3
SHOWN = 5  # offending ids listed in a failure's metadata
REENCODE_SAMPLE = 64
SAMPLE_SEED = 0
PROVENANCE_KEYS = ("model_name", "weights_sha256", "device", "precision", "dim")


def vector_problems(vectors: np.ndarray, ids: np.ndarray, what: str) -> tuple[list[str], dict[str, Any]]:
    """Shape/dimension, NaN/inf, zero rows and unit norm; returns (problems, metadata)."""
    problems: list[str] = []
    figures: dict[str, Any] = {"rows": int(vectors.shape[0]), "dim": int(vectors.shape[1]) if vectors.ndim == 2 else -1}
    if vectors.ndim != 2 or vectors.shape[1] != EMBEDDING_DIM:
        problems.append(f"{what} vectors have shape {vectors.shape}, expected (rows, {EMBEDDING_DIM})")
        return problems, figures
    if vectors.shape[0] == 0:
        problems.append(f"no {what} vectors")
        return problems, figures
    # One pass, no full-size temporaries: a NaN/inf anywhere in a row makes its norm non-finite.
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64))
    finite = np.isfinite(norms)
    if not finite.all():
        bad = ids[~finite]
        problems.append(f"{bad.size} {what} vectors contain NaN/inf (e.g. ids {bad[:SHOWN].tolist()})")
    zero = norms == 0
    if zero.any():
        problems.append(f"{int(zero.sum())} {what} vectors are all zeros (e.g. ids {ids[zero][:SHOWN].tolist()})")
    off = finite & ~zero & (np.abs(norms - 1.0) > UNIT_NORM_TOLERANCE)
    if off.any():
        problems.append(
            f"{int(off.sum())} {what} vectors are not unit length within {UNIT_NORM_TOLERANCE} "
            f"(e.g. ids {ids[off][:SHOWN].tolist()}, norms {np.round(norms[off][:SHOWN], 4).tolist()})"
        )
    figures["max_norm_error"] = float(np.abs(norms[finite & ~zero] - 1.0).max()) if (finite & ~zero).any() else -1.0
    return problems, figures


def id_alignment_problems(
    actual: pl.Series, expected: pl.Series, what: str, source: str
) -> tuple[list[str], dict[str, Any]]:
    """`actual` must be exactly the sorted distinct `expected` ids, without duplicates."""
    problems: list[str] = []
    expected_ids = expected.unique().sort()
    figures = {"ids": actual.len(), f"{source}_ids": expected_ids.len()}
    if not actual.is_sorted():
        problems.append(f"{what} rows are not sorted by id")
    duplicated = actual.filter(actual.is_duplicated()).unique()
    if duplicated.len():
        problems.append(f"{duplicated.len()} {what} ids appear twice (e.g. {duplicated.head(SHOWN).to_list()})")
    missing = expected_ids.filter(~expected_ids.is_in(actual.implode()))
    extra = actual.filter(~actual.is_in(expected_ids.implode())).unique()
    if missing.len():
        problems.append(f"{missing.len()} {source} ids have no {what} row (e.g. {missing.head(SHOWN).to_list()})")
    if extra.len():
        problems.append(f"{extra.len()} {what} ids are not in {source} (e.g. {extra.sort().head(SHOWN).to_list()})")
    return problems, figures


def _plain(figures: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars -> Python numbers (Dagster metadata cannot serialise numpy types)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in figures.items()}


def _result(problems: list[str], figures: dict[str, Any], ok: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not problems,
        description=ok if not problems else "; ".join(problems),
        metadata=_plain({**figures, "problems": len(problems)}),
    )


def latest_metadata(context: dg.AssetCheckExecutionContext, key: dg.AssetKey) -> dict[str, Any]:
    event = context.instance.get_latest_materialization_event(key)
    if event is None or event.asset_materialization is None:
        return {}
    return {key: getattr(value, "value", value) for key, value in event.asset_materialization.metadata.items()}


# ------------------------------------------------------------------------------------ media_text
@dg.asset_check(asset=media_text, blocking=True, additional_ins={"movies": dg.AssetIn("movies")})
def media_text_complete(media_text: pl.DataFrame, movies: pl.DataFrame) -> dg.AssetCheckResult:
    """One non-empty text per movie in `movies`, with the right media_id."""
    problems, figures = id_alignment_problems(media_text["movie_id"], movies["movie_id"], "media_text", "movies")
    empty = media_text.filter(pl.col("text").fill_null("").str.strip_chars().str.len_chars() == 0)
    if empty.height:
        problems.append(f"{empty.height} movies have an empty text (e.g. {empty['movie_id'].head(SHOWN).to_list()})")
    wrong_media = media_text.filter(pl.col("media_id") != media_id_expr("movie_id"))
    if wrong_media.height:
        problems.append(f"{wrong_media.height} rows have a media_id other than ml_{{movie_id}}")
    return _result(problems, figures, f"{media_text.height:,} texts, one per movie")


# ------------------------------------------------------------------------------ media_embeddings
@dg.asset_check(asset=media_embeddings, blocking=True)
def media_embeddings_vectors_valid(media_embeddings: pl.DataFrame) -> dg.AssetCheckResult:
    """384-dim, finite, no zero rows, unit norm within 1e-3."""
    problems, figures = vector_problems(vectors_of(media_embeddings), media_embeddings["movie_id"].to_numpy(), "movie")
    return _result(problems, figures, f"{media_embeddings.height:,} unit vectors of dimension {EMBEDDING_DIM}")


@dg.asset_check(asset=media_embeddings, blocking=True, additional_ins={"movies": dg.AssetIn("movies")})
def media_embeddings_aligned_with_movies(media_embeddings: pl.DataFrame, movies: pl.DataFrame) -> dg.AssetCheckResult:
    """Exactly one row per movie in `movies`, sorted by movie_id, media_id = ml_{movie_id}."""
    problems, figures = id_alignment_problems(
        media_embeddings["movie_id"], movies["movie_id"], "media_embeddings", "movies"
    )
    wrong_media = media_embeddings.filter(pl.col("media_id") != media_id_expr("movie_id")).height
    if wrong_media:
        problems.append(f"{wrong_media} rows have a media_id other than ml_{{movie_id}}")
    return _result(problems, figures, "one vector per movie, ids aligned")


@dg.asset_check(asset=media_embeddings, blocking=True)
def media_embeddings_model_recorded(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
    """The materialization names the model, its weights hash, device, precision and dimension."""
    recorded = latest_metadata(context, MEDIA_EMBEDDINGS_KEY)
    missing = [key for key in PROVENANCE_KEYS if recorded.get(key) in (None, "")]
    problems = [f"materialization metadata lacks {', '.join(missing)}"] if missing else []
    if not missing and int(recorded["dim"]) != EMBEDDING_DIM:
        problems.append(f"recorded dim {recorded['dim']} != {EMBEDDING_DIM}")
    figures = {key: str(recorded.get(key, "")) for key in (*PROVENANCE_KEYS, "model_revision")}
    return _result(problems, figures, f"model {recorded.get('model_name')} recorded")


@dg.asset_check(asset=media_embeddings, blocking=True, additional_ins={"media_text": dg.AssetIn("media_text")})
def media_embeddings_match_their_texts(
    context: dg.AssetCheckExecutionContext, media_embeddings: pl.DataFrame, media_text: pl.DataFrame
) -> dg.AssetCheckResult:
    """A seeded sample of movies is re-embedded from media_text with the recorded model: each fresh
    vector must match the stored one (cosine >= 0.99), which proves vectors sit on their own movie's
    row, and the model's weights hash must equal the recorded one."""
    recorded = latest_metadata(context, MEDIA_EMBEDDINGS_KEY)
    if not recorded.get("model_name"):
        return _result(["materialization metadata names no model"], {}, "")
    loaded = load_model(
        str(recorded["model_name"]),
        revision=str(recorded.get("model_revision") or "") or None,
        backend=str(recorded.get("backend") or "auto"),
        warn=context.log.warning,
    )
    problems: list[str] = []
    if loaded.weights_sha256 != recorded.get("weights_sha256"):
        problems.append(
            f"model {recorded['model_name']!r} now has weights {loaded.weights_sha256[:12]}…, the vectors were "
            f"made with {str(recorded.get('weights_sha256'))[:12]}…: re-materialize media_embeddings"
        )
    rows = media_embeddings.select("movie_id", "embedding").join(
        media_text.select("movie_id", "text"), on="movie_id", how="left"
    )
    sample = rows.sample(n=min(REENCODE_SAMPLE, rows.height), seed=SAMPLE_SEED).sort("movie_id")
    missing_text = sample.filter(pl.col("text").is_null())
    if missing_text.height:
        problems.append(f"{missing_text.height} sampled movies have no media_text row")
        sample = sample.filter(pl.col("text").is_not_null())
    report = reencode_agreement(
        lambda texts: encode_texts(loaded, texts, batch_size=REENCODE_SAMPLE)[0],
        sample["text"].to_list(),
        sample["movie_id"].to_numpy(),
        vectors_of(sample),
    )
    if not report.passed:
        problems.append(
            f"{len(report.mismatched_ids)} of {report.sampled} re-embedded movies differ from their stored vector "
            f"(min cosine {report.min_cosine:.4f}; e.g. ids {report.mismatched_ids[:SHOWN]}): vectors are not on "
            "their movie's row, or were made from other texts"
        )
    figures = {
        "sampled": report.sampled,
        "min_cosine": round(report.min_cosine, 5),
        "device": loaded.device,
        "backend": loaded.backend,
        "precision": loaded.precision,
    }
    return _result(problems, figures, f"{report.sampled} sampled movies re-embed to their stored vectors")


@dg.asset_check(
    asset=media_embeddings,
    blocking=True,
    additional_ins={"movies": dg.AssetIn("movies"), "movie_genome": dg.AssetIn("movie_genome")},
)
def media_embeddings_semantic_sanity(
    media_embeddings: pl.DataFrame, movies: pl.DataFrame, movie_genome: pl.DataFrame
) -> dg.AssetCheckResult:
    """Related movies (shared genres and genome tags) closer than average; nearest neighbours share
    a genre far above chance; franchise titles close (see sanity.py for the exact rules)."""
    rows = (
        media_embeddings.select("movie_id")
        .join(movies.select("movie_id", "genres", "display_title"), on="movie_id", how="left", maintain_order="left")
        .join(top_genome_tags(movie_genome, 10).collect(), on="movie_id", how="left", maintain_order="left")
    )
    report = semantic_sanity(
        vectors_of(media_embeddings),
        rows["genres"].fill_null(pl.lit([], dtype=pl.List(pl.String))),
        rows["genome_tag_list"].fill_null(pl.lit([], dtype=pl.List(pl.String))),
        rows["display_title"],
    )
    return dg.AssetCheckResult(
        passed=report.passed,
        severity=dg.AssetCheckSeverity.WARN
        if (report.insufficient and not report.failures)
        else dg.AssetCheckSeverity.ERROR,
        description=report.summary(),
        metadata=_plain(report.figures),
    )


# ------------------------------------------------------------------------------- user_embeddings
@dg.asset_check(asset=user_embeddings, blocking=True, partitions_def=user_partitions_def())
def user_embeddings_vectors_valid(user_embeddings: pl.DataFrame) -> dg.AssetCheckResult:
    """384-dim, finite, no zero rows, unit norm within 1e-3; weighting is a known value."""
    problems, figures = vector_problems(vectors_of(user_embeddings), user_embeddings["user_id"].to_numpy(), "user")
    unknown = user_embeddings.filter(~pl.col("weighting").is_in([LIKED, FALLBACK_ALL_RATED]))
    if unknown.height:
        problems.append(
            f"{unknown.height} users have weighting other than {LIKED!r}/{FALLBACK_ALL_RATED!r} "
            f"(e.g. {unknown.select('user_id', 'weighting').head(SHOWN).rows()})"
        )
    counts = user_embeddings.group_by("weighting").len()
    figures.update({f"users_{w}": int(n) for w, n in counts.iter_rows()})
    return _result(problems, figures, f"{user_embeddings.height:,} unit vectors of dimension {EMBEDDING_DIM}")


@dg.asset_check(
    asset=user_embeddings,
    blocking=True,
    additional_ins={"ratings": dg.AssetIn("ratings")},
    partitions_def=user_partitions_def(),
)
def user_embeddings_aligned_with_ratings(
    context: dg.AssetCheckExecutionContext, user_embeddings: pl.DataFrame, ratings: pl.LazyFrame
) -> dg.AssetCheckResult:
    """Exactly one row per user in `ratings` (of the partition's user range, when partitioned), sorted by
    user_id, user_key = user_{id:08d}."""
    users = context_range(context)
    if users is not None:
        ratings = ratings.filter(users.contains_expr())
    rating_users = ratings.select(pl.col("user_id").unique()).collect()["user_id"]
    problems, figures = id_alignment_problems(user_embeddings["user_id"], rating_users, "user_embeddings", "ratings")
    wrong_key = user_embeddings.filter(pl.col("user_key") != user_key_expr("user_id")).height
    if wrong_key:
        problems.append(f"{wrong_key} rows have a user_key other than user_{{user_id:08d}}")
    return _result(problems, figures, "one vector per rating user, ids aligned")


# -------------------------------------------------------------------------------- similar_movies
@dg.asset_check(asset=similar_movies, blocking=True, additional_ins={"movies": dg.AssetIn("movies")})
def similar_movies_valid(
    context: dg.AssetCheckExecutionContext, similar_movies: pl.DataFrame, movies: pl.DataFrame
) -> dg.AssetCheckResult:
    """Scores >= the threshold used, no self pairs, at most k per movie, ranks 1..n by score, known ids."""
    recorded = latest_metadata(context, SIMILAR_MOVIES_KEY)
    if "threshold" not in recorded or "top_k" not in recorded:
        return _result(["materialization metadata lacks threshold/top_k"], {}, "")
    threshold, top_k = float(recorded["threshold"]), int(recorded["top_k"])
    problems, figures = similar_pairs_problems(similar_movies, movies["movie_id"], threshold, top_k)
    return _result(problems, figures, f"{similar_movies.height:,} pairs, all >= {threshold}, <= {top_k} per movie")


def similar_pairs_problems(
    frame: pl.DataFrame, movie_ids: pl.Series, threshold: float, top_k: int
) -> tuple[list[str], dict[str, Any]]:
    problems: list[str] = []
    floor = np.float32(threshold)  # the asset compares float32 scores with a float32 threshold
    below = frame.filter(pl.col("score") < floor)
    if below.height:
        problems.append(f"{below.height} pairs score below the threshold {threshold} (min {below['score'].min()})")
    selfs = frame.filter(pl.col("movie_id") == pl.col("similar_movie_id"))
    if selfs.height:
        problems.append(f"{selfs.height} self pairs (e.g. movie {selfs['movie_id'].head(SHOWN).to_list()})")
    per_movie = frame.group_by("movie_id").agg(
        n=pl.len(),
        distinct=pl.col("similar_movie_id").n_unique(),
        ranks_ok=(pl.col("rank").sort() == pl.int_range(1, pl.len() + 1)).all(),
        scores_ok=(pl.col("score").sort_by("rank").diff().fill_null(0) <= 0).all(),
    )
    too_many = per_movie.filter(pl.col("n") > top_k)
    if too_many.height:
        problems.append(f"{too_many.height} movies have more than k={top_k} neighbours")
    if per_movie.filter(pl.col("n") != pl.col("distinct")).height:
        problems.append("some movies list the same neighbour twice")
    bad_ranks = per_movie.filter(~pl.col("ranks_ok") | ~pl.col("scores_ok"))
    if bad_ranks.height:
        problems.append(f"{bad_ranks.height} movies have ranks that are not 1..n in descending score order")
    known = movie_ids.implode()
    unknown = frame.filter(~pl.col("movie_id").is_in(known) | ~pl.col("similar_movie_id").is_in(known)).height
    if unknown:
        problems.append(f"{unknown} pairs name a movie that is not in movies")
    figures = {
        "pairs": frame.height,
        "movies_with_neighbours": per_movie.height,
        "max_neighbours": int(per_movie["n"].max() or 0) if per_movie.height else 0,
        "min_score": float(frame["score"].min()) if frame.height else -1.0,
        "threshold": threshold,
        "top_k": top_k,
    }
    return problems, figures


CHECKS = [
    media_text_complete,
    media_embeddings_vectors_valid,
    media_embeddings_aligned_with_movies,
    media_embeddings_model_recorded,
    media_embeddings_match_their_texts,
    media_embeddings_semantic_sanity,
    user_embeddings_vectors_valid,
    user_embeddings_aligned_with_ratings,
    similar_movies_valid,
]
