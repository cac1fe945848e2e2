"""Checks of the `synthetic` group.

Blocking (the store loads rely on them): coverage (one profile per rater, one feature row per
movie), value domains and ranges of every table, and time-code order of subtitle segments.
Non-blocking, severity ERROR: shares within 4 standard errors of their targets (availability 0.6,
holidays 0.1; at ml-25m size 4 SE of the availability share is 0.008, inside the required +-0.02),
trends following rating popularity, and determinism.

Determinism: `determinism.py` (a re-run of the generator with the recorded config must reproduce
the stored content hash). Rule helpers: `check_rules.py`.
"""

# No `from __future__ import annotations` here: Dagster reads Config and IO types from the
# evaluated annotations (a string annotation makes it reject the Config class).

import dagster as dg
import numpy as np
import polars as pl

from . import assets as synthetic_assets
from .catalog import canonical_movies, movie_traits, rating_counts
from .check_rules import list_has_duplicates, list_not_subset, not_in, out_of_range, rules_result, share_result
from .common import rank_percentile
from .contexts import DAYS, MOODS, OCCASIONS, SEASONS, TIME_BUDGETS, TIMES_OF_DAY, VIEWING_MODES, group_size_bounds
from .determinism import deterministic_check, latest_metadata
from .platforms import PLATFORM_NAMES, PLATFORM_TYPES, REGIONS, SUBTITLE_LANGUAGES, movie_subtitle_languages
from .schemas import ARCHETYPES, COUNTRIES, PLATFORM_IDS
from .subtitles import (
    ARC_POINTS,
    COMPLEXITY_NOISE_MAX,
    DENSITY_RANGE,
    SENTENCE_LENGTH_RANGE,
    SENTIMENT_RANGE,
    UNIQUE_WORDS_RANGE,
    genre_complexity,
)
from .users import AGE_RANGES, COUNTRY_LANGUAGE, CULTURAL_CONTEXT, DEVICE_RANGES, LANGUAGES, TIMEZONES, VIEWING_RANGES
from .vocabulary import TOPICS

ARC_END_TOLERANCE = 0.1  # last arc point vs overall sentiment: noise sd 0.02, so 5 sd


# ---------------------------------------------------------------------------- user_profiles
@dg.asset_check(
    asset="user_profiles",
    blocking=True,
    additional_ins={"ratings": dg.AssetIn("ratings")},
    description="Every user id in ratings has exactly one profile, and no profile is for a user without ratings.",
)
def user_profiles_cover_every_rater(user_profiles: pl.DataFrame, ratings: pl.LazyFrame) -> dg.AssetCheckResult:
    raters = ratings.select(pl.col("user_id").unique()).collect()
    profiled = user_profiles.select("user_id")
    duplicates = profiled.height - profiled["user_id"].n_unique()
    missing = raters.join(profiled, on="user_id", how="anti")
    extra = profiled.join(raters, on="user_id", how="anti").unique()
    passed = duplicates == 0 and missing.height == 0 and extra.height == 0
    return dg.AssetCheckResult(
        passed=passed,
        description=(
            f"{raters.height:,} raters, {profiled.height:,} profiles"
            + (
                ""
                if passed
                else f": {missing.height:,} raters without a profile, {extra.height:,} profiles without "
                f"ratings, {duplicates:,} duplicate profiles. Re-materialize user_profiles after ratings."
            )
        ),
        metadata={
            "raters": raters.height,
            "profiles": profiled.height,
            "missing_profiles": missing.height,
            "profiles_without_ratings": extra.height,
            "duplicate_profiles": duplicates,
            "missing_examples": str(missing["user_id"].head(10).to_list()),
        },
    )


