"""Movie titles in MovieLens style, with the hard cases a title parser must survive.

`TRAIT_TITLES` lists the planted hard cases as (raw_title_field, expected) pairs. The raw field is
the title column's value after CSV decoding (quotes un-doubled), exactly as written to movies.csv.
Every entry is written at every scale (`DUPLICATE_TITLES` twice, under two movieIds).

Expected semantics (the same rules hold for every generated title, see `expected_parse`):
- year: the last parenthesised 4-digit year `(YYYY)`, or the first year of an en-dash range
  `(YYYY–YYYY)`; None when there is none.
- alt_title: the balanced parenthesised group immediately before that year group (or before the
  end, if there is no year), with a moved article put back in front; None if none.
- title: the rest, i.e. the field without the year group and without the alt title group (a
  parenthesised part AFTER the year stays), NBSP turned into a space, runs of spaces collapsed,
  trimmed. A moved article stays where it is ("City of Lost Children, The").
- display_title: title with a trailing moved article (one of `MOVED_ARTICLES`) put back in front
  ("The City of Lost Children"; "L'" joins without a space: "L'Avventura").
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from .foreign_titles import FOREIGN_PARTS, NATIVE_TITLES, foreign_title
from .title_words import (
    ADJECTIVES,
    FIRST_NAMES,
    GENRE_NOUNS,
    LAST_NAMES,
    MOVED_ARTICLES,
    NOUNS,
    PLACES,
    SUBTITLES,
    THEME_WORDS,
    VERBS_ING,
    move_article,
    restore_article,
)
from .vocab import GENRES

NBSP = "\u00a0"
EN_DASH = "\u2013"

__all__ = [
    "DUPLICATE_TITLES",
    "MOVED_ARTICLES",
    "TRAIT_TITLES",
    "TRAIT_TITLE_KINDS",
    "expected_parse",
    "generate_titles",
]


def _e(title: str, display: str | None = None, alt: str | None = None, year: int | None = None) -> dict:
    return {"title": title, "display_title": title if display is None else display, "alt_title": alt, "year": year}


# (raw title field, expected parse). Keep in sync with TRAIT_TITLE_KINDS below.
TRAIT_TITLES: list[tuple[str, dict]] = [
    # doubled quotes in the CSV ("""Great Performances"" Cats (1998)")
    ('"Great Performances" Cats (1998)', _e('"Great Performances" Cats', year=1998)),
    ('Thief Called "Shadow", The (1952)', _e('Thief Called "Shadow", The', 'The Thief Called "Shadow"', year=1952)),
    # alternate titles, moved articles in title and alt title
    (
        "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
        _e("City of Lost Children, The", "The City of Lost Children", "La Cité des enfants perdus", 1995),
    ),
    (
        "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
        _e("Amelie", alt="Le Fabuleux destin d'Amélie Poulain", year=2001),
    ),
    (
        "Crouching Tiger, Hidden Dragon (Wo hu cang long) (2000)",
        _e("Crouching Tiger, Hidden Dragon", alt="Wo hu cang long", year=2000),
    ),
    (
        "Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)",
        _e(
            "Good, the Bad and the Ugly, The", "The Good, the Bad and the Ugly", "Il Buono, il brutto, il cattivo", 1966
        ),
    ),
    ("Few Good Men, A (1992)", _e("Few Good Men, A", "A Few Good Men", year=1992)),
    ("American in Paris, An (1951)", _e("American in Paris, An", "An American in Paris", year=1951)),
    ("Misérables, Les (1998)", _e("Misérables, Les", "Les Misérables", year=1998)),
    ("Haine, La (1995)", _e("Haine, La", "La Haine", year=1995)),
    ("Blechtrommel, Die (1979)", _e("Blechtrommel, Die", "Die Blechtrommel", year=1979)),
    ("Untergang, Der (Downfall) (2004)", _e("Untergang, Der", "Der Untergang", "Downfall", 2004)),
    ("Avventura, L' (1960)", _e("Avventura, L'", "L'Avventura", year=1960)),
    (
        "Laberinto del fauno, El (Pan's Labyrinth) (2006)",
        _e("Laberinto del fauno, El", "El Laberinto del fauno", "Pan's Labyrinth", 2006),
    ),
    # year ranges with an en dash
    ("Death Note: Desu nôto (2006–2007)", _e("Death Note: Desu nôto", year=2006)),
    ("Lights Out, The (Luces apagadas) (2011–2013)", _e("Lights Out, The", "The Lights Out", "Luces apagadas", 2011)),
    # no year at all
    ("Hyena Road Diaries", _e("Hyena Road Diaries")),
    ("Last Lighthouse, The", _e("Last Lighthouse, The", "The Last Lighthouse")),
    ("Paper Tigers: Reloaded", _e("Paper Tigers: Reloaded")),
    # trailing spaces, NBSP before the year, double spaces
    ("Sunset Boulevard Blues (1987) ", _e("Sunset Boulevard Blues", year=1987)),
    ("Paper Moon Diaries (2003)  ", _e("Paper Moon Diaries", year=2003)),
    (f"Winter Passage{NBSP}(2009)", _e("Winter Passage", year=2009)),
    (f"Harbor Nights, The{NBSP}(1958)", _e("Harbor Nights, The", "The Harbor Nights", year=1958)),
    ("Night  Train to Lisbon (2013)", _e("Night Train to Lisbon", year=2013)),
    ("Second  Chance,  The (1996)", _e("Second Chance, The", "The Second Chance", year=1996)),
    # a second parenthesised part after the year (it stays in the title)
    ("Harvest Moon (1999) (Director's Cut)", _e("Harvest Moon (Director's Cut)", year=1999)),
    ("Stardust Memories (1980) (TV)", _e("Stardust Memories (TV)", year=1980)),
    # nested and unbalanced parentheses
    ("Sorcerer (Wages of Fear (Remake)) (1977)", _e("Sorcerer", alt="Wages of Fear (Remake)", year=1977)),
    ("Return of the Killer Tomatoes :-) (1988)", _e("Return of the Killer Tomatoes :-)", year=1988)),
    ("Party Monster (Part 1 (2003)", _e("Party Monster (Part 1", year=2003)),
    # a pipe inside a title
    ("Love|Hate (2019)", _e("Love|Hate", year=2019)),
    ("Frost | Nixon Tapes (2008)", _e("Frost | Nixon Tapes", year=2008)),
    # the same title under two movieIds (see DUPLICATE_TITLES)
    ("Emma (1996)", _e("Emma", year=1996)),
    ("Hamlet (2000)", _e("Hamlet", year=2000)),
    # non-ASCII: Cyrillic, CJK, Hangul, accented Latin
    ("Брат (1997)", _e("Брат", year=1997)),
    ("Ночной дозор (Night Watch) (2004)", _e("Ночной дозор", alt="Night Watch", year=2004)),
    ("大话西游 (A Chinese Odyssey) (1995)", _e("大话西游", alt="A Chinese Odyssey", year=1995)),
    ("千と千尋の神隠し (2001)", _e("千と千尋の神隠し", year=2001)),
    ("살인의 추억 (Memories of Murder) (2003)", _e("살인의 추억", alt="Memories of Murder", year=2003)),
    ("Smultronstället (Wild Strawberries) (1957)", _e("Smultronstället", alt="Wild Strawberries", year=1957)),
    ("Człowiek z marmuru (1977)", _e("Człowiek z marmuru", year=1977)),
    # the oldest year
    ("Passage de Venus (1874)", _e("Passage de Venus", year=1874)),
]

