"""Fidelity report: how close one MovieLens-format folder is to another (`tv5 compare DIR_A DIR_B`).

`folder_statistics(path)` measures one folder (a GroupLens download or `tv5 sample` output) and
returns a list of `Statistic` (name, value, one-line definition, why it matters); `compare(a, b)`
puts two folders side by side with the ratio B/A. The definitions below are the reference;
docs/fidelity.md repeats them with the real MovieLens figures (a test keeps the two in step). Plain polars/numpy,
no Dagster: the measurements are in fidelity_stats.py, the recommendation signal in fidelity_recs.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from . import fidelity_stats as stats
from .errors import MissingInputError
from .fidelity_recs import recommendation_signal

DEFAULT_USERS = 300
DEFAULT_SEED = 11

RATINGS_COLUMNS = {"userId": pl.Int32, "movieId": pl.Int32, "rating": pl.Float32, "timestamp": pl.Int64}
MOVIES_COLUMNS = {"movieId": pl.Int32, "title": pl.String, "genres": pl.String}
TAGS_COLUMNS = {"userId": pl.Int32, "movieId": pl.Int32, "tag": pl.String, "timestamp": pl.Int64}
RENAME = {"userId": "user_id", "movieId": "movie_id"}


@dataclass(frozen=True)
class Spec:
    name: str
    label: str
    section: str
    definition: str
    why: str
    kind: str = "number"  # "number" or "date" (no ratio: the B-A shift in days instead)


@dataclass(frozen=True)
class Statistic:
    name: str
    label: str
    section: str
    value: float | int | str | None  # None: cannot be computed for this folder (n/a)
    definition: str
    why: str
    kind: str = "number"
    detail: str = ""  # e.g. the two years a drift figure compares


C, V, A, G, T, R, X = "counts", "rating values", "activity", "genre taste", "time", "recommendation", "tags"
SPECS: tuple[Spec, ...] = (
    Spec("users", "users", C, "Distinct userId in ratings.csv.", "Scale: every other figure depends on it."),
    Spec("movies", "movies (movies.csv)", C, "Rows of movies.csv.", "Catalogue size; the random baseline's pool."),
    Spec("movies_rated", "movies rated", C, "Distinct movieId in ratings.csv.", "The part of the catalogue in use."),
    Spec("ratings", "ratings", C, "Rows of ratings.csv.", "Scale of the interaction data."),
    Spec("tag_applications", "tag applications", C, "Rows of tags.csv (n/a without tags.csv).", "Tag volume."),
    Spec(
        "density",
        "density",
        C,
        "ratings / (users x movies rated).",
        "Sparsity drives neighbour overlap and every collaborative method.",
    ),
    Spec(
        "genres_per_movie",
        "genres per movie",
        C,
        "Mean number of genres over the rows of movies.csv; `(no genres listed)` counts 0.",
        "A small release keeps the movies its users rate, which carry more genres than the long tail "
        "(ml-25m: 1.72); genre words are a large part of each movie's embedded text.",
    ),
    Spec("rating_mean", "mean rating", V, "Mean of all rating values.", "Rating scale calibration (ml-25m: 3.53)."),
    Spec("rating_share_4", "share of 4.0", V, "Share of ratings equal to 4.0.", "The mode of real data (~27%)."),
    Spec(
        "rating_share_half",
        "share of half stars",
        V,
        "Share of ratings on a half star (0.5, 1.5, ... 4.5).",
        "Half stars exist only since 2003 in MovieLens; their share reflects the time span.",
    ),
    Spec("user_ratings_median", "ratings per user: median", A, "Median ratings per user.", "Typical history."),
    Spec("user_ratings_p90", "ratings per user: p90", A, "90th percentile (linear).", "Heavy-user tail."),
    Spec("user_ratings_max", "ratings per user: max", A, "Most ratings by one user.", "Extreme users."),
    Spec("movie_ratings_median", "ratings per movie: median", A, "Median over rated movies.", "Long tail depth."),
    Spec("movie_ratings_p90", "ratings per movie: p90", A, "90th percentile over rated movies.", "Mid-head."),
    Spec("movie_ratings_max", "ratings per movie: max", A, "Ratings of the most rated movie.", "Blockbuster size."),
    Spec(
        "movies_rated_once_share",
        "movies rated once: share",
        A,
        "Share of rated movies with exactly one rating.",
        "The far tail a sample of users reaches (ml-latest-small: 35.4% in a published analysis of its files); cold-start items.",
    ),
    Spec(
        "top1pct_share",
        "share to top 1% movies",
        A,
        "Share of ratings going to the ceil(1%) most rated movies.",
        "Popularity concentration: how hard a popularity baseline is to beat.",
    ),
    Spec(
        "item_gini",
        "item Gini (ratings per movie)",
        A,
        "Gini coefficient of the rating counts of the rated movies.",
        "The long tail in one number; published: ml-25m 0.942, ML20M 0.903, ML-1M 0.634 (LensKit codex).",
    ),
    Spec(
        "genre_kl_median",
        "genre-mix KL: median",
        G,
        "Median over users of KL(user's genre shares || everyone's), natural log; a rating gives 1/k to each "
        "of its movie's k genres; movies without genres skipped.",
        "Do users have tastes that differ from the crowd (real MovieLens: 0.12-0.13)?",
    ),
    Spec(
        "genre_profile_mean_norm",
        "genre profile: norm of mean",
        G,
        "Norm of the mean of the users' L2-normalised genre-share vectors.",
        "1.0 when every user has the same mix; lower when tastes spread.",
    ),
    Spec(
        "genre_profile_cosine_median",
        "genre profile: median pair cosine",
        G,
        "Median cosine between the genre-share vectors of 20,000 seeded pairs of distinct users.",
        "A text-free proxy of how different two users are.",
    ),
    Spec("first_rating", "first rating", T, "UTC date of the earliest rating.", "Time span.", "date"),
    Spec("last_rating", "last rating", T, "UTC date of the latest rating.", "Time span.", "date"),
    Spec(
        "burst_share_median",
        "sign-up burst share: median",
        T,
        "Median over users of the share of their ratings given within 24 h of their first one.",
        "MovieLens users rate most movies right after signing up.",
    ),
    Spec(
        "active_days_median",
        "active days per user: median",
        T,
        "Median over users of the distinct UTC days they rated on.",
        "Return visits.",
    ),
    Spec(
        "sessions_median",
        "sessions per user: median",
        T,
        "Median over users of sessions (a new one after a gap > 1 h between consecutive ratings).",
        "Session structure for sequential recommenders.",
    ),
    Spec(
        "release_gap_years_median",
        "years release -> rating: median",
        T,
        "Median over ratings of the rating's year minus the movie's release year (last (YYYY) of the title; "
        "titles without one skipped).",
        "Catalogue age at rating time: recency bias.",
    ),
    Spec(
        "popularity_drift_jaccard",
        "popularity drift: top-100 Jaccard",
        T,
        "Jaccard overlap of the 100 most rated movies of the earliest and the latest full calendar year that "
        "each hold >= 1% of the ratings (the years are shown beside the value).",
        "Whether what is popular changes over time (temporal splits depend on it).",
    ),
    Spec(
        "holdout_users",
        "hold-out users evaluated",
        R,
        "Seeded users with >= 10 positives and 10 others.",
        "Precision of the HR figures.",
    ),
    Spec(
        "hr_popularity",
        "HR@10 popularity",
        R,
        "Hold-out (last 10 ratings >= 4.0 per user) hit rate of the 10 most rated unseen movies.",
        "The baseline every personalised method must beat.",
    ),
    Spec(
        "hr_random",
        "HR@10 random (expected)",
        R,
        "Expected hit rate of 10 unseen movies drawn uniformly (hypergeometric).",
        "The floor.",
    ),
    Spec(
        "hr_corating",
        "HR@10 co-rating",
        R,
        "Hit rate of the user-based co-rating recommender (neighbours sharing recent positives vote).",
        "The collaborative signal in the ratings.",
    ),
    Spec(
        "corating_lift",
        "co-rating / popularity",
        R,
        "HR@10 co-rating divided by HR@10 popularity.",
        "> 1 when taste is learnable (ml-latest-small, graph method: 1.31).",
    ),
    Spec(
        "tags_on_rated_share",
        "tags on rated movies",
        X,
        "Share of tag applications whose (user, movie) the user also rated.",
        "Whether taggers are raters.",
    ),
    Spec(
        "distinct_tags_per_1000",
        "distinct tags per 1,000",
        X,
        "Distinct tags (trimmed, lower case) per 1,000 tag applications.",
        "Vocabulary richness (falls with size).",
    ),
    Spec("genome_tags", "genome tags", X, "Rows of genome-tags.csv (n/a without genome).", "Genome vocabulary."),
    Spec("genome_movies", "genome movies", X, "Distinct movieId in genome-scores.csv.", "Genome coverage."),
)


@dataclass(frozen=True)
class Folder:
    path: Path
    ratings: pl.DataFrame  # user_id, movie_id, rating, timestamp
    movies: pl.DataFrame  # movie_id, title, genres
    tags: pl.DataFrame | None  # user_id, movie_id, tag, timestamp; None without tags.csv


def _require(path: Path, columns: dict) -> None:
    if not path.is_file():
        raise MissingInputError(
            f"{path}: file not found. A MovieLens-format folder needs movies.csv and ratings.csv: point at an "
            "unzipped GroupLens release or write one with `tv5 sample --out DIR`."
        )
    with path.open(encoding="utf-8-sig") as handle:
        header = [name.strip().strip('"') for name in handle.readline().split(",")]
    missing = [name for name in columns if name not in header]
    if missing:
        raise MissingInputError(
            f"{path}: header lacks {', '.join(missing)} (found {header}); expected {list(columns)}."
        )


def _read(path: Path, columns: dict) -> pl.DataFrame:
    # One pass over the CSV (polars handles CRLF and RFC 4180 quoting); every statistic then reads memory.
    frame = pl.scan_csv(path, schema_overrides=columns).select(list(columns)).rename(RENAME, strict=False)
    return frame.collect()


def check_folder(path: str | Path) -> Path:
    """The folder, once it holds movies.csv and ratings.csv with their columns (cheap: headers only)."""
    folder = Path(path)
    if not folder.is_dir():
        raise MissingInputError(
            f"{folder}: no such folder. Pass a folder holding movies.csv and ratings.csv (an unzipped "
            "GroupLens release, or `tv5 sample --out DIR`)."
        )
    _require(folder / "movies.csv", MOVIES_COLUMNS)
    _require(folder / "ratings.csv", RATINGS_COLUMNS)
    if (folder / "tags.csv").is_file():
        _require(folder / "tags.csv", TAGS_COLUMNS)
    return folder


def load_folder(path: str | Path) -> Folder:
    folder = check_folder(path)
    tags_file = folder / "tags.csv"
    return Folder(
        path=folder,
        ratings=_read(folder / "ratings.csv", RATINGS_COLUMNS),
        movies=_read(folder / "movies.csv", MOVIES_COLUMNS),
        tags=_read(tags_file, TAGS_COLUMNS) if tags_file.is_file() else None,
    )


def _genome(folder: Path) -> stats.Values:
    tags_file, scores_file = folder / "genome-tags.csv", folder / "genome-scores.csv"
    genome_tags = pl.scan_csv(tags_file).select(pl.len()).collect().item() if tags_file.is_file() else None
    genome_movies = None
    if scores_file.is_file():
        scores = pl.scan_csv(scores_file, schema_overrides={"movieId": pl.Int32})
        genome_movies = scores.select(pl.col("movieId").n_unique()).collect().item()
    return {"genome_tags": genome_tags, "genome_movies": genome_movies}


def folder_statistics(path: str | Path, users: int = DEFAULT_USERS, seed: int = DEFAULT_SEED) -> list[Statistic]:
    """Every statistic of SPECS for one folder; `users` and `seed` drive the pair and hold-out samples."""
    folder = load_folder(path)
    r, movies = folder.ratings, folder.movies
    values: stats.Values = {}
    values |= stats.counts(r, movies, folder.tags)
    values |= stats.rating_values(r)
    values |= stats.activity(r)
    values |= stats.genre_mix(r, movies, seed)
    values |= stats.rating_times(r)
    values |= stats.release_gap(r, movies)
    drift, drift_years = stats.popularity_drift(r)
    values |= drift
    values |= recommendation_signal(r, movies.height, users, seed)
    values |= stats.tag_habits(folder.tags, r)
    values |= _genome(folder.path)
    details = {"popularity_drift_jaccard": drift_years}
    return [_statistic(spec, values.get(spec.name), details.get(spec.name, "")) for spec in SPECS]


def _statistic(spec: Spec, value, detail: str) -> Statistic:
    if isinstance(value, float) and value != value:  # NaN: nothing to measure
        value = None
    return Statistic(spec.name, spec.label, spec.section, value, spec.definition, spec.why, spec.kind, detail)


def ratio(a: Statistic, b: Statistic) -> float | None:
    """B/A for numbers (1.0 when both are 0); None for dates, n/a values or A = 0 < B."""
    if a.kind != "number" or a.value is None or b.value is None:
        return None
    if a.value == 0:
        return 1.0 if b.value == 0 else None
    return float(b.value) / float(a.value)


def shift_days(a: Statistic, b: Statistic) -> int | None:
    """For dates: B's date minus A's, in days."""
    if a.kind != "date" or a.value is None or b.value is None:
        return None
    return (date.fromisoformat(str(b.value)) - date.fromisoformat(str(a.value))).days


@dataclass(frozen=True)
class Comparison:
    folder_a: str
    folder_b: str
    a: list[Statistic]
    b: list[Statistic]
    users: int
    seed: int

    def rows(self) -> list[dict]:
        return [
            {
                "name": a.name,
                "label": a.label,
                "section": a.section,
                "a": a.value,
                "b": b.value,
                "ratio": ratio(a, b),
                "shift_days": shift_days(a, b),
                "detail_a": a.detail,
                "detail_b": b.detail,
                "definition": a.definition,
                "why": a.why,
            }
            for a, b in zip(self.a, self.b, strict=True)
        ]

    def as_json(self) -> dict:
        return {
            "folder_a": self.folder_a,
            "folder_b": self.folder_b,
            "users": self.users,
            "seed": self.seed,
            "statistics": self.rows(),
        }

    def table(self) -> str:
        """The aligned report: statistic | A | B | B/A, by section, the folders on top."""
        lines = [f"A: {self.folder_a}", f"B: {self.folder_b}", f"(hold-out: {self.users} users, seed {self.seed})"]
        cells = [
            (a.section, a.label, _cell(a), _cell(b), _ratio_cell(a, b)) for a, b in zip(self.a, self.b, strict=True)
        ]
        widths = [max(len(row[i]) for row in cells + [("", "statistic", "A", "B", "B/A")]) for i in range(1, 5)]
        header = ("statistic", "A", "B", "B/A")
        lines.append("  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))))
        section = None
        for row in cells:
            if row[0] != section:
                section = row[0]
                lines.append(f"-- {section}")
            lines.append(
                "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row[1:], widths)))
            )
        return "\n".join(lines)

    def explain(self) -> str:
        """Each statistic's definition and why it matters (`tv5 compare --explain`)."""
        return "\n".join(f"{s.label} ({s.name}): {s.definition} Why: {s.why}" for s in self.a)


def _cell(statistic: Statistic) -> str:
    value = statistic.value
    if value is None:
        text = "n/a"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int) or abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif float(value).is_integer():
        text = f"{value:.0f}"
    else:
        text = f"{value:.4g}"
    return f"{text} ({statistic.detail})" if statistic.detail else text


def _ratio_cell(a: Statistic, b: Statistic) -> str:
    shift = shift_days(a, b)
    if shift is not None:
        return f"{shift:+d} d"
    value = ratio(a, b)
    return "n/a" if value is None else f"{value:.2f}"


def compare(path_a: str | Path, path_b: str | Path, users: int = DEFAULT_USERS, seed: int = DEFAULT_SEED) -> Comparison:
    check_folder(path_a), check_folder(path_b)  # both, before minutes of work on the first at ml-25m size
    a = folder_statistics(path_a, users, seed)
    b = folder_statistics(path_b, users, seed)
    return Comparison(str(path_a), str(path_b), a, b, users, seed)


def write_json(comparison: Comparison, out: str | Path) -> Path:
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(comparison.as_json(), indent=2) + "\n", encoding="utf-8")
    return target
