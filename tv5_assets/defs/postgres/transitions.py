"""Pure polars logic behind the AgentDB tables (no Dagster, no database): policies and episodes.

Action space. The agent recommends a genre, so its actions are the 19 genre labels MovieLens
uses (`ACTION_SPACE`; "(no genres listed)" is no action). A policy's `q_values` maps every label
to an initial Q-value: 0.0, plus `ARCHETYPE_PRIORS` for the genres the user's archetype favours
(positive) or avoids (negative). The archetype table mirrors the profiles' `cultural_context`.

Episodes. Each rating is one transition, in the user's time order (ties broken by movie id):
- state      {"step": t, "time_of_day": <part of day of rating t>, "recent_genres": <the set of
             genres of the movies rated at t-1, t-2 and t-3, in action-space order>}
- action     the rated movie's media id (`ml_{movieId}`)
- reward     (rating - 2.75) / 2.25, mapping 0.5..5.0 stars linearly onto [-1, 1]
- next_state the state at t + 1; NULL on the user's last rating (`is_terminal`)
`episode_id` numbers the transitions 1..N in (user_id, time) order, so it is a pure function of
the ratings (no sequence), and a chunk of users knows its ids from the row counts before it.
"""

from __future__ import annotations

import json

import polars as pl

from ...schemas.movielens import GENRES, media_id_expr, user_key_expr

ACTION_SPACE: list[str] = list(GENRES)

# Initial Q-value offsets per archetype (genres not named start at 0.0).
ARCHETYPE_PRIORS: dict[str, dict[str, float]] = {
    "cinephile": {"Drama": 0.5, "Film-Noir": 0.5, "Documentary": 0.3, "Mystery": 0.3, "War": 0.2, "Children": -0.2},
    "casual": {"Comedy": 0.5, "Action": 0.4, "Adventure": 0.3, "Romance": 0.2, "Documentary": -0.2},
    "family": {"Children": 0.5, "Animation": 0.5, "Comedy": 0.3, "Fantasy": 0.3, "Musical": 0.2, "Horror": -0.5},
    "young_adult": {"Action": 0.5, "Sci-Fi": 0.4, "Horror": 0.3, "Thriller": 0.3, "Comedy": 0.2, "Western": -0.2},
    "senior": {"Drama": 0.4, "Western": 0.4, "War": 0.3, "Musical": 0.3, "Documentary": 0.3, "Horror": -0.4},
    "international": {"Drama": 0.4, "Romance": 0.3, "Documentary": 0.3, "Crime": 0.3, "Musical": 0.1},
    "genre_specialist": {"Horror": 0.5, "Sci-Fi": 0.5, "Film-Noir": 0.4, "Western": 0.4, "Fantasy": 0.2},
}
DEFAULT_EXPLORATION_RATE = 0.1
RECENT_GENRE_WINDOW = 3

POLICY_COLUMNS = ["user_id", "state_hash", "q_values", "exploration_rate", "total_visits", "archetype", "updated_at"]
EPISODE_COLUMNS = [
    "episode_id",
    "user_id",
    "step",
    "timestamp",
    "time_of_day",
    "action",
    "rating",
    "reward",
    "state",
    "next_state",
    "is_terminal",
]


def q_values_json(archetype: str | None) -> str:
    """The initial `q_values` document of an archetype (unknown archetypes start all at 0.0)."""
    priors = ARCHETYPE_PRIORS.get(archetype or "", {})
    return json.dumps({genre: priors.get(genre, 0.0) for genre in ACTION_SPACE}, separators=(",", ":"))


def build_policies(
    user_profiles: pl.LazyFrame, ratings: pl.LazyFrame, exploration_rate: float = DEFAULT_EXPLORATION_RATE
) -> pl.LazyFrame:
    """One policy row per profile: Q-values from the archetype, visits 0, as of the latest rating."""
    archetypes = sorted({*ARCHETYPE_PRIORS})
    priors = pl.LazyFrame(
        {"archetype": archetypes, "q_values": [q_values_json(a) for a in archetypes]},
        schema={"archetype": pl.String, "q_values": pl.String},
    )
    last_rating = ratings.group_by("user_id").agg(pl.col("timestamp").max().alias("updated_at"))
    return (
        user_profiles.select("user_id", "archetype")
        .join(priors, on="archetype", how="left")
        .join(last_rating, on="user_id", how="left")
        .sort("user_id")
        .select(
            user_key_expr("user_id").alias("user_id"),
            pl.lit(None, dtype=pl.String).alias("state_hash"),
            pl.col("q_values").fill_null(q_values_json(None)),
            pl.lit(exploration_rate, dtype=pl.Float32).alias("exploration_rate"),
            pl.lit(0, dtype=pl.Int32).alias("total_visits"),
            pl.col("archetype"),
            pl.col("updated_at"),
        )
    )


