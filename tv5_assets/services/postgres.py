"""Local PostgreSQL for `tv5 services`: Debian's server binaries, one cluster under TV5_DATA_DIR.

Layout under `services_dir()/postgres`:
    pgdata/         the cluster (owned by the unprivileged OS user that runs the server)
    postgres.log    the server log (pg_ctl -l)

The server listens on 127.0.0.1 only (no Unix socket), port `settings.LOCAL_POSTGRES_PORT`, with
`trust` authentication for local TCP clients; `up` creates the role and database named in
`settings.LOCAL_POSTGRES_URL` (tv5/tv5). PostgreSQL refuses to run as root, so when we are root
the server runs as the `postgres` system user that Debian's package creates (`runuser -u`).

Tuning (written to `pgdata/tv5.conf` on every `up`, so code changes apply on restart) favours
bulk loads while keeping the cluster durable (fsync and full_page_writes stay on):
- `synchronous_commit = off`: a commit returns before its WAL reaches disk; a crash can lose the
  last fraction of a second of commits but never corrupts data. Loads are re-runnable anyway.
- `wal_level = minimal` (needs `max_wal_senders = 0`): a table created in the same transaction as
  its COPY is written without WAL and synced at commit, which is how the AgentDB loads build
  their staging tables. A development server has no replicas; a production server you point at
  with TV5_POSTGRES_URL keeps its own settings (loads then simply write WAL).
- `maintenance_work_mem = 512MB` for index builds after loads, `max_wal_size = 4GB` so a bulk
  load does not force checkpoint after checkpoint.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

from .. import settings
from ..errors import ServiceUnavailableError
from .base import ServiceStatus, port_open, stopped
from .base import url_address as base_url_address

ENV_URL = "TV5_POSTGRES_URL"
SERVER_OS_USER = "postgres"  # Debian's system user for the server; used only when we are root
SUPERUSER = "postgres"  # bootstrap superuser name given to initdb
INSTALL_HINT = "install PostgreSQL's server binaries: `apt-get install postgresql` (Debian/Ubuntu)"

TUNING = {
    "shared_buffers": "256MB",
    "synchronous_commit": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "maintenance_work_mem": "512MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "work_mem": "32MB",
}


def find_binaries() -> Path:
    """The bin folder holding initdb, pg_ctl and postgres: newest /usr/lib/postgresql/*/bin, else PATH."""

    def version_key(path: str) -> tuple[int, ...]:
        name = Path(path).parent.name
        return tuple(int(p) for p in name.split(".") if p.isdigit()) or (0,)

    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version_key, reverse=True):
        if all((Path(candidate) / tool).exists() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(candidate)
    on_path = [shutil.which(tool) for tool in ("initdb", "pg_ctl", "postgres")]
    if all(on_path):
        return Path(on_path[0]).parent  # type: ignore[arg-type]
    raise ServiceUnavailableError(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found under "
        f"/usr/lib/postgresql/*/bin or on PATH; {INSTALL_HINT}, or point the platform at an "
        f"existing server with {ENV_URL}."
    )


