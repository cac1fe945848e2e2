"""Milvus as a local service, no Docker: a real Milvus server (default) or Milvus Lite.

Two engines, chosen with `TV5_LOCAL_MILVUS_ENGINE`:

- `server` (default): a real Milvus 2.3 standalone server from the PyPI package `milvus` (its
  binaries ship inside the wheel). Searches run in knowhere's C++ indexes: at ml-25m size 3 ms p50
  on media (HNSW) and 7-11 ms on users (IVF_FLAT), where Milvus Lite 3.2 walks every stored row in
  Python on each search (90-300 ms at 162k users). Every component is told to bind and
  advertise 127.0.0.1 (left alone, they dial the host's interface address), and the embedded etcd
  gets its own client and peer ports, so a second stack (the test command's) runs beside it.
  Layout under `$TV5_DATA_DIR/services/milvus-server/`: `data/` (the server's data, config and logs),
  `milvus.pid` (the `milvus run standalone` process itself), `milvus.log`.
- `lite`: Milvus Lite 3.x in its own gRPC server process (`milvus-lite server`). Milvus Lite admits
  one process per data folder (an advisory lock on `<data>/LOCK`), so one background server owns the
  folder and every Dagster step, test and notebook connects over TCP. Fine for samples; at full
  scale its searches and index builds are too slow (see above). Layout under
  `$TV5_DATA_DIR/services/milvus/`: `data/`, `milvus-lite.pid`, `milvus-lite.log`.

Either way clients connect to `http://127.0.0.1:$TV5_LOCAL_MILVUS_PORT` (default 59530), as they
would to any Milvus server; the `milvus` concurrency pool on the load assets keeps one bulk writer.

Authentication (server engine only; Milvus Lite accepts any token): with `TV5_LOCAL_MILVUS_PASSWORD`
set, `up` starts the server with `common.security.authorizationEnabled: true` and gives its `root`
user that password (a new server's root has Milvus' default, `Milvus`, which `up` replaces on the
first start; the server keeps it in its data folder). Clients then send
`TV5_MILVUS_TOKEN=root:<password>`, and a wrong or missing token is refused.

When `TV5_MILVUS_URI` is set the user runs their own Milvus: `up` and `down` leave it alone and
`status` only reports whether it answers.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path

from ..endpoints import MILVUS, hide_password
from ..errors import ServiceUnavailableError
from .base import LocalService, free_local_ports, port_open

# `milvus-lite server` (milvus_lite.cmdline) closes its data folder cleanly on KeyboardInterrupt only.
# A shell that starts us in the background passes SIGINT on as ignored, so the launcher re-arms it,
# and maps SIGTERM to the same clean shutdown.
_SERVER_LAUNCHER = (
    "import signal, sys; "
    "signal.signal(signal.SIGINT, signal.default_int_handler); "
    "signal.signal(signal.SIGTERM, signal.default_int_handler); "
    "from milvus_lite.cmdline import main; "
    "sys.exit(main(sys.argv[1:]))"
)
DATA_SUBDIR = "data"
PASSWORD_VAR = "TV5_LOCAL_MILVUS_PASSWORD"
ROOT_USER = "root"
DEFAULT_ROOT_PASSWORD = "Milvus"  # what a new Milvus server gives root
ENGINES = ("server", "lite")
# Components of a Milvus 2.3 standalone server; each is told to advertise 127.0.0.1.
_SERVER_COMPONENTS = (
    "rootCoord",
    "proxy",
    "queryCoord",
    "queryNode",
    "indexCoord",
    "indexNode",
    "dataCoord",
    "dataNode",
)
# Internal ports of the server besides the proxy (the one clients use), each given a free port at start.
_SERVER_INTERNAL_PORTS = (
    "etcd_port",
    "root_coord_port",
    "proxy_internal_port",
    "query_coord_port",
    "query_node_port",
    "index_coord_port",
    "index_node_port",
    "data_coord_port",
    "data_node_port",
)


def _client_answers(uri: str, token: str | None = None, timeout: float = 3.0) -> str | None:
    """None when a Milvus client can connect and list collections; otherwise the reason."""
    from pymilvus import MilvusClient

    from ..resources.milvus import error_text

    try:
        client = MilvusClient(uri=uri, token=token or "", timeout=timeout, dedicated=True)
        try:
            client.list_collections(timeout=timeout)
        finally:
            client.close()
    except Exception as error:  # any client failure means "not ready"; the text says why
        return error_text(error)
    return None


def _refused(reason: str | None) -> bool:
    """A probe's reason says the server turned the token down (Milvus 2.3: "auth check failure")."""
    from ..resources.milvus import refused_credentials_text

    return reason is not None and refused_credentials_text(reason)


