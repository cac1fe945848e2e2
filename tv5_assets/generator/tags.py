"""tags.csv: free-text tag applications by a minority of users, on movies they rated.

The text is, for movies with a genome, often one of the movie's most relevant genome tags (weighted
by relevance: the tags people use are what the genome was learnt from), otherwise a tag of one of
the movie's genres or a general one; plus the planted hard cases of `TRAIT_TAGS`. A tag is dated
after the tagger's rating of the movie, and never before tagging existed on the site (late 2005).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from .counts import Counts
from .genome import Genome
from .movies import Movies
from .ratings import T_MAX, Ratings, Users, fit_counts
from .vocab import GENERAL_TOPIC, N_TOPICS, genome_vocabulary, mojibake, tag_vocabulary

STREAM_TAGS = 4
GENOME_TAG_SHARE = 0.5  # of applications on a genome movie: one of its most relevant genome tags
GENOME_TOP = 10  # how many of a movie's genome tags are candidates
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


def build_tags(movies: Movies, users: Users, ratings: Ratings, genome: Genome, c: Counts, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng([seed, STREAM_TAGS])
    vocab = _TagVocabulary.with_traits()
    # Taggers: a minority of users, heavy raters and those still active once tagging began more likely.
    active = users.timeline.last_visit >= T_TAG_MIN
    p = users.n_ratings * np.where(active, 1.0, 0.1)
    taggers = np.sort(rng.choice(len(p), size=c.taggers, replace=False, p=p / p.sum()))
    per = fit_counts(rng.lognormal(0.0, 2.0, c.taggers), c.tags, 1, max(-(-c.tags // c.taggers), int(0.2 * c.tags)))
    local = np.repeat(np.arange(c.taggers, dtype=np.int64), per)
    draw = _TagDraw(movies, vocab, ratings, users, taggers, genome, rng)
    row, tag = draw(local)
    protected = np.zeros(c.tags, dtype=bool)
    n_copies = _copies(c.tags)
    plant_rows = rng.choice(c.tags, size=min(c.tags, n_copies * len(vocab.trait_ids)), replace=False)
    tag[plant_rows] = np.resize(vocab.trait_ids, len(plant_rows))
    protected[plant_rows] = True
    _redraw_repeats(local, row, tag, protected, draw)
    movie = ratings.movie[row]
    ts = _timestamps(movies, ratings, row, rng)
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
    """Draws (rating row, tag) applications for taggers: one of the tagger's rated movies (uniformly),
    and a tag from a topic of the movie (one of its genres, 75%, else a general tag)."""

    def __init__(self, movies: Movies, vocab: _TagVocabulary, ratings: Ratings, users: Users, taggers, genome, rng):
        self.vocab, self.rng = vocab, rng
        self.genome_row = genome.row_of_movie(len(movies))
        self.genome_top, self.genome_cdf = _genome_candidates(genome, vocab)
        row_start = np.concatenate([[0], np.cumsum(users.n_ratings)[:-1]])
        self.first_row = row_start[taggers]
        self.n_rated = users.n_ratings[taggers]
        self.movie_of_row = ratings.movie
        self.n_genres = movies.genre_matrix.sum(1)
        self.gcum = np.cumsum(movies.genre_matrix, axis=1)
        self.n_vocab = len(vocab.strings)

    def __call__(self, local: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng, vocab = self.rng, self.vocab
        n = len(local)
        row = self.first_row[local] + (rng.random(n) * self.n_rated[local]).astype(np.int64)
        mv = self.movie_of_row[row]
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
        g = self.genome_row[mv]
        use = np.flatnonzero((g >= 0) & (rng.random(n) < GENOME_TAG_SHARE))
        if len(use):
            cdf = self.genome_cdf[g[use]]
            j = np.minimum((cdf < rng.random(len(use))[:, None]).sum(1), GENOME_TOP - 1)
            tag[use] = self.genome_top[g[use], j]
        return row, tag


def _genome_candidates(genome: Genome, vocab: _TagVocabulary) -> tuple[np.ndarray, np.ndarray]:
    """Per genome movie: its GENOME_TOP most relevant genome tags (as vocabulary indices) and the
    cumulative shares of their relevances."""
    k = min(GENOME_TOP, genome.q.shape[1])
    if len(genome.index) == 0:
        return np.zeros((0, k), dtype=np.int64), np.zeros((0, k))
    top = np.argpartition(-genome.q.astype(np.int32), k - 1, axis=1)[:, :k]
    top = np.take_along_axis(top, np.argsort(top, axis=1), axis=1)  # a fixed order, independent of the sort
    weight = np.take_along_axis(genome.q, top, axis=1).astype(np.float64)
    index = {s: i for i, s in enumerate(vocab.strings)}
    as_vocab = np.array([index[t] for t in genome_vocabulary()[0]], dtype=np.int64)
    cdf = np.cumsum(weight, axis=1)
    return as_vocab[top], cdf / cdf[:, -1:]


def _redraw_repeats(local: np.ndarray, row: np.ndarray, tag: np.ndarray, protected: np.ndarray, draw: _TagDraw) -> None:
    """No repeated (user, movie, tag): keep the planted row of a group, redraw the others (in place)."""
    for _ in range(1000):
        key = row * draw.n_vocab + tag  # a rating row is one (user, movie)
        order = np.lexsort((~protected, key))
        ks = key[order]
        dup = order[1:][ks[1:] == ks[:-1]]
        if len(dup) == 0:
            return
        row[dup], tag[dup] = draw(local[dup])
        protected[dup] = False
    raise RuntimeError("could not draw unique tag applications")  # pragma: no cover


def _timestamps(movies: Movies, ratings: Ratings, row: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Minutes to days after the tagger rated the movie; a movie rated before tagging began is
    tagged on a later visit, some time after late 2005 (never before the movie's release year)."""
    ts = ratings.ts[row] + rng.lognormal(np.log(300.0), 2.5, len(row)).astype(np.int64)
    late = ts < T_TAG_MIN
    ts[late] = T_TAG_MIN + (rng.random(int(late.sum())) * (T_MAX - T_TAG_MIN)).astype(np.int64)
    ts = np.maximum(ts, movies.release_ts[ratings.movie[row]])
    return np.minimum(ts, T_MAX)