DUPLICATE_TITLES: list[str] = ["Emma (1996)", "Hamlet (2000)"]
"""Titles written under two different movieIds (each appears twice in movies.csv)."""

TRAIT_TITLE_KINDS: dict[str, list[str]] = {
    "doubled_quotes": ['"Great Performances" Cats (1998)', 'Thief Called "Shadow", The (1952)'],
    "comma_quoted": [
        "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
        "Crouching Tiger, Hidden Dragon (Wo hu cang long) (2000)",
        "Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)",
    ],
    "alt_title": [
        "City of Lost Children, The (Cité des enfants perdus, La) (1995)",
        "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
        "Untergang, Der (Downfall) (2004)",
    ],
    "moved_article": [
        "Few Good Men, A (1992)",
        "American in Paris, An (1951)",
        "Misérables, Les (1998)",
        "Haine, La (1995)",
        "Blechtrommel, Die (1979)",
        "Avventura, L' (1960)",
        "Laberinto del fauno, El (Pan's Labyrinth) (2006)",
    ],
    "year_range": ["Death Note: Desu nôto (2006–2007)", "Lights Out, The (Luces apagadas) (2011–2013)"],
    "no_year": ["Hyena Road Diaries", "Last Lighthouse, The", "Paper Tigers: Reloaded"],
    "trailing_spaces": ["Sunset Boulevard Blues (1987) ", "Paper Moon Diaries (2003)  "],
    "nbsp_before_year": [f"Winter Passage{NBSP}(2009)", f"Harbor Nights, The{NBSP}(1958)"],
    "double_spaces": ["Night  Train to Lisbon (2013)", "Second  Chance,  The (1996)"],
    "part_after_year": ["Harvest Moon (1999) (Director's Cut)", "Stardust Memories (1980) (TV)"],
    "nested_parentheses": ["Sorcerer (Wages of Fear (Remake)) (1977)"],
    "unbalanced_parentheses": ["Return of the Killer Tomatoes :-) (1988)", "Party Monster (Part 1 (2003)"],
    "pipe": ["Love|Hate (2019)", "Frost | Nixon Tapes (2008)"],
    "duplicate_title": list(DUPLICATE_TITLES),
    "cyrillic": ["Брат (1997)", "Ночной дозор (Night Watch) (2004)"],
    "cjk": [
        "大话西游 (A Chinese Odyssey) (1995)",
        "千と千尋の神隠し (2001)",
        "살인의 추억 (Memories of Murder) (2003)",
    ],
    "accented_latin": [
        "Smultronstället (Wild Strawberries) (1957)",
        "Człowiek z marmuru (1977)",
        "Misérables, Les (1998)",
    ],
}

