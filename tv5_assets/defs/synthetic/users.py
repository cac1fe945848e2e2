"""User profiles: archetype and demographics for every user that appears in the ratings.

The archetype is read from the user's own history (what they rated and when), then perturbed:
`logit = log(prior) + signal * score(features) + Gumbel noise`, argmax. Demographics follow
from the archetype (age), a country draw (timezone, language, Faker locale), and the viewing-time
weights from the share of the user's ratings that fall in each part of the week, in local time.

The history features come from `rating_history.py` (one numpy pass over the ratings, a few seconds
at MovieLens 25M size); Faker only builds small name/city pools per locale.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from ...schemas.movielens import user_key_expr
from .catalog import movie_traits
from .common import categorical_by_row, check_schema, rank_percentile, rng_for, weighted_order, zscore
from .rating_history import HOURS_PER_WEEK, rating_history
from .schemas import ARCHETYPES, COUNTRIES, USER_PROFILES

if TYPE_CHECKING:
    from faker import Faker

ASSET = "user_profiles"

ARCHETYPE_PRIOR = {
    "cinephile": 0.12,
    "casual": 0.28,
    "family": 0.12,
    "young_adult": 0.16,
    "senior": 0.08,
    "international": 0.10,
    "genre_specialist": 0.14,
}

AGE_RANGES = ["18-24", "25-34", "35-44", "45-54", "55-64", "65+"]
AGE_BY_ARCHETYPE = np.array(
    [
        [0.08, 0.25, 0.25, 0.20, 0.13, 0.09],  # cinephile
        [0.15, 0.25, 0.22, 0.18, 0.12, 0.08],  # casual
        [0.02, 0.25, 0.40, 0.23, 0.07, 0.03],  # family
        [0.55, 0.40, 0.05, 0.00, 0.00, 0.00],  # young_adult
        [0.00, 0.00, 0.03, 0.12, 0.40, 0.45],  # senior
        [0.12, 0.30, 0.25, 0.17, 0.10, 0.06],  # international
        [0.20, 0.30, 0.22, 0.15, 0.08, 0.05],  # genre_specialist
    ]
)

# Country shares (US, FR, DE, ES, IT, CA, UK): a francophone-leaning service; international
# users are mostly outside the US.
COUNTRY_DEFAULT = [0.30, 0.20, 0.10, 0.10, 0.10, 0.10, 0.10]
COUNTRY_INTERNATIONAL = [0.10, 0.25, 0.15, 0.15, 0.15, 0.12, 0.08]
COUNTRY_LANGUAGE = {"US": "en", "FR": "fr", "DE": "de", "ES": "es", "IT": "it", "CA": "en", "UK": "en"}
CANADA_FRENCH_SHARE = 0.22  # share of Canadians whose first language is French

# (IANA zone, standard UTC offset in hours, weight). Offsets are standard time: daylight saving
# moves local hours by one for part of the year, which does not matter for viewing habits.
TIMEZONES: dict[str, list[tuple[str, int, float]]] = {
    "US": [
        ("America/New_York", -5, 0.47),
        ("America/Chicago", -6, 0.29),
        ("America/Denver", -7, 0.07),
        ("America/Los_Angeles", -8, 0.17),
    ],
    "FR": [("Europe/Paris", 1, 1.0)],
    "DE": [("Europe/Berlin", 1, 1.0)],
    "ES": [("Europe/Madrid", 1, 0.95), ("Atlantic/Canary", 0, 0.05)],
    "IT": [("Europe/Rome", 1, 1.0)],
    "CA": [
        ("America/Toronto", -5, 0.60),
        ("America/Vancouver", -8, 0.20),
        ("America/Edmonton", -7, 0.13),
        ("America/Halifax", -4, 0.07),
    ],
    "CA-fr": [("America/Toronto", -5, 0.92), ("America/Moncton", -4, 0.08)],  # Quebec, New Brunswick
    "UK": [("Europe/London", 0, 1.0)],
}

LANGUAGES = ["en", "fr", "es", "de", "it"]
SECOND_LANGUAGE_WEIGHT = np.array([5.0, 2.5, 2.0, 1.5, 1.0])
LANGUAGE_COUNT = {"international": [0.15, 0.45, 0.40], "default": [0.50, 0.35, 0.15]}

LOCALES = ["en_US", "fr_FR", "de_DE", "es_ES", "it_IT", "en_CA", "fr_CA", "en_GB"]
COUNTRY_LOCALE = {
    "US": "en_US",
    "FR": "fr_FR",
    "DE": "de_DE",
    "ES": "es_ES",
    "IT": "it_IT",
    "CA": "en_CA",
    "UK": "en_GB",
}

CULTURAL_CONTEXT = {
    "cinephile": ["art_house", "film_festivals", "criterion"],
    "casual": ["mainstream", "popular_culture"],
    "family": ["family_friendly", "animated", "educational"],
    "young_adult": ["trending", "social_media", "binge"],
    "senior": ["classic", "documentary", "historical"],
    "international": ["world_cinema", "multilingual", "festivals"],
    "genre_specialist": ["horror", "scifi", "noir", "western"],
}

# Viewing-time weights: (low, high) of the plan; the position inside the range follows the rank
# of the user's matching share of ratings (TIMESTAMP_WEIGHT) plus noise.
VIEWING_RANGES = {
    "viewing_weekday_evening": (0.3, 0.9),
    "viewing_weekend_afternoon": (0.2, 0.8),
    "viewing_late_night": (0.1, 0.6),
}
TIMESTAMP_WEIGHT = 0.75
DEVICE_RANGES = {"device_tv": (0.4, 0.9), "device_mobile": (0.2, 0.7), "device_laptop": (0.3, 0.8)}
# Mean position inside each device range by archetype (tv, mobile, laptop).
DEVICE_MEAN = {
    "cinephile": (0.65, 0.30, 0.60),
    "casual": (0.55, 0.50, 0.45),
    "family": (0.80, 0.35, 0.35),
    "young_adult": (0.30, 0.80, 0.65),
    "senior": (0.80, 0.15, 0.35),
    "international": (0.50, 0.50, 0.60),
    "genre_specialist": (0.60, 0.45, 0.55),
}


def local_hour_of_week_masks() -> dict[str, np.ndarray]:
    """Boolean masks over local hour-of-week (Monday 00:00 = 0) for the three viewing weights."""
    day, hour = np.divmod(np.arange(HOURS_PER_WEEK), 24)
    weekday, weekend = day < 5, day >= 5
    return {
        "viewing_weekday_evening": weekday & (hour >= 17) & (hour <= 23),
        "viewing_weekend_afternoon": weekend & (hour >= 12) & (hour <= 17),
        "viewing_late_night": hour <= 4,
    }


def archetype_scores(features: dict[str, np.ndarray]) -> np.ndarray:
    """(users, archetypes) scores from standardised history features; 0 = no evidence either way."""
    z = {name: zscore(values) for name, values in features.items()}
    columns = {
        "cinephile": z["obscurity"] + 0.5 * z["activity"],
        "casual": -0.7 * z["activity"] - 0.5 * z["obscurity"],
        "family": z["family_share"],
        "young_adult": z["fresh_share"],
        "senior": z["classic_share"],
        "international": z["international_share"],
        "genre_specialist": z["niche_excess"],
    }
    return np.column_stack([columns[a] for a in ARCHETYPES])


def choose_archetypes(scores: np.ndarray, signal: float, rng: np.random.Generator) -> np.ndarray:
    """Softmax sampling by Gumbel-argmax: the history tilts the odds, chance keeps variety."""
    prior = np.log(np.array([ARCHETYPE_PRIOR[a] for a in ARCHETYPES]))
    logits = prior[None, :] + signal * scores + rng.gumbel(size=scores.shape)
    return np.argmax(logits, axis=1)


def name_pools(seed: int, pool_size: int) -> dict[str, pl.Series]:
    """First names, last names and cities per Faker locale, stacked locale by locale.

    Faker is slow per call (tens of microseconds), so it fills a pool of `pool_size` values per
    locale once; users then pick from the pools by numpy index.
    """
    from faker import Faker  # imported where used: the code location loads without Faker

    first, last, city = [], [], []
    for locale in LOCALES:
        stream = rng_for(seed, ASSET, "faker", locale)
        fake = Faker(locale)
        fake.seed_instance(int(stream.integers(0, 2**31 - 1)))
        first.extend(fake.first_name() for _ in range(pool_size))
        last.extend(fake.last_name() for _ in range(pool_size))
        real_cities = _real_city_list(fake)
        if real_cities:
            city.extend(real_cities[i] for i in stream.integers(0, len(real_cities), pool_size))
        else:
            city.extend(fake.city() for _ in range(pool_size))
    # Faker's fr_CA city formats leave stray spaces around hyphens and apostrophes.
    tidy = pl.Series(city).str.replace_all(r"\s*-\s*", "-").str.replace_all(r"'\s+", "'").str.strip_chars()
    return {"first": pl.Series(first), "last": pl.Series(last), "city": tidy}


def _real_city_list(fake: Faker) -> list[str]:
    """A locale's list of real city names (de_DE, it_IT), sorted.

    Sorted because Faker builds some of these lists from a set (it_IT), whose order changes with
    PYTHONHASHSEED: picking by position from the raw list would differ from process to process.
    """
    for provider in fake.get_providers():
        cities = getattr(provider, "cities", None)
        if isinstance(cities, (list, tuple)) and cities and all(isinstance(c, str) for c in cities):
            return sorted(set(cities))
    return []


def timezone_table() -> tuple[list[str], dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """All zone names, and per country key: (zone indices, utc offsets, weights)."""
    zones: list[str] = []
    table = {}
    for key, rows in TIMEZONES.items():
        indices = []
        for zone, _, _ in rows:
            if zone not in zones:
                zones.append(zone)
            indices.append(zones.index(zone))
        table[key] = (
            np.array(indices),
            np.array([offset for _, offset, _ in rows]),
            np.array([weight for _, _, weight in rows], dtype=np.float64),
        )
    return zones, table


def local_shares(hour_of_week: np.ndarray, utc_offset: np.ndarray) -> dict[str, np.ndarray]:
    """Share of each user's ratings in each viewing window, in the user's local time."""
    masks = local_hour_of_week_masks()
    names = list(masks)
    total = np.maximum(hour_of_week.sum(axis=1), 1).astype(np.float64)
    shares = np.zeros((hour_of_week.shape[0], len(names)))
    for offset in np.unique(utc_offset):  # a handful of offsets: a loop over zones, not users
        rows = np.flatnonzero(utc_offset == offset)
        # local slot = utc slot + offset, so the mask seen from UTC slots is rolled back by offset
        by_utc_slot = np.column_stack([np.roll(masks[n], -int(offset)) for n in names]).astype(np.float64)
        shares[rows] = (hour_of_week[rows] @ by_utc_slot) / total[rows, None]
    return {name: shares[:, i] for i, name in enumerate(names)}


def generate_user_profiles(
    ratings: pl.LazyFrame | pl.DataFrame,
    movies: pl.DataFrame,
    seed: int,
    archetype_signal: float = 1.2,
    name_pool_size: int = 400,
) -> pl.DataFrame:
    """One profile per user id present in `ratings`, sorted by user_id (USER_PROFILES schema)."""
    traits = movie_traits(movies)
    history = rating_history(ratings, traits)
    archetype = choose_archetypes(
        archetype_scores(history.features), archetype_signal, rng_for(seed, ASSET, "archetype")
    )
    is_international = archetype == ARCHETYPES.index("international")
    age, country, canada_french = _demographics(seed, archetype, is_international)
    zones, zone_index, utc_offset = _timezones(seed, country, canada_french)
    language_count, language_order = _languages(seed, country, canada_french, is_international)
    names = _names(seed, name_pool_size, country, canada_french)
    shares = local_shares(history.utc_hour_of_week, utc_offset)
    language_codes = pl.Series(LANGUAGES)
    profiles = pl.DataFrame(
        {
            "user_id": pl.Series(history.user_ids, dtype=pl.Int32),
            "archetype": pl.Series(ARCHETYPES).gather(pl.Series(archetype)),
            "age_range": pl.Series(AGE_RANGES).gather(pl.Series(age)),
            "country": pl.Series(COUNTRIES).gather(pl.Series(country)),
            "timezone": pl.Series(zones).gather(pl.Series(zone_index)),
            "lang_0": language_codes.gather(pl.Series(language_order[:, 0])),
            "lang_1": language_codes.gather(pl.Series(language_order[:, 1])),
            "lang_2": language_codes.gather(pl.Series(language_order[:, 2])),
            "language_count": language_count,
            **names,
            **_viewing_weights(seed, shares),
            **_device_weights(seed, shares, archetype),
        }
    )
    return _profiles_table(profiles, archetype)


def _demographics(seed: int, archetype: np.ndarray, is_international: np.ndarray) -> tuple[np.ndarray, ...]:
    """Age range and country codes per user, and whether the user is a French-speaking Canadian."""
    demo = rng_for(seed, ASSET, "demographics")
    age = categorical_by_row(demo, AGE_BY_ARCHETYPE, archetype)
    country = categorical_by_row(
        demo, np.array([COUNTRY_DEFAULT, COUNTRY_INTERNATIONAL]), is_international.astype(np.int64)
    )
    canada_french = (country == COUNTRIES.index("CA")) & (demo.random(archetype.size) < CANADA_FRENCH_SHARE)
    return age, country, canada_french


def _timezones(seed: int, country: np.ndarray, canada_french: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Zone names, and per user the zone index and its UTC offset: one categorical draw per country group."""
    n = country.size
    zones, zone_table = timezone_table()
    zone_index = np.zeros(n, dtype=np.int64)
    utc_offset = np.zeros(n, dtype=np.int64)
    group_key = np.where(canada_french, "CA-fr", np.array(COUNTRIES)[country])
    zone_rng = rng_for(seed, ASSET, "timezone")
    for key, (indices, offsets, weights) in zone_table.items():
        rows = np.flatnonzero(group_key == key)
        if rows.size:
            choice = zone_rng.choice(indices.size, size=rows.size, p=weights / weights.sum())
            zone_index[rows], utc_offset[rows] = indices[choice], offsets[choice]
    return zones, zone_index, utc_offset


