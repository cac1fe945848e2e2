"""The synthetic generators as plain functions, on small MovieLens-shaped frames built in memory."""

import os
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import numpy as np
import polars as pl
import pytest
from synthetic_frames import build_movies, build_ratings

from tv5_assets.defs.synthetic import contexts, platforms, subtitles, trends, users, vocabulary
from tv5_assets.defs.synthetic.check_rules import evaluate_rules
from tv5_assets.defs.synthetic.checks import (
    subtitle_segments_time_codes_ordered,
    user_profiles_values_in_domain,
    viewing_contexts_values_in_domain,
)
from tv5_assets.defs.synthetic.common import frame_digest, rng_for
from tv5_assets.defs.synthetic.schemas import (
    ARCHETYPES,
    PLATFORM_AVAILABILITY,
    SUBTITLE_FEATURES,
    SUBTITLE_SEGMENTS,
    TRENDS,
    USER_PROFILES,
    VIEWING_CONTEXTS,
)
from tv5_assets.schemas.movielens import RATINGS, TIME_OF_DAY

SEED = 11


@pytest.fixture(scope="module")
def movies() -> pl.DataFrame:
    return build_movies(1_500, seed=3)


@pytest.fixture(scope="module")
def ratings(movies: pl.DataFrame) -> pl.DataFrame:
    return build_ratings(movies, n_users=400, mean_per_user=60, seed=3, first_user_id=5)


@pytest.fixture(scope="module")
def profiles(ratings: pl.DataFrame, movies: pl.DataFrame) -> pl.DataFrame:
    return users.generate_user_profiles(ratings.lazy(), movies, SEED)


@pytest.fixture(scope="module")
def availability(movies: pl.DataFrame) -> pl.DataFrame:
    return platforms.generate_platform_availability(movies, SEED)


@pytest.fixture(scope="module")
def features(movies: pl.DataFrame, availability: pl.DataFrame) -> pl.DataFrame:
    return subtitles.generate_subtitle_features(movies, availability, SEED)


@pytest.fixture(scope="module")
def segments(features: pl.DataFrame, movies: pl.DataFrame) -> pl.DataFrame:
    return subtitles.generate_subtitle_segments(features, movies, SEED)


def ratings_frame(user_id, movie_id, seconds) -> pl.DataFrame:
    """A ratings frame (RATINGS schema) from arrays of ids and Unix seconds."""
    frame = pl.DataFrame(
        {
            "user_id": np.asarray(user_id, dtype=np.int32),
            "movie_id": np.asarray(movie_id, dtype=np.int32),
            "rating": np.full(len(user_id), 4.0, dtype=np.float32),
            "timestamp": pl.Series(np.asarray(seconds, dtype=np.int64) * 1_000_000).cast(pl.Datetime("us", "UTC")),
        }
    )
    return frame.with_columns(time_of_day=pl.lit("evening").cast(pl.Enum(TIME_OF_DAY))).select(RATINGS.names())


# ----------------------------------------------------------------------------- building blocks
def test_random_streams_are_independent_and_reproducible() -> None:
    a = rng_for(1, "user_profiles", "names").random(5)
    assert np.array_equal(a, rng_for(1, "user_profiles", "names").random(5))
    assert not np.array_equal(a, rng_for(1, "user_profiles", "devices").random(5))
    assert not np.array_equal(a, rng_for(2, "user_profiles", "names").random(5))
    with pytest.raises(ValueError, match="non-negative"):
        rng_for(-1, "x")


def test_frame_digest_is_canonical_and_sensitive(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "id": pl.Series([1, 2, 3], dtype=pl.Int32),
            "text": ["a", "bc", "é"],
            "tags": [["x", "y"], [], ["z"]],
            "arc": pl.Series(np.arange(30, dtype=np.float32).reshape(3, 10)),
            "day": [date(2020, 1, 1)] * 3,
        }
    )
    # A slice re-assembled from pieces and a Parquet round trip hash the same as the original.
    pieced = pl.concat([frame.slice(0, 1), frame.slice(1, 2)], rechunk=False)
    frame.write_parquet(tmp_path / "f.parquet")
    assert frame_digest(pieced) == frame_digest(frame) == frame_digest(pl.read_parquet(tmp_path / "f.parquet"))
    # List boundaries, values, names and dtypes all count.
    assert frame_digest(frame.with_columns(tags=pl.Series([["x"], ["y"], ["z"]]))) != frame_digest(frame)
    assert frame_digest(frame.with_columns(text=pl.Series(["a", "b", "cé"]))) != frame_digest(frame)
    assert frame_digest(frame.rename({"id": "movie_id"})) != frame_digest(frame)
    assert frame_digest(frame.with_columns(pl.col("id").cast(pl.Int64))) != frame_digest(frame)


