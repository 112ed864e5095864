"""A throwaway PostgreSQL server for the tests: initdb into a temporary folder, pg_ctl on 127.0.0.1.

The server starts once per test session, on the first test that asks for it, and is removed at the
end. Tests that need it fail (never skip) when it cannot start; only a local run may opt out with
NNUS_TEST_POSTGRES=skip, and not where $CI is set. Debian's binaries are found under
/usr/lib/postgresql/<version>/bin (`make test` installs the package when missing), or in
$NNUS_PG_BIN. PostgreSQL refuses to run as root: as root the server runs as `nobody`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

OPT_OUT_ENV = "NNUS_TEST_POSTGRES"  # "skip": local runs without PostgreSQL (refused when $CI is set)
BIN_ENV = "NNUS_PG_BIN"
RUN_AS_WHEN_ROOT = "nobody"
SUPERUSER = "postgres"  # the cluster's own superuser name (trust auth on 127.0.0.1 only)


@dataclass(frozen=True)
class PgServer:
    """A running server: where it listens and how long it took to start."""

    port: int
    data_dir: Path
    bin_dir: Path
    start_s: float

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"


def find_bin_dir() -> Path | None:
    """The folder holding initdb/pg_ctl: $NNUS_PG_BIN, else Debian's newest, else the PATH."""
    if os.environ.get(BIN_ENV):
        return Path(os.environ[BIN_ENV])
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name),
        reverse=True,
    )
    if debian:
        return debian[0].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], user: str | None, **kw) -> subprocess.CompletedProcess:
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def start_server() -> PgServer:
    """initdb + pg_ctl start on a free port; raises RuntimeError with the server's own words."""
    bin_dir = find_bin_dir()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        raise RuntimeError(
            "PostgreSQL server binaries not found (looked in $NNUS_PG_BIN, /usr/lib/postgresql/*/bin "
            "and the PATH): run `make test` as root, or `sudo apt-get install postgresql`"
        )
    user = RUN_AS_WHEN_ROOT if os.geteuid() == 0 else None
    t0 = time.perf_counter()
    base = Path(tempfile.mkdtemp(prefix="nnus-pg-"))
    data = base / "data"
    if user is not None:
        pw = pwd.getpwnam(user)
        os.chown(base, pw.pw_uid, pw.pw_gid)
    init = _run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        user,
    )
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"initdb failed ({init.returncode}): {init.stderr.strip()[-800:]}")
    # A throwaway cluster: no durability, TCP on 127.0.0.1 only, a socket in its own folder, and
    # room for 50 writer processes with their pools.
    options = (
        "-h 127.0.0.1 -k {sock} -p {port} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=300 -c shared_buffers=32MB"
    )
    last = ""
    for _ in range(3):  # the free port can be taken between choosing and binding it
        port = _free_port()
        started = _run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(base / "server.log"),
                "-w",
                "-t",
                "60",
                "-o",
                options.format(sock=base, port=port),
                "start",
            ],
            user,
        )
        if started.returncode == 0:
            return PgServer(port, data, bin_dir, time.perf_counter() - t0)
        log = (base / "server.log").read_text(errors="replace") if (base / "server.log").exists() else ""
        last = f"{started.stderr.strip()} {log.strip()[-800:]}"
    shutil.rmtree(base, ignore_errors=True)
    raise RuntimeError(f"pg_ctl could not start the server: {last}")


def stop_server(server: PgServer) -> None:
    user = RUN_AS_WHEN_ROOT if os.geteuid() == 0 else None
    _run([str(server.bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "immediate", "stop"], user)
    shutil.rmtree(server.data_dir.parent, ignore_errors=True)


def _opted_out() -> bool:
    if os.environ.get(OPT_OUT_ENV, "").lower() != "skip":
        return False
    if os.environ.get("CI"):
        pytest.fail(f"{OPT_OUT_ENV}=skip is for local runs only: CI must run the PostgreSQL tests")
    return True


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PgServer]:
    """One PostgreSQL server for the whole session (started on first use)."""
    if _opted_out():
        pytest.skip(f"PostgreSQL tests skipped locally ({OPT_OUT_ENV}=skip)")
    try:
        server = start_server()
    except (RuntimeError, OSError, KeyError) as exc:
        pytest.fail(f"the PostgreSQL test server could not start: {exc}", pytrace=False)
    print(f"\nPostgreSQL test server on 127.0.0.1:{server.port}, started in {server.start_s:.2f} s")
    try:
        yield server
    finally:
        stop_server(server)


def create_database(server: PgServer) -> str:
    """A new empty database on the server; returns its SQLAlchemy URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with contextlib.closing(
        psycopg.connect(
            host="127.0.0.1", port=server.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


def drop_database(server: PgServer, url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with contextlib.closing(
        psycopg.connect(
            host="127.0.0.1", port=server.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def hold_write_lock(url: str) -> Iterator[None]:
    """Another program inside a write (a backup, a bulk job): SQLite's write lock, or on
    PostgreSQL a table lock that lets readers through but makes every insert wait."""
    if url.startswith("sqlite"):
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        holder = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
        holder.execute("LOCK TABLE attempts IN EXCLUSIVE MODE")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def store_url(request, tmp_path) -> Iterator[str]:
    """A URL of a fresh, empty database on each backend: a SQLite file, and a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tutor.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    url = create_database(server)
    try:
        yield url
    finally:
        from nnus_core.store import dispose_engines

        dispose_engines()  # the cached engines' pooled connections would hold the database open
        drop_database(server, url)


@pytest.fixture
def engine(store_url):
    """A migrated database on each backend (SQLite and PostgreSQL), disposed after the test."""
    from nnus_core.store import db as dbm

    eng = dbm.make_engine(store_url)
    dbm.migrate(eng)
    yield eng
    eng.dispose()