class PostgresService:
    """The local PostgreSQL cluster (`tv5 services up|down|status --only postgres`)."""

    name = "postgres"

    def __init__(
        self,
        port: int | None = None,
        data_dir: Path | str | None = None,
        host: str = "127.0.0.1",
        start_timeout_s: int = 60,
    ) -> None:
        self.host = host
        self.port = int(port or settings.LOCAL_POSTGRES_PORT)
        self.root = Path(data_dir) if data_dir else settings.services_dir() / self.name
        self.pgdata = self.root / "pgdata"
        self.log_file = self.root / "postgres.log"
        self.start_timeout_s = start_timeout_s
        local = urlsplit(settings.LOCAL_POSTGRES_URL)
        self.role = local.username or "tv5"
        self.database = local.path.lstrip("/") or "tv5"

    # --------------------------------------------------------------------------------- public
    @property
    def url(self) -> str:
        """Client URL of this (local) cluster."""
        return f"postgresql://{self.role}@{self.host}:{self.port}/{self.database}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def external(self) -> bool:
        return bool(os.environ.get(ENV_URL, "").strip())

    def status(self) -> ServiceStatus:
        if self.external():
            return self._external_status()
        pid = self._pid()
        if pid and self._accepting():
            return ServiceStatus(self.name, True, self.address, f"pid {pid}, data {self.pgdata}")
        if self._accepting():
            return ServiceStatus(
                self.name, True, self.address, "answering, but not started from this data folder"
            )
        detail = f"not running (data {self.pgdata})" if (self.pgdata / "PG_VERSION").exists() else "not initialised"
        return ServiceStatus(self.name, False, self.address, detail)

    def up(self) -> ServiceStatus:
        if self.external():
            return self._external_status()
        current = self.status()
        if current.running:
            if self._pid():
                self._ensure_role_and_database()
            return current
        if self._pid() is not None:  # our server is starting up or recovering: wait for it
            return self._wait_until_accepting()
        if port_open(self.host, self.port):
            raise ServiceUnavailableError(
                f"Port {self.address} is taken by a process that is not a PostgreSQL server; stop it or "
                "choose another port with TV5_LOCAL_POSTGRES_PORT."
            )
        bin_dir = find_binaries()
        self._prepare_folder()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(bin_dir)
        self._check_major_version(bin_dir)
        self._write_config()
        self._run(
            [str(bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-l", str(self.log_file), "-w",
             "-t", str(self.start_timeout_s), "-o", f"-p {self.port}", "start"],
            what="start PostgreSQL",
        )
        self._ensure_role_and_database()
        return self.status()

    def down(self) -> ServiceStatus:
        if self.external():
            return self._external_status()
        pid = self._pid()
        if pid is None:
            return self.status()
        bin_dir = find_binaries()
        self._run(
            [str(bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop"],
            what="stop PostgreSQL",
        )
        return stopped(self.status(), pid, self.pgdata)

    # -------------------------------------------------------------------------------- helpers
    def _wait_until_accepting(self) -> ServiceStatus:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self._accepting():
                self._ensure_role_and_database()
                return self.status()
            if self._pid() is None:
                break
            time.sleep(0.2)
        raise ServiceUnavailableError(
            f"PostgreSQL (pid file in {self.pgdata}) did not accept connections on {self.address} within "
            f"{self.start_timeout_s} s; see {self.log_file}."
        )

    def _external_status(self) -> ServiceStatus:
        url = os.environ[ENV_URL]
        address = url_address(url)
        try:
            import psycopg

            with psycopg.connect(url, connect_timeout=5) as conn:
                version = conn.execute("SHOW server_version").fetchone()[0]
            return ServiceStatus(self.name, True, address, f"external ({ENV_URL}), PostgreSQL {version}")
        except Exception as error:  # report, never raise from status
            return ServiceStatus(
                self.name, False, address, f"external ({ENV_URL}), unreachable: {type(error).__name__}"
            )

    def _pid(self) -> int | None:
        """The postmaster's pid when its pid file names a live process."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, owned by the server user
        return pid

    def _accepting(self) -> bool:
        """True when a PostgreSQL server accepts connections on the port (libpq's PQping)."""
        from psycopg import pq

        conninfo = f"host={self.host} port={self.port} dbname=postgres connect_timeout=3"
        return pq.PGconn.ping(conninfo.encode()) == pq.Ping.OK

    def _as_server_user(self) -> list[str]:
        """Command prefix that drops root to the server's OS user (PostgreSQL refuses root)."""
        if os.geteuid() != 0:
            return []
        try:
            pwd.getpwnam(SERVER_OS_USER)
        except KeyError:
            raise ServiceUnavailableError(
                f"PostgreSQL refuses to run as root and there is no '{SERVER_OS_USER}' system user to run "
                f"it as; {INSTALL_HINT} (it creates that user), or run `tv5 services up` as a normal user."
            ) from None
        return ["runuser", "-u", SERVER_OS_USER, "--"]

    def _server_uid_gid(self) -> tuple[int, int] | None:
        if os.geteuid() != 0:
            return None
        entry = pwd.getpwnam(SERVER_OS_USER)
        return entry.pw_uid, entry.pw_gid

    def _prepare_folder(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        ids = self._server_uid_gid()
        if ids is None:
            return
        os.chown(self.root, *ids)
        if self.pgdata.exists():
            os.chown(self.pgdata, *ids)
        if self.log_file.exists():
            os.chown(self.log_file, *ids)
        # Every parent folder must be searchable by the server user, or initdb/pg_ctl fail obscurely.
        probe = subprocess.run([*self._as_server_user(), "test", "-w", str(self.root)], capture_output=True)
        if probe.returncode != 0:
            raise ServiceUnavailableError(
                f"The '{SERVER_OS_USER}' system user that runs PostgreSQL cannot write {self.root} (a parent "
                "folder is not searchable by other users, e.g. mode 700). Set TV5_DATA_DIR to a folder it "
                "can reach (for example under /tmp or /var/lib), or `chmod o+x` the parent folders."
            )

    def _initdb(self, bin_dir: Path) -> None:
        self._run(
            [str(bin_dir / "initdb"), "-D", str(self.pgdata), "-U", SUPERUSER, "--auth=trust",
             "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"],
            what="initialise the PostgreSQL cluster (initdb)",
        )

    def _check_major_version(self, bin_dir: Path) -> None:
        data_version = (self.pgdata / "PG_VERSION").read_text().strip()
        out = subprocess.run([str(bin_dir / "postgres"), "--version"], capture_output=True, text=True).stdout
        binary_major = out.split()[-1].split(".")[0] if out else ""
        if binary_major and binary_major != data_version:
            raise ServiceUnavailableError(
                f"{self.pgdata} holds a PostgreSQL {data_version} cluster but the binaries in {bin_dir} are "
                f"version {binary_major}; use matching binaries, or move the folder away to start afresh."
            )

    def _write_config(self) -> None:
        lines = [
            "# Written by `tv5 services up` on every start; edit tv5_assets/services/postgres.py instead.",
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            "unix_socket_directories = ''",
            *(f"{key} = '{value}'" for key, value in TUNING.items()),
        ]
        self._write_owned(self.pgdata / "tv5.conf", "\n".join(lines) + "\n")
        hba = (
            "# Written by `tv5 services up`: local TCP clients only, trust authentication.\n"
            "host all all 127.0.0.1/32 trust\n"
        )
        self._write_owned(self.pgdata / "pg_hba.conf", hba)
        main_conf = self.pgdata / "postgresql.conf"
        include = "include_if_exists = 'tv5.conf'"
        text = main_conf.read_text()
        if include not in text:
            self._write_owned(main_conf, text.rstrip("\n") + f"\n\n{include}\n")

    def _write_owned(self, path: Path, text: str) -> None:
        path.write_text(text)
        ids = self._server_uid_gid()
        if ids is not None:
            os.chown(path, *ids)
        path.chmod(0o600)

    def _ensure_role_and_database(self) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(
            host=self.host, port=self.port, dbname="postgres", user=SUPERUSER, connect_timeout=10, autocommit=True
        ) as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.role,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(self.role)))
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone() is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(self.database), sql.Identifier(self.role)
                    )
                )

    def _run(self, command: list[str], what: str) -> None:
        # A new session, so the server outlives the shell or job that ran `tv5 services up`.
        result = subprocess.run(
            [*self._as_server_user(), *command], capture_output=True, text=True, start_new_session=True
        )
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            log_tail = ""
            if self.log_file.exists():
                log_tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-5:])
            raise ServiceUnavailableError(
                f"Could not {what} on {self.address} (exit code {result.returncode}): "
                + " | ".join(tail)
                + (f"\nlast lines of {self.log_file}:\n{log_tail}" if log_tail else "")
            )


def url_address(url: str) -> str:
    """host:port/db of a PostgreSQL URL, never its credentials."""
    return base_url_address(url, 5432)
