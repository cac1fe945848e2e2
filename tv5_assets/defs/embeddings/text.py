"""The text that gets embedded for each movie, built from one template (the only place it lives).

Template syntax: `{field}` is replaced by a field's value; a `[...]` section is kept only when
every field inside it has a value, so a movie without a year or without tags gets no dangling
"()" or "Themes: ." (sections do not nest; brackets cannot appear literally).

Fields:
- `title`: display title, article in front ("The City of Lost Children")
- `alt_title`: the parenthesised alternate title (often the original-language title)
- `year`: first release year
- `genres`: genres joined by ", " (empty for "(no genres listed)")
- `genome_tags`: up to `max_genome_tags` genome tags, most relevant first
- `user_tags`: up to `max_user_tags` user tags (normalised), the most widely used first
- `tags`: `genome_tags` when the movie has genome tags, otherwise `user_tags`

The default reads "Toy Story (1995). Genres: Adventure, Animation. Themes: toys, pixar, ...".
Everything is one vectorised polars expression per field; no per-movie Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from ...schemas.embeddings import MEDIA_TEXT
from ...schemas.movielens import media_id_expr

DEFAULT_TEMPLATE = "{title}[ ({year})].[ Genres: {genres}.][ Themes: {tags}.]"
FIELDS = ("title", "alt_title", "year", "genres", "genome_tags", "user_tags", "tags")
LIST_SEPARATOR = ", "

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class TemplateError(ValueError):
    """The media text template is malformed; the message says where and what is allowed."""


@dataclass(frozen=True)
class _Piece:
    literal: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class _Section:
    pieces: tuple[_Piece, ...]
    optional: bool


def parse_template(template: str) -> list[_Section]:
    """Split a template into plain and optional (`[...]`) sections; reject what would misrender."""
    sections: list[_Section] = []
    depth_open: int | None = None
    buffer_start = 0
    for index, char in enumerate(template):
        if char == "[":
            if depth_open is not None:
                raise TemplateError(
                    f"template {template!r}: '[' at position {index} inside another "
                    "optional section; sections cannot nest"
                )
            if index > buffer_start:
                sections.append(_Section(_pieces(template, buffer_start, index), optional=False))
            depth_open, buffer_start = index, index + 1
        elif char == "]":
            if depth_open is None:
                raise TemplateError(f"template {template!r}: ']' at position {index} closes no section")
            sections.append(_Section(_pieces(template, buffer_start, index), optional=True))
            depth_open, buffer_start = None, index + 1
    if depth_open is not None:
        raise TemplateError(f"template {template!r}: '[' at position {depth_open} is never closed")
    if buffer_start < len(template):
        sections.append(_Section(_pieces(template, buffer_start, len(template)), optional=False))
    if not any(p.field for s in sections for p in s.pieces):
        raise TemplateError(f"template {template!r} uses no field; use some of {', '.join(FIELDS)}")
    return sections


def _pieces(template: str, start: int, stop: int) -> tuple[_Piece, ...]:
    text = template[start:stop]
    pieces: list[_Piece] = []
    cursor = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > cursor:
            pieces.append(_Piece(literal=text[cursor : match.start()]))
        name = match.group(1).strip()
        if name not in FIELDS:
            raise TemplateError(
                f"template {template!r}: unknown field {{{name}}} at position {start + match.start()}; "
                f"available fields: {', '.join(FIELDS)}"
            )
        pieces.append(_Piece(field=name))
        cursor = match.end()
    rest = text[cursor:]
    if "{" in rest or "}" in rest:
        raise TemplateError(f"template {template!r}: unmatched brace near {rest!r}")
    if rest:
        pieces.append(_Piece(literal=rest))
    return tuple(pieces)


def render_expr(template: str) -> pl.Expr:
    """One polars expression rendering the template from columns named like the fields.

    Field columns are strings; null or "" means "no value" (its optional section is dropped, and in
    a plain section it renders as "").
    """
    parts: list[pl.Expr] = []
    for section in parse_template(template):
        exprs = [pl.lit(p.literal) if p.literal is not None else pl.col(p.field).fill_null("") for p in section.pieces]
        joined = pl.concat_str(exprs) if len(exprs) > 1 else exprs[0]
        fields = [p.field for p in section.pieces if p.field]
        if section.optional and fields:
            present = pl.all_horizontal([pl.col(f).fill_null("").str.len_chars() > 0 for f in fields])
            joined = pl.when(present).then(joined).otherwise(pl.lit(""))
        parts.append(joined)
    return pl.concat_str(parts).str.strip_chars().alias("text")


def top_genome_tags(movie_genome: pl.DataFrame | pl.LazyFrame, limit: int) -> pl.LazyFrame:
    """movie_id -> up to `limit` genome tags, by relevance (ties by tag name, so it is stable)."""
    return (
        movie_genome.lazy()
        .select("movie_id", "tags", "relevances")
        .explode("tags", "relevances")
        .drop_nulls("tags")
        .sort(["movie_id", "relevances", "tags"], descending=[False, True, False])
        .group_by("movie_id", maintain_order=True)
        .agg(pl.col("tags").head(limit).alias("genome_tag_list"))
    )


def top_user_tags(tags: pl.DataFrame | pl.LazyFrame, limit: int) -> pl.LazyFrame:
    """movie_id -> up to `limit` normalised user tags, the ones most users applied first."""
    return (
        tags.lazy()
        .select("movie_id", "user_id", "tag_normalized")
        .filter(pl.col("tag_normalized").is_not_null() & (pl.col("tag_normalized").str.len_chars() > 0))
        .group_by("movie_id", "tag_normalized")
        .agg(pl.col("user_id").n_unique().alias("users"))
        .sort(["movie_id", "users", "tag_normalized"], descending=[False, True, False])
        .group_by("movie_id", maintain_order=True)
        .agg(pl.col("tag_normalized").head(limit).alias("user_tag_list"))
    )


def build_media_text(
    movies: pl.DataFrame | pl.LazyFrame,
    movie_genome: pl.DataFrame | pl.LazyFrame,
    tags: pl.DataFrame | pl.LazyFrame,
    template: str = DEFAULT_TEMPLATE,
    max_genome_tags: int = 10,
    max_user_tags: int = 10,
) -> pl.DataFrame:
    """One row per movie (sorted by movie_id) with the rendered text; schema `MEDIA_TEXT`."""
    render = render_expr(template)  # validate the template before touching data
    frame = (
        movies.lazy()
        .select("movie_id", "display_title", "alt_title", "year", "genres")
        .join(top_genome_tags(movie_genome, max_genome_tags), on="movie_id", how="left")
        .join(top_user_tags(tags, max_user_tags), on="movie_id", how="left")
        .with_columns(
            title=pl.col("display_title").str.strip_chars(),
            year=pl.col("year").cast(pl.String),
            genres=pl.col("genres").list.join(LIST_SEPARATOR),
            genome_tags=pl.col("genome_tag_list").list.join(LIST_SEPARATOR),
            user_tags=pl.col("user_tag_list").list.join(LIST_SEPARATOR),
        )
        .with_columns(
            tags=pl.when(pl.col("genome_tags").fill_null("").str.len_chars() > 0)
            .then(pl.col("genome_tags"))
            .otherwise(pl.col("user_tags"))
        )
        .select(pl.col("movie_id"), media_id_expr("movie_id").alias("media_id"), render)
        .sort("movie_id")
    )
    return frame.collect().cast(dict(MEDIA_TEXT)).select(list(MEDIA_TEXT))
