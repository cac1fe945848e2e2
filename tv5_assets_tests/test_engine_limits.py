"""`tv5 bench`'s engine probes: the sampling, the ratios and failure reporting. The probes against the
real engines are tested beside their stores (postgres/test_postgres_engine_probe.py,
milvus/test_milvus_engine_probe.py)."""

from __future__ import annotations

from tv5_assets.engine_limits import EngineFigure, format_limits, measure, spread_sample


def test_spread_sample_covers_every_length_and_keeps_small_inputs() -> None:
    texts = [("x" * n) for n in range(1, 101)]
    sample = spread_sample(list(reversed(texts)), 5)
    assert [len(t) for t in sample] == [1, 26, 51, 75, 100]  # positions 0, 25, 50, 74, 99 of the sorted texts
    assert spread_sample(texts[:3], 5) == texts[:3]


def test_probes_are_compared_with_the_run_and_a_failing_probe_is_reported() -> None:
    def broken() -> EngineFigure:
        raise RuntimeError("server went away")

    figures = measure(
        [
            ("media_embeddings", lambda: EngineFigure("media_embeddings", "encoder alone", 600, 2.0)),
            ("agentdb_episodes", broken),
        ],
        ours={"media_embeddings": {"texts_per_second": 150.0}},
        log=lambda _: None,
    )
    assert figures[0].engine_per_s == 300.0 and figures[0].engine_over_ours == 2.0
    assert figures[1].error == "RuntimeError: server went away" and figures[1].ours_per_s is None
    text = format_limits(figures)
    assert "2.00x" in text and "probe failed: RuntimeError: server went away" in text
