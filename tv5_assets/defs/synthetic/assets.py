"""Assets of the `synthetic` group: enrichment the MovieLens data lacks, generated reproducibly.

Each asset is a thin wrapper around a pure generator (users.py, platforms.py, contexts.py,
subtitles.py, trends.py): output = f(upstream assets, config). The config (seed and knobs) and a
content hash of the output are recorded in the materialization metadata; the determinism checks
re-run the generator with that config and compare hashes.
"""

# No `from __future__ import annotations` here: Dagster reads Config and IO types from the
# evaluated annotations (a string annotation makes it reject the Config class).

import time
from collections.abc import Callable
from datetime import date

import dagster as dg
import polars as pl
from pydantic import Field

from ...conventions import CPU_HEAVY, OWNERS
from ...io_managers import table_schema
from . import contexts, platforms, subtitles, trends, users
from .common import frame_digest, share_table
from .schemas import (
    PLATFORM_AVAILABILITY,
    SUBTITLE_FEATURES,
    SUBTITLE_SEGMENTS,
    TRENDS,
    USER_PROFILES,
    VIEWING_CONTEXTS,
)

GROUP = "synthetic"
KINDS = {"polars", "numpy", "parquet"}
DEFAULT_SEED = 42


# ------------------------------------------------------------------------------------ config
class SyntheticConfig(dg.Config):
    seed: int = Field(default=DEFAULT_SEED, ge=0, description="Random seed: same seed and inputs, same output.")


class UserProfilesConfig(SyntheticConfig):
    archetype_signal: float = Field(
        default=1.2, ge=0.0, description="How strongly rating history tilts the archetype draw (0 = pure chance)."
    )
    name_pool_size: int = Field(default=400, ge=10, description="Faker names and cities generated per locale.")


class PlatformAvailabilityConfig(SyntheticConfig):
    availability_probability: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Probability that a movie is on at least one platform."
    )


class ViewingContextsConfig(SyntheticConfig):
    count: int = Field(default=100_000, ge=1, description="Number of viewing scenarios.")
    holiday_probability: float = Field(default=0.1, ge=0.0, le=1.0, description="Probability of a holiday.")


class SubtitleSegmentsConfig(SyntheticConfig):
    segments_at_full_scale: int = Field(
        default=subtitles.FULL_SCALE_SEGMENTS, ge=0, description="Lines for a catalogue of full_scale_movies movies."
    )
    full_scale_movies: int = Field(
        default=subtitles.FULL_SCALE_MOVIES, ge=1, description="Catalogue size that gets segments_at_full_scale lines."
    )
    total_segments: int | None = Field(
        default=None, ge=0, description="Exact number of lines; overrides the scaling above when set."
    )


class TrendsConfig(SyntheticConfig):
    movie_count: int = Field(default=5_000, ge=0, description="Movies with a trend series (popularity-weighted).")
    window_days: int = Field(default=365, ge=1, description="Days per series.")
    end_date: str | None = Field(
        default=None, description="Last day (YYYY-MM-DD); default: the date of the last rating."
    )


# ------------------------------------------------------------------------------ generators
# The same calls serve the assets and the determinism checks, so both run identical code.
def run_user_profiles(config: UserProfilesConfig, ratings: pl.LazyFrame, movies: pl.DataFrame) -> pl.DataFrame:
    return users.generate_user_profiles(
        ratings, movies, config.seed, archetype_signal=config.archetype_signal, name_pool_size=config.name_pool_size
    )


def run_platform_availability(config: PlatformAvailabilityConfig, movies: pl.DataFrame) -> pl.DataFrame:
    return platforms.generate_platform_availability(movies, config.seed, config.availability_probability)


def run_viewing_contexts(config: ViewingContextsConfig) -> pl.DataFrame:
    return contexts.generate_viewing_contexts(config.seed, config.count, config.holiday_probability)


def run_subtitle_features(config: SyntheticConfig, movies: pl.DataFrame, availability: pl.DataFrame) -> pl.DataFrame:
    return subtitles.generate_subtitle_features(movies, availability, config.seed)


def run_subtitle_segments(config: SubtitleSegmentsConfig, features: pl.DataFrame, movies: pl.DataFrame) -> pl.DataFrame:
    return subtitles.generate_subtitle_segments(
        features,
        movies,
        config.seed,
        total_segments=config.total_segments,
        segments_at_full_scale=config.segments_at_full_scale,
        full_scale_movies=config.full_scale_movies,
    )


