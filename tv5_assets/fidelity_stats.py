"""The measurements behind `tv5 compare` (fidelity.py holds the names, definitions and the report).

Every function takes the folder's frames (ratings with user_id, movie_id, rating, timestamp held in
memory once: 25M rows are about 500 MB; movies; tags) and returns {statistic name: value}; None means
"cannot be computed here" (shown as n/a). Work over ratings is lazy polars group_bys over every user
or movie, never a Python loop over rows.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import polars as pl

NO_GENRES = "(no genres listed)"
DAY_S = 86_400
SESSION_GAP_S = 3_600
PAIRS = 20_000  # user pairs drawn for the median cosine
DRIFT_TOP = 100
DRIFT_MIN_SHARE = 0.01
# The last "(YYYY)" of a title is its release year; a range "(2006–2007)" counts from its first year.
YEAR_PATTERN = r"\((\d{4})(?:[–-]\d{0,4})?\)"

Values = dict[str, float | int | str | None]


def _median(series: pl.Series) -> float | None:
    return None if series.is_empty() else float(series.median())


def counts(ratings: pl.DataFrame, movies: pl.DataFrame, tags: pl.DataFrame | None) -> Values:
    users = ratings["user_id"].n_unique()
    rated = ratings["movie_id"].n_unique()
    return {
        "users": users,
        "movies": movies.height,
        "movies_rated": rated,
        "ratings": ratings.height,
        "tag_applications": None if tags is None else tags.height,
        "density": ratings.height / (users * rated) if users and rated else None,
        "genres_per_movie": genres_per_movie(movies),
    }


def genres_per_movie(movies: pl.DataFrame) -> float | None:
    """Mean number of genres over the rows of movies.csv (the labels `movie_genres` reads; a movie
    without genres counts 0)."""
    return movie_genres(movies).height / movies.height if movies.height else None


def rating_values(ratings: pl.DataFrame) -> Values:
    rating = pl.col("rating").cast(pl.Float64)
    row = ratings.select(
        rating_mean=rating.mean(),
        rating_share_4=(rating == 4.0).mean(),
        rating_share_half=((rating * 2).round() % 2 == 1).mean(),
    ).row(0, named=True)
    return row


def activity(ratings: pl.DataFrame) -> Values:
    """Ratings per user and per rated movie: median, p90 (linear interpolation), max; top-1% share."""
    values: Values = {}
    for key, prefix in (("user_id", "user_ratings"), ("movie_id", "movie_ratings")):
        n = ratings.lazy().group_by(key).agg(n=pl.len()).collect()["n"]
        values[f"{prefix}_median"] = _median(n)
        values[f"{prefix}_p90"] = None if n.is_empty() else float(n.quantile(0.9, interpolation="linear"))
        values[f"{prefix}_max"] = None if n.is_empty() else int(n.max())
        if key == "movie_id":
            top = max(1, math.ceil(0.01 * n.len()))
            values["top1pct_share"] = (
                float(n.sort(descending=True).head(top).sum()) / ratings.height if n.len() else None
            )
            values["item_gini"] = gini(n.to_numpy())
            values["movies_rated_once_share"] = float((n == 1).mean()) if n.len() else None
    return values


def gini(counts: np.ndarray) -> float | None:
    """Gini coefficient of the ratings per rated movie (0: all equal; 1: one movie has them all):
    sum over the sorted counts of (2i - n - 1) x_i / (n x sum)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n = x.size
    if n == 0 or x.sum() == 0:
        return None
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * x) / (n * x.sum()))


def movie_genres(movies: pl.DataFrame) -> pl.DataFrame:
    """(movie_id, genre, weight): each of a movie's k genres weighs 1/k; movies without genres are absent;
    genre is the index of the genre name in sorted order."""
    return (
        movies.select("movie_id", genre=pl.col("genres").str.split("|"))
        .explode("genre")
        .filter(pl.col("genre").is_not_null() & (pl.col("genre") != "") & (pl.col("genre") != NO_GENRES))
        .unique(["movie_id", "genre"])
        .with_columns(weight=1.0 / pl.len().over("movie_id"))
        # A small integer stands for the genre: grouping 45M (user, genre) rows by string costs twice as long.
        .with_columns(genre=(pl.col("genre").rank("dense") - 1).cast(pl.UInt8))
    )


def user_genre_shares(ratings: pl.DataFrame, movies: pl.DataFrame) -> pl.DataFrame:
    """(user_id, genre, share, overall): a user's genre shares and everyone's, from every rating."""
    weights = (
        ratings.lazy()
        .select("user_id", "movie_id")
        .join(movie_genres(movies).lazy(), on="movie_id")
        .group_by("user_id", "genre")
        .agg(w=pl.col("weight").sum())
        .collect(engine="streaming")
    )
    overall = weights.group_by("genre").agg(overall=pl.col("w").sum() / weights["w"].sum())
    return (
        weights.with_columns(share=pl.col("w") / pl.col("w").sum().over("user_id"))
        .join(overall, on="genre")
        .select("user_id", "genre", "share", "overall")
        .sort("user_id", "genre")
    )


