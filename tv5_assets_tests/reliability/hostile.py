"""Hostile strings: planted in a release's titles, tags and genome tags, and read
back from every place that keeps them.

`plant(release)` rewrites the first movies' titles (`<hostile> (2001)`), the first tags and the
first genome tags with `HOSTILE`, CSV-quoted as a GroupLens file would be, and returns what was
planted. The expected stored text is the string itself for tags and genome tags (kept raw), and
the string with whitespace normalised for titles (the `movies` contract: NBSP and runs of spaces
become one space; zero-width characters are not whitespace and stay).

Readers per place: `jsonl_values` (the exports), `neo4j_values`, `milvus_values`. Redis and
PostgreSQL hold no title or tag text (the platform cache keeps platform fields, the AgentDB ids and
numbers), so they have nothing to round-trip.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from tv5_assets_tests.reliability.corpus import read_lines, write_lines

HOSTILE: dict[str, str] = {
    "quotes": "He said \"hi\" and 'bye' ``tick``",
    "backslashes": 'C:\\path\\to\\nowhere \\\\ \\n \\" \\u0000',
    "sql_injection": "x'); DROP TABLE agentdb.episodes; --",
    "cypher_injection": "a'}) DETACH DELETE n //",
    "parameters": "$param {$title} %s %(name)s {0} ${x}",
    "emoji": "Film 🎬🍿 👩🏽‍🚀 family 👨‍👩‍👧",
    "right_to_left": "فيلم عربي \u202eשלום\u202c mixed",
    "nbsp": "non\u00a0breaking\u00a0\u00a0space",
    "zero_width": "zero\u200bwidth\u200djoiner\u2060end",
    "csv_specials": "comma, pipe | semicolon; tab\tend",
}


@dataclass(frozen=True)
class Planted:
    titles: dict[int, str]  # movieId -> expected `title`
    tags: dict[int, str]  # 0-based row of tags.csv -> expected raw tag
    genome_tags: dict[int, str]  # tagId -> expected name


def csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def normalized_title(text: str) -> str:
    """What the movies contract keeps of a title: Unicode whitespace runs -> one space, trimmed."""
    return re.sub(r"\s+", " ", text).strip()


def plant(release: Path) -> Planted:
    strings = list(HOSTILE.values())
    movies = read_lines(release / "movies.csv")
    titles = {}
    for i, text in enumerate(strings, start=1):
        movie_id, *_rest, genres = movies[i].split(",")
        movies[i] = f"{movie_id},{csv_field(text + ' (2001)')},{genres}"
        titles[int(movie_id)] = normalized_title(text)
    write_lines(release / "movies.csv", movies)

    tags = read_lines(release / "tags.csv")
    planted_tags = {}
    for i, text in enumerate(strings, start=1):
        user, movie, *_rest, stamp = tags[i].split(",")
        tags[i] = f"{user},{movie},{csv_field(text)},{stamp}"
        planted_tags[i - 1] = text
    write_lines(release / "tags.csv", tags)

    genome = read_lines(release / "genome-tags.csv")
    planted_genome = {}
    for i, text in enumerate(strings, start=1):
        tag_id = genome[i].split(",")[0]
        genome[i] = f"{tag_id},{csv_field(text)}"
        planted_genome[int(tag_id)] = text
    write_lines(release / "genome-tags.csv", genome)
    return Planted(titles, planted_tags, planted_genome)


def jsonl_values(data_dir: Path, planted: Planted) -> tuple[dict[int, str], dict[int, str]]:
    """(movieId -> metadata.title from movies.jsonl, row -> tag from tags.jsonl) for the planted ones."""
    movies_file = next(data_dir.rglob("movies.jsonl"))
    titles = {}
    with open(movies_file, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            movie_id = record["identifiers"]["movielens_id"]
            if movie_id in planted.titles:
                titles[movie_id] = record["metadata"]["title"]
    tags = {}
    with open(next(data_dir.rglob("tags.jsonl")), encoding="utf-8") as handle:
        for row, line in enumerate(handle):
            if row in planted.tags:
                tags[row] = json.loads(line)["tag"]
            if row > max(planted.tags):
                break
    return titles, tags


def neo4j_values(resource, planted: Planted) -> tuple[dict[int, str], dict[int, str]]:
    """(movieId -> Movie.title, tagId -> Tag.name) read back over Bolt, by parameters."""
    with resource.driver() as driver:
        movies, _, _ = driver.execute_query(
            "MATCH (m:Movie) WHERE m.movie_id IN $ids RETURN m.movie_id AS id, m.title AS title",
            ids=list(planted.titles),
            database_=resource.database,
        )
        tags, _, _ = driver.execute_query(
            "MATCH (t:Tag) WHERE t.tag_id IN $ids RETURN t.tag_id AS id, t.name AS name",
            ids=list(planted.genome_tags),
            database_=resource.database,
        )
    return {r["id"]: r["title"] for r in movies}, {r["id"]: r["name"] for r in tags}


def milvus_values(resource, planted: Planted) -> dict[int, str]:
    """movieId -> title stored in the media collection (through its alias)."""
    with resource.get_client() as client:
        rows = client.query(
            resource.collection_name("media_embeddings"),
            filter=f"movie_id in {sorted(planted.titles)}",  # integers from the test's own dict
            output_fields=["movie_id", "title"],
        )
    return {int(r["movie_id"]): r["title"] for r in rows}