def run_trends(config: TrendsConfig, movies: pl.DataFrame, ratings: pl.LazyFrame) -> pl.DataFrame:
    end = date.fromisoformat(config.end_date) if config.end_date else None
    return trends.generate_trends(movies, ratings, config.seed, config.movie_count, config.window_days, end)


def _generate(
    context: dg.AssetExecutionContext,
    config: dg.Config,
    generate: Callable[..., pl.DataFrame],
    *inputs: pl.DataFrame | pl.LazyFrame,
    summary: Callable[[pl.DataFrame], dict],
) -> pl.DataFrame:
    """`generate(config, *inputs)`, with the config, the content hash the determinism check compares,
    the timing and `summary(frame)` in the materialization metadata."""
    started = time.perf_counter()
    frame = generate(config, *inputs)
    extra = summary(frame)
    seconds = time.perf_counter() - started
    context.add_output_metadata(
        {
            "seed": config.seed,
            "config": dg.MetadataValue.json(config.model_dump()),
            "content_hash": frame_digest(frame),
            "seconds": round(seconds, 3),
            "rows_per_second": round(frame.height / seconds, 1) if seconds > 0 else 0.0,
            **extra,
        }
    )
    return frame


def _synthetic_asset(**kwargs) -> Callable:
    """`dg.asset` in the synthetic group, with its kinds and owners."""
    return dg.asset(group_name=GROUP, kinds=KINDS, owners=OWNERS, **kwargs)


def _schema_metadata(schema: pl.Schema, descriptions: dict[str, str]) -> dict:
    return {"dagster/column_schema": table_schema(schema, descriptions)}


# ------------------------------------------------------------------------------------ assets
@_synthetic_asset(
    code_version="1",
    op_tags=CPU_HEAVY,
    description=(
        "One synthetic profile per user id in `ratings`: archetype read from the user's rating history "
        "(with chance), age range, country with a fitting timezone, languages, Faker name and city, "
        "cultural context, and viewing-time weights that follow the user's local rating hours."
    ),
    metadata=_schema_metadata(
        USER_PROFILES,
        {
            "archetype": "cinephile | casual | family | young_adult | senior | international | genre_specialist",
            "timezone": "IANA zone in the user's country",
            "languages": "1-3 ISO 639-1 codes, the country's language first",
            "viewing_late_night": "0.1-0.6; higher for users who rate between 00:00 and 04:59 local time",
        },
    ),
)
def user_profiles(
    context: dg.AssetExecutionContext, config: UserProfilesConfig, ratings: pl.LazyFrame, movies: pl.DataFrame
) -> pl.DataFrame:
    return _generate(
        context,
        config,
        run_user_profiles,
        ratings,
        movies,
        summary=lambda frame: {
            "archetypes": dg.MetadataValue.md(share_table(frame["archetype"], "archetype")),
            "countries": dg.MetadataValue.md(share_table(frame["country"], "country")),
            "age_ranges": dg.MetadataValue.md(share_table(frame["age_range"], "age range")),
        },
    )


@_synthetic_asset(
    code_version="1",
    description=(
        "Where each movie streams: with probability 0.6 a movie is on 1-3 of TV5MONDE (free), Netflix, Amazon "
        "Prime, MUBI and Criterion Channel, each with region, quality and subtitle languages. MUBI and "
        "Criterion lean to older and art-house titles, TV5MONDE to French titles. One row per (movie, platform)."
    ),
    metadata=_schema_metadata(
        PLATFORM_AVAILABILITY,
        {"quality": "non-empty subset of HD, 4K", "subtitles": "1-3 of en, fr, es, de (TV5MONDE always has fr)"},
    ),
)
def platform_availability(
    context: dg.AssetExecutionContext, config: PlatformAvailabilityConfig, movies: pl.DataFrame
) -> pl.DataFrame:
    movie_count = movies.select(pl.col("movie_id").n_unique()).item()

    def summary(frame: pl.DataFrame) -> dict:
        available = frame["movie_id"].n_unique()
        return {
            "movies": movie_count,
            "movies_available": available,
            "availability_share": round(available / max(movie_count, 1), 4),
            "platforms": dg.MetadataValue.md(share_table(frame["platform_id"], "platform")),
        }

    return _generate(context, config, run_platform_availability, movies, summary=summary)


