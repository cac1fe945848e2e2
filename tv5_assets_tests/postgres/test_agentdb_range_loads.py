"""User-range loads of agentdb.episodes (the partitioned deployment) against the real PostgreSQL:
two ranges load side by side, a reader sees a range's old rows until its load commits, a failed load
leaves the range as it was, and other ranges are never touched."""

import threading

import polars as pl
import pytest

from tv5_assets.defs.postgres import loader
from tv5_assets.defs.postgres import schema as model
from tv5_assets.defs.postgres.assets import episode_range_batches
from tv5_assets.partitions import UserRange

pytestmark = pytest.mark.services

LOW, HIGH = UserRange(1, 15), UserRange(16, None)


def _batches(inputs, users: UserRange) -> list[pl.DataFrame]:
    batches, _ = episode_range_batches(inputs.ratings.lazy(), inputs.movies.lazy(), users, batch_ratings=100)
    return list(batches)


def _load(resource, batches, users: UserRange) -> loader.LoadReport:
    first, last = users.key_bounds()
    return loader.load_user_range(resource.connect, model.episodes, resource.schema_name, iter(batches), first, last)


def _rows(resource, users: UserRange | None = None) -> list[tuple]:
    where, params = "TRUE", []
    if users is not None:
        first, last = users.key_bounds()
        where, params = ("user_id >= %s", [first]) if last is None else ("user_id BETWEEN %s AND %s", [first, last])
    table = model.qualified(resource.schema_name, "episodes")
    with resource.connection(autocommit=True) as conn:
        return conn.execute(
            f"SELECT episode_id, user_id, step, reward, state::text FROM {table} WHERE {where} ORDER BY episode_id",
            params,
        ).fetchall()


@pytest.fixture
def loaded(postgres_resource, agentdb_inputs):
    """Both ranges loaded once (the table created by the first range load)."""
    with postgres_resource.connection(autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {model.qualified(postgres_resource.schema_name, 'episodes')}")
    _load(postgres_resource, _batches(agentdb_inputs, LOW), LOW)
    _load(postgres_resource, _batches(agentdb_inputs, HIGH), HIGH)
    return _rows(postgres_resource)


def test_ranges_together_equal_the_whole_table(postgres_resource, agentdb_inputs, loaded) -> None:
    assert len(loaded) == agentdb_inputs.ratings.height
    assert [r[0] for r in loaded] == list(range(1, len(loaded) + 1))


def test_ranges_load_side_by_side_and_readers_see_old_rows_until_commit(postgres_resource, agentdb_inputs, loaded):
    low_before = _rows(postgres_resource, LOW)
    paused, release = threading.Event(), threading.Event()
    seen_while_paused: list = []
    errors: list[BaseException] = []

    def slow_low_batches():
        batches = _batches(agentdb_inputs, LOW)
        yield batches[0]  # the range is deleted and one batch is in; the transaction is open
        paused.set()
        if not release.wait(120):
            raise TimeoutError("the other range's load never finished: range loads blocked each other")
        yield from batches[1:]

    def run_low() -> None:
        try:
            _load(postgres_resource, slow_low_batches(), LOW)
        except BaseException as error:  # reported below
            errors.append(error)

    worker = threading.Thread(target=run_low)
    worker.start()
    assert paused.wait(120)
    seen_while_paused.extend(_rows(postgres_resource, LOW))
    _load(postgres_resource, _batches(agentdb_inputs, HIGH), HIGH)  # must not wait for the low range
    release.set()
    worker.join(180)
    assert not errors, errors
    assert seen_while_paused == low_before
    assert _rows(postgres_resource) == loaded


def test_failed_range_load_leaves_the_range_and_the_others_unchanged(postgres_resource, agentdb_inputs, loaded):
    def failing():
        batches = _batches(agentdb_inputs, HIGH)
        yield batches[0]
        raise RuntimeError("upstream broke half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        _load(postgres_resource, failing(), HIGH)
    assert _rows(postgres_resource) == loaded
    report = _load(postgres_resource, _batches(agentdb_inputs, HIGH), HIGH)
    assert report.deleted_rows == report.rows == len(_rows(postgres_resource, HIGH))
    assert _rows(postgres_resource) == loaded
