"""What each heavy stage's engine does alone, measured right after a `tv5 bench` run on the same stack.

A stage's rate means little without the rate its engine reaches with nothing of ours around it.
Each probe feeds the engine input prepared beforehand (untimed), so only the engine's own work is
timed, on the data of the run itself where it matters:

- encoder: the same model, precision and thread count on a sample of the run's `media_text` spread
  over all text lengths (the asset encodes them length-sorted, so a plain prefix would be unfair);
- PostgreSQL COPY: rows of the run's own `agentdb.episodes`, copied out in binary once, then
  copied into an empty temporary table of the same shape (JSONB parsing included);
- Milvus insert: one pre-built insert request per batch into a scratch collection, then dropped.

The figure compared is engine rate / our rate: 1.0 means the stage runs at the engine's limit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl


@dataclass
class EngineFigure:
    stage: str  # the asset whose rate is compared
    engine: str  # what ran alone
    units: int
    seconds: float
    ours_per_s: float | None = None
    error: str = ""

    @property
    def engine_per_s(self) -> float:
        return self.units / self.seconds if self.seconds > 0 else 0.0

    @property
    def engine_over_ours(self) -> float | None:
        return round(self.engine_per_s / self.ours_per_s, 2) if self.ours_per_s else None

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "engine_per_s": round(self.engine_per_s, 1), "engine_over_ours": self.engine_over_ours}


def spread_sample(texts: list[str], count: int) -> list[str]:
    """`count` texts evenly spaced over the texts sorted by length (short, medium and long alike)."""
    if len(texts) <= count:
        return list(texts)
    by_length = sorted(texts, key=len)
    positions = np.linspace(0, len(by_length) - 1, count).round().astype(int)
    return [by_length[i] for i in positions]


def encoder_alone(media_text: Path, count: int = 2_000) -> EngineFigure:
    from .encoder.model import default_batch_size, encode_texts, load_model

    texts = spread_sample(pl.read_parquet(media_text, columns=["text"])["text"].to_list(), count)
    loaded = load_model()
    _, stats = encode_texts(loaded, texts, default_batch_size(loaded))
    return EngineFigure(
        "media_embeddings",
        f"{loaded.source.name} {loaded.device} {loaded.precision}, {loaded.threads} threads, texts/s",
        stats.texts,
        stats.seconds,
    )


def copy_alone(postgres, table: str = "episodes", rows: int = 1_000_000) -> EngineFigure:
    """COPY of the live table's own rows (binary, read out untimed) into an empty temporary twin."""
    from psycopg import sql

    with postgres.connection() as conn:
        qualified = sql.Identifier(postgres.schema_name, table)
        payload = bytearray()
        read_out = sql.SQL("COPY (SELECT * FROM {} LIMIT {}) TO STDOUT (FORMAT binary)").format(
            qualified, sql.Literal(int(rows))
        )
        with conn.cursor().copy(read_out) as out:
            for block in out:
                payload += block
        conn.execute(
            sql.SQL("CREATE TEMPORARY TABLE tv5_engine_probe (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(
                qualified
            )
        )
        started = time.perf_counter()
        with conn.cursor().copy("COPY tv5_engine_probe FROM STDIN (FORMAT binary)") as copy:
            view = memoryview(payload)
            for offset in range(0, len(view), 8 << 20):
                copy.write(view[offset : offset + (8 << 20)])
        seconds = time.perf_counter() - started
        copied = conn.execute("SELECT count(*) FROM tv5_engine_probe").fetchone()[0]
        conn.rollback()  # the temporary table goes with the transaction
    return EngineFigure(
        "agentdb_episodes", f"COPY of {table}'s own rows (binary, JSONB parsed), rows/s", int(copied), seconds
    )


def milvus_insert_alone(milvus, rows: int = 40_000, batch_rows: int = 10_000) -> EngineFigure:
    """Pre-built insert requests (random unit vectors, 384-d) into a scratch collection, then dropped."""
    from .stores.milvus.collections import VECTOR_FIELD, CollectionSpec, IndexSpec, ScalarField
    from .stores.milvus.wire import insert_request, send_insert

    spec = CollectionSpec(
        "engine_probe", "tv5 bench probe", ScalarField("id", "INT64", pl.Int64, "id"), (), IndexSpec("FLAT", {}, {})
    )
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((rows, spec.dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    frame = pl.DataFrame({"id": np.arange(rows, dtype=np.int64), VECTOR_FIELD: vectors}, schema=spec.polars_schema())
    name = milvus.collection_name(f"tv5_engine_probe_{datetime.now(UTC):%Y%m%d%H%M%S}")
    with milvus.get_client() as client:
        client.create_collection(name, schema=spec.milvus_schema())
        try:
            requests = [insert_request(name, spec, frame.slice(o, batch_rows)) for o in range(0, rows, batch_rows)]
            started = time.perf_counter()
            inserted = sum(send_insert(client, request) for request in requests)
            seconds = time.perf_counter() - started
        finally:
            client.drop_collection(name)
    return EngineFigure("milvus_user_collection", "Milvus insert of pre-built requests, rows/s", inserted, seconds)


# stage -> the metadata key of our own rate in that asset's materialization
OURS = {
    "media_embeddings": "texts_per_second",
    "agentdb_episodes": "copy_rows_per_second",
    "milvus_user_collection": "insert_rows_per_second",
}


def measure(
    probes: list[tuple[str, Callable[[], EngineFigure]]], ours: dict[str, dict[str, float]], log=print
) -> list[EngineFigure]:
    """Run every probe (a failing probe is recorded, not fatal) and attach our rate from the run."""
    figures = []
    for stage, probe in probes:
        log(f"engine limits: {stage} alone")
        try:
            figure = probe()
        except Exception as error:  # a probe is a measurement: report it and go on
            figure = EngineFigure(stage, "failed", 0, 0.0, error=f"{type(error).__name__}: {error}")
        figure.ours_per_s = ours.get(stage, {}).get(OURS[stage])
        figures.append(figure)
    return figures


def format_limits(figures: list[EngineFigure]) -> str:
    lines = [
        "each heavy stage against its engine alone (same stack, right after the run):",
        f"  {'stage':<24} {'ours /s':>11} {'engine /s':>11} {'engine/ours':>12}  engine",
    ]
    for f in figures:
        if f.error:
            lines.append(f"  {f.stage:<24} probe failed: {f.error}")
            continue
        ours = f"{f.ours_per_s:,.0f}" if f.ours_per_s else "-"
        ratio = f"{f.engine_over_ours:.2f}x" if f.engine_over_ours is not None else "-"
        lines.append(f"  {f.stage:<24} {ours:>11} {f.engine_per_s:>11,.0f} {ratio:>12}  {f.engine}")
    return "\n".join(lines)
