"""A real PostgreSQL 15 for tests (Debian's postgresql-15), started in a temp directory.

PostgreSQL refuses to run as root, so as root (CI) initdb and postgres run as the
`postgres` system user (`runuser -u postgres --`) in a directory chowned to it; otherwise
as the current user. It listens on 127.0.0.1 on a free port, its unix socket in the temp
directory (which only its owner can enter: local connections there are trusted, for the
setup done here), with fsync on. The gateway connects over TCP as the role `gateway` with
a password (scram-sha-256) that is in a 0600 passfile named in the DSN: never in argv,
never in the DSN itself.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

from tests.support.ports import free_port
from tests.support.tools import not_available, write_private

BIN = Path("/usr/lib/postgresql/15/bin")
START_TIMEOUT = 60.0
ROLE = "gateway"
TEMPLATE = "gateway_template"


def require_binaries() -> None:
    for name in ("initdb", "postgres"):
        if not os.access(BIN / name, os.X_OK):
            not_available(f"{BIN / name} missing (Debian postgresql-15; .ci/run installs it)")


def dbname(dsn: str) -> str:
    """The database a DSN of `PostgresServer.dsn` names (its passfile path has slashes)."""
    return dsn.split("?", 1)[0].rsplit("/", 1)[1]


class PostgresServer:
    """One postmaster in its own temp directory; stop()/start() keep the data."""

    def __init__(self) -> None:
        require_binaries()
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="gw-pg-"))  # /tmp: postgres can reach it
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.socket_dir.mkdir()
        self.log_path = self.root / "postgres.log"
        self.port = free_port()
        self.password = secrets.token_urlsafe(24)
        self.passfile = self.root / "pgpass"
        self.proc: subprocess.Popen[bytes] | None = None
        if self.as_root:
            owner = pwd.getpwnam("postgres")
            for path in (self.root, self.socket_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self.root.chmod(0o711)  # others may pass through to the passfile's directory only

    def _as_owner(self, argv: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if self.as_root else argv

    def initdb(self) -> None:
        argv = [str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8"]
        argv += ["--no-locale", "--auth-local=trust", "--auth-host=scram-sha-256"]
        done = subprocess.run(
            self._as_owner(argv), capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"initdb failed: {done.stdout}\n{done.stderr}")

    def start(self) -> None:
        assert not self.running(), "already running"
        argv = [str(BIN / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        argv += ["-c", "listen_addresses=127.0.0.1"]
        argv += ["-c", f"unix_socket_directories={self.socket_dir}"]
        argv += ["-c", "fsync=on", "-c", "max_connections=200", "-c", "shared_buffers=32MB"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self._as_owner(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if not self._wait_ready():
            self.stop()
            raise AssertionError(f"postgres did not start: {self.log_tail()}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.running():
            try:
                with self.admin_connection():
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        return False

    def setup(self) -> None:
        """First start: the gateway's role, its passfile and the template database."""
        self.initdb()
        self.start()
        with self.admin_connection() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(ROLE), sql.Literal(self.password)
                )
            )
            conn.execute(f"CREATE DATABASE {TEMPLATE} OWNER {ROLE}")
        write_private(self.passfile, f"127.0.0.1:{self.port}:*:{ROLE}:{self.password}\n")

    def admin_connection(self) -> psycopg.Connection:
        """The superuser over the unix socket (trust: only the socket's owner reaches it)."""
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname="postgres",
            autocommit=True,
            connect_timeout=5,
        )

    def dsn(self, dbname: str) -> str:
        """What the gateway is configured with: no password in it, only the passfile's name."""
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{dbname}?passfile={self.passfile}"

    def create_database(self) -> str:
        """A fresh, empty database owned by the gateway's role; returns its DSN."""
        name = f"t_{secrets.token_hex(6)}"
        with self.admin_connection() as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} OWNER {ROLE}")
        return self.dsn(name)

    def create_schema(self, dsn: str) -> str:
        """A fresh schema owned by the gateway's role in `dsn`'s database; returns the DSN
        that works in it (search_path). Cheaper than a database per test: dropping a
        database makes PostgreSQL 15 checkpoint, dropping a schema does not. Commits there
        do not wait for the WAL flush (synchronous_commit=off): for tests of behaviour,
        not of crash durability, which use a database of their own (`postgres_dsn`)."""
        name = f"s_{secrets.token_hex(6)}"
        with psycopg.connect(self._admin_dsn(dsn), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name} AUTHORIZATION {ROLE}")
        return f"{dsn}&options=-csynchronous_commit%3Doff%20-csearch_path%3D{name}"

    def drop_schema(self, schema_dsn: str) -> None:
        dsn, _, name = schema_dsn.partition("&options=")
        name = name.rpartition("search_path%3D")[2]
        if self.running():
            with psycopg.connect(self._admin_dsn(dsn), autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")

    def _admin_dsn(self, dsn: str) -> str:
        return f"host={self.socket_dir} port={self.port} user=postgres dbname={dbname(dsn)}"

    def drop_database(self, dsn: str) -> None:
        name = dbname(dsn)
        if self.running():
            with self.admin_connection() as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def postmaster_pid(self) -> int | None:
        """From DATA/postmaster.pid: as root, self.proc is runuser, not postgres itself."""
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def stop(self, timeout: float = 30, how: signal.Signals = signal.SIGINT) -> None:
        """Fast shutdown (SIGINT) of the postmaster by its PID; SIGKILL if it hangs."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        pid = self.postmaster_pid()
        os.kill(pid if pid else proc.pid, how)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            if pid:
                os.kill(pid, signal.SIGKILL)
            proc.kill()
            proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