# ---------------------------------------------------------------------------------------------
# Reference parse (defines the semantics of the expected values; the parser lives elsewhere)
# ---------------------------------------------------------------------------------------------
_YEAR_GROUP = re.compile(r"\((\d{4})(?:" + EN_DASH + r"(?:\d{4})?)?\)")


def _balanced_group_before(text: str) -> tuple[int, str] | None:
    """If `text` (right-stripped) ends with a balanced '(...)', return (start index, inner text)."""
    s = text.rstrip(" " + NBSP)
    if not s.endswith(")"):
        return None
    depth = 0
    for i in range(len(s) - 1, -1, -1):
        c = s[i]
        if c == ")":
            depth += 1
        elif c == "(":
            depth -= 1
            if depth == 0:
                return (i, s[i + 1 : -1]) if i > 0 else None
    return None


def _clean(text: str) -> str:
    return re.sub(r" {2,}", " ", text.replace(NBSP, " ")).strip()


def expected_parse(raw: str) -> dict:
    """The expected parse of a raw title field (the rules in this module's docstring)."""
    matches = list(_YEAR_GROUP.finditer(raw))
    year = None
    before, after = raw, ""
    if matches:
        m = matches[-1]
        year = int(m.group(1))
        before, after = raw[: m.start()], raw[m.end() :]
    alt = None
    group = _balanced_group_before(before)
    if group is not None:
        start, inner = group
        alt = restore_article(_clean(inner))
        before = before[:start]
    title = _clean(before + " " + after)
    return {"title": title, "display_title": restore_article(title), "alt_title": alt, "year": year}


# ---------------------------------------------------------------------------------------------
# Random titles
# ---------------------------------------------------------------------------------------------
def _pick(rng: np.random.Generator, seq, n: int) -> list:
    idx = rng.integers(0, len(seq), n)
    return [seq[i] for i in idx]


class _TitleRow(NamedTuple):
    """The random draws that make one movie's title."""

    pattern: int  # see _PATTERN_P
    u: np.ndarray  # 8 uniforms
    gw: str  # a noun that suits the primary genre
    a1: str
    a2: str
    n1: str
    n2: str
    n3: str
    fn: str
    ln: str
    place: str
    vb: str
    sub: str
    lang: str
    fi: int
    fj: int
    native: str


