"""Group `postgres`: the AgentDB (reinforcement-learning policies and episodes) in PostgreSQL.

Tables are defined in schema.py (SQLAlchemy Core), rows are computed in transitions.py (polars)
and loaded by loader.py and partitioned_load.py (staging table, binary COPY, keys after the load,
one-transaction swap).
Each asset returns a MaterializeResult: the data lives in PostgreSQL, in `<schema_name>.<table>`.
"""

import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import polars as pl
from pydantic import Field

from ...conventions import CPU_HEAVY
from ...partitions import UserRange, context_range, user_partitions_def
from ...resources.postgres import PostgresResource
from ...store_load import POSTGRES, run_tag, store_asset, store_errors
from .transitions import (
    ACTION_SPACE,
    DEFAULT_EXPLORATION_RATE,
    build_episodes,
    build_policies,
    movie_genre_masks,
    user_chunks,
)

if TYPE_CHECKING:
    from .loader import LoadReport
    from .partitioned_load import PartitionSpec

# The tables' Dagster column schemas, written once from schema.py by `schema.column_rows` (a test checks
# that they still match and rewrites them with TV5_UPDATE_SNAPSHOTS=1): the asset definitions need
# them when the code location loads, and SQLAlchemy (schema.py, loader.py) is imported only by the
# steps that use it, so the code location starts fast.
COLUMN_SCHEMAS = Path(__file__).with_name("column_schemas.json")


class PoliciesConfig(dg.Config):
    exploration_rate: float = Field(
        default=DEFAULT_EXPLORATION_RATE, ge=0.0, le=1.0, description="Initial epsilon of every user's policy."
    )
    batch_rows: int = Field(default=100_000, ge=1, description="Rows per COPY batch.")


class EpisodesConfig(dg.Config):
    batch_ratings: int = Field(
        default=1_000_000,
        ge=1,
        description="Ratings per batch: users are processed in chunks of about this many ratings (a user is "
        "never split), which bounds memory at full scale.",
    )
    load_workers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Parallel COPY connections, one per range partition of the new table. PostgreSQL parses "
        "COPY input on one core per connection; more workers than server cores does not help.",
    )


@functools.cache
def _column_schemas() -> dict[str, list[dict]]:
    return json.loads(COLUMN_SCHEMAS.read_text())


