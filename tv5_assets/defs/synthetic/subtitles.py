"""Subtitle features (one row per movie) and synthetic timed subtitle lines.

Features are derived from genres: vocabulary complexity is the mean of the plan's per-genre values
(Drama 0.75, Comedy 0.55, Documentary 0.85, Action 0.45, Sci-Fi 0.8, any other genre 0.6; a movie
without genres gets 0.6) plus small noise (normal, sd 0.02, cut at +-0.05) so movies that share
genres are not identical; the other features correlate with it. Languages are the union of the
movie's subtitle languages on its platforms, ["en"] when it is on none.

Segments are a sample of timed lines per movie (about 1M at ml-25m size): each line is in one of
the movie's subtitle languages, built from aligned template sentences (vocabulary.py) filled with
words of the movie's key topics and genre tone; time codes strictly increase and never overlap
within a movie, and (movie_id, segment_index) is unique.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ...schemas.movielens import media_id_expr
from . import vocabulary as vocab
from .catalog import GENRE_INDEX, GENRES, MovieTraits, canonical_movies, movie_traits
from .common import categorical, check_schema, rng_for, weighted_order
from .platforms import movie_subtitle_languages
from .schemas import SUBTITLE_FEATURES, SUBTITLE_SEGMENTS

FEATURES_ASSET = "subtitle_features"
SEGMENTS_ASSET = "subtitle_segments"

GENRE_COMPLEXITY = {"Drama": 0.75, "Comedy": 0.55, "Documentary": 0.85, "Action": 0.45, "Sci-Fi": 0.8}
DEFAULT_COMPLEXITY = 0.6
COMPLEXITY_NOISE_SD, COMPLEXITY_NOISE_MAX = 0.02, 0.05
COMPLEXITY_LOW, COMPLEXITY_HIGH = 0.45, 0.85  # the range of the genre values, for scaling

GENRE_DENSITY = {
    "Comedy": 0.75,
    "Drama": 0.7,
    "Romance": 0.7,
    "Documentary": 0.65,
    "Action": 0.4,
    "Horror": 0.45,
    "Western": 0.45,
    "War": 0.5,
    "Musical": 0.5,
    "Sci-Fi": 0.55,
    "Animation": 0.6,
}
DEFAULT_DENSITY = 0.6
DENSITY_RANGE = (0.3, 0.9)
SENTENCE_LENGTH_RANGE = (8, 25)
UNIQUE_WORDS_RANGE = (800, 3000)
TOPIC_COUNT_P = [0.30, 0.35, 0.20, 0.15]  # 2, 3, 4 or 5 key topics

GENRE_TONE = {
    "Comedy": 0.5,
    "Children": 0.6,
    "Animation": 0.55,
    "Musical": 0.5,
    "Romance": 0.4,
    "Adventure": 0.35,
    "Fantasy": 0.3,
    "IMAX": 0.3,
    "Action": 0.2,
    "Drama": 0.1,
    "Documentary": 0.15,
    "Sci-Fi": 0.1,
    "Western": 0.15,
    "Mystery": 0.0,
    "Crime": -0.1,
    "Thriller": -0.1,
    "War": -0.2,
    "Film-Noir": -0.2,
    "Horror": -0.25,
}
DEFAULT_TONE = 0.2
SENTIMENT_RANGE = (-0.3, 0.8)  # the plan's range for overall sentiment
ARC_POINTS = 10

# Extra weight of each topic for movies of a genre (every topic starts at 1).
TOPIC_BOOST = {
    "Romance": {"love": 6},
    "Drama": {"loss": 3, "redemption": 3, "love": 2, "betrayal": 2},
    "Comedy": {"love": 3, "triumph": 2},
    "Action": {"conflict": 4, "triumph": 2, "betrayal": 2},
    "Adventure": {"discovery": 5, "triumph": 2},
    "Sci-Fi": {"science": 6, "discovery": 3},
    "Documentary": {"history": 5, "science": 4, "discovery": 3},
    "War": {"conflict": 6, "loss": 3, "history": 3},
    "Crime": {"betrayal": 4, "mystery": 3},
    "Thriller": {"mystery": 4, "betrayal": 3},
    "Mystery": {"mystery": 6},
    "Horror": {"mystery": 3, "loss": 3},
    "Children": {"discovery": 3, "triumph": 3, "love": 2},
    "Animation": {"discovery": 3, "triumph": 3},
    "Fantasy": {"discovery": 3, "triumph": 2},
    "Western": {"conflict": 3, "redemption": 3},
    "Film-Noir": {"betrayal": 4, "mystery": 4},
    "Musical": {"love": 4, "triumph": 3},
    "IMAX": {"discovery": 3, "science": 2},
}


def _genre_mean(traits: MovieTraits, values: dict[str, float], default: float) -> np.ndarray:
    """Mean of a per-genre value over each movie's listed genres (unlisted genres count `default`)."""
    per_genre = np.array([values.get(g, default) for g in GENRES])
    known = traits.genre_matrix.sum(axis=1)
    total = traits.genre_matrix @ per_genre + default * np.maximum(traits.genre_count - known, 0)
    count = np.maximum(traits.genre_count, known)
    return np.where(count > 0, total / np.maximum(count, 1), default)