@dg.asset_check(asset="user_profiles", blocking=True, description="Every profile column within its domain and range.")
def user_profiles_values_in_domain(user_profiles: pl.DataFrame) -> dg.AssetCheckResult:
    zone_pairs = [f"{country.split('-')[0]}|{zone}" for country, rows in TIMEZONES.items() for zone, _, _ in rows]
    context_of = {archetype: "|".join(values) for archetype, values in CULTURAL_CONTEXT.items()}
    rules = {
        "user_key is user_{id:08d}": pl.col("user_key")
        != pl.format("user_{}", pl.col("user_id").cast(pl.String).str.zfill(8)),
        "archetype known": not_in("archetype", ARCHETYPES),
        "age_range known": not_in("age_range", AGE_RANGES),
        "country known": not_in("country", COUNTRIES),
        "timezone fits country": ~pl.concat_str(["country", "timezone"], separator="|").is_in(zone_pairs),
        "1-3 languages": ~pl.col("languages").list.len().is_between(1, 3),
        "languages known": list_not_subset("languages", LANGUAGES),
        "languages distinct": list_has_duplicates("languages"),
        "languages include the country's": ~(
            pl.when(pl.col("country") == "CA")
            .then(pl.col("languages").list.contains("en") | pl.col("languages").list.contains("fr"))
            .otherwise(
                pl.col("languages").list.contains(pl.col("country").replace_strict(COUNTRY_LANGUAGE, default=""))
            )
        ),
        "display_name present": pl.col("display_name").str.strip_chars().str.len_chars() == 0,
        "city present": pl.col("city").str.strip_chars().str.len_chars() == 0,
        "cultural_context from archetype": pl.col("cultural_context").list.join("|")
        != pl.col("archetype").replace_strict(context_of, default=""),
        **{
            f"{c} in [{lo}, {hi}]": out_of_range(c, lo, hi)
            for c, (lo, hi) in {**VIEWING_RANGES, **DEVICE_RANGES}.items()
        },
    }
    return rules_result(user_profiles, rules, "user_profiles")


user_profiles_deterministic = deterministic_check(
    "user_profiles",
    synthetic_assets.UserProfilesConfig,
    synthetic_assets.run_user_profiles,
    ratings=pl.LazyFrame,
    movies=pl.DataFrame,
)


# -------------------------------------------------------------------- platform_availability
@dg.asset_check(
    asset="platform_availability",
    blocking=True,
    additional_ins={"movies": dg.AssetIn("movies")},
    description="Platforms, regions, qualities and subtitles in their domains; 1-3 platforms per available movie.",
)
def platform_availability_values_in_domain(
    platform_availability: pl.DataFrame, movies: pl.DataFrame
) -> dg.AssetCheckResult:
    frame = platform_availability.with_columns(
        platforms_of_movie=pl.len().over("movie_id"),
        copies_of_pair=pl.len().over("movie_id", "platform_id"),
        known_movie=pl.col("movie_id").is_in(movies["movie_id"].implode()),
    )
    name_of = dict(zip(PLATFORM_IDS, PLATFORM_NAMES, strict=True))
    type_of = dict(zip(PLATFORM_IDS, PLATFORM_TYPES, strict=True))
    rules = {
        "movie in movies": ~pl.col("known_movie"),
        "media_id is ml_{movie_id}": pl.col("media_id") != pl.format("ml_{}", "movie_id"),
        "platform known": not_in("platform_id", PLATFORM_IDS),
        "platform name matches id": pl.col("platform_name")
        != pl.col("platform_id").replace_strict(name_of, default=""),
        "availability type matches platform": pl.col("availability_type")
        != pl.col("platform_id").replace_strict(type_of, default=""),
        "region known": not_in("region", REGIONS),
        "quality non-empty subset of HD, 4K": (pl.col("quality").list.len() == 0)
        | list_not_subset("quality", ["HD", "4K"])
        | list_has_duplicates("quality"),
        "subtitles 1-3 of en, fr, es, de": ~pl.col("subtitles").list.len().is_between(1, 3)
        | list_not_subset("subtitles", SUBTITLE_LANGUAGES)
        | list_has_duplicates("subtitles"),
        "TV5MONDE subtitles in French": (pl.col("platform_id") == "tv5monde")
        & ~pl.col("subtitles").list.contains("fr"),
        "1-3 platforms per movie": ~pl.col("platforms_of_movie").is_between(1, 3),
        "one row per (movie, platform)": pl.col("copies_of_pair") > 1,
    }
    return rules_result(frame, rules, "platform_availability")


