"""The naive baseline of `tv5 bench`: the original plan's row-by-row approach, timed on our stores.

Deliberately slow. Each function reproduces one loop of the plan the project was created from
(../shared/seed/000_*.txt): `parse_interactions` iterates a pandas frame row by row and writes one
JSON line per rating; `create_nodes_and_relationships` sends one Cypher CREATE per movie;
`populate_episodes`/`populate_policies` send one INSERT per row. The per-row Python loops are the
point: they are what the platform replaced, and the ratio of our rate to theirs is the figure
`tv5 bench` reports. Nothing here is used by the assets.

Each part stops after `budget_s` seconds and reports the rate over the rows it did, so a full-scale
bench does not spend hours proving a loop is slow. Every part cleans up what it wrote: a temporary
file, the `NaiveBaselineMovie` nodes (no other label is touched), the `tv5_naive_baseline` schema.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

NEO4J_LABEL = "NaiveBaselineMovie"
PG_SCHEMA = "tv5_naive_baseline"
CHUNK_ROWS = 1_000_000  # the plan's read_csv chunksize
YEAR = re.compile(r"\((\d{4})\)\s*$")


@dataclass
class NaiveFigure:
    """Rows done, seconds spent and their rate; `complete` is False when the budget stopped the loop."""

    part: str
    rows: int
    seconds: float
    rows_per_s: float | None
    complete: bool
    error: str | None = None


def _figure(part: str, rows: int, started: float, complete: bool) -> NaiveFigure:
    seconds = time.perf_counter() - started
    return NaiveFigure(part, rows, round(seconds, 3), round(rows / seconds, 1) if seconds > 0 else None, complete)


def _rows(csv: Path, deadline: float) -> Iterator[tuple[int, pd.Series]]:
    """(index, row) of a CSV the plan's way (read_csv in chunks, then iterrows) until `deadline`."""
    for chunk in pd.read_csv(csv, chunksize=CHUNK_ROWS):
        for index, row in chunk.iterrows():
            if time.perf_counter() >= deadline:
                return
            yield index, row


def _time_of_day(timestamp: int) -> str:
    """The plan's per-row `classify_time`."""
    hour = datetime.fromtimestamp(int(timestamp), tz=UTC).hour
    return "morning" if 5 <= hour < 12 else "afternoon" if hour < 17 else "evening" if hour < 22 else "night"


def _bounded(part: str, total: int, budget_s: float, loop: Callable[[float], int]) -> NaiveFigure:
    """Run `loop(deadline)`, which returns how many rows it did, and time it."""
    started = time.perf_counter()
    done = loop(started + budget_s)
    return _figure(part, done, started, complete=done >= total)


def naive_parse(ratings_csv: Path, scratch_dir: Path, budget_s: float = 30.0) -> NaiveFigure:
    """The plan's `parse_interactions`: iterrows over ratings.csv, one json.dumps line per rating."""
    total = _count_lines(ratings_csv)
    scratch_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=scratch_dir, prefix="naive-ratings-", suffix=".jsonl") as out:

        def loop(deadline: float) -> int:
            done = 0
            for index, row in _rows(ratings_csv, deadline):
                interaction = {
                    "interaction_id": f"int_{index}",
                    "user_id": f"user_{int(row['userId']):08d}",
                    "media_id": f"ml_{int(row['movieId'])}",
                    "timestamp": int(row["timestamp"]),
                    "interaction_type": "Rate",
                    "rating": float(row["rating"]),
                    "context": {"device": "unknown", "time_of_day": _time_of_day(row["timestamp"])},
                }
                out.write(json.dumps(interaction) + "\n")
                done += 1
            return done

        return _bounded("parse", total, budget_s, loop)


