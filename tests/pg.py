"""A throwaway PostgreSQL server for the tests: Debian's binaries (installed by `make setup`), a fresh cluster in a
temporary folder, reached on a unix socket there (no TCP port, so parallel test runs never collide).

PostgreSQL refuses to run as root: as root the cluster belongs to the ``postgres`` system user that the Debian
package creates, and initdb/pg_ctl run as that user. Nothing here is tuned for durability (fsync is off).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

SETUP_HINT = "run `make setup` (it installs the Debian package postgresql)"
SUPERUSER = "kmh"
# A time zone other than UTC, so that a datetime read back in the session's zone is noticed.
TIMEZONE = "Asia/Kolkata"
_SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "16MB",
    "max_connections": "50",
    "timezone": TIMEZONE,
    "log_min_messages": "warning",
}
_PREFIX = "kmh-pg-"
# In each server's folder: the id of the test process that started it.
_OWNER = "owner.pid"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries (or the user to run them as) are missing."""


def bindir() -> Path:
    """The folder of initdb, pg_ctl and postgres: the newest /usr/lib/postgresql/NN/bin, else the PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    raise PostgresUnavailable(f"PostgreSQL's initdb was not found (/usr/lib/postgresql/*/bin/initdb); {SETUP_HINT}")


class PostgresServer:
    """One PostgreSQL cluster under a temporary folder: ``start()`` it, take an ``empty_database()`` per test, ``stop()``."""

    def __init__(self) -> None:
        self.bin = bindir()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            try:
                self._owner = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable(f"running as root, but there is no `postgres` user to run PostgreSQL as; "
                                          f"{SETUP_HINT}") from None
            if not shutil.which("runuser"):
                raise PostgresUnavailable("running as root, but `runuser` (util-linux) is missing")
        self._stop_abandoned()
        self.root = Path(tempfile.mkdtemp(prefix=_PREFIX))
        (self.root / _OWNER).write_text(str(os.getpid()))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log = self.root / "server.log"
        self._databases: set[str] = set()
        self._admin = None

    def _stop_abandoned(self) -> None:
        """Stop and remove the servers of earlier test runs that were killed before their teardown."""
        for owner in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*/{_OWNER}"):
            try:
                os.kill(int(owner.read_text()), 0)
                continue  # its test run is still going
            except ProcessLookupError:
                pass
            except (ValueError, OSError):
                continue
            root = owner.parent
            if (root / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(root / "data"), "-m", "immediate", "-w", "stop", cwd=root, check=False)
            shutil.rmtree(root, ignore_errors=True)

    def _run(self, *args: str, cwd: Path | None = None, check: bool = True) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, cwd=cwd or self.root, capture_output=True, text=True)
        if not check:
            return
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}")

    def start(self) -> PostgresServer:
        self.socket_dir.mkdir()
        self.root.chmod(0o755)
        if self._as_root:
            for path in (self.root, self.socket_dir):
                os.chown(path, self._owner.pw_uid, self._owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "--no-sync",
                  "--encoding=UTF8", "--locale=C")
        options = " ".join(f"-c {k}={v}" for k, v in _SETTINGS.items())
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", f"{options} -c unix_socket_directories='{self.socket_dir}'", "start")
        import psycopg

        self._admin = psycopg.connect(host=str(self.socket_dir), user=SUPERUSER, dbname="postgres", autocommit=True)
        return self

    def url(self, dbname: str) -> str:
        """A SQLAlchemy URL (psycopg 3) of a database of this server."""
        return f"postgresql+psycopg://{SUPERUSER}@/{dbname}?host={self.socket_dir}"

    def empty_database(self, index: int = 0) -> str:
        """The name of scratch database number ``index``, empty: made on first use, afterwards its connections
        (any a test left open) are ended and its public schema dropped and made again. That takes about a
        hundredth of a second, where CREATE DATABASE takes ten times as long."""
        import psycopg

        name = f"kmh_test_{index}"
        if name not in self._databases:
            self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            self._databases.add(name)
            return name
        self._admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        with psycopg.connect(host=str(self.socket_dir), user=SUPERUSER, dbname=name, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        return name

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        try:
            if self._admin is not None:
                self._admin.close()
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