class _MilvusProcess(LocalService):
    """What both local engines share: the endpoint, the readiness probe, the launched process.

    The defaults come from the endpoint and settings; tests pass another port and a temporary folder.
    """

    endpoint = MILVUS
    engine = ""
    data_subdir = DATA_SUBDIR
    start_timeout_s = 120.0

    @property
    def label(self) -> str:
        return f"Milvus ({self.engine})"

    @property
    def state_files(self) -> tuple[str, ...]:  # we write the pid file, so `down` removes it
        return (self.pid_name,)

    @property
    def uri(self) -> str:
        return self.url

    def running_detail(self, pid: int) -> str:
        return f"{self.engine}, pid {pid}, data {self.store_dir}"

    def answers(self, pid: int | None) -> bool:
        """Our own server: its port is open (a client probe would cost seconds); any other: a client answers."""
        if not port_open(self.host, self.port):
            return False
        return pid is not None or _client_answers(self.uri, timeout=1.0) is None

    def confirm_ready(self) -> str | None:
        return _client_answers(self.uri)

    def probe_external(self, url: str) -> str:
        token = self.endpoint.value("TV5_MILVUS_TOKEN")
        reason = _client_answers(url, token)
        if reason is not None:
            reason = hide_password(reason, url)
            raise ServiceUnavailableError(reason.replace(token, "***") if token else reason)
        return "answering"

    def start(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        command, env, cwd = self._launch()
        self.spawn(command, env=env, cwd=cwd)

    def _launch(self) -> tuple[list[str], dict[str, str], str | None]:
        """The command, environment and working folder that start the engine."""
        raise NotImplementedError


class MilvusLiteService(_MilvusProcess):
    """Milvus Lite in its own `milvus-lite server` process (see the module docstring)."""

    engine = "lite"
    folder = "milvus"
    pid_name = "milvus-lite.pid"
    log_name = "milvus-lite.log"
    start_timeout_s = 60.0
    # SIGINT is what the server handles: it drains requests, then closes the data folder cleanly.
    stop_signals = ((signal.SIGINT, 20.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0))

    def _launch(self) -> tuple[list[str], dict[str, str], str | None]:
        if os.environ.get(PASSWORD_VAR):
            raise ServiceUnavailableError(
                f"{PASSWORD_VAR} is set, but Milvus Lite accepts any token: unset it, or run the Milvus "
                "server (TV5_LOCAL_MILVUS_ENGINE=server), which enforces it."
            )
        command = [
            sys.executable,
            "-c",
            _SERVER_LAUNCHER,
            "server",
            "--data-dir",
            str(self.store_dir),
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        return command, {**os.environ, "PYTHONUNBUFFERED": "1"}, None

    def is_ours(self, cmdline: str) -> bool:
        return "milvus_lite" in cmdline and f"--data-dir {self.store_dir} " in cmdline


class MilvusServerService(_MilvusProcess):
    """A real Milvus 2.3 standalone server from the PyPI `milvus` package (see the module docstring).

    The package's own launcher (`milvus-server`) is not used: it leaves the server running when its
    Python parent dies, lets every component dial the host's interface address, and gives the
    embedded etcd fixed ports, so two stacks collide. Instead this class renders the package's
    config template with free internal ports, binds everything to 127.0.0.1, and runs the
    `milvus run standalone` binary itself, so the pid file names the server process.
    """

    engine = "server"
    folder = "milvus-server"
    pid_name = "milvus.pid"
    log_name = "milvus.log"

    def _launch(self) -> tuple[list[str], dict[str, str], str | None]:
        try:
            import milvus as milvus_package
        except ImportError as error:
            raise ServiceUnavailableError(
                "The local Milvus server needs the PyPI package `milvus` (pip install 'milvus==2.3.5'; "
                "scripts/bootstrap.sh installs it), or set TV5_LOCAL_MILVUS_ENGINE=lite to run Milvus Lite."
            ) from error
        _wait_until_bindable(self.host, self.port)
        for attempt in range(3):
            # The package's check binds each port once more; another process may take one between our
            # pick and that check (an outgoing connection's ephemeral port, say): pick afresh then.
            *internal, etcd_peer_port, metrics_port = free_local_ports(len(_SERVER_INTERNAL_PORTS) + 2)
            ports = dict(zip(_SERVER_INTERNAL_PORTS, internal, strict=True))
            config = milvus_package.MilvusServerConfig(data_dir=str(self.store_dir), proxy_port=self.port, **ports)
            config.extra_configs = {f"{component}.ip": self.host for component in _SERVER_COMPONENTS}
            config.extra_configs["etcd.endpoints"] = f"{self.host}:{ports['etcd_port']}"
            if self.password:
                config.extra_configs["common.security.authorizationEnabled"] = "true"
            try:
                config.resolve()  # writes data/configs/milvus.yaml and the glog config
                break
            except RuntimeError as error:
                if "bind failed" not in str(error) or attempt == 2:
                    raise
        config_file = self.store_dir / "configs" / "milvus.yaml"
        etcd_file = self.store_dir / "configs" / "embed-etcd.yaml"
        etcd_file.write_text(_embedded_etcd_config(self.host, ports["etcd_port"], etcd_peer_port, self.store_dir))
        config_file.write_text(_with_etcd_config_path(config_file.read_text(), etcd_file))
        milvus_package._initialize_data_files(str(self.store_dir))  # unpacks the binaries once (checksummed)
        binaries = self.store_dir / "bin"
        env = {
            **os.environ,
            "DEPLOY_MODE": "STANDALONE",
            "METRICS_PORT": str(metrics_port),
            "MILVUS_RUN_DIR": str(self.store_dir / "run"),
            "LD_LIBRARY_PATH": ":".join(filter(None, [str(binaries), os.environ.get("LD_LIBRARY_PATH", "")])),
        }
        return [str(binaries / "milvus"), "run", "standalone"], env, str(self.store_dir)

    def is_ours(self, cmdline: str) -> bool:
        return cmdline.startswith(f"{self.store_dir / 'bin' / 'milvus'} run standalone")

    # ------------------------------------------------------------------------ authentication
    @property
    def password(self) -> str | None:
        """root's password when `up` turns authentication on (TV5_LOCAL_MILVUS_PASSWORD); None: off."""
        return os.environ.get(PASSWORD_VAR) or None

    def _probe(self, password: str) -> str | None:
        """`_client_answers` as root with `password`, the password hidden in the reason."""
        reason = _client_answers(self.uri, f"{ROOT_USER}:{password}")
        return None if reason is None else reason.replace(password, "***")

    def confirm_ready(self) -> str | None:
        if not self.password:
            return _client_answers(self.uri)
        reason = self._probe(self.password)
        if _refused(reason) and self._probe(DEFAULT_ROOT_PASSWORD) is None:
            return None  # a new data folder: root has the default password until prepare_clients sets ours
        return reason

    def prepare_clients(self) -> None:
        """With a password: give root that password (first start) and prove the server enforces it."""
        if not self.password:
            return
        if _refused(self._probe(self.password)):
            self._set_root_password()
        if self._probe(secrets.token_hex(12)) is None:
            raise ServiceUnavailableError(
                f"Milvus at {self.address} accepts any token: it was started without authentication, "
                f"before {PASSWORD_VAR} was set. Restart it with `tv5 services down --only milvus && "
                "tv5 services up --only milvus`."
            )

    def _set_root_password(self) -> None:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        try:
            client = MilvusClient(
                uri=self.uri, token=f"{ROOT_USER}:{DEFAULT_ROOT_PASSWORD}", timeout=10.0, dedicated=True
            )
            try:
                client.update_password(ROOT_USER, DEFAULT_ROOT_PASSWORD, self.password, timeout=10.0)
            finally:
                client.close()
        except MilvusException as error:
            reason = (error.message or type(error).__name__).replace(self.password or "", "***")
            raise ServiceUnavailableError(
                f"Milvus at {self.address} refused root's login with {PASSWORD_VAR} and with the default "
                f"password ({reason}). root keeps the password its data folder was given first "
                f"({self.store_dir}): set {PASSWORD_VAR} to that one, or remove the folder to start afresh "
                "(its collections go with it)."
            ) from None


def _wait_until_bindable(host: str, port: int, timeout_s: float = 120.0) -> None:
    """After a crash (SIGKILL, OOM) the proxy port stays unbindable while the dead server's connections
    linger in TIME_WAIT (up to 60 s on Linux), and the package's config check then refuses to start
    ("set proxy_port=N, but bind failed"): wait for the port instead of failing the restart."""
    deadline = time.monotonic() + timeout_s
    while True:
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise ServiceUnavailableError(
                        f"Milvus cannot start: port {host}:{port} stayed in use for {timeout_s:.0f} s; "
                        f"stop what holds it or choose another port with TV5_LOCAL_MILVUS_PORT."
                    ) from None
        time.sleep(1.0)


def _embedded_etcd_config(host: str, client_port: int, peer_port: int, data_dir: Path) -> str:
    """The embedded etcd's own config: loopback only, and ports of its own (its defaults are fixed)."""
    client, peer = f"http://{host}:{client_port}", f"http://{host}:{peer_port}"
    return (
        "name: tv5-milvus\n"
        f"data-dir: {data_dir / 'data' / 'etcd.data'}\n"
        f"listen-client-urls: {client}\nadvertise-client-urls: {client}\n"
        f"listen-peer-urls: {peer}\ninitial-advertise-peer-urls: {peer}\n"
        f"initial-cluster: tv5-milvus={peer}\n"
    )


def _with_etcd_config_path(milvus_yaml: str, etcd_file: Path) -> str:
    """Point `etcd.config.path` at our etcd config (the package's template has no such key)."""
    marker = "\netcd:\n"
    if marker not in milvus_yaml:
        raise ServiceUnavailableError("the milvus package's config template has no `etcd:` section; pin milvus==2.3.5")
    return milvus_yaml.replace(marker, f"{marker}  config:\n    path: {etcd_file}\n", 1)


def local_milvus_service() -> _MilvusProcess:
    """The local Milvus engine `TV5_LOCAL_MILVUS_ENGINE` names: `server` (default) or `lite`."""
    engine = os.environ.get("TV5_LOCAL_MILVUS_ENGINE", "server").strip().lower() or "server"
    if engine not in ENGINES:
        raise ServiceUnavailableError(f"TV5_LOCAL_MILVUS_ENGINE={engine!r}: choose one of {', '.join(ENGINES)}")
    return MilvusServerService() if engine == "server" else MilvusLiteService()
