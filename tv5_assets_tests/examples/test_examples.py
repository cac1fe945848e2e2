"""Each script under examples/ run as a user runs it, against the loaded test stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tv5_assets.io_managers import read_frame

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.services, pytest.mark.slow]


def run_example(name: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip(), f"{name} printed nothing"
    return done.stdout


@pytest.fixture(scope="module")
def movies(loaded_stack: Path) -> pl.DataFrame:
    return read_frame("movies", lazy=False)


def _table_rows(output: str, after: str = "") -> list[str]:
    """The data rows of the first printed table after the line containing `after`."""
    lines = output[output.index(after) :].splitlines() if after else output.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("--"))
    rows = []
    for line in lines[rule + 1 :]:
        if not line.strip():
            break
        rows.append(line)
    return rows


def test_milvus_similar_movies(movies: pl.DataFrame) -> None:
    first = movies.sort("movie_id").row(0, named=True)
    out = run_example("milvus_similar_movies.py", "--movie-id", str(first["movie_id"]), "--top", "3")
    assert first["display_title"] in out.splitlines()[0]
    rows = _table_rows(out)
    assert len(rows) == 3
    assert all(row.split()[0].startswith("ml_") and row.split()[0] != first["media_id"] for row in rows)


def test_neo4j_user_neighbourhood(loaded_stack: Path) -> None:
    ratings = read_frame("ratings", lazy=False).filter(pl.col("user_id") == 1).sort("rating", descending=True)
    out = run_example("neo4j_user_neighbourhood.py", "--user-id", "1", "--limit", "3")
    assert out.startswith("user_00000001 (")
    rated = _table_rows(out)
    assert len(rated) == min(3, ratings.height)
    assert rated[0].split()[0] in {
        f"ml_{m}" for m in ratings.filter(pl.col("rating") == ratings["rating"].max())["movie_id"]
    }
    assert _table_rows(out, "Users who rated"), "user 1 shares movies with other users in the sample"


def test_postgres_policy_episodes(loaded_stack: Path) -> None:
    out = run_example("postgres_policy_episodes.py", "--user-id", "1", "--episodes", "4")
    assert out.startswith("Policy of user_00000001: archetype ")
    assert "Best actions (genre: Q-value): " in out
    rows = _table_rows(out)
    assert len(rows) == 4 and all(" ml_" in row for row in rows)


def test_redis_trending(movies: pl.DataFrame) -> None:
    out = run_example("redis_trending.py", "--top", "5")
    assert out.startswith("Trending on ")
    rows = _table_rows(out)
    assert len(rows) == 5
    titles = set(movies["display_title"])
    assert all(row.split()[0] == str(rank) for rank, row in enumerate(rows, start=1))
    assert sum(any(t in row for t in titles) for row in rows) == 5, "each id is shown with its title"


def test_combined_recommendation(movies: pl.DataFrame) -> None:
    out = run_example("combined_recommendation.py", "--user-id", "1", "--top", "3")
    assert out.startswith("Recommendations for user_00000001 (")
    rows = _table_rows(out)
    assert 1 <= len(rows) <= 3
    seen = set(read_frame("ratings", lazy=False).filter(pl.col("user_id") == 1)["movie_id"])
    assert all(int(row.split()[0].removeprefix("ml_")) not in seen for row in rows), "rated movies are left out"


def test_missing_ids_fail_with_a_message(loaded_stack: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "postgres_policy_episodes.py"), "--user-id", "999999999"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode != 0 and "has no policy" in done.stderr