def user_chunks(ratings: pl.LazyFrame, target_rows: int) -> pl.DataFrame:
    """Split users (in id order) into chunks of about `target_rows` ratings.

    Returns one row per chunk: first_user, last_user, rows, first_episode_id (1-based), so chunk
    k's episode ids continue where chunk k-1's ended.
    """
    if target_rows < 1:
        raise ValueError("target_rows must be at least 1")
    counts = (
        ratings.group_by("user_id")
        .agg(pl.len().alias("rows"))
        .sort("user_id")
        .with_columns(before=pl.col("rows").cum_sum() - pl.col("rows"))
        .with_columns(chunk=pl.col("before") // target_rows)
    )
    return (
        counts.group_by("chunk", maintain_order=True)
        .agg(
            pl.col("user_id").min().alias("first_user"),
            pl.col("user_id").max().alias("last_user"),
            pl.col("rows").sum().alias("rows"),
            (pl.col("before").min() + 1).alias("first_episode_id"),
        )
        .sort("chunk")
        .drop("chunk")
        .collect()
    )


def movie_genre_masks(movies: pl.LazyFrame) -> pl.LazyFrame:
    """movie_id -> bit mask of its genres over `ACTION_SPACE` (bit i = ACTION_SPACE[i]).

    Genres outside the action space (none in MovieLens releases so far) are not actions and are
    left out; a movie without genres has mask 0.
    """
    bits = pl.LazyFrame(
        {"genre": ACTION_SPACE, "bit": [1 << i for i in range(len(ACTION_SPACE))]},
        schema={"genre": pl.String, "bit": pl.Int32},
    )
    return (
        movies.select("movie_id", "genres")
        .explode("genres")
        .join(bits, left_on="genres", right_on="genre", how="inner")
        .unique(["movie_id", "bit"])
        .group_by("movie_id")
        .agg(pl.col("bit").sum().alias("genre_mask"))  # distinct bits, so sum == bitwise or
    )


def genres_json_array(mask: pl.Expr) -> pl.Expr:
    """A genre bit mask -> the JSON array body `"Action","Drama"` (action-space order)."""
    names = [pl.when((mask & (1 << i)) != 0).then(pl.lit(f'"{genre}"')) for i, genre in enumerate(ACTION_SPACE)]
    return pl.concat_str(names, separator=",", ignore_nulls=True)


def _shift_within_user(expr: pl.Expr, k: int, fill: object = None) -> pl.Expr:
    """`expr.shift(k).over("user_id")` for rows already sorted by user: a value shifted across a
    user boundary is replaced by `fill`. Same result, about half the cost of a grouped window."""
    user = pl.col("user_id")
    shifted = pl.when(user.shift(k) == user).then(expr.shift(k))
    return shifted.otherwise(fill) if fill is not None else shifted


def build_episodes(ratings: pl.LazyFrame, genre_masks: pl.LazyFrame, first_episode_id: int = 1) -> pl.LazyFrame:
    """Transitions for every rating in `ratings` (whole users only), columns `EPISODE_COLUMNS`.

    `genre_masks` is `movie_genre_masks(movies)`. recent_genres lists the genres of the previous
    `RECENT_GENRE_WINDOW` movies as a set, in action-space order. The state documents are built as
    text from fixed vocabularies (genre names, parts of day, integers), so they are valid JSON
    without an encoder pass.
    """
    ordered = (
        ratings.select("user_id", "movie_id", "rating", "timestamp", pl.col("time_of_day").cast(pl.String))
        .join(genre_masks, on="movie_id", how="left")
        .with_columns(pl.col("genre_mask").fill_null(0))
        .sort(["user_id", "timestamp", "movie_id"])
    )
    row = pl.int_range(pl.len(), dtype=pl.Int64)
    recent = pl.lit(0, dtype=pl.Int32)
    for k in range(1, RECENT_GENRE_WINDOW + 1):
        recent = recent | _shift_within_user(pl.col("genre_mask"), k, fill=0)
    state = pl.concat_str(
        pl.lit('{"step":'),
        pl.col("step").cast(pl.String),
        pl.lit(',"time_of_day":"'),
        pl.col("time_of_day"),
        pl.lit('","recent_genres":['),
        genres_json_array(pl.col("recent_genres")),
        pl.lit("]}"),
    )
    return (
        ordered.with_columns(row=row)
        .with_columns(
            # A column, not the expression: int_range inside .over() would restart in every group.
            step=(pl.col("row") - pl.col("row").min().over("user_id")).cast(pl.Int32),
            recent_genres=recent,
        )
        .with_columns(state=state)
        .with_columns(next_state=_shift_within_user(pl.col("state"), -1))
        .select(
            (pl.col("row") + first_episode_id).alias("episode_id"),
            user_key_expr("user_id").alias("user_id"),
            "step",
            "timestamp",
            "time_of_day",
            media_id_expr("movie_id").alias("action"),
            pl.col("rating").cast(pl.Float32),
            ((pl.col("rating") - 2.75) / 2.25).cast(pl.Float32).alias("reward"),
            "state",
            "next_state",
            pl.col("next_state").is_null().alias("is_terminal"),
        )
    )
