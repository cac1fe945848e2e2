"""Idempotency: materializing the graph twice gives byte-identical files and identical store contents.

On the private stack (fault_stack.py): the whole graph is materialized, every file the assets wrote
under TV5_DATA_DIR (Parquet, .npy, JSONL, CSV, the data dictionary) is hashed together with each
store's content digest (store_hashes.py), then the graph is materialized again and everything is
compared. Every check must pass in both runs, with the same outcome per check.

Quick part (CI): every asset except `store_backups` and `query_benchmarks` (the backup stops the
private Neo4j for its dump, the benchmarks only time queries; neither writes data an asset reads).
`-m soak`: the whole graph, `*`.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from pathlib import Path

import dagster as dg
import fault_stack
import pytest
from store_hashes import file_digests

pytestmark = [pytest.mark.services, pytest.mark.slow]

QUICK = "* and not key:store_backups and not key:query_benchmarks"


def check_outcomes(instance: dg.DagsterInstance, run_id: str) -> dict[str, bool]:
    """check name (asset:check) -> passed, for every check evaluated in the run."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    out = {}
    for record in records:
        data = record.event_log_entry.dagster_event.event_specific_data
        out[f"{data.asset_key.to_user_string()}:{data.check_name}"] = bool(data.passed)
    return out


def _quality_without_timings(path: Path) -> str:
    import polars as pl

    return pl.read_parquet(path).drop("seconds").write_csv()


def _dictionary_without_version_names(path: Path) -> str:
    return re.sub(r"__v\d{8}_\d{6}_\d{6}", "__v<load time>", path.read_text())


# The two files that record facts which differ by design between two runs of the same inputs,
# compared without them (every other byte must match): wall-clock seconds per method in the quality
# report, and the name of the Milvus collection version each alias serves (a new version per load,
# named by its UTC time: blue/green needs a name beside the live one).
MEASURED = {
    "assets/recommendation_quality.parquet": _quality_without_timings,
    "docs/data_dictionary.md": _dictionary_without_version_names,
}


def snapshot(stack) -> dict[str, str]:
    """Every asset file's sha256 and every store's digest (counts and content hash)."""
    state = file_digests(stack.root)
    for name, normalise in MEASURED.items():
        if name in state:
            text = normalise(stack.root / name)
            state[name] = hashlib.sha256(text.encode()).hexdigest()
            state[f"text:{name}"] = text
    for store in fault_stack.STORES:
        digest = fault_stack.digest(store)
        assert digest.staging == [], f"{store}: staging objects left after a successful run: {digest.staging}"
        state[f"store:{store}"] = f"{sorted(digest.counts.items())} {digest.sha256}"
    return state


def materialize_twice(stack, instance, selection: str) -> tuple[dict, dict, dict, dict]:
    first = fault_stack.run(instance, selection)
    assert first.success, fault_stack.step_failures(instance, first.run_id)
    before = snapshot(stack)
    second = fault_stack.run(instance, selection)
    assert second.success, fault_stack.step_failures(instance, second.run_id)
    after = snapshot(stack)
    return before, after, check_outcomes(instance, first.run_id), check_outcomes(instance, second.run_id)


# Known to differ beyond the measured facts above (open, see docs/reliability.md): the data
# dictionary (its "Generated" minute, and row counts read from the previous runs). Any other file or
# store that differs fails the test.
KNOWN_DIFFERENT = frozenset({"docs/data_dictionary.md"})


def assert_identical(before: dict, after: dict, checks_first: dict, checks_second: dict) -> None:
    texts = {k for k in before.keys() | after.keys() if k.startswith("text:")}
    changed = sorted(k for k in (before.keys() | after.keys()) - texts if before.get(k) != after.get(k))
    for key in sorted(texts):
        if before.get(key) != after.get(key):
            diff = difflib.unified_diff(before.get(key, "").splitlines(), after.get(key, "").splitlines(), lineterm="")
            print(f"\n{key[5:]} differs:\n" + "\n".join(list(diff)[:40]))
    unexpected = [k for k in changed if k not in KNOWN_DIFFERENT]
    assert unexpected == [], (
        f"{len(unexpected)} file(s)/store(s) differ between two materializations: {unexpected[:20]}"
    )
    if changed:
        print(f"\nknown to differ (open): {changed}")
    assert checks_second, "no check was evaluated"
    failed = sorted(name for name, passed in checks_second.items() if not passed)
    assert failed == [], f"checks failed on the second materialization: {failed}"
    assert checks_first == checks_second, "the checks' outcomes changed between the two runs"


@pytest.mark.soak  # two runs of almost the whole graph on the private stack: minutes, not CI's quick part
def test_materializing_twice_is_byte_identical(stack_instance) -> None:
    stack, instance = stack_instance
    before, after, first, second = materialize_twice(stack, instance, QUICK)
    assert_identical(before, after, first, second)
    files = sum(1 for k in before if not k.startswith(("store:", "text:")))
    assert files >= 30, f"only {files} asset files found under {stack.root}"
    print(f"\nidempotent: {files} files byte-identical, 4 stores identical, {len(second)} checks passed twice")


@pytest.mark.soak
def test_whole_graph_twice_is_byte_identical(stack_instance) -> None:
    stack, instance = stack_instance
    assert_identical(*materialize_twice(stack, instance, "*"))
