"""Secrets, soak part (`pytest -m soak`, minutes): the whole graph on a private
stack with a password on every store, then a run with wrong passwords.

The stack starts with planted passwords (TV5_LOCAL_POSTGRES_PASSWORD, TV5_LOCAL_REDIS_PASSWORD,
TV5_NEO4J_PASSWORD, TV5_LOCAL_MILVUS_PASSWORD: the Milvus server with authorization on), clients get
them through TV5_POSTGRES_URL / TV5_REDIS_URL / TV5_MILVUS_TOKEN as with any protected server, and `dagster asset materialize --select '*'` loads every store. Then the
store loads run again with wrong passwords: each fails once (no retry) naming its variable.
Nothing planted may appear in the command output (dagster, `tv5 checks`, `tv5 services`), the
instance's event log and compute logs, or the data folder (tables, exports, metadata).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tv5_assets.services.base import free_local_ports
from tv5_assets_tests.reliability.planted import PLANTED, WRONG, event_log_text, leaks_in_files, leaks_in_text

pytestmark = [pytest.mark.soak, pytest.mark.services]
REPO = Path(__file__).resolve().parents[2]
# The whole graph by default; TV5_SOAK_SELECT narrows it on a busy machine (a --select string).
SELECTION = os.environ.get("TV5_SOAK_SELECT", "*")
STORE_LOADS = "agentdb_episodes,redis_platform_cache,neo4j_movies,milvus_media_collection"  # one load per store
CLIENT_VARS = ("TV5_POSTGRES_URL", "TV5_REDIS_URL", "TV5_MILVUS_URI", "TV5_NEO4J_URI")


def _run(command: list[str], env: dict[str, str], timeout: int = 3600) -> tuple[int, str]:
    """rc and output; on timeout the whole process group goes (a Dagster run leaves step workers,
    and a step may be restarting a server)."""
    process = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return process.returncode, out


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Path, dict[str, str], list[str]]]:
    """(root, client environment, outputs so far): a private stack with planted passwords."""
    root = Path(tempfile.mkdtemp(prefix="tv5-secret-soak-", dir="/var/tmp"))
    root.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in CLIENT_VARS}
    stores = ("POSTGRES", "REDIS", "MILVUS", "NEO4J")
    ports = dict(zip(stores, free_local_ports(len(stores)), strict=True))
    env.update({f"TV5_LOCAL_{store}_PORT": str(port) for store, port in ports.items()})
    env.update(
        TV5_DATA_DIR=str(root / "data"),
        TV5_LOCAL_MILVUS_ENGINE="server",
        TV5_LOCAL_MILVUS_PASSWORD=PLANTED["milvus"],
        TV5_LOCAL_POSTGRES_PASSWORD=PLANTED["postgres"],
        TV5_LOCAL_REDIS_PASSWORD=PLANTED["redis"],
        TV5_NEO4J_PASSWORD=PLANTED["neo4j"],
        TV5_MILVUS_TOKEN=f"root:{PLANTED['milvus']}",
        TV5_MOVIELENS_DIR=str(root / "ml"),
        DAGSTER_HOME=str(root / "dagster_home"),
    )
    outputs = []
    rc, out = _run(["tv5", "services", "up"], env)
    outputs.append(out)
    try:
        assert rc == 0, out
        clients = {
            **env,
            "TV5_POSTGRES_URL": f"postgresql://tv5:{PLANTED['postgres']}@127.0.0.1:{ports['POSTGRES']}/tv5",
            "TV5_REDIS_URL": f"redis://:{PLANTED['redis']}@127.0.0.1:{ports['REDIS']}/0",
        }
        (root / "dagster_home").mkdir()
        shutil.copy(REPO / "dagster.yaml", root / "dagster_home")
        rc, out = _run(["tv5", "sample", "--scale", "0.002", "--seed", "7", "--out", str(root / "ml")], env)
        assert rc == 0, out
        yield root, clients, outputs
    finally:
        _run(["tv5", "services", "down"], env)
        shutil.rmtree(root, ignore_errors=True)


def _instance_text(home: Path) -> tuple[str, dict[str, list[str]]]:
    """Every run's stored events (serialized) and the event types per run."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        texts = [event_log_text(instance, run.run_id) for run in runs]
        types = {
            run.run_id: [e.dagster_event.event_type_value for e in instance.all_logs(run.run_id) if e.dagster_event]
            for run in runs
        }
    return "\n".join(texts), types


def test_full_run_and_wrong_passwords_leave_no_secret(stack) -> None:
    root, clients, outputs = stack
    materialize = ["dagster", "asset", "materialize", "-m", "tv5_assets", "--select"]
    rc, out = _run([*materialize, SELECTION], clients)
    outputs.append(out)
    assert rc == 0, out[-5000:]
    for command in (["tv5", "checks"], ["tv5", "services", "status"]):
        rc, out = _run(command, clients)
        outputs.append(out)
        assert rc == 0, out

    wrong = {
        **clients,
        "TV5_POSTGRES_URL": clients["TV5_POSTGRES_URL"].replace(PLANTED["postgres"], WRONG["postgres"]),
        "TV5_REDIS_URL": clients["TV5_REDIS_URL"].replace(PLANTED["redis"], WRONG["redis"]),
        "TV5_NEO4J_PASSWORD": WRONG["neo4j"],
        "TV5_MILVUS_TOKEN": f"root:{WRONG['milvus']}",
    }
    rc, failed = _run([*materialize, STORE_LOADS], wrong)
    outputs.append(failed)
    assert rc != 0
    for variable in ("TV5_POSTGRES_URL", "TV5_REDIS_URL", "TV5_NEO4J_PASSWORD", "TV5_MILVUS_TOKEN"):
        assert variable in failed, variable

    events, types = _instance_text(root / "dagster_home")
    failing = [run for run, kinds in types.items() if "STEP_FAILURE" in kinds]
    assert len(failing) == 1 and "STEP_UP_FOR_RETRY" not in types[failing[0]]
    assert leaks_in_text("\n".join(outputs)) == []
    assert leaks_in_text(events) == []
    # everything the runs wrote; not the servers' own folders (redis.conf holds its requirepass)
    written = [root / "dagster_home", *(p for p in (root / "data").iterdir() if p.name != "services")]
    assert leaks_in_files(written) == {}
