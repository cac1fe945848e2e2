"""Column contracts of the `embeddings` group's tables (consumed by Milvus and Neo4j loads)."""

from __future__ import annotations

import polars as pl

EMBEDDING_DIM = 384

MEDIA_TEXT = pl.Schema({"movie_id": pl.Int32, "media_id": pl.String, "text": pl.String})

MEDIA_EMBEDDINGS = pl.Schema(
    {
        "movie_id": pl.Int32,  # sorted ascending, one row per movie in `movies`
        "media_id": pl.String,
        "embedding": pl.Array(pl.Float32, EMBEDDING_DIM),  # L2-normalised
    }
)

USER_EMBEDDINGS = pl.Schema(
    {
        "user_id": pl.Int32,  # sorted ascending, one row per user in `ratings`
        "user_key": pl.String,  # user_{userId:08d}
        "embedding": pl.Array(pl.Float32, EMBEDDING_DIM),  # L2-normalised
        "weighting": pl.String,  # how the vector was formed, e.g. "liked" or "fallback_all_rated"
    }
)

SIMILAR_MOVIES = pl.Schema(
    {
        "movie_id": pl.Int32,
        "similar_movie_id": pl.Int32,
        "score": pl.Float32,  # cosine similarity, >= the configured threshold
        "rank": pl.Int16,  # 1 = most similar
    }
)