@dg.asset_check(
    asset="platform_availability",
    additional_ins={"movies": dg.AssetIn("movies")},
    description="Share of movies on at least one platform within 4 standard errors of the configured probability.",
)
def platform_availability_share_near_target(
    context: dg.AssetCheckExecutionContext, platform_availability: pl.DataFrame, movies: pl.DataFrame
) -> dg.AssetCheckResult:
    config = latest_metadata(context, "platform_availability").get("config") or {}
    target = float(config.get("availability_probability", 0.6))
    available = platform_availability.join(movies.select("movie_id"), on="movie_id", how="semi")["movie_id"].n_unique()
    return share_result("availability share", available, movies["movie_id"].n_unique(), target)


platform_availability_deterministic = deterministic_check(
    "platform_availability",
    synthetic_assets.PlatformAvailabilityConfig,
    synthetic_assets.run_platform_availability,
    movies=pl.DataFrame,
)


# ------------------------------------------------------------------------- viewing_contexts
@dg.asset_check(
    asset="viewing_contexts",
    blocking=True,
    description="Every field in its domain; group size consistent with the mode.",
)
def viewing_contexts_values_in_domain(
    context: dg.AssetCheckExecutionContext, viewing_contexts: pl.DataFrame
) -> dg.AssetCheckResult:
    bounds = group_size_bounds()
    low = pl.col("viewing_mode").replace_strict({m: lo for m, (lo, _) in bounds.items()}, default=-1)
    high = pl.col("viewing_mode").replace_strict({m: hi for m, (_, hi) in bounds.items()}, default=-1)
    rules = {
        "context_id is ctx_{i:08d}": pl.col("context_id")
        != pl.format("ctx_{}", pl.int_range(pl.len()).cast(pl.String).str.zfill(8)),
        "season known": not_in("season", SEASONS),
        "day known": not_in("day_of_week", DAYS),
        "time of day known": not_in("time_of_day", TIMES_OF_DAY),
        "viewing mode known": not_in("viewing_mode", VIEWING_MODES),
        "group size fits mode": ~pl.col("group_size").cast(pl.Int64).is_between(low, high),
        "mood known": not_in("mood", MOODS),
        "occasion known": not_in("occasion", OCCASIONS),
        "time budget known": not_in("time_budget", TIME_BUDGETS),
    }
    config = latest_metadata(context, "viewing_contexts").get("config") or {}
    expected = config.get("count")
    count_problem = (
        f"{viewing_contexts.height} rows, config asks for {expected}"
        if expected is not None and viewing_contexts.height != expected
        else None
    )
    return rules_result(viewing_contexts, rules, "viewing_contexts", {"row count = config count": count_problem})


@dg.asset_check(
    asset="viewing_contexts", description="Holiday share within 4 standard errors of the configured probability."
)
def viewing_contexts_holiday_share_near_target(
    context: dg.AssetCheckExecutionContext, viewing_contexts: pl.DataFrame
) -> dg.AssetCheckResult:
    config = latest_metadata(context, "viewing_contexts").get("config") or {}
    target = float(config.get("holiday_probability", 0.1))
    return share_result("holiday share", int(viewing_contexts["is_holiday"].sum()), viewing_contexts.height, target)


viewing_contexts_deterministic = deterministic_check(
    "viewing_contexts", synthetic_assets.ViewingContextsConfig, synthetic_assets.run_viewing_contexts
)