def naive_neo4j_movies(movies_csv: Path, budget_s: float = 30.0) -> NaiveFigure:
    """The plan's movie loop: one `CREATE (m:NaiveBaselineMovie {...})` per movie, each its own
    auto-commit transaction, against the platform's Neo4j; the nodes are deleted afterwards."""
    from .resources.neo4j import neo4j_resource_from_env

    resource = neo4j_resource_from_env().process_config_and_initialize()
    total = _count_lines(movies_csv)
    cleanup = f"MATCH (m:{NEO4J_LABEL}) DETACH DELETE m"
    with resource.driver() as driver, driver.session(database=resource.database) as session:
        session.run(cleanup).consume()  # leftovers of an interrupted bench

        def loop(deadline: float) -> int:
            done = 0
            for _, row in _rows(movies_csv, deadline):
                year = YEAR.search(str(row["title"]))
                session.run(
                    f"CREATE (m:{NEO4J_LABEL} {{media_id: $media_id, title: $title, year: $year, genres: $genres}})",
                    media_id=f"ml_{int(row['movieId'])}",
                    title=str(row["title"]),
                    year=int(year.group(1)) if year else None,
                    genres=str(row["genres"]).split("|"),
                ).consume()
                done += 1
            return done

        try:
            return _bounded("neo4j", total, budget_s, loop)
        finally:
            session.run(cleanup).consume()


def naive_postgres_episodes(ratings_csv: Path, budget_s: float = 30.0) -> NaiveFigure:
    """The plan's AgentDB loop: one INSERT per rating, committed one by one (autocommit), into the
    plan's `episodes` layout in a scratch schema that is dropped afterwards."""
    from .resources.postgres import postgres_resource_from_env

    resource = postgres_resource_from_env().process_config_and_initialize()
    total = _count_lines(ratings_csv)
    table = f"{PG_SCHEMA}.episodes_naive"
    with resource.connection(autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {PG_SCHEMA}")
        conn.execute(
            f"CREATE TABLE {table} (episode_id SERIAL PRIMARY KEY, user_id VARCHAR(50), state JSONB, "
            "action VARCHAR(100), reward FLOAT, next_state JSONB, timestamp TIMESTAMP)"
        )

        def loop(deadline: float) -> int:
            done = 0
            with conn.cursor() as cur:
                for _, row in _rows(ratings_csv, deadline):
                    cur.execute(
                        f"INSERT INTO {table} (user_id, state, action, reward, next_state, timestamp) "
                        "VALUES (%s, %s, %s, %s, %s, to_timestamp(%s))",
                        (
                            f"user_{int(row['userId']):08d}",
                            json.dumps({"time_of_day": _time_of_day(row["timestamp"])}),
                            f"ml_{int(row['movieId'])}",
                            (float(row["rating"]) - 2.75) / 2.25,
                            None,
                            int(row["timestamp"]),
                        ),
                    )
                    done += 1
            return done

        try:
            return _bounded("postgres", total, budget_s, loop)
        finally:
            conn.execute(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")


def _count_lines(csv: Path) -> int:
    """Data rows of a CSV (lines minus the header), counted in bulk, not parsed."""
    with open(csv, "rb") as f:
        lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b""))
    return max(lines - 1, 0)


def run_baseline(movielens_dir: Path, scratch_dir: Path, budget_s: float = 30.0) -> dict[str, NaiveFigure]:
    """The three naive parts on one release; a part that fails is reported with its error, not raised,
    so the bench run's own figures are still printed and saved."""
    parts: dict[str, Callable[[], NaiveFigure]] = {
        "parse": lambda: naive_parse(movielens_dir / "ratings.csv", scratch_dir, budget_s),
        "neo4j": lambda: naive_neo4j_movies(movielens_dir / "movies.csv", budget_s),
        "postgres": lambda: naive_postgres_episodes(movielens_dir / "ratings.csv", budget_s),
    }
    figures = {}
    for name, part in parts.items():
        print(f"baseline: naive {name} (at most {budget_s:.0f} s)", flush=True)
        try:
            figures[name] = part()
        except Exception as error:  # reported in the table and the JSON; the bench figures still count
            figures[name] = NaiveFigure(name, 0, 0.0, None, False, error=f"{type(error).__name__}: {error}")
    return figures
