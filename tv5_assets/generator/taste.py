"""The taste model shared by users and movies: why a user picks a movie and how they rate it.

A movie's taste vector is grounded in its content: its genres (one axis each, the genre vector
normalised), its era (release year), and `N_LATENT` hidden "theme" axes that the genome relevances
(genome.py) are computed from, so a movie's themes in the genome and its appeal to a user come from
the same numbers. A user's taste is a point on the same axes.

Users belong to communities of similar taste (`N_COMMUNITIES`, sizes uneven like real audiences);
each community has `PROFILES_PER_COMMUNITY` profiles (variations around its centre), and each user
draws one profile plus an individual deviation:
- which movies a user rates is drawn per profile (users of a profile share one weight vector, so the
  draw stays vectorised at 25M ratings): popularity x exp(CHOICE_STRENGTH x affinity) x recency;
- how a user rates a movie uses the user's own taste (profile + deviation): the latent score adds
  RATING_STRENGTH x affinity to the movie's quality and the user's bias.

Affinity is the dot product of the user's and the movie's taste vectors, scaled so that its spread
over movies is about 1 for a typical user. The strengths were chosen so that the statistics of
`tv5 compare` land near the figures measured on real MovieLens (see docs/fidelity.md), not tuned on
a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .vocab import N_GENRES

STREAM_TASTE = 7

N_LATENT = 8  # hidden theme axes (the genome's movie factors)
N_COMMUNITIES = 20
PROFILES_PER_COMMUNITY = 12
N_PROFILES = N_COMMUNITIES * PROFILES_PER_COMMUNITY

GENRE_WEIGHT = 1.0  # scale of the genre axes in a movie's taste vector
ERA_WEIGHT = 0.6
LATENT_WEIGHT = 1.0
COMMUNITY_SPREAD = 1.0  # how far community centres sit apart (per axis)
PROFILE_SPREAD = 0.6  # a profile's deviation from its community centre
USER_SPREAD = 0.35  # a user's own deviation from their profile (rating stage only)
# Log-weight of affinity when choosing what to rate. 0.85 puts the median genre-mix KL of users at
# 0.13 (ml-latest-small and ml-25m's first users: 0.12-0.13) with popularity as concentrated as
# ml-25m's (movies.POPULARITY_CUTOFF): people watch more broadly than their taste alone would choose.
# 1.0 gave 0.138 there and a co-rating lift over popularity of 1.87 at scale 1.0 (0.85: 1.61).
CHOICE_STRENGTH = 0.85
RATING_STRENGTH = 1.0  # weight of affinity in the latent rating score


@dataclass(frozen=True)
class MovieTaste:
    vectors: np.ndarray  # float32 (movies, N_GENRES + 1 + N_LATENT)


@dataclass(frozen=True)
class Profiles:
    community: np.ndarray  # int64 (N_PROFILES,)
    taste: np.ndarray  # float64 (N_PROFILES, dims)
    share: np.ndarray  # float64 (N_PROFILES,): share of users, sums to 1


def theme_factors(n: int, seed: int) -> np.ndarray:
    """The hidden theme factors of `n` movies, (n, N_LATENT) standard normal."""
    return np.random.default_rng([seed, STREAM_TASTE, 0]).normal(0.0, 1.0, (n, N_LATENT))


def dominant_theme(latent: np.ndarray) -> np.ndarray:
    """Per movie its strongest theme: 2 x axis, + 1 when the factor is negative (title_words.THEME_WORDS)."""
    axis = np.abs(latent).argmax(axis=1)
    return 2 * axis + (latent[np.arange(len(latent)), axis] < 0)


def movie_taste(genre_matrix: np.ndarray, years: np.ndarray, latent: np.ndarray) -> MovieTaste:
    """Taste vectors of movies: their genres, era and theme factors (a pure function of them)."""
    g = genre_matrix.astype(np.float64)
    g /= np.sqrt(np.maximum(g.sum(1, keepdims=True), 1.0))
    era = np.clip((years.astype(np.float64) - 1995.0) / 20.0, -2.5, 1.25)[:, None]
    vectors = np.hstack([GENRE_WEIGHT * g, ERA_WEIGHT * era, LATENT_WEIGHT * latent])
    return MovieTaste(vectors.astype(np.float32))


def profiles(seed: int) -> Profiles:
    """Communities (uneven sizes) and their profiles; the world's, the same at every scale."""
    rng = np.random.default_rng([seed, STREAM_TASTE, 1])
    dims = N_GENRES + 1 + N_LATENT
    # Community centres: a few genres loved, most mildly liked or disliked. A heavy right tail on
    # the genre axes makes each community a fan of one to three genres.
    centres = rng.normal(0.0, COMMUNITY_SPREAD, (N_COMMUNITIES, dims))
    centres[:, :N_GENRES] += rng.gamma(0.5, 1.2, (N_COMMUNITIES, N_GENRES))
    centres[:, :N_GENRES] -= centres[:, :N_GENRES].mean(1, keepdims=True)
    community = np.repeat(np.arange(N_COMMUNITIES), PROFILES_PER_COMMUNITY)
    taste = centres[community] + rng.normal(0.0, PROFILE_SPREAD, (N_PROFILES, dims))
    community_share = rng.dirichlet(np.full(N_COMMUNITIES, 5.0))
    share = community_share[community] * rng.dirichlet(np.full(PROFILES_PER_COMMUNITY, 3.0), N_COMMUNITIES).ravel()
    return Profiles(community, taste, share / share.sum())


def affinity_scale(profile_taste: np.ndarray, movie_vectors: np.ndarray) -> float:
    """One scale for all affinities: the median over profiles of the spread of their affinities."""
    spreads = (profile_taste @ movie_vectors.T.astype(np.float64)).std(axis=1)
    return float(np.median(spreads))
