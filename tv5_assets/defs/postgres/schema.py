"""The AgentDB tables, defined once with SQLAlchemy Core; all DDL the loads run derives from here.

- `policies`: one row per user; the user's tabular Q-values over the action space (genres, see
  `episodes.ACTION_SPACE`), exploration rate and visit count. `state_hash` stays NULL until the
  online agent has visited a state (`total_visits` = 0 at initialisation).
- `episodes`: one row per rating, as a reinforcement-learning transition
  (state, action, reward, next_state) in the user's time order; `next_state` is NULL and
  `is_terminal` true on the user's last rating.

The loads never ALTER these tables in place: they create a staging copy (`staging_table`),
COPY into it, add the primary key and indexes (`keys_ddl`), then, in one transaction, drop the
live table and rename the staging one into its place (`rename_ddl`); see loader.py.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine.interfaces import Dialect

# `metadata`, `policies`, `episodes` and `TABLES` are built on first use (module __getattr__ below):
# the defs folder imports every module when the code location loads, and SQLAlchemy is imported
# only by the steps that talk to PostgreSQL, so the code location starts fast.
_MODEL_NAMES = ("metadata", "policies", "episodes", "TABLES")


def __getattr__(name: str) -> Any:
    if name in _MODEL_NAMES:
        return _model()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def IdString(length: int) -> sa.String:  # noqa: N802 - reads like a type in the Column lists
    """Ids are ASCII codes (user_00000042, ml_42): the "C" collation compares them bytewise, their
    natural order, and makes the index builds after a load much cheaper than a locale collation."""
    import sqlalchemy as sa

    return sa.String(length, collation="C")


def _policies(metadata: sa.MetaData) -> sa.Table:
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    policies = sa.Table(
        "policies",
        metadata,
        sa.Column("user_id", IdString(16), primary_key=True, comment="user_{userId:08d}"),
        sa.Column(
            "state_hash",
            sa.String(64),
            nullable=True,
            comment="SHA-256 of the last visited state; NULL before any visit",
        ),
        sa.Column("q_values", postgresql.JSONB, nullable=False, comment="{genre: Q-value} over ACTION_SPACE"),
        sa.Column("exploration_rate", sa.REAL, nullable=False, comment="epsilon of the epsilon-greedy policy"),
        sa.Column("total_visits", sa.Integer, nullable=False),
        sa.Column(
            "archetype",
            sa.String(32),
            nullable=False,
            comment="the profile archetype the Q-values were initialised from",
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            nullable=False,
            comment="as-of time of the data the policy reflects (the user's latest rating at initialisation)",
        ),
        comment="Per-user RL policies (tabular Q-values over genres).",
    )
    sa.Index("policies_archetype_idx", policies.c.archetype)
    return policies


def _episodes(metadata: sa.MetaData) -> sa.Table:
    import sqlalchemy as sa
    from sqlalchemy.dialects import postgresql

    episodes = sa.Table(
        "episodes",
        metadata,
        sa.Column(
            "episode_id", sa.BigInteger, primary_key=True, autoincrement=False, comment="1..N in (user, time) order"
        ),
        sa.Column("user_id", IdString(16), nullable=False, comment="user_{userId:08d}"),
        sa.Column("step", sa.Integer, nullable=False, comment="0-based position in the user's history"),
        sa.Column("timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_of_day", sa.String(16), nullable=False),
        sa.Column("action", IdString(32), nullable=False, comment="media id of the rated movie (ml_{movieId})"),
        sa.Column("rating", sa.REAL, nullable=False, comment="stars 0.5..5.0"),
        sa.Column("reward", sa.REAL, nullable=False, comment="(rating - 2.75) / 2.25, in [-1, 1]"),
        sa.Column("state", postgresql.JSONB, nullable=False, comment="{step, time_of_day, recent_genres}"),
        sa.Column("next_state", postgresql.JSONB, nullable=True, comment="state at step + 1; NULL when terminal"),
        sa.Column("is_terminal", sa.Boolean, nullable=False, comment="the user's last rating"),
        comment="RL transitions derived from the ratings, one per rating.",
    )
    # A user's history in time order ("last 10 episodes of a user"), and the episodes of one movie.
    sa.Index("episodes_user_id_timestamp_idx", episodes.c.user_id, episodes.c.timestamp)
    sa.Index("episodes_action_idx", episodes.c.action)
    return episodes


@cache
def _model() -> dict[str, Any]:
    import sqlalchemy as sa

    metadata = sa.MetaData()
    policies, episodes = _policies(metadata), _episodes(metadata)
    tables: dict[str, sa.Table] = {"policies": policies, "episodes": episodes}
    return {"metadata": metadata, "policies": policies, "episodes": episodes, "TABLES": tables}


@cache
def _dialect() -> Dialect:
    from sqlalchemy.dialects import postgresql

    return postgresql.dialect()


def column_rows(table: sa.Table) -> list[dict]:
    """The table's columns as the assets' column_schemas.json holds them (types as PostgreSQL spells them)."""
    return [
        {
            "name": column.name,
            "type": column.type.compile(dialect=_dialect()),
            "description": column.comment,
            "nullable": column.nullable,
            "unique": column.primary_key,
        }
        for column in table.columns
    ]


def _compile(element: sa.schema.ExecutableDDLElement | sa.sql.ClauseElement) -> str:
    return str(element.compile(dialect=_dialect())).strip()


def _quote(identifier: str) -> str:
    return _dialect().identifier_preparer.quote(identifier)


def _literal(text: str) -> str:
    """A SQL string literal (standard_conforming_strings is on since PostgreSQL 9.1)."""
    return "'" + text.replace("'", "''") + "'"


def quoted(identifier: str) -> str:
    """An identifier quoted for PostgreSQL where needed (schema names from config, for example)."""
    return _quote(identifier)


def qualified(schema: str, name: str) -> str:
    return f"{_quote(schema)}.{_quote(name)}"


def staging_table(
    table: sa.Table, schema: str, staging_name: str, check: str | None = None, partition_by: str | None = None
) -> sa.Table:
    """The table's columns (types and NOT NULL) without keys or indexes, under another name.

    `check` adds a CHECK constraint (a partition's key range, so ATTACH PARTITION needs no scan);
    `partition_by` makes it a partitioned parent, e.g. "RANGE (episode_id)".
    """
    import sqlalchemy as sa

    extras: list[sa.SchemaItem] = []
    if check:
        extras.append(sa.CheckConstraint(sa.text(check), name=f"{staging_name}_range"))
    kwargs = {"postgresql_partition_by": partition_by} if partition_by else {}
    return sa.Table(
        staging_name,
        sa.MetaData(schema=schema),
        *(sa.Column(c.name, c.type, nullable=c.nullable) for c in table.columns),
        *extras,
        **kwargs,
    )


def create_staging_ddl(
    table: sa.Table, schema: str, staging_name: str, check: str | None = None, partition_by: str | None = None
) -> str:
    import sqlalchemy as sa

    return _compile(sa.schema.CreateTable(staging_table(table, schema, staging_name, check, partition_by)))


def _index_suffix(table: sa.Table, index_name: str) -> str:
    prefix = f"{table.name}_"
    if not index_name.startswith(prefix):
        raise ValueError(f"index {index_name} of table {table.name} must start with '{prefix}'")
    return index_name[len(prefix) :]


def keys_ddl(table: sa.Table, schema: str, target_name: str) -> list[tuple[str, str]]:
    """(label, statement) adding the table's primary key and indexes to `target_name`, named after it.

    On a partitioned parent the same statements attach the partitions' matching keys and indexes
    instead of building new ones.
    """
    import sqlalchemy as sa

    target = qualified(schema, target_name)
    pk_columns = ", ".join(_quote(c.name) for c in table.primary_key.columns)
    statements = [
        (
            "primary key",
            f"ALTER TABLE {target} ADD CONSTRAINT {_quote(target_name + '_pkey')} PRIMARY KEY ({pk_columns})",
        )
    ]
    staged = staging_table(table, schema, target_name)
    for index in sorted(table.indexes, key=lambda i: i.name):
        name = f"{target_name}_{_index_suffix(table, index.name)}"
        copy = sa.Index(name, *(staged.c[c.name] for c in index.columns), unique=index.unique)
        statements.append((index.name, _compile(sa.schema.CreateIndex(copy))))
    return statements


def rename_ddl(table: sa.Table, schema: str, from_name: str, to_name: str) -> list[str]:
    """Rename a table built by `keys_ddl` under `from_name`, and its key and indexes, to `to_name`."""
    statements = [
        f"ALTER TABLE {qualified(schema, from_name)} RENAME TO {_quote(to_name)}",
        f"ALTER TABLE {qualified(schema, to_name)} RENAME CONSTRAINT {_quote(from_name + '_pkey')} "
        f"TO {_quote(to_name + '_pkey')}",
    ]
    for index in sorted(table.indexes, key=lambda i: i.name):
        suffix = _index_suffix(table, index.name)
        statements.append(
            f"ALTER INDEX {qualified(schema, f'{from_name}_{suffix}')} RENAME TO {_quote(f'{to_name}_{suffix}')}"
        )
    return statements


def comments_ddl(table: sa.Table, schema: str, target_name: str) -> list[str]:
    """COMMENT statements carrying the model's table and column comments to the database."""
    target = qualified(schema, target_name)
    statements = [
        f"COMMENT ON COLUMN {target}.{_quote(column.name)} IS {_literal(column.comment)}"
        for column in table.columns
        if column.comment
    ]
    if table.comment:
        statements.append(f"COMMENT ON TABLE {target} IS {_literal(table.comment)}")
    return statements


def staging_name(table: sa.Table, tag: str) -> str:
    """`episodes__staging_<tag>`: never collides with live names, easy to sweep after a crash."""
    return f"{table.name}{STAGING_INFIX}{tag}"


STAGING_INFIX = "__staging_"