def _languages(
    seed: int, country: np.ndarray, canada_french: np.ndarray, is_international: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Language count per user and (users, languages) order: the country's language first, then
    0-2 more by weighted sampling without replacement."""
    primary = np.array([LANGUAGES.index(COUNTRY_LANGUAGE[c]) for c in COUNTRIES])[country]
    primary = np.where(canada_french, LANGUAGES.index("fr"), primary)
    lang_rng = rng_for(seed, ASSET, "languages")
    language_count = 1 + categorical_by_row(
        lang_rng,
        np.array([LANGUAGE_COUNT["default"], LANGUAGE_COUNT["international"]]),
        is_international.astype(np.int64),
    )
    weights = np.broadcast_to(SECOND_LANGUAGE_WEIGHT, (country.size, len(LANGUAGES)))
    return language_count, weighted_order(lang_rng, weights, force_first=primary)


def _names(seed: int, name_pool_size: int, country: np.ndarray, canada_french: np.ndarray) -> dict[str, pl.Series]:
    """First name, last name and city from the locale of the country (fr_CA for French-speaking Canadians)."""
    n = country.size
    pools = name_pools(seed, name_pool_size)
    locale = np.array([LOCALES.index(COUNTRY_LOCALE[c]) for c in COUNTRIES])[country]
    locale = np.where(canada_french, LOCALES.index("fr_CA"), locale)
    name_rng = rng_for(seed, ASSET, "names")
    return {
        key: pools[key].gather(pl.Series(locale * name_pool_size + name_rng.integers(0, name_pool_size, n)))
        for key in ("first", "last", "city")
    }


def _viewing_weights(seed: int, shares: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rank of the user's local-time share, plus noise, mapped into the plan's range."""
    weight_rng = rng_for(seed, ASSET, "viewing")
    viewing = {}
    for name, (low, high) in VIEWING_RANGES.items():
        rank = rank_percentile(shares[name], ties="min")
        position = TIMESTAMP_WEIGHT * rank + (1 - TIMESTAMP_WEIGHT) * weight_rng.random(rank.size)
        viewing[name] = (low + (high - low) * position).astype(np.float32)
    return viewing


def _device_weights(seed: int, shares: dict[str, np.ndarray], archetype: np.ndarray) -> dict[str, np.ndarray]:
    """The archetype sets the mean; late-night raters lean to mobile and laptop."""
    n = archetype.size
    device_rng = rng_for(seed, ASSET, "devices")
    late = rank_percentile(shares["viewing_late_night"], ties="min") - 0.5
    means = np.array([DEVICE_MEAN[a] for a in ARCHETYPES])[archetype]
    devices = {}
    for column, (name, (low, high)) in enumerate(DEVICE_RANGES.items()):
        tilt = -0.1 * late if name == "device_tv" else 0.1 * late
        position = np.clip(means[:, column] + tilt + device_rng.normal(0.0, 0.12, n), 0.0, 1.0)
        devices[name] = (low + (high - low) * position).astype(np.float32)
    return devices


def _profiles_table(profiles: pl.DataFrame, archetype: np.ndarray) -> pl.DataFrame:
    """The drawn columns combined into the USER_PROFILES table."""
    contexts = pl.Series("cultural_context", [CULTURAL_CONTEXT[a] for a in ARCHETYPES], dtype=pl.List(pl.String))
    profiles = profiles.select(
        "user_id",
        user_key_expr("user_id").alias("user_key"),
        "archetype",
        "age_range",
        "country",
        "timezone",
        pl.concat_list("lang_0", "lang_1", "lang_2").list.head(pl.col("language_count")).alias("languages"),
        pl.concat_str("first", "last", separator=" ").alias("display_name"),
        "city",
        *VIEWING_RANGES,
        *DEVICE_RANGES,
    )
    profiles = profiles.with_columns(cultural_context=contexts.gather(pl.Series(archetype))).select(
        USER_PROFILES.names()
    )
    check_schema(profiles, USER_PROFILES, ASSET)
    return profiles.rechunk()