THEME_NOUN_SHARE = 0.85  # of titles with a theme: the title's key noun is a word of the theme
THEME_ADJECTIVE_SHARE = 0.75  # and its adjective


def _title_rows(
    n: int, primary_genre: np.ndarray, rng: np.random.Generator, theme: np.ndarray | None = None
) -> list[_TitleRow]:
    """All the draws for `n` titles, made column by column (the order fixes the output).

    `theme` (per movie, an index into title_words.THEME_WORDS, or -1) makes the key noun and the adjective
    words of the movie's theme at THEME_NOUN_SHARE and THEME_ADJECTIVE_SHARE."""
    u = rng.random((n, 8))
    pattern = rng.choice(13, size=n, p=_PATTERN_P)
    langs = list(FOREIGN_PARTS)
    lang_idx = rng.integers(0, len(langs), n)
    a1, a2 = _pick(rng, ADJECTIVES, n), _pick(rng, ADJECTIVES, n)
    n1, n2, n3 = _pick(rng, NOUNS, n), _pick(rng, NOUNS, n), _pick(rng, NOUNS, n)
    fn, ln, place = _pick(rng, FIRST_NAMES, n), _pick(rng, LAST_NAMES, n), _pick(rng, PLACES, n)
    vb, sub = _pick(rng, VERBS_ING, n), _pick(rng, SUBTITLES, n)
    gword_idx = rng.integers(0, 1 << 30, n)
    fi, fj = rng.integers(0, 1 << 30, n), rng.integers(0, 1 << 30, n)
    native_idx = rng.integers(0, len(NATIVE_TITLES), n)
    lang = [langs[k] for k in lang_idx]
    native = [NATIVE_TITLES[k] for k in native_idx]
    gw = []
    for g, k in zip(primary_genre, gword_idx):
        nouns = GENRE_NOUNS[GENRES[int(g)]] if g >= 0 else NOUNS
        gw.append(nouns[k % len(nouns)])
    if theme is not None:
        v = rng.random((n, 2))
        word_idx = rng.integers(0, 1 << 30, (n, 2))
        for i in np.flatnonzero(theme >= 0).tolist():
            nouns, adjectives = THEME_WORDS[int(theme[i])]
            if v[i, 0] < THEME_NOUN_SHARE:
                gw[i] = nouns[word_idx[i, 0] % len(nouns)]
            if v[i, 1] < THEME_ADJECTIVE_SHARE:
                a1[i] = adjectives[word_idx[i, 1] % len(adjectives)]
    columns = (pattern, u, gw, a1, a2, n1, n2, n3, fn, ln, place, vb, sub, lang, fi, fj, native)
    return [_TitleRow(*fields) for fields in zip(*columns)]


def generate_titles(
    n: int, years: np.ndarray, primary_genre: np.ndarray, rng: np.random.Generator, theme: np.ndarray | None = None
) -> tuple[list[str], np.ndarray]:
    """Random raw title fields for `n` movies; returns (titles, has_year).

    About a third contain commas (moved articles, alternate titles, comma phrases); foreign and
    non-ASCII titles are common; rare decorations (no year, en-dash ranges, trailing spaces, NBSP,
    double spaces, a part after the year) appear at low, realistic rates.
    """
    titles: list[str] = []
    has_year = np.ones(n, dtype=bool)
    for i, row in enumerate(_title_rows(n, primary_genre, rng, theme)):
        body, alt = _title_body(row) if row.pattern < 10 else _foreign_title_body(row)
        title, has_year[i] = _decorated(body, alt, int(years[i]), row.u)
        titles.append(title)
    return titles, has_year