# ------------------------------------------------------------------------ subtitle_features
@dg.asset_check(
    asset="subtitle_features",
    blocking=True,
    additional_ins={"movies": dg.AssetIn("movies")},
    description="Exactly one subtitle_features row per movie in movies.",
)
def subtitle_features_cover_every_movie(subtitle_features: pl.DataFrame, movies: pl.DataFrame) -> dg.AssetCheckResult:
    catalogue = movies.select("movie_id").unique()
    featured = subtitle_features.select("movie_id")
    duplicates = featured.height - featured["movie_id"].n_unique()
    missing = catalogue.join(featured, on="movie_id", how="anti")
    extra = featured.join(catalogue, on="movie_id", how="anti")
    passed = duplicates == 0 and missing.height == 0 and extra.height == 0
    return dg.AssetCheckResult(
        passed=passed,
        description=f"{catalogue.height:,} movies, {featured.height:,} feature rows"
        + ("" if passed else f": {missing.height:,} missing, {extra.height:,} unknown, {duplicates:,} duplicates"),
        metadata={
            "movies": catalogue.height,
            "rows": featured.height,
            "missing": missing.height,
            "unknown_movies": extra.height,
            "duplicates": duplicates,
            "missing_examples": str(missing["movie_id"].head(10).to_list()),
        },
    )


@dg.asset_check(
    asset="subtitle_features",
    blocking=True,
    additional_ins={"movies": dg.AssetIn("movies"), "platform_availability": dg.AssetIn("platform_availability")},
    description="Feature ranges; complexity within 0.05 of its genre mean; languages = the platforms' subtitle languages.",
)
def subtitle_features_values_in_domain(
    subtitle_features: pl.DataFrame, movies: pl.DataFrame, platform_availability: pl.DataFrame
) -> dg.AssetCheckResult:
    catalogue = canonical_movies(movies)
    traits = movie_traits(catalogue)
    expected = pl.DataFrame(
        {"movie_id": pl.Series(traits.movie_ids, dtype=pl.Int32), "genre_complexity": genre_complexity(traits)}
    ).join(
        movie_subtitle_languages(platform_availability).rename({"languages": "platform_languages"}),
        on="movie_id",
        how="left",
    )
    frame = subtitle_features.join(expected, on="movie_id", how="left").with_columns(
        platform_languages=pl.col("platform_languages").fill_null(pl.lit(["en"], dtype=pl.List(pl.String))),
        arc_last=pl.col("sentiment_arc").arr.last(),
        arc_min=pl.col("sentiment_arc").arr.min(),
        arc_max=pl.col("sentiment_arc").arr.max(),
    )
    rules = {
        "movie in movies": pl.col("genre_complexity").is_null(),
        "media_id is ml_{movie_id}": pl.col("media_id") != pl.format("ml_{}", "movie_id"),
        "vocabulary_complexity in [0, 1]": out_of_range("vocabulary_complexity", 0.0, 1.0),
        "vocabulary_complexity near genre mean": (pl.col("vocabulary_complexity") - pl.col("genre_complexity")).abs()
        > COMPLEXITY_NOISE_MAX + 1e-6,
        f"dialogue_density in {DENSITY_RANGE}": out_of_range("dialogue_density", *DENSITY_RANGE),
        f"avg_sentence_length in {SENTENCE_LENGTH_RANGE}": ~pl.col("avg_sentence_length").is_between(
            *SENTENCE_LENGTH_RANGE
        ),
        f"unique_word_count in {UNIQUE_WORDS_RANGE}": ~pl.col("unique_word_count").is_between(*UNIQUE_WORDS_RANGE),
        "2-5 distinct known key topics": ~pl.col("key_topics").list.len().is_between(2, 5)
        | list_not_subset("key_topics", TOPICS)
        | list_has_duplicates("key_topics"),
        f"overall_sentiment in {SENTIMENT_RANGE}": out_of_range("overall_sentiment", *SENTIMENT_RANGE),
        f"sentiment_arc has {ARC_POINTS} points in [-1, 1]": (pl.col("arc_min") < -1) | (pl.col("arc_max") > 1),
        "sentiment_arc ends near overall_sentiment": (pl.col("arc_last") - pl.col("overall_sentiment")).abs()
        > ARC_END_TOLERANCE,
        "languages = platforms' subtitle languages": pl.col("languages").list.sort().list.join(",")
        != pl.col("platform_languages").list.sort().list.join(","),
    }
    return rules_result(frame, rules, "subtitle_features")


