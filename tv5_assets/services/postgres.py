"""Local PostgreSQL for `tv5 services`: Debian's server binaries, one cluster under TV5_DATA_DIR.

Layout under `services_dir()/postgres`:
    pgdata/         the cluster (owned by the unprivileged OS user that runs the server)
    postgres.log    the server log (pg_ctl -l)

The server listens on 127.0.0.1 only (no Unix socket), port `TV5_LOCAL_POSTGRES_PORT`, with
`trust` authentication for local TCP clients; `up` creates the role and database named in the
local URL of `endpoints.POSTGRES` (tv5/tv5). With `TV5_LOCAL_POSTGRES_PASSWORD` set, `up` gives
that role and the superuser that password and switches every login to `scram-sha-256` (the server
starts on `trust` for that first step only); clients then connect with TV5_POSTGRES_URL=
postgresql://tv5:<password>@127.0.0.1:<port>/tv5. PostgreSQL refuses to run as root, so when we are root
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
from pathlib import Path
from urllib.parse import urlsplit

from ..endpoints import POSTGRES
from ..errors import ServiceUnavailableError
from .base import LocalService, pid_alive

SERVER_OS_USER = "postgres"  # Debian's system user for the server; used only when we are root
SUPERUSER = "postgres"  # bootstrap superuser name given to initdb
PASSWORD_VAR = "TV5_LOCAL_POSTGRES_PASSWORD"
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
        f"existing server with {POSTGRES.env_var}."
    )


class PostgresService(LocalService):
    """The local PostgreSQL cluster (`tv5 services up|down|status --only postgres`)."""

    endpoint = POSTGRES
    data_subdir = "pgdata"
    pid_name = "pgdata/postmaster.pid"  # written and removed by the server itself
    log_name = "postgres.log"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        local = urlsplit(self.url)
        self.role = local.username or "tv5"
        self.database = local.path.lstrip("/") or "tv5"

    @property
    def pgdata(self) -> Path:
        return self.store_dir

    # ------------------------------------------------------------------------ LocalService
    def answers(self, pid: int | None) -> bool:
        """True when a PostgreSQL server accepts connections on the port (libpq's PQping)."""
        from psycopg import pq

        conninfo = f"host={self.host} port={self.port} dbname=postgres connect_timeout=3"
        return pq.PGconn.ping(conninfo.encode()) == pq.Ping.OK

    def idle_detail(self) -> str:
        return f"not running (data {self.pgdata})" if (self.pgdata / "PG_VERSION").exists() else "not initialised"

    def probe_external(self, url: str) -> str:
        import psycopg

        with psycopg.connect(url, connect_timeout=5) as conn:
            return f"PostgreSQL {conn.execute('SHOW server_version').fetchone()[0]}"

    def _remove_stale_pid_file(self) -> None:
        """A server killed with SIGKILL leaves postmaster.pid; PostgreSQL ignores it when the pid is gone,
        but a killed server not yet reaped (a zombie, where nothing reaps orphans) still answers
        kill(pid, 0), and the start fails with "lock file already exists"."""
        pid_file = self.pgdata / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return
        if not pid_alive(pid):
            pid_file.unlink(missing_ok=True)

    def start(self) -> None:
        bin_dir = find_binaries()
        self._prepare_folder()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(bin_dir)
        self._check_major_version(bin_dir)
        self._write_config()
        self._remove_stale_pid_file()
        self._run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(int(self.start_timeout_s)),
                "-o",
                f"-p {self.port}",
                "start",
            ],
            what="start PostgreSQL",
        )

    def prepare_clients(self) -> None:
        self._ensure_role_and_database()
        if self.password:
            self._write_hba(trust=False)
            self._superuser_sql("SELECT pg_reload_conf()")

    @property
    def password(self) -> str | None:
        """The password `up` gives the local roles (TV5_LOCAL_POSTGRES_PASSWORD); None: trust logins."""
        return os.environ.get(PASSWORD_VAR) or None

    def stop(self, pid: int) -> None:
        bin_dir = find_binaries()
        self._run(
            [str(bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "60", "stop"],
            what="stop PostgreSQL",
        )

    # -------------------------------------------------------------------------------- helpers
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
            [
                str(bin_dir / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ],
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
        self._write_hba(trust=True)  # with a password, prepare_clients switches to scram once it is set
        main_conf = self.pgdata / "postgresql.conf"
        include = "include_if_exists = 'tv5.conf'"
        text = main_conf.read_text()
        if include not in text:
            self._write_owned(main_conf, text.rstrip("\n") + f"\n\n{include}\n")

    def _write_hba(self, trust: bool) -> None:
        method = "trust" if trust else "scram-sha-256"
        hba = (
            f"# Written by `tv5 services up`: local TCP clients only, {method} authentication.\n"
            f"host all all 127.0.0.1/32 {method}\n"
        )
        self._write_owned(self.pgdata / "pg_hba.conf", hba)

    def _write_owned(self, path: Path, text: str) -> None:
        path.write_text(text)
        ids = self._server_uid_gid()
        if ids is not None:
            os.chown(path, *ids)
        path.chmod(0o600)

    def _superuser(self):
        """An autocommit connection as the superuser (with the local password when one is set)."""
        import psycopg

        try:
            return psycopg.connect(
                host=self.host,
                port=self.port,
                dbname="postgres",
                user=SUPERUSER,
                password=self.password,
                connect_timeout=10,
                autocommit=True,
            )
        except psycopg.OperationalError as error:
            raise ServiceUnavailableError(
                f"PostgreSQL at {self.address} refused the superuser login ({str(error).strip().splitlines()[-1]}). "
                f"The server keeps the password it was given when it started: after changing {PASSWORD_VAR}, "
                "restart it with `tv5 services down --only postgres && tv5 services up --only postgres`."
            ) from None

    def _superuser_sql(self, statement: str) -> None:
        with self._superuser() as conn:
            conn.execute(statement)

    def _ensure_role_and_database(self) -> None:
        from psycopg import sql

        with self._superuser() as conn:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.role,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(self.role)))
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone() is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(self.database), sql.Identifier(self.role)
                    )
                )
            if self.password:  # ALTER ROLE takes no bind parameters: psycopg quotes the literal
                for role in (self.role, SUPERUSER):
                    conn.execute(
                        sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role), sql.Literal(self.password))
                    )

    def _run(self, command: list[str], what: str) -> None:
        self.run_tool([*self._as_server_user(), *command], what)
