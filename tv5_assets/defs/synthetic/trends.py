"""Daily popularity trends for a popularity-weighted sample of movies.

popularity(movie, day) = base + seasonality + weekend lift + AR(1) noise + at most one news spike,
clipped to [0, 1]. The base level follows the movie's rank by log rating count, and the movies are
drawn with weight sqrt(1 + ratings), so movies that are popular in the ratings tend to trend higher.
Seasonality peaks on a date that suits the genres (horror late October, family films at Christmas,
romance in February, blockbusters in July, awards-season dramas in January).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from ...schemas.movielens import media_id_expr
from .catalog import MovieTraits, movie_traits, rating_counts
from .common import check_schema, rank_percentile, rng_for, weighted_order
from .schemas import TRENDS

ASSET = "trends"

# Day of year of the seasonal peak for movies of a genre (first matching rule wins).
SEASONAL_PEAKS = [
    (("Horror",), 298),  # late October
    (("Children", "Animation"), 354),  # Christmas
    (("Romance",), 45),  # Valentine's day
    (("Action", "Adventure", "Sci-Fi", "Fantasy", "IMAX"), 196),  # summer blockbusters
    (("Documentary", "Drama"), 15),  # awards season
]
AR_COEFFICIENT = 0.8
SPIKE_PROBABILITY = 0.3


def last_rating_date(ratings: pl.LazyFrame | pl.DataFrame) -> date:
    latest = ratings.lazy().select(pl.col("timestamp").max()).collect().item()
    if latest is None:
        raise ValueError(
            "trends: ratings are empty, so the default window (ending at the last rating) is undefined; "
            "set end_date in the asset config"
        )
    return latest.date()


def generate_trends(
    movies: pl.DataFrame,
    ratings: pl.LazyFrame | pl.DataFrame,
    seed: int,
    movie_count: int = 5_000,
    window_days: int = 365,
    end_date: date | None = None,
) -> pl.DataFrame:
    """`min(movie_count, movies)` movies x `window_days` days, sorted by (movie_id, date) (TRENDS schema)."""
    traits = movie_traits(movies)
    counts = rating_counts(ratings, traits)
    end = end_date or last_rating_date(ratings)
    days = np.arange(window_days)
    first = end - timedelta(days=window_days - 1)
    k = min(movie_count, traits.size)
    if k == 0 or window_days <= 0:
        return pl.DataFrame(schema=TRENDS)

    rng = rng_for(seed, ASSET)
    chosen = np.sort(weighted_order(rng, np.sqrt(1.0 + counts)[None, :])[0, :k])
    popularity_rank = rank_percentile(np.log1p(counts))[chosen]  # rank among the whole catalogue
    series = _SeriesParameters.draw(rng, traits, chosen, popularity_rank, window_days)
    popularity = series.daily_popularity(rng, first, days)
    views, searches = _views_and_searches(rng, popularity, popularity_rank)
    frame = pl.DataFrame(
        {
            "movie_id": pl.Series(np.repeat(traits.movie_ids[chosen], window_days), dtype=pl.Int32),
            "date": np.tile(np.datetime64(first, "D") + days, k),
            "popularity_score": popularity.ravel(),
            "view_count_estimate": pl.Series(views.ravel(), dtype=pl.Int32),
            "search_volume": pl.Series(searches.ravel(), dtype=pl.Int32),
        }
    ).with_columns(pl.col("date").cast(pl.Date), media_id=media_id_expr("movie_id"))
    frame = frame.select(TRENDS.names())
    check_schema(frame, TRENDS, ASSET)
    return frame.rechunk()


@dataclass
class _SeriesParameters:
    """Per chosen movie: the terms of its popularity series (module docstring)."""

    base: np.ndarray
    amplitude: np.ndarray
    peak: np.ndarray  # day of year of the seasonal peak
    weekend_lift: np.ndarray
    volatility: np.ndarray
    spike_day: np.ndarray
    spike_height: np.ndarray  # 0 for movies without a news spike
    spike_decay: np.ndarray

    @classmethod
    def draw(
        cls,
        rng: np.random.Generator,
        traits: MovieTraits,
        chosen: np.ndarray,
        popularity_rank: np.ndarray,
        window_days: int,
    ) -> _SeriesParameters:
        k = chosen.size
        base = np.clip(0.08 + 0.6 * popularity_rank + rng.normal(0, 0.04, k), 0.02, 0.9)
        amplitude = rng.uniform(0.03, 0.12, k)
        peak = rng.uniform(0, 365, k)  # no genre rule: a random peak day
        assigned = np.zeros(k, dtype=bool)
        for genres, day_of_year in SEASONAL_PEAKS:
            match = traits.has_any(*genres)[chosen] & ~assigned
            peak[match] = day_of_year + rng.normal(0, 7, int(match.sum()))
            assigned |= match
        weekend_lift = rng.uniform(0.0, 0.04, k)
        volatility = rng.uniform(0.01, 0.04, k)
        spike_day = rng.integers(0, window_days, k)
        spike_height = np.where(rng.random(k) < SPIKE_PROBABILITY, rng.uniform(0.1, 0.3, k), 0.0)
        spike_decay = rng.uniform(3, 20, k)
        return cls(base, amplitude, peak, weekend_lift, volatility, spike_day, spike_height, spike_decay)

    def daily_popularity(self, rng: np.random.Generator, first: date, days: np.ndarray) -> np.ndarray:
        """(movies, days) float32 popularity in [0, 1] from `first` on."""
        day_of_year = first.timetuple().tm_yday + days  # past 365 is fine: the cosine is periodic
        weekday = (first.weekday() + days) % 7
        seasonal = self.amplitude[:, None] * np.cos(2 * np.pi * (day_of_year[None, :] - self.peak[:, None]) / 365.25)
        weekend = self.weekend_lift[:, None] * (weekday[None, :] >= 4)  # Friday to Sunday
        shocks = rng.normal(0, 1, (self.base.size, days.size)) * self.volatility[:, None]
        from scipy.signal import lfilter  # imported here: scipy.signal costs ~2 s at every step start

        noise = lfilter([1.0], [1.0, -AR_COEFFICIENT], shocks, axis=1) * np.sqrt(1 - AR_COEFFICIENT**2)
        since_spike = days[None, :] - self.spike_day[:, None]
        spike = np.where(
            since_spike >= 0, self.spike_height[:, None] * np.exp(-since_spike / self.spike_decay[:, None]), 0.0
        )
        return np.clip(self.base[:, None] + seasonal + weekend + noise + spike, 0.0, 1.0).astype(np.float32)


def _views_and_searches(
    rng: np.random.Generator, popularity: np.ndarray, popularity_rank: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Daily views and searches: at full popularity they grow with the movie's rating count."""
    shape = popularity.shape
    view_scale = 50 + 20_000 * popularity_rank**2
    views = np.rint(popularity * view_scale[:, None] * np.exp(rng.normal(0, 0.1, shape)))
    search_share = rng.uniform(0.15, 0.45, shape[0])
    searches = np.rint(popularity * (view_scale * search_share)[:, None] * np.exp(rng.normal(0, 0.15, shape)))
    return views, searches