def genre_complexity(traits: MovieTraits) -> np.ndarray:
    """The noiseless vocabulary complexity (mean of the genre values); checks compare to it."""
    return _genre_mean(traits, GENRE_COMPLEXITY, DEFAULT_COMPLEXITY)


def topic_weights(traits: MovieTraits) -> np.ndarray:
    boost = np.zeros((len(GENRES), len(vocab.TOPICS)))
    for genre, topics in TOPIC_BOOST.items():
        for topic, weight in topics.items():
            boost[GENRE_INDEX[genre], vocab.TOPICS.index(topic)] = weight
    return 1.0 + traits.genre_matrix @ boost


def sentiment_arcs(overall: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(movies, 10) smooth story curves: start somewhere, swing once or twice, end near `overall`.

    arc(t) = start + (overall - start) * t + swing * sin(pi * k * t) + small noise; the sine is
    zero at t = 1, so the last point is `overall` plus noise (sd 0.02).
    """
    n = overall.size
    t = np.linspace(0.0, 1.0, ARC_POINTS)[None, :]
    start = overall + rng.normal(0.0, 0.25, n)
    swing = rng.normal(0.0, 0.3, n)
    waves = rng.integers(1, 3, n)
    noise = rng.normal(0.0, 0.04, (n, ARC_POINTS))
    noise[:, -1] = rng.normal(0.0, 0.02, n)
    arc = start[:, None] + (overall - start)[:, None] * t + swing[:, None] * np.sin(np.pi * waves[:, None] * t) + noise
    return np.clip(arc, -1.0, 1.0)


def generate_subtitle_features(movies: pl.DataFrame, availability: pl.DataFrame, seed: int) -> pl.DataFrame:
    """One row per movie in `movies`, sorted by movie_id (SUBTITLE_FEATURES schema)."""
    traits = movie_traits(movies)
    n = traits.size
    rng = rng_for(seed, FEATURES_ASSET)

    complexity_noise = np.clip(rng.normal(0.0, COMPLEXITY_NOISE_SD, n), -COMPLEXITY_NOISE_MAX, COMPLEXITY_NOISE_MAX)
    complexity = np.clip(genre_complexity(traits) + complexity_noise, 0.0, 1.0)
    scaled_complexity = np.clip((complexity - COMPLEXITY_LOW) / (COMPLEXITY_HIGH - COMPLEXITY_LOW), 0.0, 1.0)

    density = np.clip(_genre_mean(traits, GENRE_DENSITY, DEFAULT_DENSITY) + rng.normal(0.0, 0.08, n), *DENSITY_RANGE)
    scaled_density = (density - DENSITY_RANGE[0]) / (DENSITY_RANGE[1] - DENSITY_RANGE[0])

    low, high = SENTENCE_LENGTH_RANGE
    sentence_length = np.rint(low + (high - low) * np.clip(0.7 * scaled_complexity + 0.3 * rng.random(n), 0, 1))
    low, high = UNIQUE_WORDS_RANGE
    richness = np.clip(0.55 * scaled_complexity + 0.35 * scaled_density + rng.normal(0.05, 0.08, n), 0.0, 1.0)
    unique_words = np.rint(low + (high - low) * richness)

    key_topics = _key_topics(rng, traits)
    overall = np.clip(_genre_mean(traits, GENRE_TONE, DEFAULT_TONE) + rng.normal(0.0, 0.15, n), *SENTIMENT_RANGE)
    arcs = sentiment_arcs(overall, rng)

    languages = movie_subtitle_languages(availability)
    frame = (
        pl.DataFrame(
            {
                "movie_id": pl.Series(traits.movie_ids, dtype=pl.Int32),
                "vocabulary_complexity": complexity.astype(np.float32),
                "dialogue_density": density.astype(np.float32),
                "avg_sentence_length": sentence_length.astype(np.int16),
                "unique_word_count": unique_words.astype(np.int32),
                "key_topics": key_topics,
                "overall_sentiment": overall.astype(np.float32),
                "sentiment_arc": pl.Series(arcs.astype(np.float32)),
            }
        )
        .join(languages, on="movie_id", how="left", maintain_order="left")
        .with_columns(
            media_id=media_id_expr("movie_id"),
            languages=pl.col("languages").fill_null(pl.lit(["en"], dtype=pl.List(pl.String))),
        )
        .select(SUBTITLE_FEATURES.names())
    )
    check_schema(frame, SUBTITLE_FEATURES, FEATURES_ASSET)
    return frame.rechunk()


def _key_topics(rng: np.random.Generator, traits: MovieTraits) -> pl.Series:
    """2-5 distinct topics per movie, drawn by the genres' topic weights without replacement."""
    topic_count = 2 + categorical(rng, TOPIC_COUNT_P, traits.size)
    topic_order = weighted_order(rng, topic_weights(traits))
    topic_names = pl.Series(vocab.TOPICS)
    return pl.DataFrame(
        {f"t{i}": topic_names.gather(pl.Series(topic_order[:, i])) for i in range(5)} | {"k": topic_count}
    ).select(pl.concat_list([f"t{i}" for i in range(5)]).list.head(pl.col("k")).alias("key_topics"))["key_topics"]


# ----------------------------------------------------------------------------------- segments
MIN_GAP_MS = 80  # two frames at 24 fps: the usual minimum between subtitles
MIN_DURATION_MS, MAX_DURATION_MS = 1_000, 7_000
MS_PER_CHARACTER = 60  # reading speed of about 17 characters per second
FULL_SCALE_MOVIES = 62_423  # ml-25m
FULL_SCALE_SEGMENTS = 1_000_000


def segment_total(
    movie_count: int, segments_at_full_scale: int = FULL_SCALE_SEGMENTS, full_scale_movies: int = FULL_SCALE_MOVIES
) -> int:
    """Lines for a catalogue of `movie_count` movies: the full-scale total scaled by catalogue size."""
    return int(round(segments_at_full_scale * movie_count / max(full_scale_movies, 1)))


def _pick_from_lists(rng: np.random.Generator, lists: pl.Series, row_movie: np.ndarray) -> np.ndarray:
    """For each line, one element (uniformly) of its movie's list, as a flat position into lists.explode()."""
    lengths = lists.list.len().to_numpy().astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    choice = np.floor(rng.random(row_movie.size) * lengths[row_movie]).astype(np.int64)
    return offsets[row_movie] + choice


def _template_pieces(template: str) -> list[tuple[str, str]]:
    """'{name}, where is {noun}?' -> [("slot","name"), ("text",", where is "), ("slot","noun"), ("text","?")]."""
    pieces, rest = [], template
    while rest:
        start = rest.find("{")
        if start < 0:
            pieces.append(("text", rest))
            break
        if start:
            pieces.append(("text", rest[:start]))
        end = rest.index("}", start)
        pieces.append(("slot", rest[start + 1 : end]))
        rest = rest[end + 1 :]
    return pieces


def build_lines(parts: pl.DataFrame) -> pl.Series:
    """Text of each line from integer word choices (columns: language, template, subject, verb,
    noun, adverb, name, interjection, adjective); one vectorized pass per (language, template)."""
    pieces_out = []
    for language_index, language in enumerate(vocab.LANGUAGES):
        words = {
            "subject": pl.Series(vocab.column(vocab.SUBJECTS, language)),
            "verb": pl.Series(vocab.column(vocab.VERBS, language)),
            "noun": pl.Series(vocab.nouns(language, "accusative")),
            "noun_nom": pl.Series(vocab.nouns(language, "nominative")),
            "adverb": pl.Series(vocab.column(vocab.ADVERBS, language)),
            "name": pl.Series(vocab.NAMES),
            "interjection": pl.Series(vocab.column(vocab.INTERJECTIONS, language)),
            "adjective": pl.Series(vocab.adjectives(language)),
        }
        for template_index, template in enumerate(vocab.TEMPLATES[language]):
            subset = parts.filter((pl.col("language") == language_index) & (pl.col("template") == template_index))
            if subset.height == 0:
                continue
            columns = []
            for kind, value in _template_pieces(template):
                if kind == "text":
                    columns.append(pl.lit(value))
                else:
                    source = "noun" if value == "noun_nom" else value
                    columns.append(pl.lit(words[value].gather(subset[source])))
            pieces_out.append(subset.select("row", pl.concat_str(columns).alias("text")))
    return pl.concat(pieces_out).sort("row")["text"]


def generate_subtitle_segments(
    features: pl.DataFrame,
    movies: pl.DataFrame,
    seed: int,
    total_segments: int | None = None,
    segments_at_full_scale: int = FULL_SCALE_SEGMENTS,
    full_scale_movies: int = FULL_SCALE_MOVIES,
) -> pl.DataFrame:
    """Timed lines for the movies in `features`, sorted by (movie_id, segment_index)."""
    features = features.sort("movie_id")
    catalogue = canonical_movies(movies).join(features.select("movie_id"), on="movie_id", how="semi")
    traits = movie_traits(catalogue)
    row_of_feature = traits.index_of(features["movie_id"].to_numpy())
    n = features.height
    total = (
        total_segments if total_segments is not None else segment_total(n, segments_at_full_scale, full_scale_movies)
    )
    if n == 0 or total <= 0:
        return pl.DataFrame(schema=SUBTITLE_SEGMENTS)

    rng = rng_for(seed, SEGMENTS_ASSET, "lines")
    # Lines per movie: one each (when the total allows), the rest in proportion to dialogue density.
    density = features["dialogue_density"].to_numpy().astype(np.float64)
    floor = 1 if total >= n else 0
    counts = floor + rng.multinomial(total - floor * n, density / density.sum())
    row_movie = np.repeat(np.arange(n), counts)
    language = _line_languages(rng, features["languages"], row_movie)
    topic = _line_topics(rng, features["key_topics"], row_movie)
    mood = _movie_moods(rng, traits, row_of_feature)
    text = build_lines(_word_choices(rng, language, topic, mood[row_movie]))
    start, end, segment_index = _time_codes(
        rng_for(seed, SEGMENTS_ASSET, "timing"), text, traits, row_of_feature, counts
    )
    frame = pl.DataFrame(
        {
            "movie_id": pl.Series(features["movie_id"].to_numpy()[row_movie], dtype=pl.Int32),
            "segment_index": pl.Series(segment_index, dtype=pl.Int32),
            "start_ms": pl.Series(start, dtype=pl.Int32),
            "end_ms": pl.Series(end, dtype=pl.Int32),
            "language": pl.Series(vocab.LANGUAGES).gather(pl.Series(language)),
            "text": text,
        }
    )
    check_schema(frame, SUBTITLE_SEGMENTS, SEGMENTS_ASSET)
    return frame.rechunk()


def _line_languages(rng: np.random.Generator, movie_languages: pl.Series, row_movie: np.ndarray) -> np.ndarray:
    """Language code (index into vocab.LANGUAGES) of each line: one of its movie's own, else English."""
    known_languages = movie_languages.list.eval(pl.element().filter(pl.element().is_in(vocab.LANGUAGES)))
    languages = pl.DataFrame({"l": known_languages}).select(
        pl.when(pl.col("l").list.len() > 0).then(pl.col("l")).otherwise(pl.lit(["en"], dtype=pl.List(pl.String)))
    )["l"]
    language_codes = (
        languages.explode(empty_as_null=False)
        .replace_strict({code: i for i, code in enumerate(vocab.LANGUAGES)}, return_dtype=pl.Int64)
        .to_numpy()
    )
    return language_codes[_pick_from_lists(rng, languages, row_movie)]


def _line_topics(rng: np.random.Generator, topics: pl.Series, row_movie: np.ndarray) -> np.ndarray:
    """Topic code (index into vocab.TOPICS) of each line: one of its movie's key topics."""
    topic_codes = (
        topics.explode(empty_as_null=False)
        .replace_strict({topic: i for i, topic in enumerate(vocab.TOPICS)}, default=0, return_dtype=pl.Int64)
        .to_numpy()
    )
    if not topic_codes.size:
        return np.zeros(row_movie.size, np.int64)
    return topic_codes[_pick_from_lists(rng, topics, row_movie)]


def _movie_moods(rng: np.random.Generator, traits: MovieTraits, row_of_feature: np.ndarray) -> np.ndarray:
    """Genre tone of each movie: its most represented mood group, ties broken at random."""
    mood_of_genre = np.array([vocab.MOOD_GROUPS.index(vocab.MOOD_GROUP_OF_GENRE.get(g, "serious")) for g in GENRES])
    found = np.flatnonzero(row_of_feature >= 0)
    mood_counts = np.zeros((row_of_feature.size, len(vocab.MOOD_GROUPS)))
    mood_counts[found] = traits.genre_matrix[row_of_feature[found]] @ np.eye(len(vocab.MOOD_GROUPS))[mood_of_genre]
    return weighted_order(rng, mood_counts + 0.1)[:, 0]


def _word_choices(rng: np.random.Generator, language: np.ndarray, topic: np.ndarray, mood: np.ndarray) -> pl.DataFrame:
    """The integer choices build_lines turns into text, one row per line (topic and mood per line)."""
    lines = language.size
    return pl.DataFrame(
        {
            "row": np.arange(lines),
            "language": language,
            "template": categorical(rng, vocab.TEMPLATE_P, lines),
            "subject": rng.integers(0, len(vocab.SUBJECTS), lines),
            "verb": rng.integers(0, len(vocab.VERBS), lines),
            "noun": topic * vocab.NOUNS_PER_TOPIC + rng.integers(0, vocab.NOUNS_PER_TOPIC, lines),
            "adverb": rng.integers(0, len(vocab.ADVERBS), lines),
            "name": rng.integers(0, len(vocab.NAMES), lines),
            "interjection": rng.integers(0, len(vocab.INTERJECTIONS), lines),
            "adjective": mood * vocab.ADJECTIVES_PER_GROUP + rng.integers(0, vocab.ADJECTIVES_PER_GROUP, lines),
        }
    )


def _time_codes(
    rng: np.random.Generator, text: pl.Series, traits: MovieTraits, row_of_feature: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start_ms, end_ms, segment_index) of each line: duration from text length; the rest of the
    movie's runtime spread over random gaps, so lines never overlap within a movie."""
    n = counts.size
    row_movie = np.repeat(np.arange(n), counts)
    lines = row_movie.size
    first_row = np.concatenate([[0], np.cumsum(counts)[:-1]])
    characters = text.str.len_chars().to_numpy().astype(np.float64)
    duration = np.clip(
        np.rint(800 + MS_PER_CHARACTER * characters + rng.normal(0, 150, lines)), MIN_DURATION_MS, MAX_DURATION_MS
    ).astype(np.int64)
    runtime_ms = _runtimes_ms(traits, row_of_feature, rng)
    spacing = rng.exponential(1.0, lines)
    tail = rng.exponential(1.0, n)  # room after the last line, so it need not end the film
    spacing_total = np.bincount(row_movie, weights=spacing, minlength=n) + tail
    spoken = np.bincount(row_movie, weights=duration, minlength=n)
    free = np.maximum(runtime_ms - spoken - MIN_GAP_MS * (counts + 1), 0.0)
    gap = MIN_GAP_MS + np.floor(free[row_movie] * spacing / spacing_total[row_movie]).astype(np.int64)
    step = np.cumsum(gap + duration)
    first_of_line = first_row[row_movie]  # movies without lines never index here
    start = step - (step[first_of_line] - (gap + duration)[first_of_line]) - duration
    end = start + duration
    if lines and end.max() > np.iinfo(np.int32).max:
        raise ValueError(
            f"subtitle_segments: {counts.max()} lines in one movie overflow Int32 milliseconds; "
            "lower total_segments in the asset config"
        )
    return start, end, np.arange(lines) - first_of_line


def _runtimes_ms(traits: MovieTraits, row_of_feature: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Plausible running times (70-180 minutes) from genres: epics longer, cartoons shorter."""
    long_genres = traits.has_any("Drama", "War", "Adventure", "Fantasy", "Sci-Fi")
    short_genres = traits.has_any("Animation", "Children", "Documentary", "Comedy", "Horror")
    row = np.maximum(row_of_feature, 0)
    base = np.where(row_of_feature >= 0, 95 + 15 * long_genres[row] - 8 * short_genres[row], 95)
    minutes = np.clip(base + rng.normal(0, 10, row_of_feature.size), 70, 180)
    return minutes * 60_000
