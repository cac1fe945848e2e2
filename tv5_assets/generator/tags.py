"""tags.csv: free-text tag applications by a minority of users, genre-coherent, with the
planted hard cases of `TRAIT_TAGS`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .counts import Counts
from .movies import Movies
from .ratings import T_MAX, YEAR_S, Users, fit_counts
from .vocab import GENERAL_TOPIC, N_TOPICS, mojibake, tag_vocabulary

STREAM_TAGS = 4
T_TAG_MIN = 1_135_429_431  # 2005-12-24 13:03:51 UTC: tagging started in late 2005

_MOJIBAKE = [mojibake(word) for word in ("Amélie", "naïve", "français", "über-cool")]

TRAIT_TAG_KINDS: dict[str, list[str]] = {
    "comma": ["dark, gritty", "Bond, James Bond"],
    "double_quotes": ['quote: "I\'ll be back"', '"Rosebud"', 'the "Dude", man'],
    "trailing_spaces": ["funny ", "twist ending  "],
    "numeric": ["007", "1984", "42"],
    "case_variants": ["sci-fi", "Sci-Fi", "SCI-FI", "Sci-fi"],
    "mojibake": _MOJIBAKE,  # 'AmÃ©lie', 'naÃ¯ve', 'franÃ§ais', 'Ã¼ber-cool'
}
TRAIT_TAGS: list[str] = list(dict.fromkeys(t for kind in TRAIT_TAG_KINDS.values() for t in kind))
"""Raw tag strings planted in tags.csv at every scale (each at least once), exactly as written."""


def _copies(scale_rows: int) -> int:
    return 2 + scale_rows // 20_000  # 2 copies of each trait tag at tiny scales, ~56 at full scale


def build_tags(movies: Movies, users: Users, c: Counts, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng([seed, STREAM_TAGS])
    vocab = _TagVocabulary.with_traits()
    draw = _TagDraw(movies, vocab, rng)
    # Taggers: a minority of users, heavy raters more likely; heavy-tailed application counts.
    p = users.n_ratings / users.n_ratings.sum()
    taggers = np.sort(rng.choice(len(p), size=c.taggers, replace=False, p=p))
    per = fit_counts(rng.lognormal(0.0, 2.0, c.taggers), c.tags, 1, max(-(-c.tags // c.taggers), int(0.2 * c.tags)))
    local = np.repeat(np.arange(c.taggers, dtype=np.int64), per)
    movie, tag = draw(c.tags)
    protected = np.zeros(c.tags, dtype=bool)
    n_copies = _copies(c.tags)
    plant_rows = rng.choice(c.tags, size=min(c.tags, n_copies * len(vocab.trait_ids)), replace=False)
    tag[plant_rows] = np.resize(vocab.trait_ids, len(plant_rows))
    protected[plant_rows] = True
    _redraw_repeats(local, movie, tag, protected, draw)
    ts = _timestamps(movies, movie, local, c, rng)
    user_id = taggers[local] + 1
    order = np.lexsort((tag, ts, movie, user_id))
    return pl.DataFrame(
        {
            "userId": pl.Series(user_id[order], dtype=pl.Int32),
            "movieId": pl.Series(movies.ids[movie[order]], dtype=pl.Int32),
            "tag": pl.Series(vocab.strings, dtype=pl.String).gather(tag[order]),
            "timestamp": pl.Series(ts[order], dtype=pl.Int64),
        }
    )


@dataclass
class _TagVocabulary:
    """The user-tag vocabulary plus the trait tags it lacks, with a weighted pick per topic."""

    strings: list[str]
    trait_ids: np.ndarray  # index of each of TRAIT_TAGS in `strings`
    topic_ids: list[np.ndarray]  # per topic: the tags with a weight
    topic_cdf: list[np.ndarray]  # per topic: cumulative weights of topic_ids, ending at 1

    @classmethod
    def with_traits(cls) -> _TagVocabulary:
        names, topics, weights = tag_vocabulary()
        strings = list(names)
        index = {s: i for i, s in enumerate(strings)}
        extra = [t for t in TRAIT_TAGS if t not in index]
        for t in extra:
            index[t] = len(strings)
            strings.append(t)
        topics = np.concatenate([topics, np.full(len(extra), GENERAL_TOPIC, dtype=topics.dtype)])
        weights = np.concatenate([weights, np.zeros(len(extra))])
        trait_ids = np.array([index[t] for t in TRAIT_TAGS], dtype=np.int64)
        topic_ids = [np.flatnonzero((topics == t) & (weights > 0)) for t in range(N_TOPICS)]
        topic_cdf = []
        for ids in topic_ids:
            cdf = np.cumsum(weights[ids])
            topic_cdf.append(cdf / cdf[-1])
        return cls(strings, trait_ids, topic_ids, topic_cdf)


class _TagDraw:
    """Draws (movie, tag) applications: movies by popularity**0.75, tags from a topic of the movie."""

    def __init__(self, movies: Movies, vocab: _TagVocabulary, rng: np.random.Generator):
        self.vocab, self.rng, self.m = vocab, rng, len(movies)
        tw = movies.popularity**0.75
        self.movie_cdf = np.cumsum(tw) / tw.sum()
        self.n_genres = movies.genre_matrix.sum(1)
        self.gcum = np.cumsum(movies.genre_matrix, axis=1)

    def __call__(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        rng, vocab = self.rng, self.vocab
        mv = np.minimum(np.searchsorted(self.movie_cdf, rng.random(n), side="right"), self.m - 1)
        # Topic: one of the movie's genres (75%), else a general tag.
        k = self.n_genres[mv]
        pick = (rng.random(n) * np.maximum(k, 1)).astype(np.int64)
        genre = np.argmax(self.gcum[mv] > pick[:, None], axis=1)
        topic = np.where((k > 0) & (rng.random(n) < 0.75), genre, GENERAL_TOPIC)
        tag = np.empty(n, dtype=np.int64)
        u = rng.random(n)
        for t in range(N_TOPICS):
            sel = np.flatnonzero(topic == t)
            if len(sel):
                j = np.minimum(np.searchsorted(vocab.topic_cdf[t], u[sel], side="right"), len(vocab.topic_ids[t]) - 1)
                tag[sel] = vocab.topic_ids[t][j]
        return mv, tag


def _redraw_repeats(
    local: np.ndarray, movie: np.ndarray, tag: np.ndarray, protected: np.ndarray, draw: _TagDraw
) -> None:
    """No repeated (user, movie, tag): keep the planted row of a group, redraw the others (in place)."""
    n_vocab = len(draw.vocab.strings)
    for _ in range(1000):
        key = (local * draw.m + movie) * n_vocab + tag
        order = np.lexsort((~protected, key))
        ks = key[order]
        dup = order[1:][ks[1:] == ks[:-1]]
        if len(dup) == 0:
            return
        movie[dup], tag[dup] = draw(len(dup))
        protected[dup] = False
    raise RuntimeError("could not draw unique tag applications")  # pragma: no cover


def _timestamps(
    movies: Movies, movie: np.ndarray, local: np.ndarray, c: Counts, rng: np.random.Generator
) -> np.ndarray:
    """Each tagger's window after tagging began, never before the movie's year."""
    start = rng.integers(T_TAG_MIN, T_MAX - 3600, c.taggers)
    dur = np.minimum(np.exp(rng.normal(np.log(30 * 86400.0), 2.0, c.taggers)), T_MAX - start).astype(np.int64)
    ts = start[local] + (rng.random(c.tags) * dur[local]).astype(np.int64)
    rel = movies.release_ts[movie]
    early = ts < rel
    if early.any():
        r = rel[early]
        ts[early] = r + (rng.random(int(early.sum())) * np.minimum(2 * YEAR_S, T_MAX - r)).astype(np.int64)
    return ts
