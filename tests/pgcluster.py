"""A real, private PostgreSQL cluster on 127.0.0.1, for the tests and the benchmarks.

A :class:`PostgresCluster` is one ``initdb`` cluster in a directory of its own (own port, own socket
directory, ``fsync=off``: test data only), never a system cluster. Run as root, the server runs as
the ``postgres`` user the Debian package creates (``initdb`` refuses root); run as another user,
as that user. Each test gets a database of its own, copied from a template (``CREATE DATABASE …
TEMPLATE``, a file copy: much faster than migrating a fresh one).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.timing import scaled

#: Debian keeps the server's programs out of PATH; the newest installed version wins.
BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
SERVER_USER = "postgres"
#: The role that must log in with a password (see :meth:`PostgresCluster.init`).
PASSWORD_ROLE = "dossier_pw"


def bin_dir() -> Path | None:
    """The directory holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    for path in BIN_DIRS:
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """One private cluster: ``start``, ``stop``, ``url``, ``create_database``, ``drop_database``."""

    def __init__(self, root: Path, *, bin_path: Path | None = None) -> None:
        self.root = Path(root)
        self.bin = bin_path or bin_dir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")
        self.data = self.root / "data"
        self.sockets = self.root / "run"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            self._as_user = ["runuser", "-u", SERVER_USER, "--"]

    # --- the server -------------------------------------------------------------------------

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as_user, *args], capture_output=True, text=True, check=check,
                              stdin=subprocess.DEVNULL)

    def init(self) -> None:
        """``initdb`` the cluster (trust for local connections: a test cluster on 127.0.0.1)."""
        os.chmod(self.root, 0o755)  # the server user must reach its directories
        for path in (self.data, self.sockets):
            path.mkdir(exist_ok=True)
        if self._as_user:
            entry = pwd.getpwnam(SERVER_USER)
            for path in (self.data, self.sockets):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            self.log.touch()
            os.chown(self.log, entry.pw_uid, entry.pw_gid)
        os.chmod(self.data, 0o700)
        # C.UTF-8 sorts by code point, as SQLite does: the same order of names on both.
        done = self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                         "-E", "UTF8", "--locale=C.UTF-8", check=False)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        # Every role but the ones named for it connects without a password; PASSWORD_ROLE must give
        # one, as on a real server (the tests of PGPASSWORD, ~/.pgpass and a wrong password).
        hba = self.data / "pg_hba.conf"
        hba.write_text(f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())

    def start(self) -> None:
        options = " ".join([
            f"-p {self.port}", f"-k {self.sockets}", "-c listen_addresses=127.0.0.1",
            # Test data: nothing needs to survive a crash of the machine.
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",
            "-c max_connections=300", "-c shared_buffers=64MB",
        ])
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", str(int(scaled(60))),
                         "-l", str(self.log), "-o", options, "start", check=False)
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr.strip()} {self._log_tail()}")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as a crash would)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)
        # A postmaster whose parent is gone may linger as <defunct> here: wait for the port instead.
        deadline = time.monotonic() + scaled(20)
        while time.monotonic() < deadline and self.is_listening():
            time.sleep(0.05)

    def is_listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log.read_text().splitlines()[-5:])
        except OSError:
            return ""

    # --- databases ----------------------------------------------------------------------------

    def url(self, database: str, *, user: str = "postgres", password: str | None = None) -> str:
        """The SQLAlchemy URL of ``database`` on this cluster."""
        secret = f":{password}" if password else ""
        return f"postgresql+psycopg://{user}{secret}@127.0.0.1:{self.port}/{database}"

    def execute(self, *statements: str, database: str = "postgres") -> None:
        """Run statements outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database,
                             autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)

    def new_name(self, prefix: str = "t") -> str:
        return f"{prefix}_{os.getpid()}_{next(self._names)}"

    def create_database(self, name: str | None = None, *, template: str | None = None) -> str:
        """A new database (a copy of ``template`` when given, which nobody may be connected to);
        returns its name."""
        name = name or self.new_name()
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending whatever connections a test left open to it."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def has_extension(self, name: str) -> bool:
        """Whether the server can ``CREATE EXTENSION name`` (its files are installed)."""
        share = subprocess.run([str(self.bin / "pg_config"), "--sharedir"], capture_output=True, text=True)
        return (Path(share.stdout.strip()) / "extension" / f"{name}.control").exists()