# ------------------------------------------------------------------------------- determinism
GENERATORS = {
    "user_profiles": lambda m, r, seed: users.generate_user_profiles(r.lazy(), m, seed),
    "platform_availability": lambda m, r, seed: platforms.generate_platform_availability(m, seed),
    "viewing_contexts": lambda m, r, seed: contexts.generate_viewing_contexts(seed, count=5_000),
    "subtitle_features": lambda m, r, seed: subtitles.generate_subtitle_features(
        m, platforms.generate_platform_availability(m, seed), seed
    ),
    "subtitle_segments": lambda m, r, seed: subtitles.generate_subtitle_segments(
        subtitles.generate_subtitle_features(m, platforms.generate_platform_availability(m, seed), seed), m, seed
    ),
    "trends": lambda m, r, seed: trends.generate_trends(m, r, seed, movie_count=200, window_days=60),
}


@pytest.mark.parametrize("asset", list(GENERATORS))
def test_same_seed_same_output_other_seed_other_output(asset: str, movies: pl.DataFrame, ratings: pl.DataFrame) -> None:
    generate = GENERATORS[asset]
    first, again, other = generate(movies, ratings, 5), generate(movies, ratings, 5), generate(movies, ratings, 6)
    assert first.equals(again)
    assert frame_digest(first) == frame_digest(again)
    assert frame_digest(first) != frame_digest(other)


@pytest.mark.parametrize("asset", list(GENERATORS))
def test_output_does_not_depend_on_input_row_order(asset: str, movies: pl.DataFrame, ratings: pl.DataFrame) -> None:
    shuffled_movies = movies.sample(fraction=1.0, shuffle=True, seed=1)
    shuffled_ratings = ratings.sample(fraction=1.0, shuffle=True, seed=1)
    generate = GENERATORS[asset]
    assert frame_digest(generate(movies, ratings, 5)) == frame_digest(generate(shuffled_movies, shuffled_ratings, 5))


