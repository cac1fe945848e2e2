"""The Dagster UI as a user opens it: `dagster-webserver` over workspace.yaml on a free port.

The webserver reads the instance in DAGSTER_HOME: in CI (scripts/test.sh) that is the instance of
the whole-graph run that precedes pytest, so these tests look at that run's results. Under
`TV5_REQUIRE_UI_TESTS=1` (set by scripts/test.sh) nothing here may skip: a missing run, a missing
browser or a webserver that does not start fail the test instead.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tv5_assets.settings import data_dir

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 180.0  # the code location loads in a subprocess: seconds, or more on a busy machine
# Captured at import: session fixtures elsewhere (data_env) repoint TV5_DATA_DIR at a temporary folder.
ENV = dict(os.environ)
SCREENSHOTS = data_dir() / "ui-screenshots"


def required() -> bool:
    return ENV.get("TV5_REQUIRE_UI_TESTS") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip on a developer's machine; fail under TV5_REQUIRE_UI_TESTS=1 (CI), where it must run."""
    if required():
        pytest.fail(f"{reason} (TV5_REQUIRE_UI_TESTS=1: the UI tests may not skip)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Webserver:
    url: str
    log: Path

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """POST a query; the `data` of the answer, failing on GraphQL errors."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            payload = json.load(answer)
        assert not payload.get("errors"), f"GraphQL errors from {self.url}: {payload['errors']}"
        return payload["data"]

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


LOCATION_STATUS = """
{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def _location_ready(server: Webserver) -> bool:
    """True once every code location is loaded; fails when one failed to load."""
    entries = server.graphql(LOCATION_STATUS)["workspaceOrError"].get("locationEntries") or []
    if not entries or any(e["loadStatus"] != "LOADED" for e in entries):
        return False
    broken = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
    assert not broken, "code location failed to load in the webserver: " + "; ".join(
        f"{e['name']}: {e['locationOrLoadError']['message']}" for e in broken
    )
    return True


def _wait_until_served(process: subprocess.Popen, server: Webserver) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"dagster-webserver exited with code {process.returncode} before serving {server.url}; "
                f"its log ({server.log}) ends with:\n{server.log_tail()}"
            )
        try:
            if _location_ready(server):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass  # not listening yet
        time.sleep(0.5)
    pytest.fail(
        f"dagster-webserver did not serve workspace.yaml on {server.url} within {START_TIMEOUT_S:.0f} s; "
        f"its log ({server.log}) ends with:\n{server.log_tail()}"
    )


def _default_sigint() -> None:
    """A shell's background job ignores SIGINT, and children inherit that: restore it, so _stop works."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _stop(process: subprocess.Popen) -> None:
    """SIGINT (what Ctrl-C sends) to the webserver's own process group, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webserver]:
    """dagster-webserver over workspace.yaml on a free port, serving once the code location loaded."""
    port = free_port()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    env = {**ENV, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), ENV.get("PYTHONPATH")]))}
    if not env.get("DAGSTER_HOME"):  # an empty instance of its own rather than the webserver's temporary one
        env["DAGSTER_HOME"] = str(tmp_path_factory.mktemp("dagster_home"))
    server = Webserver(url=f"http://127.0.0.1:{port}", log=SCREENSHOTS / "webserver.log")
    command = [sys.executable, "-m", "dagster_webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    with server.log.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with its code server, and only them
            preexec_fn=_default_sigint,
        )
    try:
        _wait_until_served(process, server)
        server.graphql("mutation { setNuxSeen }")  # no "Join the Dagster community" modal over the pages
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def instance_has_runs(webserver: Webserver) -> bool:
    data = webserver.graphql("{ runsOrError(limit: 1) { __typename ... on Runs { results { runId } } } }")
    return bool(data["runsOrError"].get("results"))


@pytest.fixture
def after_a_run(instance_has_runs: bool) -> None:
    """Tests of a run's results: skip (or fail in CI) when the instance has no runs."""
    if not instance_has_runs:
        skip_or_fail(
            f"the instance in DAGSTER_HOME={ENV.get('DAGSTER_HOME', '(unset)')} has no runs: materialize the "
            "graph first (scripts/test.sh does) to check row counts and check statuses"
        )