def _title_body(r: _TitleRow) -> tuple[str, str]:
    """(title, alternate title or "") of the English patterns 0 to 9."""
    p, u, gw = r.pattern, r.u, r.gw
    if p == 0:
        return f"{r.a1} {gw}", ""
    if p == 1:
        word = gw if u[1] < 0.4 else r.n1
        return (word if u[0] < 0.6 else f"{word}s"), ""
    if p == 2:
        return (f"{gw} of the {r.n2}" if u[0] < 0.6 else f"{gw} of {r.place}"), ""
    if p == 3:
        return move_article("The", f"{r.a1} {gw}" if u[0] < 0.9 else gw), ""
    if p == 4:
        core = f"{gw} in {r.place}" if u[1] < 0.5 else f"{r.a1} {gw}"
        return move_article("An" if core[0] in "AEIOU" else "A", core), ""
    if p == 5:
        if u[0] < 0.03:  # nickname in double quotes (doubled in the CSV)
            return f'{r.fn} "{gw}" {r.ln}', ""
        return (f"{r.fn}'s {gw}" if u[0] < 0.5 else f"{r.fn} {r.ln}"), ""
    if p == 6:
        return f"{r.a1} {gw}: {r.sub}", ""
    if p == 7:
        seq = ("2", "3", "II", "III", "Part II", "4")[int(u[0] * 6)]
        return (f"{gw} {seq}" if u[1] < 0.6 else move_article("The", f"{r.a1} {gw} {seq}")), ""
    if p == 8:  # comma phrases
        return (
            f"{r.n1}, {r.n2} and {r.n3}",
            f"Goodbye, {r.fn}",
            f"{r.a1}, {r.a2} {gw}",
            f"{gw}, {r.place}",
            move_article("The", f"{r.a1}, the {r.a2} and the {gw}"),
        )[int(u[0] * 5)], ""
    return (f"{r.vb} {gw}" if u[0] < 0.7 else f"{r.vb} {r.fn}"), ""  # p == 9


def _foreign_title_body(r: _TitleRow) -> tuple[str, str]:
    """(title, alternate title or "") of the patterns 10 to 12: original titles."""
    u = r.u
    if r.pattern == 10:  # English title + original title as alternate
        art, core = foreign_title(r.lang, r.fi, r.fj, u[0] < 0.3)
        body = move_article("The", f"{r.a1} {r.gw}") if u[1] < 0.35 else f"{r.a1} {r.gw}"
        return body, move_article(art, core)
    if r.pattern == 11:  # original title only (often accented, article moved)
        art, core = foreign_title(r.lang, r.fi, r.fj, u[0] < 0.2)
        return move_article(art, core), ""
    # p == 12: own script, sometimes with an English alternate title
    return r.native, (f"{r.a1} {r.gw}" if u[0] < 0.4 else "")


def _decorated(body: str, alt: str, y: int, u: np.ndarray) -> tuple[str, bool]:
    """(raw title field, has a year): the year group, and decorations at low rates."""
    r = u[4]
    if r < 0.005:
        return body, False  # no alternate title either: a trailing group would read as one
    year_s = f"({y})"
    if 0.005 <= r < 0.006 and y <= 2017:
        year_s = f"({y}{EN_DASH}{min(2019, y + 1 + int(u[5] * 6))})"
    sep = " "
    tail = ""
    if 0.006 <= r < 0.0068:
        tail = " " * (1 + int(u[5] * 2))
    elif 0.0068 <= r < 0.0072:
        sep = NBSP
    elif 0.0072 <= r < 0.0078 and " " in body:
        body = body.replace(" ", "  ", 1)
    elif 0.0078 <= r < 0.0081:
        tail = (" (TV)", " (Director's Cut)", " (Extended)", " (Short)")[int(u[5] * 4)]
    return (f"{body} ({alt}){sep}{year_s}{tail}" if alt else f"{body}{sep}{year_s}{tail}"), True


# Pattern probabilities: 0 adj-noun, 1 noun, 2 of, 3 The, 4 A/An, 5 names, 6 colon, 7 sequel,
# 8 comma phrase, 9 verb-ing, 10 English + alternate, 11 original only, 12 own script.
_PATTERN_P = np.array([0.17, 0.05, 0.08, 0.12, 0.035, 0.07, 0.06, 0.05, 0.035, 0.04, 0.13, 0.06, 0.025])
_PATTERN_P = _PATTERN_P / _PATTERN_P.sum()
