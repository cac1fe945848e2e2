"""Platform availability: which of five streaming platforms carry each movie, where and how.

Each movie is available with probability `availability_probability` (0.6), independently of its
traits, so the overall share is unbiased (standard error 0.002 at 62k movies). The traits decide
*which* platforms: 1-3 platforms drawn without replacement with per-movie weights, where MUBI and
Criterion lean to older and art-house titles (Drama, Film-Noir, foreign titles), TV5MONDE to
French-titled films, Netflix and Amazon to recent ones.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ...schemas.movielens import media_id_expr
from .catalog import GENRE_INDEX, MovieTraits, movie_traits
from .common import (
    bitmask_lists,
    categorical,
    categorical_by_row,
    check_schema,
    lists_from_codes,
    rng_for,
    weighted_order,
)
from .schemas import PLATFORM_AVAILABILITY, PLATFORM_IDS

ASSET = "platform_availability"

PLATFORM_NAMES = ["TV5MONDE", "Netflix", "Amazon Prime", "MUBI", "Criterion Channel"]
PLATFORM_TYPES = ["free", "subscription", "subscription", "subscription", "subscription"]
PLATFORM_COUNT_P = [0.5, 0.3, 0.2]  # 1, 2 or 3 platforms for an available movie

REGIONS = ["US", "FR", "EU", "Global"]
# Region shares per platform (rows in PLATFORM_IDS order): Criterion streams in North America,
# TV5MONDE is francophone and worldwide.
REGION_BY_PLATFORM = np.array(
    [
        [0.05, 0.35, 0.20, 0.40],  # tv5monde
        [0.35, 0.15, 0.15, 0.35],  # netflix
        [0.40, 0.15, 0.15, 0.30],  # amazon
        [0.15, 0.15, 0.20, 0.50],  # mubi
        [0.85, 0.00, 0.00, 0.15],  # criterion
    ]
)

QUALITY_OPTIONS = [["HD"], ["4K"], ["HD", "4K"]]
QUALITY_BY_ERA = np.array([[0.85, 0.0, 0.15], [0.45, 0.10, 0.45]])  # before 2010 / 2010 and later
RECENT_4K_FROM = 2010

SUBTITLE_LANGUAGES = ["en", "fr", "es", "de"]
SUBTITLE_SETS = bitmask_lists(SUBTITLE_LANGUAGES)  # index = bitmask, languages in canonical order
SUBTITLE_COUNT_P = [0.3, 0.4, 0.3]  # 1, 2 or 3 subtitle languages
SUBTITLE_WEIGHT = np.array([4.0, 2.0, 1.5, 1.2])
SUBTITLE_REGION_BOOST = {"FR": (1, 4.0), "EU": (2, 2.0)}  # region -> (language column, factor)


def platform_weights(traits: MovieTraits) -> np.ndarray:
    """(movies, platforms) sampling weights from the movie's era, genres and title hints."""
    year = np.nan_to_num(traits.year, nan=1990.0)
    recent = (year >= 2005).astype(np.float64)
    old = (year < 1980).astype(np.float64)
    genres = traits.genre_matrix
    art_house = (
        (genres[:, GENRE_INDEX["Drama"]] | genres[:, GENRE_INDEX["Film-Noir"]])
        & ~traits.has_any("Action", "Children", "Animation")
    ).astype(np.float64)
    foreign = traits.foreign_title.astype(np.float64)
    french = traits.french_title.astype(np.float64)
    return np.column_stack(
        [
            1.0 * (1 + 6.0 * french + 0.5 * foreign),  # tv5monde
            3.0 * (1 + 0.8 * recent),  # netflix
            3.0 * (1 + 0.4 * recent),  # amazon
            0.8 * (1 + 2.0 * art_house + 1.5 * foreign),  # mubi
            0.5 * (1 + 3.0 * old + 2.0 * art_house + 1.0 * foreign),  # criterion
        ]
    )


