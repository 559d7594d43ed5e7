"""A PostgreSQL server on loopback for the local stack, the tests and the benchmarks.

Binaries: the machine's own server (Debian's /usr/lib/postgresql/<v>/bin) when present, otherwise
the embedded build that the `pgserver` wheel ships (PostgreSQL 16). PostgreSQL refuses to run as
root, so when we are root the cluster is created and run as a dedicated OS user, `qdpostgres`.
Authentication is `trust` on 127.0.0.1 only: these clusters are local and throwaway (or, for
`make run`, a developer's own state directory); production uses its own server.
"""

import glob
import os
import pwd
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from deploy.local.nats import remember, stop_process
from deploy.local.ports import free_port

SERVICE_USER = "qdpostgres"

# Settings for throwaway test clusters: durability is not what they test, speed is.
FAST_UNSAFE_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def server_bindir() -> Path:
    """The directory holding `initdb` and `postgres`: the machine's newest, else pgserver's."""
    if os.environ.get("QD_PG_BINDIR"):
        return Path(os.environ["QD_PG_BINDIR"])
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_major_version)
    for candidate in reversed(candidates):
        if Path(candidate, "postgres").exists() and Path(candidate, "initdb").exists():
            return Path(candidate)
    from pgserver._commands import POSTGRES_BIN_PATH  # embedded fallback, imported only if needed

    return Path(POSTGRES_BIN_PATH)


def _major_version(path: str) -> int:
    try:
        return int(Path(path).parent.name)
    except ValueError:
        return 0


def _service_user() -> str | None:
    """The OS user to run PostgreSQL as: ourselves, or a dedicated user when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        SERVICE_USER], check=True)
    return SERVICE_USER


def _hand_over(path: Path, user: str | None) -> None:
    """Make `path` (and the way to it) usable by the service user."""
    path.mkdir(parents=True, exist_ok=True)
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    for parent in path.parents:  # e.g. a 0700 mkdtemp() parent owned by root
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)


@dataclass
class Postgres:
    """One PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port`."""

    data_dir: Path
    port: int = 0
    log_file: Path | None = None
    settings: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    @property
    def dsn(self) -> str:
        return self.dsn_for("postgres")

    def dsn_for(self, database: str) -> str:
        """A psycopg conninfo string for one database of this cluster."""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def start(self, timeout: float = 60.0) -> "Postgres":
        """Create the cluster if it is new, start it, and wait until it answers queries."""
        user = _service_user()
        bindir = server_bindir()
        _hand_over(self.data_dir, user)
        socket_dir = self.data_dir / "socket"
        if not (self.data_dir / "pgdata" / "PG_VERSION").exists():
            created = subprocess.run(
                [str(bindir / "initdb"), "-D", str(self.data_dir / "pgdata"), "-U", "postgres",
                 "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-sync"],
                check=False, user=user, group=user, extra_groups=[] if user else None, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
            if created.returncode != 0:
                raise RuntimeError(f"initdb failed: {created.stderr.strip()}")
        _hand_over(socket_dir, user)
        self.port = self.port or free_port()
        options = {"listen_addresses": "127.0.0.1", "port": str(self.port),
                   "unix_socket_directories": str(socket_dir), "max_connections": "200",
                   **self.settings}
        args = [str(bindir / "postgres"), "-D", str(self.data_dir / "pgdata")]
        for name, value in options.items():
            args += ["-c", f"{name}={value}"]
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.process = remember(subprocess.Popen(
            args, user=user, group=user, extra_groups=[] if user else None, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True))
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with code {self.process.returncode}")
            try:
                with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as error:
                last_error = error
                time.sleep(0.1)
        raise TimeoutError(f"postgres not ready on port {self.port}: {last_error}")

    def create_database(self, name: str) -> str:
        """Create an empty database and return its conninfo string."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn_for(name)

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT): roll back open transactions, checkpoint, exit."""
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, 2)
                self.process.wait(timeout)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                stop_process(self.process, 5)
        self.process = None

    def kill(self) -> None:
        """SIGKILL the postmaster: the crash case (recovery runs on the next start)."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait()
        self.process = None
