"""Milvus token refusal against a server that enforces it (`-m soak`: starting the server takes a
minute or two on a busy machine).

A private Milvus server (the local `server` engine) is started by `tv5 services up --only milvus`
with `TV5_LOCAL_MILVUS_PASSWORD` set, so authorization is on and root has the planted password. The
real `milvus_media_collection` load (a handful of synthetic embeddings) then runs twice:

- with `TV5_MILVUS_TOKEN=root:<planted>`: it loads, and the alias serves every row;
- with a wrong token: the run fails once (no `STEP_UP_FOR_RETRY`), its error says Milvus refused the
  token and names TV5_MILVUS_TOKEN, and no planted value is in the error, the event log or anything
  under DAGSTER_HOME.

The server's words for a wrong token are "UNAUTHENTICATED: auth check failure, please check username
and password are correct", under pymilvus' "Fail connecting to server on ..., illegal connection
params or server unavailable": before the resource read the gRPC status underneath, this was
classified "not reachable" and retried three times.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest

from tv5_assets.errors import StoreSettingsError
from tv5_assets.resources.milvus import MilvusResource, is_transient
from tv5_assets.services.base import free_local_port
from tv5_assets_tests.reliability.planted import PLANTED, WRONG, event_log_text, leaks_in_files, leaks_in_text

pytestmark = [pytest.mark.soak, pytest.mark.services]
REPO = Path(__file__).resolve().parents[2]
ROWS = 7
DIM = 384
LOAD = "milvus_media_collection"


def _tv5(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tv5_assets.cli", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, str]]:
    """A private Milvus server with authorization on; yields the environment that reaches it."""
    root = Path(tempfile.mkdtemp(prefix="tv5-milvus-token-", dir="/var/tmp"))
    env = {k: v for k, v in os.environ.items() if k not in ("TV5_MILVUS_URI", "TV5_MILVUS_TOKEN")}
    env.update(
        TV5_DATA_DIR=str(root),
        TV5_LOCAL_MILVUS_PORT=str(free_local_port()),
        TV5_LOCAL_MILVUS_ENGINE="server",
        TV5_LOCAL_MILVUS_PASSWORD=PLANTED["milvus"],
    )
    try:
        done = _tv5(env, "services", "up", "--only", "milvus")
        assert done.returncode == 0, done.stdout + done.stderr
        assert leaks_in_text(done.stdout + done.stderr) == []
        yield env
    finally:
        _tv5(env, "services", "down", "--only", "milvus")
        shutil.rmtree(root, ignore_errors=True)


def _uri(env: dict[str, str]) -> str:
    return f"http://127.0.0.1:{env['TV5_LOCAL_MILVUS_PORT']}"


def _upstream() -> list[dg.AssetsDefinition]:
    """`media_embeddings` and `movies` as the load reads them, ROWS movies with unit vectors."""
    ids = list(range(1, ROWS + 1))
    vectors = np.random.default_rng(7).normal(size=(ROWS, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    @dg.asset(name="media_embeddings")
    def media_embeddings() -> pl.LazyFrame:
        return pl.LazyFrame(
            {"movie_id": ids, "media_id": [f"ml_{i}" for i in ids], "embedding": list(vectors)},
            schema={"movie_id": pl.Int64, "media_id": pl.String, "embedding": pl.Array(pl.Float32, DIM)},
        )

    @dg.asset(name="movies")
    def movies() -> pl.LazyFrame:
        return pl.LazyFrame(
            {
                "movie_id": ids,
                "title": [f"Movie {i}" for i in ids],
                "display_title": [f"Movie {i} (2001)" for i in ids],
                "year": [2001] * ROWS,
                "genres": [["Drama"]] * ROWS,
            },
            schema={
                "movie_id": pl.Int64,
                "title": pl.String,
                "display_title": pl.String,
                "year": pl.Int16,
                "genres": pl.List(pl.String),
            },
        )

    return [media_embeddings, movies]


def _load_asset() -> dg.AssetsDefinition:
    """The real load, as the code location declares it (its store-load RetryPolicy included)."""
    from tv5_assets.definitions import defs as load_defs

    return load_defs().get_assets_def(LOAD)


def _materialize(env: dict[str, str], token: str, prefix: str, instance: dg.DagsterInstance) -> dg.ExecuteJobResult:
    """The load with TV5_MILVUS_TOKEN=`token`, read through `dg.EnvVar` as the code location does."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TV5_MILVUS_TOKEN", token)
        resource = MilvusResource(uri=_uri(env), token=dg.EnvVar("TV5_MILVUS_TOKEN"), collection_prefix=prefix)
        return dg.materialize(
            [*_upstream(), _load_asset()],
            resources={"milvus": resource, "io_manager": dg.mem_io_manager},
            instance=instance,
            raise_on_error=False,
        )


def test_server_refuses_a_missing_or_wrong_token(server: dict[str, str]) -> None:
    for token in (None, f"root:{WRONG['milvus']}", "root:Milvus"):
        with pytest.raises(StoreSettingsError) as caught, MilvusResource(uri=_uri(server), token=token).get_client():
            pass
        message = str(caught.value)
        assert "refused the token" in message and "TV5_MILVUS_TOKEN" in message, message
        assert "UNAUTHENTICATED" in message, message  # the server's own status, not "server unavailable"
        assert not is_transient(caught.value) and leaks_in_text(message) == []
    status = _tv5(server, "services", "status", "--only", "milvus")
    assert "127.0.0.1" in status.stdout and leaks_in_text(status.stdout + status.stderr) == []


def test_right_token_loads(server: dict[str, str], tmp_path: Path) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = _materialize(server, f"root:{PLANTED['milvus']}", "t_right_", instance)
        assert result.success
        assert leaks_in_text(event_log_text(instance, result.run_id)) == []
    token = f"root:{PLANTED['milvus']}"
    with MilvusResource(uri=_uri(server), token=token).get_client() as client:
        rows = client.query("t_right_media_embeddings", filter="movie_id > 0", output_fields=["movie_id"])
    assert sorted(row["movie_id"] for row in rows) == list(range(1, ROWS + 1))
    assert leaks_in_files([tmp_path]) == {}


def test_wrong_token_fails_once_naming_the_variable(server: dict[str, str], tmp_path: Path) -> None:
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        result = _materialize(server, f"root:{WRONG['milvus']}", "t_wrong_", instance)
        assert not result.success
        types = [event.event_type_value for event in result.all_events]
        assert "STEP_UP_FOR_RETRY" not in types and types.count("STEP_FAILURE") == 1
        failure = next(e for e in result.all_events if e.is_step_failure).step_failure_data.error.to_string()
        assert f"Loading the media_embeddings collection in Milvus at {_uri(server)} failed" in failure, failure
        assert "refused the token" in failure and "TV5_MILVUS_TOKEN" in failure, failure
        assert leaks_in_text(failure) == [] and leaks_in_text(event_log_text(instance, result.run_id)) == []
    assert leaks_in_files([tmp_path]) == {}  # event log database and captured compute logs


def test_up_again_keeps_the_password(server: dict[str, str]) -> None:
    """A second `up` finds the running server, logs in with the password it set, and confirms the
    server still refuses other tokens."""
    done = _tv5(server, "services", "up", "--only", "milvus")
    assert done.returncode == 0, done.stdout + done.stderr
    assert leaks_in_text(done.stdout + done.stderr) == []