def generate_platform_availability(
    movies: pl.DataFrame, seed: int, availability_probability: float = 0.6
) -> pl.DataFrame:
    """Long format, one row per (movie, platform), sorted by movie_id then platform order."""
    traits = movie_traits(movies)
    n = traits.size

    pick_rng = rng_for(seed, ASSET, "platforms")
    available = pick_rng.random(n) < availability_probability
    platform_count = np.where(available, 1 + categorical(pick_rng, PLATFORM_COUNT_P, n), 0)
    order = weighted_order(pick_rng, platform_weights(traits))
    slot = np.arange(order.shape[1])
    movie_row, rank = np.nonzero(slot[None, :] < platform_count[:, None])
    platform = order[movie_row, rank]
    # platform order within a movie (not draw order), so the table reads the same way everywhere
    by_movie_platform = np.lexsort((platform, movie_row))
    movie_row, platform = movie_row[by_movie_platform], platform[by_movie_platform]
    rows = movie_row.size

    detail_rng = rng_for(seed, ASSET, "details")
    region = categorical_by_row(detail_rng, REGION_BY_PLATFORM, platform)
    era = (np.nan_to_num(traits.year[movie_row], nan=0.0) >= RECENT_4K_FROM).astype(np.int64)
    quality = categorical_by_row(detail_rng, QUALITY_BY_ERA, era)

    weights = np.broadcast_to(SUBTITLE_WEIGHT, (rows, len(SUBTITLE_LANGUAGES))).copy()
    for region_name, (column, factor) in SUBTITLE_REGION_BOOST.items():
        weights[region == REGIONS.index(region_name), column] *= factor
    # TV5MONDE always subtitles in French.
    force_french = np.where(platform == PLATFORM_IDS.index("tv5monde"), SUBTITLE_LANGUAGES.index("fr"), -1)
    language_order = weighted_order(detail_rng, weights, force_first=force_french)
    language_count = 1 + categorical(detail_rng, SUBTITLE_COUNT_P, rows)
    chosen = np.arange(len(SUBTITLE_LANGUAGES))[None, :] < language_count[:, None]
    subtitle_mask = ((1 << language_order) * chosen).sum(axis=1)

    movie_ids = pl.Series("movie_id", traits.movie_ids[movie_row], dtype=pl.Int32)
    frame = pl.DataFrame(
        {
            "movie_id": movie_ids,
            "platform_id": pl.Series(PLATFORM_IDS).gather(pl.Series(platform)),
            "platform_name": pl.Series(PLATFORM_NAMES).gather(pl.Series(platform)),
            "availability_type": pl.Series(PLATFORM_TYPES).gather(pl.Series(platform)),
            "region": pl.Series(REGIONS).gather(pl.Series(region)),
            "quality": lists_from_codes(QUALITY_OPTIONS, quality),
            "subtitles": lists_from_codes(SUBTITLE_SETS, subtitle_mask),
        }
    ).with_columns(media_id=media_id_expr("movie_id"))
    frame = frame.select(PLATFORM_AVAILABILITY.names())
    check_schema(frame, PLATFORM_AVAILABILITY, ASSET)
    return frame.rechunk()


def movie_subtitle_languages(availability: pl.DataFrame) -> pl.DataFrame:
    """movie_id -> union of subtitle languages over its platforms (canonical order)."""
    flags = availability.group_by("movie_id").agg(
        [pl.col("subtitles").list.contains(lang).any().alias(lang) for lang in SUBTITLE_LANGUAGES]
    )
    mask = pl.sum_horizontal([pl.col(lang).cast(pl.Int64) * (1 << i) for i, lang in enumerate(SUBTITLE_LANGUAGES)])
    codes = flags.select("movie_id", mask.alias("mask")).sort("movie_id")
    return pl.DataFrame(
        {"movie_id": codes["movie_id"], "languages": lists_from_codes(SUBTITLE_SETS, codes["mask"].to_numpy())}
    )