@_synthetic_asset(
    code_version="1",
    description=(
        "Viewing scenarios (default 100,000): season, day, part of day, holiday (p = 0.1), viewing mode with a "
        "consistent group size (alone = 1, date = 2, family/friends 2-6, party 4-12), mood, occasion, time budget."
    ),
    metadata=_schema_metadata(VIEWING_CONTEXTS, {"group_size": "alone 1, date 2, family 2-6, friends 2-6, party 4-12"}),
)
def viewing_contexts(context: dg.AssetExecutionContext, config: ViewingContextsConfig) -> pl.DataFrame:
    return _generate(
        context,
        config,
        run_viewing_contexts,
        summary=lambda frame: {
            "holiday_share": round(float(frame["is_holiday"].mean() or 0.0), 4),
            "viewing_modes": dg.MetadataValue.md(share_table(frame["viewing_mode"], "viewing mode")),
        },
    )


@_synthetic_asset(
    code_version="1",
    description=(
        "Subtitle features per movie: vocabulary complexity from genres (Drama 0.75, Comedy 0.55, Documentary "
        "0.85, Action 0.45, Sci-Fi 0.8, others 0.6, averaged; small noise), dialogue density, sentence length, "
        "unique words, 2-5 key topics, overall sentiment and a 10-point sentiment arc; languages = the movie's "
        "subtitle languages on its platforms (['en'] when on none)."
    ),
    metadata=_schema_metadata(
        SUBTITLE_FEATURES,
        {
            "vocabulary_complexity": "genre mean + noise (sd 0.02, at most 0.05), in [0, 1]",
            "sentiment_arc": "10 points in [-1, 1], ending near overall_sentiment",
        },
    ),
)
def subtitle_features(
    context: dg.AssetExecutionContext,
    config: SyntheticConfig,
    movies: pl.DataFrame,
    platform_availability: pl.DataFrame,
) -> pl.DataFrame:
    return _generate(
        context,
        config,
        run_subtitle_features,
        movies,
        platform_availability,
        summary=lambda frame: {
            "mean_vocabulary_complexity": round(float(frame["vocabulary_complexity"].mean() or 0.0), 4)
        },
    )


@_synthetic_asset(
    code_version="1",
    description=(
        "Synthetic timed subtitle lines (about 1,000,000 at ml-25m size, scaled with the catalogue): readable "
        "template sentences from the movie's topics and genre tone, each in one of the movie's subtitle "
        "languages; (movie_id, segment_index) unique, time codes increasing and never overlapping in a movie."
    ),
    metadata=_schema_metadata(SUBTITLE_SEGMENTS, {"segment_index": "0, 1, ... per movie, in time order"}),
)
def subtitle_segments(
    context: dg.AssetExecutionContext,
    config: SubtitleSegmentsConfig,
    subtitle_features: pl.DataFrame,
    movies: pl.DataFrame,
) -> pl.DataFrame:
    return _generate(
        context,
        config,
        run_subtitle_segments,
        subtitle_features,
        movies,
        summary=lambda frame: {
            "movies_with_segments": frame["movie_id"].n_unique(),
            "languages": dg.MetadataValue.md(share_table(frame["language"], "language")),
        },
    )


@_synthetic_asset(
    code_version="1",
    name="trends",
    description=(
        "Daily popularity in [0, 1] for 5,000 popularity-weighted movies over the 365 days ending at the last "
        "rating: base level from the rating-count rank, genre seasonality, weekend lift, AR(1) noise and news "
        "spikes, with view-count and search-volume estimates."
    ),
    metadata=_schema_metadata(TRENDS, {"popularity_score": "[0, 1]"}),
)
def trends_asset(
    context: dg.AssetExecutionContext, config: TrendsConfig, movies: pl.DataFrame, ratings: pl.LazyFrame
) -> pl.DataFrame:
    return _generate(
        context,
        config,
        run_trends,
        movies,
        ratings,
        summary=lambda frame: {
            "movies": frame["movie_id"].n_unique(),
            "first_date": str(frame["date"].min()),
            "last_date": str(frame["date"].max()),
        },
    )


ASSETS = [user_profiles, platform_availability, viewing_contexts, subtitle_features, subtitle_segments, trends_asset]
