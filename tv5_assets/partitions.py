"""User-id range partitions: the deployment mode for more than one machine (docs/deployment.md, "Partitions").

Off by default: one machine runs the assets unpartitioned, as before. Setting
`TV5_USER_PARTITIONS` gives the assets that grow with users (`user_embeddings`, `agentdb_episodes`,
`neo4j_ratings`, `milvus_user_collection`) a `StaticPartitionsDefinition` of MovieLens user-id
ranges, so a backfill fans the ranges out (to pods with `k8s_job_executor`) and each partition
loads exactly its users into the stores:

    TV5_USER_PARTITIONS=4x40000            4 ranges of 40,000 ids from 1; the last is open-ended
    TV5_USER_PARTITIONS=1-50000,50001-     explicit inclusive ranges; contiguous from 1, last open

Keys name their range, zero-padded so they sort as numbers: `users-000001-040000`, and
`users-120001-up` for the open-ended last range. They depend only on the setting (never on the
data), so the same setting gives the same keys on every deployment and across releases.

Nothing here touches polars: the definitions read it at import time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import dagster as dg

ENV_VAR = "TV5_USER_PARTITIONS"
KEY_PREFIX = "users-"
OPEN_END = "up"
MIN_DIGITS = 6
_OFF = {"", "0", "off", "none", "false"}


class PartitionSettingError(ValueError):
    """TV5_USER_PARTITIONS cannot be read; the message says what is accepted."""


@dataclass(frozen=True)
class UserRange:
    """MovieLens user ids first..last inclusive; last None = no upper bound."""

    first: int
    last: int | None

    def key(self, digits: int = MIN_DIGITS) -> str:
        upper = OPEN_END if self.last is None else f"{self.last:0{digits}d}"
        return f"{KEY_PREFIX}{self.first:0{digits}d}-{upper}"

    def contains_expr(self, column: str = "user_id"):
        """A polars predicate on an integer user-id column (imported lazily: never at import time)."""
        import polars as pl

        lower = pl.col(column) >= self.first
        return lower if self.last is None else lower & (pl.col(column) <= self.last)

    def key_bounds(self) -> tuple[str, str | None]:
        """The range as `user_{id:08d}` keys (the stores' user ids; they sort as the numbers)."""
        return user_key(self.first), None if self.last is None else user_key(self.last)

    def describe(self) -> str:
        return f"user ids {self.first}..{'' if self.last is None else self.last}"


def user_key(user_id: int) -> str:
    return f"user_{int(user_id):08d}"


_KEY = re.compile(rf"^{KEY_PREFIX}(\d+)-(\d+|{OPEN_END})$")
_GRID = re.compile(r"^(\d+)\s*x\s*(\d+)$")
_RANGE = re.compile(r"^(\d+)\s*-\s*(\d*)$")


def parse_ranges(text: str) -> list[UserRange] | None:
    """The setting as ranges, or None when partitioning is off (see the module docstring)."""
    text = (text or "").strip()
    if text.lower() in _OFF:
        return None
    grid = _GRID.match(text)
    if grid:
        count, width = int(grid.group(1)), int(grid.group(2))
        if count < 1 or width < 1:
            raise PartitionSettingError(f"{ENV_VAR}={text!r}: count and width must be at least 1")
        return [UserRange(1 + k * width, None if k == count - 1 else (k + 1) * width) for k in range(count)]
    ranges = []
    for part in text.split(","):
        match = _RANGE.match(part.strip())
        if not match:
            raise PartitionSettingError(
                f"{ENV_VAR}={text!r}: {part.strip()!r} is not a range. Use COUNTxWIDTH (for example 4x40000) "
                "or inclusive ranges like 1-50000,50001- (contiguous from 1, the last open-ended)."
            )
        ranges.append(UserRange(int(match.group(1)), int(match.group(2)) if match.group(2) else None))
    _validate(text, ranges)
    return ranges


def _validate(text: str, ranges: list[UserRange]) -> None:
    problem = None
    if ranges[0].first != 1:
        problem = "the first range must start at user id 1"
    elif ranges[-1].last is not None:
        problem = f"the last range must be open-ended ('{ranges[-1].first}-'), so every user has a partition"
    else:
        for left, right in zip(ranges, ranges[1:]):
            if left.last is None or left.last < left.first or right.first != left.last + 1:
                problem = f"ranges must be contiguous and ordered: {left.describe()} then {right.describe()}"
                break
    if problem:
        raise PartitionSettingError(f"{ENV_VAR}={text!r}: {problem}")


def key_digits(ranges: list[UserRange]) -> int:
    largest = max(max(r.first, r.last or 0) for r in ranges)
    return max(MIN_DIGITS, len(str(largest)))


def configured_ranges() -> list[UserRange] | None:
    return parse_ranges(os.environ.get(ENV_VAR, ""))


def user_partitions_def() -> dg.StaticPartitionsDefinition | None:
    """The partitions of the user-growing assets, or None (the default: unpartitioned)."""
    ranges = configured_ranges()
    if ranges is None:
        return None
    digits = key_digits(ranges)
    return dg.StaticPartitionsDefinition([r.key(digits) for r in ranges])


def range_of(partition_key: str) -> UserRange:
    """The user range a key names (`users-000001-040000` -> 1..40000)."""
    match = _KEY.match(partition_key)
    if not match:
        raise PartitionSettingError(f"{partition_key!r} is not a user-range partition key (users-FIRST-LAST)")
    last = match.group(2)
    return UserRange(int(match.group(1)), None if last == OPEN_END else int(last))


def context_range(context) -> UserRange | None:
    """The run's user range for an asset or check context, or None on the unpartitioned path.

    With partitions configured, a run without a partition key is refused: Dagster would run the
    asset whole, and its whole output would sit beside (and disagree with) the per-range ones."""
    if context.has_partition_key:
        return range_of(context.partition_key)
    if configured_ranges() is not None:
        raise dg.Failure(
            description=f"{ENV_VAR} is set, so this asset is partitioned by user-id range, but the run has no "
            "partition key. Materialize its partitions (a backfill in the UI, `dagster job backfill -j "
            "user_partitions --all`, or `--partition <key>`), or unset the variable for an unpartitioned run.",
            allow_retries=False,
        )
    return None