def test_output_is_the_same_in_a_fresh_interpreter_with_another_hash_seed(
    movies: pl.DataFrame, ratings: pl.DataFrame, tmp_path: Path
) -> None:
    """Catches dependence on str hashing (set/dict order of strings varies with PYTHONHASHSEED)."""
    movies.write_parquet(tmp_path / "movies.parquet")
    ratings.write_parquet(tmp_path / "ratings.parquet")
    script = textwrap.dedent(
        f"""
        import polars as pl
        from tv5_assets.defs.synthetic import users, platforms, subtitles
        from tv5_assets.defs.synthetic.common import frame_digest
        m = pl.read_parquet({str(tmp_path / "movies.parquet")!r})
        r = pl.scan_parquet({str(tmp_path / "ratings.parquet")!r})
        a = platforms.generate_platform_availability(m, 5)
        f = subtitles.generate_subtitle_features(m, a, 5)
        print(frame_digest(users.generate_user_profiles(r, m, 5)))
        print(frame_digest(subtitles.generate_subtitle_segments(f, m, 5)))
        print(frame_digest(pl.DataFrame(users.name_pools(5, 200))))
        """
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    output = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    features = subtitles.generate_subtitle_features(movies, platforms.generate_platform_availability(movies, 5), 5)
    expected = [
        frame_digest(users.generate_user_profiles(ratings.lazy(), movies, 5)),
        frame_digest(subtitles.generate_subtitle_segments(features, movies, 5)),
        frame_digest(pl.DataFrame(users.name_pools(5, 200))),  # every locale's names and cities
    ]
    assert output.stdout.split() == expected


# ------------------------------------------------------------------------------ user_profiles
def test_one_profile_per_rater_with_the_contract_schema(profiles: pl.DataFrame, ratings: pl.DataFrame) -> None:
    assert profiles.schema == USER_PROFILES
    assert profiles["user_id"].to_list() == sorted(ratings["user_id"].unique().to_list())
    assert profiles["user_key"][0] == f"user_{profiles['user_id'][0]:08d}"


def test_profiles_keep_users_whose_movies_are_unknown_and_sparse_ids(movies: pl.DataFrame) -> None:
    ratings = ratings_frame(
        [7, 7, 900_000, 900_000], [movies["movie_id"][0], 999_999_999, 999_999_998, 5], [0, 1, 2, 3]
    )
    profiles = users.generate_user_profiles(ratings.lazy(), movies, SEED)
    assert profiles["user_id"].to_list() == [7, 900_000]


def test_profile_values_pass_the_domain_check(profiles: pl.DataFrame) -> None:
    result = user_profiles_values_in_domain(profiles)
    assert result.passed, result.metadata
    assert set(profiles["archetype"]) <= set(ARCHETYPES)
    for country, language in users.COUNTRY_LANGUAGE.items():
        rows = profiles.filter(pl.col("country") == country)
        if country == "CA":
            assert rows.select(pl.col("languages").list.first().is_in(["en", "fr"]).all()).item()
        else:
            assert rows.select((pl.col("languages").list.first() == language).all()).item()


def test_domain_check_catches_a_broken_profile(profiles: pl.DataFrame) -> None:
    broken = profiles.with_columns(
        timezone=pl.when(pl.col("country") == "FR").then(pl.lit("America/Chicago")).otherwise("timezone")
    )
    result = user_profiles_values_in_domain(broken)
    assert not result.passed
    assert "timezone fits country" in result.description


def test_timezone_table_matches_the_iana_database() -> None:
    january = datetime(2019, 1, 15, 12, tzinfo=UTC)
    for rows in users.TIMEZONES.values():
        for zone, offset, _ in rows:
            assert ZoneInfo(zone).utcoffset(january.replace(tzinfo=None)).total_seconds() / 3600 == offset, zone


def test_names_and_cities_come_from_the_country_locale(profiles: pl.DataFrame) -> None:
    pools = users.name_pools(SEED, 400)
    size = 400
    for country, locale in users.COUNTRY_LOCALE.items():
        rows = profiles.filter(pl.col("country") == country)
        if country == "CA":
            continue  # en_CA or fr_CA depending on language, checked below
        index = users.LOCALES.index(locale)
        cities = set(pools["city"][index * size : (index + 1) * size])
        assert set(rows["city"]) <= cities, country
    french_canadians = profiles.filter((pl.col("country") == "CA") & (pl.col("languages").list.first() == "fr"))
    index = users.LOCALES.index("fr_CA")
    assert set(french_canadians["city"]) <= set(pools["city"][index * size : (index + 1) * size])


def test_history_drives_the_archetype(movies: pl.DataFrame, ratings: pl.DataFrame) -> None:
    """Users who only rate children's/animation films are family far more often than the base rate;
    documentary and pre-1970 film fans lean senior."""
    rng = np.random.default_rng(0)
    kids = movies.filter(pl.col("genres").list.contains("Children") | pl.col("genres").list.contains("Animation"))
    classics = movies.filter(pl.col("genres").list.contains("Documentary") | (pl.col("year") < 1960))
    popularity = ratings.group_by("movie_id").len()
    n_special, per_user = 80, 40

    def fans(group: pl.DataFrame, first_user: int) -> pl.DataFrame:
        # as popular as everyone else's choices, so only the genre/era differs
        weights = group.join(popularity, on="movie_id", how="left")["len"].fill_null(0).to_numpy() + 1.0
        return ratings_frame(
            np.repeat(np.arange(first_user, first_user + n_special), per_user),
            rng.choice(group["movie_id"].to_numpy(), n_special * per_user, p=weights / weights.sum()),
            rng.integers(1e9, 1.5e9, n_special * per_user),
        )

    special = pl.concat([fans(kids, 100_000), fans(classics, 110_000)])
    profiles = users.generate_user_profiles(pl.concat([ratings, special]).lazy(), movies, SEED)
    base = profiles.filter(pl.col("user_id") < 100_000)["archetype"]
    family_fans = profiles.filter(pl.col("user_id").is_between(100_000, 109_999))["archetype"]
    senior_fans = profiles.filter(pl.col("user_id") >= 110_000)["archetype"]
    assert (family_fans == "family").mean() > max(0.5, 3 * (base == "family").mean())
    assert (senior_fans == "senior").mean() > max(0.25, 3 * (base == "senior").mean())
    # With no signal, archetypes follow the priors: the history is what moved them.
    flat = users.generate_user_profiles(special.lazy(), movies, SEED, archetype_signal=0.0)
    assert (flat.filter(pl.col("user_id") < 110_000)["archetype"] == "family").mean() < 0.3


def test_viewing_weights_follow_local_rating_hours(movies: pl.DataFrame) -> None:
    """Each user rates at one fixed UTC hour; in the user's own timezone that hour decides which
    viewing weight must be high."""
    rng = np.random.default_rng(1)
    n_users, per_user = 1_200, 30
    user_id = np.repeat(np.arange(1, n_users + 1), per_user)
    utc_hour = np.repeat(np.arange(n_users) % 24, per_user)
    day = rng.integers(9_000, 18_000, n_users * per_user)  # random days, so random weekdays
    seconds = day * 86_400 + utc_hour * 3_600 + rng.integers(0, 3_600, user_id.size)
    movie_id = rng.choice(movies["movie_id"].to_numpy(), user_id.size)
    profiles = users.generate_user_profiles(ratings_frame(user_id, movie_id, seconds).lazy(), movies, SEED)

    offset = {zone: hours for rows in users.TIMEZONES.values() for zone, hours, _ in rows}
    local = profiles.with_columns(
        local_hour=(pl.col("user_id") - 1) % 24 + pl.col("timezone").replace_strict(offset, return_dtype=pl.Int64)
    ).with_columns(pl.col("local_hour") % 24)
    late = local.filter(pl.col("local_hour") <= 4)["viewing_late_night"]
    not_late = local.filter(pl.col("local_hour").is_between(6, 22))["viewing_late_night"]
    assert late.min() > not_late.max() - 0.15
    assert late.mean() - not_late.mean() > 0.2
    evening = local.filter(pl.col("local_hour").is_between(17, 23))["viewing_weekday_evening"]
    daytime = local.filter(pl.col("local_hour").is_between(5, 11))["viewing_weekday_evening"]
    assert evening.mean() - daytime.mean() > 0.25


# ------------------------------------------------------------------------ platform_availability
def test_availability_schema_and_rules(availability: pl.DataFrame, movies: pl.DataFrame) -> None:
    assert availability.schema == PLATFORM_AVAILABILITY
    per_movie = availability.group_by("movie_id").len()
    assert per_movie["len"].is_between(1, 3).all()
    assert availability.select(pl.struct("movie_id", "platform_id").is_unique().all()).item()
    tv5 = availability.filter(pl.col("platform_id") == "tv5monde")
    assert tv5.select(pl.col("subtitles").list.contains("fr").all()).item()
    assert (tv5["availability_type"] == "free").all()
    assert set(availability.filter(pl.col("platform_id") == "criterion")["region"]) <= {"US", "Global"}


def test_availability_share_is_near_the_target() -> None:
    catalogue = build_movies(20_000, seed=8)
    for probability in (0.6, 0.3):
        frame = platforms.generate_platform_availability(catalogue, SEED, probability)
        share = frame["movie_id"].n_unique() / catalogue.height
        tolerance = 4 * (probability * (1 - probability) / catalogue.height) ** 0.5
        assert abs(share - probability) < tolerance


def test_platform_choice_follows_the_titles_and_eras() -> None:
    catalogue = build_movies(20_000, seed=9)
    frame = platforms.generate_platform_availability(catalogue, SEED)
    traits = platforms.movie_traits(catalogue)
    flags = pl.DataFrame(
        {
            "movie_id": traits.movie_ids,
            "french": traits.french_title,
            "old_art_house": (traits.year < 1970) & traits.genre_matrix[:, platforms.GENRE_INDEX["Drama"]],
        }
    )
    on = frame.join(flags, on="movie_id")

    def share(platform: str, mask: pl.Expr) -> float:
        rows = on.filter(mask)
        return rows.filter(pl.col("platform_id") == platform)["movie_id"].n_unique() / max(
            rows["movie_id"].n_unique(), 1
        )

    assert share("tv5monde", pl.col("french")) > 2 * share("tv5monde", ~pl.col("french"))
    assert share("criterion", pl.col("old_art_house")) > 2 * share("criterion", ~pl.col("old_art_house"))


# ------------------------------------------------------------------------------ viewing_contexts
def test_viewing_contexts_domains_group_sizes_and_holidays() -> None:
    frame = contexts.generate_viewing_contexts(SEED, count=40_000)
    assert frame.schema == VIEWING_CONTEXTS
    assert frame.height == 40_000 and frame["context_id"][0] == "ctx_00000000"
    sizes = frame.group_by("viewing_mode").agg(low=pl.col("group_size").min(), high=pl.col("group_size").max())
    observed = {mode: (low, high) for mode, low, high in sizes.iter_rows()}
    assert observed == {"alone": (1, 1), "date": (2, 2), "family": (2, 6), "friends": (2, 6), "party": (4, 12)}
    assert abs(frame["is_holiday"].mean() - 0.1) < 4 * (0.09 / 40_000) ** 0.5
    assert set(frame["day_of_week"]) == set(contexts.DAYS)


def test_context_domain_check_rejects_a_crowd_watching_alone() -> None:
    frame = contexts.generate_viewing_contexts(SEED, count=1_000)
    broken = frame.with_columns(
        group_size=pl.when(pl.col("viewing_mode") == "alone").then(pl.lit(3, pl.Int8)).otherwise("group_size")
    )
    context = dg.build_asset_check_context(instance=dg.DagsterInstance.ephemeral())
    assert viewing_contexts_values_in_domain(context, frame).passed
    assert not viewing_contexts_values_in_domain(context, broken).passed


# ------------------------------------------------------------------------------ subtitle_features
def test_features_schema_coverage_and_ranges(features: pl.DataFrame, movies: pl.DataFrame) -> None:
    assert features.schema == SUBTITLE_FEATURES
    assert features["movie_id"].to_list() == sorted(movies["movie_id"].to_list())
    assert features["key_topics"].list.len().is_between(2, 5).all()
    assert features["avg_sentence_length"].is_between(8, 25).all()
    assert features["unique_word_count"].is_between(800, 3000).all()
    arcs = np.stack(features["sentiment_arc"].to_numpy())
    assert arcs.shape[1] == 10 and np.abs(arcs).max() <= 1.0
    assert np.abs(arcs[:, -1] - features["overall_sentiment"].to_numpy()).max() <= 0.1
    corr = np.corrcoef(features["vocabulary_complexity"], features["unique_word_count"])[0, 1]
    assert corr > 0.3


def test_complexity_is_the_genre_mean() -> None:
    catalogue = build_movies(4, seed=1).with_columns(
        genres=pl.Series([["Drama", "Comedy"], [], ["Documentary"], ["Action", "Mystery Box"]])
    )
    frame = subtitles.generate_subtitle_features(catalogue, pl.DataFrame(schema=PLATFORM_AVAILABILITY), SEED)
    expected = [0.65, 0.6, 0.85, (0.45 + 0.6) / 2]
    assert np.allclose(frame["vocabulary_complexity"].to_numpy(), expected, atol=0.05 + 1e-6)
    assert frame["languages"].to_list() == [["en"]] * 4  # on no platform


def test_feature_languages_are_the_platform_subtitle_languages(
    features: pl.DataFrame, availability: pl.DataFrame
) -> None:
    union = availability.explode("subtitles").group_by("movie_id").agg(pl.col("subtitles").unique().sort())
    joined = features.join(union, on="movie_id", how="left")
    on_platforms = joined.filter(pl.col("subtitles").is_not_null())
    assert on_platforms.select((pl.col("languages").list.sort() == pl.col("subtitles")).all()).item()
    assert joined.filter(pl.col("subtitles").is_null())["languages"].to_list() == [["en"]] * (
        joined.height - on_platforms.height
    )


# ------------------------------------------------------------------------------ subtitle_segments
def test_segments_are_ordered_and_never_overlap(segments: pl.DataFrame) -> None:
    assert segments.schema == SUBTITLE_SEGMENTS
    assert subtitle_segments_time_codes_ordered(segments).passed
    gaps = segments.select(
        (pl.col("start_ms") - pl.col("end_ms").shift(1)).over("movie_id").alias("gap"),
        (pl.col("segment_index") - pl.col("segment_index").shift(1)).over("movie_id").alias("step"),
    ).drop_nulls()
    assert gaps["gap"].min() >= subtitles.MIN_GAP_MS
    assert (gaps["step"] == 1).all()
    assert (segments["end_ms"] > segments["start_ms"]).all()


def test_ordering_check_catches_overlaps(segments: pl.DataFrame) -> None:
    broken = segments.with_columns(
        start_ms=pl.when(pl.col("segment_index") == 1).then(pl.col("start_ms") - 100_000).otherwise("start_ms").clip(0)
    )
    assert not subtitle_segments_time_codes_ordered(broken).passed


def test_segment_count_scales_with_the_catalogue(segments: pl.DataFrame, features: pl.DataFrame) -> None:
    assert segments.height == round(1_000_000 * features.height / 62_423)
    assert subtitles.segment_total(62_423) == 1_000_000
    exact = subtitles.generate_subtitle_segments(features, build_movies(1_500, seed=3), SEED, total_segments=777)
    assert exact.height == 777


def test_segments_use_the_movie_languages_and_readable_text(segments: pl.DataFrame, features: pl.DataFrame) -> None:
    joined = segments.join(features.select("movie_id", "languages"), on="movie_id")
    assert joined.select(pl.col("languages").list.contains(pl.col("language")).all()).item()
    assert segments["text"].str.len_chars().min() > 5
    english = segments.filter(pl.col("language") == "en")["text"]
    assert english.str.contains(r"^\p{Lu}[\p{L} ,'?.]+[.?]$").all()


def test_templates_make_aligned_translations() -> None:
    noun = vocabulary.TOPICS.index("love") * vocabulary.NOUNS_PER_TOPIC  # the letter
    parts = pl.DataFrame(
        {
            "row": range(8),
            "language": [0, 1, 2, 3, 3, 0, 2, 1],
            "template": [0, 0, 0, 0, 1, 2, 4, 3],
            "subject": [0] * 8,
            "verb": [0] * 8,
            "noun": [noun] * 8,
            "adverb": [0] * 8,
            "name": [0] * 8,
            "interjection": [0] * 8,
            "adjective": [0] * 8,
        }
    )
    assert subtitles.build_lines(parts).to_list() == [
        "We have to find the letter tonight.",
        "Nous devons trouver la lettre ce soir.",
        "Tenemos que encontrar la carta esta noche.",
        "Wir müssen heute Abend den Brief finden.",
        "Anna, wo ist der Brief?",
        "Listen. It's so strange.",
        "¿Y la carta?",
        "Anna, je ne peux pas trouver la lettre sans toi.",
    ]


# ------------------------------------------------------------------------------------ trends
def test_trends_window_domain_and_popularity(movies: pl.DataFrame, ratings: pl.DataFrame) -> None:
    frame = trends.generate_trends(movies, ratings.lazy(), SEED, movie_count=300, window_days=90)
    assert frame.schema == TRENDS
    assert frame["movie_id"].n_unique() == 300 and frame.height == 300 * 90
    assert frame["date"].max() == ratings["timestamp"].max().date()
    assert (frame["date"].max() - frame["date"].min()).days == 89
    assert frame["popularity_score"].is_between(0.0, 1.0).all()
    assert (frame["view_count_estimate"] >= 0).all() and (frame["search_volume"] >= 0).all()

    counts = ratings.group_by("movie_id").len()
    per_movie = (
        frame.group_by("movie_id").agg(pl.col("popularity_score").mean()).join(counts, on="movie_id", how="left")
    )
    per_movie = per_movie.with_columns(pl.col("len").fill_null(0))
    spearman = per_movie.select(pl.corr("popularity_score", "len", method="spearman")).item()
    assert spearman > 0.5
    # Sampling leans to rated movies: the chosen ones have more ratings than the catalogue average.
    catalogue_mean = ratings.height / movies.height
    assert per_movie["len"].mean() > 1.2 * catalogue_mean


def test_trends_take_every_movie_when_the_catalogue_is_small(movies: pl.DataFrame, ratings: pl.DataFrame) -> None:
    small = movies.head(40)
    frame = trends.generate_trends(small, ratings.lazy(), SEED, window_days=7, end_date=date(2020, 2, 29))
    assert frame["movie_id"].n_unique() == 40
    assert frame["date"].max() == date(2020, 2, 29) and frame["date"].min() == date(2020, 2, 23)


def test_rule_evaluation_reports_each_rule() -> None:
    frame = pl.DataFrame({"x": [1, 2, None]})
    passed, metadata = evaluate_rules(frame, {"x positive": pl.col("x") <= 0, "x small": pl.col("x") > 1})
    assert not passed and metadata["rules_failing"] == 2  # null counts as a violation
