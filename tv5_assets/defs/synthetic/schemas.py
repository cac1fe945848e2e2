"""Column contracts of the `synthetic` group's tables (consumed by the store loads)."""

from __future__ import annotations

import polars as pl

ARCHETYPES = ["cinephile", "casual", "family", "young_adult", "senior", "international", "genre_specialist"]
COUNTRIES = ["US", "FR", "DE", "ES", "IT", "CA", "UK"]
PLATFORM_IDS = ["tv5monde", "netflix", "amazon", "mubi", "criterion"]

USER_PROFILES = pl.Schema(
    {
        "user_id": pl.Int32,  # MovieLens userId; one row per user present in ratings
        "user_key": pl.String,  # user_{userId:08d}
        "archetype": pl.String,  # one of ARCHETYPES
        "age_range": pl.String,  # 18-24, 25-34, 35-44, 45-54, 55-64, 65+
        "country": pl.String,  # one of COUNTRIES
        "timezone": pl.String,  # IANA name fitting the country, e.g. Europe/Paris
        "languages": pl.List(pl.String),  # 1-3 ISO 639-1 codes, includes the country's language
        "display_name": pl.String,
        "city": pl.String,
        "cultural_context": pl.List(pl.String),
        "viewing_weekday_evening": pl.Float32,  # 0.3-0.9
        "viewing_weekend_afternoon": pl.Float32,  # 0.2-0.8
        "viewing_late_night": pl.Float32,  # 0.1-0.6
        "device_tv": pl.Float32,  # 0.4-0.9
        "device_mobile": pl.Float32,  # 0.2-0.7
        "device_laptop": pl.Float32,  # 0.3-0.8
    }
)

PLATFORM_AVAILABILITY = pl.Schema(
    {
        # long format: one row per (movie, platform); movies on no platform have no rows
        "movie_id": pl.Int32,
        "media_id": pl.String,
        "platform_id": pl.String,  # one of PLATFORM_IDS
        "platform_name": pl.String,  # TV5MONDE, Netflix, Amazon Prime, MUBI, Criterion Channel
        "availability_type": pl.String,  # free | subscription
        "region": pl.String,  # US | FR | EU | Global
        "quality": pl.List(pl.String),  # subset of HD, 4K
        "subtitles": pl.List(pl.String),  # subset of en, fr, es, de
    }
)

VIEWING_CONTEXTS = pl.Schema(
    {
        "context_id": pl.String,  # ctx_{i:08d}
        "season": pl.String,
        "day_of_week": pl.String,
        "time_of_day": pl.String,
        "is_holiday": pl.Boolean,
        "viewing_mode": pl.String,  # alone | family | friends | date | party
        "group_size": pl.Int8,  # alone -> 1, date -> 2, ...
        "mood": pl.String,
        "occasion": pl.String,
        "time_budget": pl.String,
    }
)

SUBTITLE_FEATURES = pl.Schema(
    {
        "movie_id": pl.Int32,
        "media_id": pl.String,
        "languages": pl.List(pl.String),  # subtitle languages of the movie
        "vocabulary_complexity": pl.Float32,
        "dialogue_density": pl.Float32,
        "avg_sentence_length": pl.Int16,
        "unique_word_count": pl.Int32,
        "key_topics": pl.List(pl.String),
        "overall_sentiment": pl.Float32,
        "sentiment_arc": pl.Array(pl.Float32, 10),
    }
)

SUBTITLE_SEGMENTS = pl.Schema(
    {
        "movie_id": pl.Int32,
        "segment_index": pl.Int32,
        "start_ms": pl.Int32,
        "end_ms": pl.Int32,
        "language": pl.String,
        "text": pl.String,
    }
)

TRENDS = pl.Schema(
    {
        "movie_id": pl.Int32,
        "media_id": pl.String,
        "date": pl.Date,
        "popularity_score": pl.Float32,  # [0, 1]
        "view_count_estimate": pl.Int32,
        "search_volume": pl.Int32,
    }
)