def genre_mix(ratings: pl.DataFrame, movies: pl.DataFrame, seed: int) -> Values:
    """Median KL(user || everyone) and the spread of L2-normalised genre-share vectors."""
    shares = user_genre_shares(ratings, movies)
    if shares.is_empty():
        return dict.fromkeys(("genre_kl_median", "genre_profile_mean_norm", "genre_profile_cosine_median"))
    kl = shares.group_by("user_id").agg(kl=(pl.col("share") * (pl.col("share") / pl.col("overall")).log()).sum())
    vectors = _unit_vectors(shares)
    return {
        "genre_kl_median": _median(kl["kl"]),
        "genre_profile_mean_norm": float(np.linalg.norm(vectors.mean(axis=0))),
        "genre_profile_cosine_median": median_pair_cosine(vectors, seed),
    }


def _unit_vectors(shares: pl.DataFrame) -> np.ndarray:
    """users x genres matrix of L2-normalised share vectors (dense: about 20 genres)."""
    indexed = shares.with_columns(
        row=pl.col("user_id").rank("dense").cast(pl.Int64) - 1, col=pl.col("genre").cast(pl.Int64)
    )
    matrix = np.zeros((int(indexed["row"].max()) + 1, int(indexed["col"].max()) + 1))
    matrix[indexed["row"].to_numpy(), indexed["col"].to_numpy()] = indexed["share"].to_numpy()
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def median_pair_cosine(vectors: np.ndarray, seed: int) -> float | None:
    """Median cosine of PAIRS seeded pairs of distinct users (uniform over ordered pairs)."""
    n = vectors.shape[0]
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    first = rng.integers(0, n, size=PAIRS)
    second = (first + rng.integers(1, n, size=PAIRS)) % n  # never the same user
    return float(np.median(np.einsum("ij,ij->i", vectors[first], vectors[second])))


def rating_times(ratings: pl.DataFrame) -> Values:
    """First/last rating dates and the per-user time habits (medians over every user)."""
    ts = pl.col("timestamp")
    per_user = (
        ratings.lazy()
        .group_by("user_id")
        .agg(
            burst=(ts < ts.min() + DAY_S).mean(),
            days=(ts // DAY_S).n_unique(),
            sessions=(ts.sort().diff() > SESSION_GAP_S).sum() + 1,
        )
        .collect()
    )
    first, last = ratings["timestamp"].min(), ratings["timestamp"].max()
    return {
        "first_rating": None if first is None else _date(first),
        "last_rating": None if last is None else _date(last),
        "burst_share_median": _median(per_user["burst"]),
        "active_days_median": _median(per_user["days"]),
        "sessions_median": _median(per_user["sessions"]),
    }


def _date(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


def release_gap(ratings: pl.DataFrame, movies: pl.DataFrame) -> Values:
    """Median over ratings of (rating's UTC year - movie's release year); titles without a year skipped."""
    years = movies.select(
        "movie_id", year=pl.col("title").str.extract_all(YEAR_PATTERN).list.last().str.slice(1, 4).cast(pl.Int32)
    ).drop_nulls()
    gaps = (
        ratings.lazy()
        .select("movie_id", "timestamp")
        .join(years.lazy(), on="movie_id")
        .select(gap=pl.from_epoch("timestamp", time_unit="s").dt.year().cast(pl.Int32) - pl.col("year"))
        .collect()
    )
    return {"release_gap_years_median": _median(gaps["gap"])}


def popularity_drift(ratings: pl.DataFrame) -> tuple[Values, str]:
    """Jaccard of the top-100 movies of the earliest and latest full calendar years holding >= 1% of
    the ratings; the detail names the two years."""
    if ratings.is_empty():
        return {"popularity_drift_jaccard": None}, ""
    first, last = ratings["timestamp"].min(), ratings["timestamp"].max()
    by_year = ratings.lazy().with_columns(year=pl.from_epoch("timestamp", time_unit="s").dt.year())
    per_year = by_year.group_by("year").agg(n=pl.len()).collect()
    full = [
        year
        for year, n in per_year.sort("year").iter_rows()  # one row per calendar year
        if first <= _year_start(year) and last >= _year_start(year + 1) - 1 and n >= DRIFT_MIN_SHARE * ratings.height
    ]
    if len(full) < 2:
        return {"popularity_drift_jaccard": None}, ""
    early, late = (_top_movies(by_year, year) for year in (full[0], full[-1]))
    return {"popularity_drift_jaccard": len(early & late) / len(early | late)}, f"{full[0]}/{full[-1]}"


def _year_start(year: int) -> int:
    return int(datetime(year, 1, 1, tzinfo=UTC).timestamp())


def _top_movies(by_year: pl.LazyFrame, year: int) -> set[int]:
    top = (
        by_year.filter(pl.col("year") == year)
        .group_by("movie_id")
        .agg(n=pl.len())
        .sort(["n", "movie_id"], descending=[True, False])
        .head(DRIFT_TOP)
        .collect()
    )
    return set(top["movie_id"].to_list())


def tag_habits(tags: pl.DataFrame | None, ratings: pl.DataFrame) -> Values:
    """Share of tag applications on a movie the tagger rated; distinct tags (trimmed, lower case) per 1,000."""
    if tags is None or tags.is_empty():
        return {"tags_on_rated_share": None, "distinct_tags_per_1000": None}
    taggers = tags.select("user_id").unique()
    their_ratings = ratings.join(taggers, on="user_id", how="semi").select("user_id", "movie_id")
    on_rated = tags.join(their_ratings, on=["user_id", "movie_id"], how="semi").height
    distinct = tags["tag"].cast(pl.String).str.strip_chars().str.to_lowercase().drop_nulls().n_unique()
    return {"tags_on_rated_share": on_rated / tags.height, "distinct_tags_per_1000": 1000 * distinct / tags.height}