def column_schema(table_name: str) -> dg.TableSchema:
    """The Dagster column schema of an AgentDB table, from COLUMN_SCHEMAS (no SQLAlchemy needed)."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column["name"],
                type=column["type"],
                description=column["description"],
                constraints=dg.TableColumnConstraints(nullable=column["nullable"], unique=column["unique"]),
            )
            for column in _column_schemas()[table_name]
        ]
    )


def _load_errors(postgres: PostgresResource, table: str):
    """store_errors for a load of `table` (connection trouble is retried, anything else fails once)."""
    return store_errors(POSTGRES, postgres.address, f"loading {postgres.schema_name}.{table}", postgres.unavailable)


def _metadata(report: "LoadReport", postgres: PostgresResource) -> dict:
    return {
        "dagster/row_count": report.rows,
        **report.metadata(),
        "table": report.table,
        "postgres_address": postgres.address,
        "index_build_breakdown_seconds": dg.MetadataValue.json(
            {label: round(seconds, 3) for label, seconds in report.index_breakdown.items()}
        ),
    }


@store_asset(
    POSTGRES,
    code_version="1",
    description=(
        "AgentDB `policies`: one row per user profile with tabular Q-values over the 19 MovieLens genres "
        f"({', '.join(ACTION_SPACE)}), initialised from the user's archetype (transitions.ARCHETYPE_PRIORS), "
        "exploration rate 0.1 and 0 visits; `updated_at` is the user's latest rating, so a reload of the same "
        "inputs writes the same rows. Loaded with binary COPY into a staging table and swapped in atomically."
    ),
    metadata={"dagster/column_schema": column_schema("policies"), "dagster/table_name": "agentdb.policies"},
)
def agentdb_policies(
    context: dg.AssetExecutionContext,
    config: PoliciesConfig,
    postgres: PostgresResource,
    user_profiles: pl.LazyFrame,
    ratings: pl.LazyFrame,
) -> dg.MaterializeResult:
    from . import schema as model
    from .loader import load_table

    policies = build_policies(user_profiles, ratings, config.exploration_rate).collect()
    missing = policies.filter(pl.col("updated_at").is_null())
    if missing.height:
        raise dg.Failure(
            description=(
                f"{missing.height} user profile(s) have no ratings (first: {missing['user_id'][0]}); user_profiles "
                "must hold exactly the users present in ratings. Re-materialize user_profiles from the same ratings."
            ),
            allow_retries=False,
        )

    def batches() -> Iterator[pl.DataFrame]:
        yield from policies.iter_slices(config.batch_rows)

    with _load_errors(postgres, "policies"):
        report = load_table(postgres.connect, model.policies, postgres.schema_name, batches(), run_tag(context))
    context.log.info(
        f"policies: {report.rows:,} rows in {report.seconds:.2f} s ({report.rows_per_second:,.0f} rows/s) "
        f"into {report.table} at {postgres.address}"
    )
    return dg.MaterializeResult(metadata=_metadata(report, postgres))


def episode_partitions(
    ratings: pl.LazyFrame, movies: pl.LazyFrame, batch_ratings: int, workers: int
) -> tuple[list["PartitionSpec"], int]:
    """Range partitions of episode ids, each with the user chunks whose episodes it holds."""
    from .partitioned_load import PartitionSpec, split_contiguous

    chunks = user_chunks(ratings, batch_ratings)
    masks = movie_genre_masks(movies).collect().lazy()
    rows = chunks["rows"].to_list()
    plan = chunks.to_dicts()

    def batches_for(selection: list[dict]) -> Callable[[], Iterator[pl.DataFrame]]:
        def produce() -> Iterator[pl.DataFrame]:
            for chunk in selection:
                users = ratings.filter(pl.col("user_id").is_between(chunk["first_user"], chunk["last_user"]))
                yield build_episodes(users, masks, int(chunk["first_episode_id"])).collect()

        return produce

    runs = split_contiguous(rows, workers)
    if not runs:
        return [PartitionSpec(None, None, lambda: iter(()))], 0
    specs = []
    for k, run in enumerate(runs):
        lower = None if k == 0 else int(plan[run.start]["first_episode_id"])
        upper = None if k == len(runs) - 1 else int(plan[runs[k + 1].start]["first_episode_id"])
        specs.append(PartitionSpec(lower, upper, batches_for([plan[i] for i in run])))
    return specs, len(plan)


@store_asset(
    POSTGRES,
    code_version="1",
    op_tags=CPU_HEAVY,
    description=(
        "AgentDB `episodes`: every rating as an RL transition in the user's time order. state = {step, "
        "time_of_day, recent_genres (genres of the previous 3 rated movies)}, action = the movie's media id, "
        "reward = (rating - 2.75) / 2.25 in [-1, 1], next_state = the following state (NULL on the last rating). "
        "Built with polars window logic in chunks of users, loaded with parallel binary COPY into range "
        "partitions of a staging table, indexed after the load and swapped in within one transaction. With "
        "TV5_USER_PARTITIONS set, partitioned by user-id range: a partition deletes its users' rows and COPYs "
        "them again in one transaction."
    ),
    metadata={"dagster/column_schema": column_schema("episodes"), "dagster/table_name": "agentdb.episodes"},
    partitions_def=user_partitions_def(),
)
def agentdb_episodes(
    context: dg.AssetExecutionContext,
    config: EpisodesConfig,
    postgres: PostgresResource,
    ratings: pl.LazyFrame,
    movies: pl.LazyFrame,
) -> dg.MaterializeResult:
    from . import schema as model
    from .partitioned_load import load_partitioned

    users = context_range(context)
    if users is not None:
        return _load_episode_range(context, config, postgres, ratings, movies, users)
    specs, chunk_count = episode_partitions(ratings, movies, config.batch_ratings, config.load_workers)
    context.log.info(f"episodes: {chunk_count} user chunk(s) in {len(specs)} partition(s)")
    with _load_errors(postgres, "episodes"):
        report = load_partitioned(postgres.connect, model.episodes, postgres.schema_name, specs, run_tag(context))
    context.log.info(
        f"episodes: {report.rows:,} rows in {report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s; COPY "
        f"phase {report.copy_rows_per_second:,.0f} rows/s, index builds {report.index_seconds:.1f} s summed over "
        f"partitions) into {report.table} at {postgres.address}"
    )
    return dg.MaterializeResult(metadata=_metadata(report, postgres))


def episode_range_batches(
    ratings: pl.LazyFrame, movies: pl.LazyFrame, users: UserRange, batch_ratings: int
) -> tuple[Iterator[pl.DataFrame], int]:
    """The episodes of one user range, in chunks of whole users, numbered as in the whole table:
    episode ids continue after every rating of the users below the range."""
    before = ratings.filter(pl.col("user_id") < users.first).select(pl.len()).collect().item()
    in_range = ratings.filter(users.contains_expr())
    chunks = user_chunks(in_range, batch_ratings)
    masks = movie_genre_masks(movies).collect().lazy()

    def produce() -> Iterator[pl.DataFrame]:
        for chunk in chunks.iter_rows(named=True):
            chunk_users = in_range.filter(pl.col("user_id").is_between(chunk["first_user"], chunk["last_user"]))
            yield build_episodes(chunk_users, masks, before + int(chunk["first_episode_id"])).collect()

    return produce(), chunks.height


def _load_episode_range(
    context: dg.AssetExecutionContext,
    config: EpisodesConfig,
    postgres: PostgresResource,
    ratings: pl.LazyFrame,
    movies: pl.LazyFrame,
    users: UserRange,
) -> dg.MaterializeResult:
    """One partition: the range's rows replaced in one transaction (loader.load_user_range)."""
    from . import schema as model
    from .loader import load_user_range

    batches, chunk_count = episode_range_batches(ratings, movies, users, config.batch_ratings)
    context.log.info(f"episodes, partition {context.partition_key} ({users.describe()}): {chunk_count} chunk(s)")
    first, last = users.key_bounds()
    with _load_errors(postgres, "episodes"):
        report = load_user_range(postgres.connect, model.episodes, postgres.schema_name, batches, first, last)
    context.log.info(
        f"episodes: replaced {report.deleted_rows:,} rows of {users.describe()} by {report.rows:,} in "
        f"{report.seconds:.1f} s ({report.rows_per_second:,.0f} rows/s) in {report.table} at {postgres.address}"
    )
    return dg.MaterializeResult(
        metadata={**_metadata(report, postgres), "deleted_rows": report.deleted_rows, "user_range": users.describe()}
    )


ASSETS = [agentdb_policies, agentdb_episodes]