subtitle_features_deterministic = deterministic_check(
    "subtitle_features",
    synthetic_assets.SyntheticConfig,
    synthetic_assets.run_subtitle_features,
    movies=pl.DataFrame,
    platform_availability=pl.DataFrame,
)


# ------------------------------------------------------------------------ subtitle_segments
@dg.asset_check(
    asset="subtitle_segments",
    blocking=True,
    description="Per movie: segment_index 0..n-1 in time order, end after start, no line starts before the previous ends.",
)
def subtitle_segments_time_codes_ordered(subtitle_segments: pl.DataFrame) -> dg.AssetCheckResult:
    frame = subtitle_segments.sort("movie_id", "segment_index").with_columns(
        position=pl.int_range(pl.len()).over("movie_id"),
        previous_end=pl.col("end_ms").shift(1).over("movie_id"),
    )
    rules = {
        "segment_index = 0, 1, 2, ... per movie": pl.col("segment_index") != pl.col("position"),
        "start_ms >= 0": pl.col("start_ms") < 0,
        "end_ms > start_ms": pl.col("end_ms") <= pl.col("start_ms"),
        "starts after the previous line ends": pl.col("previous_end").is_not_null()
        & (pl.col("start_ms") < pl.col("previous_end")),
    }
    return rules_result(frame, rules, "subtitle_segments time codes")


@dg.asset_check(
    asset="subtitle_segments",
    blocking=True,
    additional_ins={"subtitle_features": dg.AssetIn("subtitle_features")},
    description="Lines belong to known movies, are in one of the movie's subtitle languages and have text.",
)
def subtitle_segments_values_in_domain(
    context: dg.AssetCheckExecutionContext, subtitle_segments: pl.DataFrame, subtitle_features: pl.DataFrame
) -> dg.AssetCheckResult:
    frame = subtitle_segments.join(
        subtitle_features.select("movie_id", pl.col("languages").alias("movie_languages")), on="movie_id", how="left"
    )
    rules = {
        "movie has subtitle_features": pl.col("movie_languages").is_null(),
        "language is one of the movie's": ~pl.col("movie_languages").list.contains(pl.col("language")),
        "text present": pl.col("text").str.strip_chars().str.len_chars() == 0,
    }
    metadata = latest_metadata(context, "subtitle_segments").get("config") or {}
    target = metadata.get("total_segments")
    if target is None and metadata:
        target = round(
            metadata["segments_at_full_scale"] * subtitle_features.height / max(metadata["full_scale_movies"], 1)
        )
    problem = (
        f"{subtitle_segments.height} lines, expected {target}"
        if target is not None and subtitle_segments.height != target
        else None
    )
    return rules_result(
        frame,
        rules,
        "subtitle_segments",
        {"line count = configured total": problem},
        {"lines": subtitle_segments.height, "target_lines": target if target is not None else -1},
    )


subtitle_segments_deterministic = deterministic_check(
    "subtitle_segments",
    synthetic_assets.SubtitleSegmentsConfig,
    synthetic_assets.run_subtitle_segments,
    subtitle_features=pl.DataFrame,
    movies=pl.DataFrame,
)


