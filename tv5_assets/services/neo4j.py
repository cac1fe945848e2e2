"""Local Neo4j for `tv5 services`: a real Neo4j Community 5.26 in a JVM, data under TV5_DATA_DIR.

No Neo4j server comes from PyPI or Debian, so the server is Neo4j's own embedded DBMS
(`DatabaseManagementServiceBuilder` with its Bolt connector) resolved from Maven Central by
`deploy/neo4j/pom.xml` and started by the single-file launcher `deploy/neo4j/Tv5Neo4jServer.java`.

Layout under `services_dir()/neo4j`:
    home/           Neo4j's home: data/ (the databases, kept across down/up), logs/ (debug.log);
                    an optional home/conf/neo4j.conf is read for hand tuning
    neo4j.pid       pid of the JVM
    ready.json      written by the launcher once Bolt accepts clients (pid, address, memory)
    server.log      the launcher's stdout/stderr

Bolt on 127.0.0.1:`TV5_LOCAL_NEO4J_PORT`. Authentication is off (localhost only) unless
`TV5_NEO4J_PASSWORD` is set, then user `neo4j` gets that password at every start; the password
reaches the JVM through its environment, never its command line. Memory: `TV5_NEO4J_HEAP` (JVM
heap, default 1g) and `TV5_NEO4J_PAGECACHE` (default 256m). The jars are resolved once into
`deploy/neo4j/lib` (Maven caches downloads in ~/.m2) and again only when the pom changes.

With `TV5_NEO4J_URI` set the platform uses that server and `up`/`down` leave it alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from ..endpoints import NEO4J
from ..errors import ServiceUnavailableError
from .base import LocalService, port_open, read_tail

INSTALL_HINT = "apt-get install openjdk-17-jdk-headless maven"
LAUNCHER = "Tv5Neo4jServer.java"
DEFAULT_HEAP = "1g"
DEFAULT_PAGECACHE = "256m"
# What Neo4j's own launcher passes to the JVM (Netty and the page cache need these on Java 17).
JVM_FLAGS = [
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+ExitOnOutOfMemoryError",  # a server out of heap exits (and `status` says so) instead of limping
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
]
_SIZE = re.compile(r"^\d+[kmgKMG]?$")


DEFAULT_DATABASE = "neo4j"  # Neo4j Community's single user database
CUT_LOG = "recovery not possible"  # debug.log, when the transaction log ends in unreadable bytes


def deploy_dir() -> Path:
    """`deploy/neo4j` of this checkout (pom.xml, the launcher, lib/); `TV5_NEO4J_DEPLOY_DIR` overrides."""
    override = os.environ.get("TV5_NEO4J_DEPLOY_DIR", "").strip()
    if override:
        return Path(override).expanduser().absolute()
    return Path(__file__).resolve().parents[2] / "deploy" / "neo4j"


def local_auth() -> tuple[str, str] | None:
    """Credentials for the local server: user `neo4j` and TV5_NEO4J_PASSWORD when set, else none."""
    password = NEO4J.value("TV5_NEO4J_PASSWORD")
    return ("neo4j", password) if password else None


def find_java() -> tuple[Path, Path]:
    """(java, mvn), or an error that says exactly what to install."""
    java = shutil.which("java")
    mvn = shutil.which("mvn")
    missing = [name for name, path in (("java", java), ("mvn", mvn)) if not path]
    if missing:
        raise ServiceUnavailableError(
            f"The local Neo4j needs Java 17 (a JDK) and Maven, but {' and '.join(f'`{m}`' for m in missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not on PATH; install them with `{INSTALL_HINT}` "
            f"(Debian/Ubuntu), or point the platform at an existing Neo4j 5 server with {NEO4J.env_var}."
        )
    # The single-file launcher is compiled at start by the JDK's compiler; a JRE alone cannot run it.
    if not shutil.which("javac") and not (Path(os.path.realpath(java)).parent / "javac").exists():
        raise ServiceUnavailableError(
            f"`{java}` is a Java runtime without the compiler the Neo4j launcher needs; install a JDK with "
            f"`{INSTALL_HINT}`."
        )
    return Path(java), Path(mvn)


def java_major_version(java: Path) -> int:
    result = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return 0
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


class Neo4jService(LocalService):
    """The local Neo4j Community server (`tv5 services up|down|status --only neo4j`)."""

    endpoint = NEO4J
    data_subdir = "home"  # Neo4j's home: data/ and logs/
    pid_name = "neo4j.pid"
    log_name = "server.log"
    state_files = ("neo4j.pid", "ready.json")  # ours to write, so `down` removes them
    start_timeout_s = 240.0

    def __init__(
        self,
        *args,
        heap: str | None = None,
        pagecache: str | None = None,
        stop_timeout_s: float = 180.0,
        truncate_cut_log: bool = False,
        **kwargs,
    ) -> None:
        """`port`, `data_dir`, `host`, `start_timeout_s` as for every LocalService; JVM heap, page cache;
        `truncate_cut_log`: this start's recovery drops an unreadable end of the transaction log."""
        super().__init__(*args, **kwargs)
        self.truncate_cut_log = truncate_cut_log
        self._debug_log_start = 0  # where this start's lines begin in debug.log (set by start())
        self.heap = heap or os.environ.get("TV5_NEO4J_HEAP", "").strip() or DEFAULT_HEAP
        self.pagecache = pagecache or os.environ.get("TV5_NEO4J_PAGECACHE", "").strip() or DEFAULT_PAGECACHE
        # The launcher's shutdown hook checkpoints and stops the DBMS on SIGTERM; never killed half-way.
        self.stop_signals = ((signal.SIGTERM, stop_timeout_s),)
        for label, value in (("TV5_NEO4J_HEAP", self.heap), ("TV5_NEO4J_PAGECACHE", self.pagecache)):
            if not _SIZE.match(value):
                raise ServiceUnavailableError(f"{label}={value!r} is not a size such as 512m or 2g.")

    @property
    def home(self) -> Path:
        return self.store_dir

    @property
    def ready_file(self) -> Path:
        return self.root / "ready.json"

    @property
    def uri(self) -> str:
        return self.url

    # ------------------------------------------------------------------------ LocalService
    def answers(self, pid: int | None) -> bool:
        """Bolt accepts connections, and for our own server the launcher wrote that it is ready."""
        if not port_open(self.host, self.port):
            return False
        return pid is None or (self._ready() or {}).get("pid") == pid

    def running_detail(self, pid: int) -> str:
        auth = "auth on" if (self._ready() or {}).get("auth") else "auth off"
        return f"pid {pid}, {auth}, home {self.home}"

    def probe_external(self, url: str) -> str:
        host, port = self.endpoint.host_port(url)
        if not port_open(host, port or 7687, timeout=3.0):
            raise ServiceUnavailableError(f"nothing accepts connections on {host}:{port or 7687}")
        return "reachable"

    def is_ours(self, cmdline: str) -> bool:
        # The pid file may outlive the JVM and its pid be reused: only our launcher counts.
        return LAUNCHER.removesuffix(".java") in cmdline

    def confirm_ready(self) -> str | None:
        """A Bolt handshake with the platform's credentials (not just an open port), then the state of
        the database the platform uses."""
        import neo4j  # imported here: `tv5 services status` should not pay for the driver

        with neo4j.GraphDatabase.driver(self.uri, auth=local_auth(), connection_timeout=10) as driver:
            try:
                driver.verify_connectivity()
            except neo4j.exceptions.Neo4jError as error:
                raise ServiceUnavailableError(
                    f"Neo4j on {self.address} started but refused a session: {error}"
                ) from error
            return self._default_database_started(driver)

    def stop_advice(self, pid: int) -> str:
        return (
            f" See also {self.home / 'logs' / 'debug.log'}. `kill -9 {pid}` is safe (Neo4j recovers from its "
            "transaction log at the next start)."
        )

    # -------------------------------------------------------------------------------- helpers
    def ensure_jars(self, mvn: Path | None = None) -> Path:
        """Resolve the Neo4j jars into deploy/neo4j/lib once (again only when pom.xml changes)."""
        deploy = deploy_dir()
        pom = deploy / "pom.xml"
        if not pom.exists():
            raise ServiceUnavailableError(
                f"{pom} is missing; the local Neo4j is started from a checkout of this repository "
                f"(or set TV5_NEO4J_DEPLOY_DIR to a copy of deploy/neo4j), or set {NEO4J.env_var}."
            )
        lib = deploy / "lib"
        stamp = lib / ".tv5-pom-sha256"
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        if stamp.exists() and stamp.read_text().strip() == digest:
            return lib
        if mvn is None:
            _, mvn = find_java()
        # Resolve into a fresh folder and swap it in, so an interrupted download never leaves a
        # lib/ that looks complete.
        tmp = deploy / f"lib.tmp-{uuid.uuid4().hex[:8]}"
        command = [str(mvn), "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={tmp.name}"]
        started = time.monotonic()
        result = subprocess.run(command, cwd=deploy, capture_output=True, text=True)
        if result.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            output = (result.stdout + result.stderr).strip()[-2000:]
            raise ServiceUnavailableError(
                f"Maven could not resolve Neo4j's jars (`{' '.join(command)}` in {deploy}, exit code "
                f"{result.returncode}). Maven Central must be reachable, or ~/.m2 must already hold them.\n{output}"
            )
        (tmp / stamp.name).write_text(digest + "\n")
        if lib.exists():
            shutil.rmtree(lib)
        tmp.rename(lib)
        print(
            f"neo4j    resolved {sum(1 for _ in lib.glob('*.jar'))} jars into {lib} in "
            f"{time.monotonic() - started:.0f} s",
            flush=True,
        )
        return lib

    def command(self, java: Path, lib: Path) -> list[str]:
        return [
            str(java),
            f"-Xmx{self.heap}",
            *JVM_FLAGS,
            "-cp",
            f"{lib}/*",
            str(deploy_dir() / LAUNCHER),
            "--home",
            str(self.home),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--pagecache",
            self.pagecache,
            "--ready-file",
            str(self.ready_file),
            *(["--truncate-cut-log", "true"] if self.truncate_cut_log else []),
        ]

    def start(self) -> None:
        java, mvn = find_java()
        version = java_major_version(java)
        if version < 17:
            raise ServiceUnavailableError(
                f"`{java}` is Java {version}; Neo4j 5.26 needs Java 17 or newer: `{INSTALL_HINT}`."
            )
        lib = self.ensure_jars(mvn)
        self.home.mkdir(parents=True, exist_ok=True)
        self.ready_file.unlink(missing_ok=True)
        debug_log = self.home / "logs" / "debug.log"
        self._debug_log_start = debug_log.stat().st_size if debug_log.exists() else 0  # this start logs after it
        env = dict(os.environ)
        # Only the launcher's own settings travel; a stray TV5_NEO4J_HOME etc. must not override ours.
        for name in ("TV5_NEO4J_HOME", "TV5_NEO4J_HOST", "TV5_NEO4J_PORT", "TV5_NEO4J_READY_FILE"):
            env.pop(name, None)
        self.spawn(self.command(java, lib), env=env, cwd=self.root)

    def _default_database_started(self, driver) -> str | None:
        """None once the database the platform uses is online; why not yet while it starts (recovery
        replays its log); an error saying what to do when it failed to start.

        Bolt answers once the DBMS is up, even when a database in it could not start: a client would
        only meet "The database is not currently available" and retry in vain.
        """
        records, _, _ = driver.execute_query(
            "SHOW DATABASES YIELD name, currentStatus, statusMessage WHERE name = $name",
            name=DEFAULT_DATABASE,
            database_="system",
        )
        state = records[0] if records else None
        if state is None or state["currentStatus"] == "online":
            return None  # absent: the resource says so, naming TV5_NEO4J_DATABASE
        if state["currentStatus"] == "starting":
            return f"database `{DEFAULT_DATABASE}` is starting"
        raise ServiceUnavailableError(self._database_failed(state["currentStatus"], state["statusMessage"]))

    def _database_failed(self, status: str, message: str) -> str:
        debug_log = self.home / "logs" / "debug.log"
        text = f"Neo4j on {self.address} started, but its database `{DEFAULT_DATABASE}` is {status}: {message}"
        if CUT_LOG in read_tail(debug_log, start=self._debug_log_start):
            return (
                f"{text} Its debug.log ({debug_log}) says the transaction log ends in unreadable bytes "
                '("recovery not possible"): a write that a full disk cut short leaves them. That transaction '
                "was never applied; every transaction committed before it is in the log. Make sure the disk "
                f"has space, then start once with `tv5 services down --only {self.name} && tv5 services up --only "
                f"{self.name} --truncate-cut-log`: recovery drops the unreadable end and keeps the rest. Or "
                f"restore a backup: `tv5 restore --from FOLDER --only {self.name}`."
            )
        return f"{text} See {debug_log}; `tv5 services down --only {self.name}` stops the server."

    def _ready(self) -> dict | None:
        try:
            return json.loads(self.ready_file.read_text())
        except (OSError, ValueError):
            return None
