"""media_text: the template, genome vs user tags, ordering and edge cases."""

from __future__ import annotations

import polars as pl
import pytest
from embeddings_frames import movie_genome_frame, movies_frame, tags_frame

from tv5_assets.defs.embeddings.text import TemplateError, build_media_text, parse_template
from tv5_assets.schemas.embeddings import MEDIA_TEXT
from tv5_assets.schemas.movielens import MOVIE_GENOME, TAGS


def _one_movie(**overrides) -> pl.DataFrame:
    movies = movies_frame().head(1)
    return movies.with_columns(**{k: pl.lit(v, dtype=movies.schema[k]) for k, v in overrides.items()})


def _genome(movie_id: int, tags: list[str], relevances: list[float]) -> pl.DataFrame:
    return pl.DataFrame(
        {"movie_id": [movie_id], "tag_ids": [list(range(len(tags)))], "tags": [tags], "relevances": [relevances]},
        schema=MOVIE_GENOME,
    )


def test_default_template_reads_title_year_genres_and_top_genome_tags_by_relevance() -> None:
    movies = _one_movie(display_title="The Dark Crypt", year=1999, genres=["Horror", "Mystery"])
    tags = [f"tag{i:02d}" for i in range(12)]
    relevances = [0.50 + 0.01 * i for i in range(12)]  # tag11 most relevant
    text = build_media_text(movies, _genome(1, tags, relevances), tags_frame(movies).clear())["text"][0]
    expected_tags = ", ".join(f"tag{i:02d}" for i in range(11, 1, -1))  # 10 tags, most relevant first
    assert text == f"The Dark Crypt (1999). Genres: Horror, Mystery. Themes: {expected_tags}."


def test_movies_without_genome_use_the_most_widely_used_user_tags() -> None:
    movies = _one_movie(display_title="Outlaw", year=1960, genres=["Western"])
    rows = [
        (1, "gunfight"),
        (2, "gunfight"),
        (3, "gunfight"),
        (1, "desert"),
        (2, "desert"),
        (4, "zz top"),
        (4, "zz top"),
    ]
    tags = pl.DataFrame(
        {
            "user_id": [u for u, _ in rows],
            "movie_id": [1] * len(rows),
            "tag": [t for _, t in rows],
            "tag_normalized": [t for _, t in rows],
            "timestamp": [None] * len(rows),
        },
        schema=TAGS,
    )
    text = build_media_text(movies, movie_genome_frame(movies).clear(), tags, max_user_tags=2)["text"][0]
    # "zz top" was applied twice but by one user: distinct users rank it last.
    assert text == "Outlaw (1960). Genres: Western. Themes: gunfight, desert."


def test_genome_tags_win_over_user_tags_when_both_exist() -> None:
    movies = _one_movie(display_title="Orbit", year=2001, genres=["Sci-Fi"])
    text = build_media_text(movies, _genome(1, ["space"], [0.9]), tags_frame(movies))["text"][0]
    assert text.endswith("Themes: space.")


def test_empty_sections_vanish_without_leaving_punctuation() -> None:
    movies = _one_movie(display_title="Untitled Project", year=None, genres=[])
    text = build_media_text(movies, movie_genome_frame(movies).clear(), tags_frame(movies).clear())["text"][0]
    assert text == "Untitled Project."


def test_custom_template_with_alt_title_and_genome_tags_field() -> None:
    movies = _one_movie(
        display_title="Amelie", alt_title="Le Fabuleux destin d'Amélie Poulain", year=2001, genres=["Comedy"]
    )
    text = build_media_text(
        movies,
        _genome(1, ["quirky"], [0.9]),
        tags_frame(movies).clear(),
        template="{title}[ / {alt_title}] - {genome_tags}",
    )["text"][0]
    assert text == "Amelie / Le Fabuleux destin d'Amélie Poulain - quirky"


def test_one_row_per_movie_sorted_with_the_contract_schema() -> None:
    movies = movies_frame().sample(fraction=1.0, shuffle=True, seed=1)
    frame = build_media_text(movies, movie_genome_frame(movies), tags_frame(movies))
    assert frame.schema == MEDIA_TEXT
    assert frame["movie_id"].to_list() == sorted(movies["movie_id"].to_list())
    assert frame["media_id"].to_list() == [f"ml_{i}" for i in frame["movie_id"]]
    assert frame.filter(pl.col("text").str.len_chars() == 0).height == 0


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{title} {plot}", "unknown field {plot}"),
        ("{title}[ ({year})", "never closed"),
        ("{title}] x", "closes no section"),
        ("{title}[ [{year}]]", "cannot nest"),
        ("no fields here", "uses no field"),
        ("{title} {year", "unmatched brace"),
    ],
)
def test_bad_templates_are_rejected_with_the_reason(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        parse_template(template)