# ----------------------------------------------------------------------------------- trends
@dg.asset_check(
    asset="trends",
    blocking=True,
    additional_ins={"movies": dg.AssetIn("movies")},
    description="Scores in [0, 1], counts >= 0, one row per (movie, day) over the same consecutive window for all movies.",
)
def trends_values_in_domain(
    context: dg.AssetCheckExecutionContext, trends: pl.DataFrame, movies: pl.DataFrame
) -> dg.AssetCheckResult:
    frame = trends.with_columns(
        known_movie=pl.col("movie_id").is_in(movies["movie_id"].implode()),
        copies=pl.len().over("movie_id", "date"),
    )
    rules = {
        "movie in movies": ~pl.col("known_movie"),
        "media_id is ml_{movie_id}": pl.col("media_id") != pl.format("ml_{}", "movie_id"),
        "popularity_score in [0, 1]": out_of_range("popularity_score", 0.0, 1.0),
        "view_count_estimate >= 0": pl.col("view_count_estimate") < 0,
        "search_volume >= 0": pl.col("search_volume") < 0,
        "one row per (movie, date)": pl.col("copies") > 1,
    }
    config = latest_metadata(context, "trends").get("config") or {}
    window = trends.group_by("movie_id").agg(days=pl.len(), first=pl.col("date").min(), last=pl.col("date").max())
    problems = {}
    if window.height:
        spans = window.select(
            pl.col("days").n_unique().alias("day_counts"),
            pl.col("first").n_unique().alias("firsts"),
            pl.col("last").n_unique().alias("lasts"),
            ((pl.col("last") - pl.col("first")).dt.total_days() + 1 != pl.col("days")).sum().alias("gaps"),
        ).row(0, named=True)
        if spans["day_counts"] != 1 or spans["firsts"] != 1 or spans["lasts"] != 1 or spans["gaps"]:
            problems["same consecutive window for every movie"] = spans
        if config.get("window_days") is not None and int(window["days"][0]) != config["window_days"]:
            problems["window = config window_days"] = f"{int(window['days'][0])} days, config {config['window_days']}"
    if config.get("movie_count") is not None:
        expected = min(config["movie_count"], movies["movie_id"].n_unique())
        if window.height != expected:
            problems["movie count"] = f"{window.height} movies, expected {expected}"
    return rules_result(frame, rules, "trends", problems, {"movies": window.height})


@dg.asset_check(
    asset="trends",
    additional_ins={"movies": dg.AssetIn("movies"), "ratings": dg.AssetIn("ratings")},
    description="Movies with more ratings trend higher: rank correlation of mean popularity and rating count > 0.3.",
)
def trends_follow_rating_popularity(
    trends: pl.DataFrame, movies: pl.DataFrame, ratings: pl.LazyFrame
) -> dg.AssetCheckResult:
    traits = movie_traits(movies)
    counts = pl.DataFrame(
        {"movie_id": pl.Series(traits.movie_ids, dtype=pl.Int32), "ratings": rating_counts(ratings, traits)}
    )
    per_movie = trends.group_by("movie_id").agg(pl.col("popularity_score").mean()).join(counts, on="movie_id")
    if per_movie.height < 10:
        return dg.AssetCheckResult(passed=True, description=f"only {per_movie.height} movies; too few to test")
    a = rank_percentile(per_movie["popularity_score"].to_numpy())
    b = rank_percentile(per_movie["ratings"].to_numpy().astype(np.float64))
    spearman = float(np.corrcoef(a, b)[0, 1])
    passed = spearman > 0.3
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"Spearman correlation of mean popularity and rating count: {spearman:.3f} (required > 0.3)",
        metadata={"spearman": round(spearman, 4), "movies": per_movie.height},
    )


trends_deterministic = deterministic_check(
    "trends", synthetic_assets.TrendsConfig, synthetic_assets.run_trends, movies=pl.DataFrame, ratings=pl.LazyFrame
)


CHECKS = [
    user_profiles_cover_every_rater,
    user_profiles_values_in_domain,
    user_profiles_deterministic,
    platform_availability_values_in_domain,
    platform_availability_share_near_target,
    platform_availability_deterministic,
    viewing_contexts_values_in_domain,
    viewing_contexts_holiday_share_near_target,
    viewing_contexts_deterministic,
    subtitle_features_cover_every_movie,
    subtitle_features_values_in_domain,
    subtitle_features_deterministic,
    subtitle_segments_time_codes_ordered,
    subtitle_segments_values_in_domain,
    subtitle_segments_deterministic,
    trends_values_in_domain,
    trends_follow_rating_popularity,
    trends_deterministic,
]
