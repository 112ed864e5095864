"""Database engine from NNUS_DB_URL (SQLite by default), the schema, and ordered self-applied migrations."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from nnus_core.errors import StoreBusyError, StoreError

REPO_ROOT = Path(__file__).resolve().parents[2]
DB_ENV = "NNUS_DB_URL"
DEFAULT_DB_PATH = REPO_ROOT / "data" / "nnus_tutor.db"
# How long a write waits for another writer's lock before giving up. Writes here are single rows in
# milliseconds, so a lock held longer than this is a stuck or long job (a backup, a bulk import):
# the student is told at once and the answer is kept and retried, instead of a 30 s frozen page.
SQLITE_BUSY_TIMEOUT_MS = 3_000
# Start-up (migration, health check) may wait longer: many app servers starting at once queue on
# one lock, and nobody is waiting on a click.
SQLITE_STARTUP_BUSY_TIMEOUT_MS = 30_000

NAME_MAX_CHARS = 40

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", String(200), nullable=False),
    Column("applied_s", Float, nullable=False),
)

students = Table(
    "students",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Case-folded, whitespace-collapsed name: "Ana" and " ana " are one student.
    Column("name_key", String(NAME_MAX_CHARS * 4), nullable=False, unique=True),
    Column("display_name", String(NAME_MAX_CHARS * 4), nullable=False),
    Column("created_s", Float, nullable=False),
)

quiz_sessions = Table(
    "quiz_sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("student_id", Integer, ForeignKey("students.id"), nullable=False),
    Column("settings_json", Text, nullable=False),
    Column("dataset_key", String(200), nullable=False),
    Column("created_s", Float, nullable=False),
    Column("finished_s", Float, nullable=True),
)

question_instances = Table(
    "question_instances",
    metadata,
    Column("id", String(64), primary_key=True),  # "<session id>-<position>": stable across reloads
    Column("session_id", String(40), ForeignKey("quiz_sessions.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("image_stem", String(200), nullable=False),
    Column("organ_id", Integer, nullable=True),
    Column("payload_json", Text, nullable=False),
    Column("served_s", Float, nullable=False),
    UniqueConstraint("session_id", "position", name="uq_instance_position"),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # One answer per question instance: the UNIQUE key makes double submits and two tabs harmless.
    Column("idempotency_key", String(100), nullable=False, unique=True),
    Column("student_id", Integer, ForeignKey("students.id"), nullable=False),
    Column("session_id", String(40), nullable=True),
    Column("instance_id", String(64), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("image_stem", String(200), nullable=False),
    Column("organ_id", Integer, nullable=True),
    Column("dataset_key", String(200), nullable=False, server_default=""),
    Column("answer_json", Text, nullable=False),
    Column("iou", Float, nullable=True),
    Column("credit", Float, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("model_iou", Float, nullable=True),
    Column("model_conf", Float, nullable=True),
    Column("elapsed_s", Float, nullable=True),
    Column("feedback", Text, nullable=False, server_default=""),
    Column("created_s", Float, nullable=False),
)


@dataclass(frozen=True)
class Migration:
    """One schema step; `apply` runs inside the migration transaction."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _m1_base(conn: Connection) -> None:
    for table in (students, quiz_sessions, question_instances, attempts):
        table.create(conn, checkfirst=True)


def _m2_history_indexes(conn: Connection) -> None:
    # Progress pages read a student's attempts by time, and the scheduler by organ. Plain DDL with
    # IF NOT EXISTS (SQLite and PostgreSQL): a fresh database already has them from step 1, whose
    # tables are built from the latest Table definitions below.
    for name, table, cols in _INDEXES:
        conn.exec_driver_sql(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(cols)})")


_INDEXES = (
    ("ix_attempts_student_time", "attempts", ("student_id", "created_s")),
    ("ix_attempts_student_organ", "attempts", ("student_id", "organ_id")),
    ("ix_sessions_student", "quiz_sessions", ("student_id",)),
)
for _name, _table, _cols in _INDEXES:
    Index(_name, *(metadata.tables[_table].c[c] for c in _cols))


def _m3_accounts(conn: Connection) -> None:
    from nnus_core.store.account_tables import ACCOUNT_TABLES

    for table in ACCOUNT_TABLES:
        table.create(conn, checkfirst=True)


# Ordered; append only. A released step is never edited: add a new one instead.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "students, quiz sessions, question instances, attempts", _m1_base),
    Migration(2, "indexes for history and per-organ queries", _m2_history_indexes),
    Migration(3, "accounts: users, classes, memberships, sign-in tokens and failures", _m3_accounts),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def db_url(env: dict[str, str] | None = None) -> str:
    """The database URL: $NNUS_DB_URL, else a SQLite file under data/."""
    env = os.environ if env is None else env
    return env.get(DB_ENV) or f"sqlite:///{DEFAULT_DB_PATH}"


def _switch_to_wal(cur) -> None:  # noqa: ANN001 - a sqlite3 cursor
    """PRAGMA journal_mode=WAL, retried while another process holds the lock it needs.

    The switch reads the file first and then needs the exclusive lock: when another connection is
    part-way through its own switch, SQLite answers "database is locked" at once, without calling
    the busy handler (its deadlock rule), so the busy timeout does not cover it. Seen with 50 app
    processes creating one new database together; a retry a few milliseconds later succeeds.
    """
    import sqlite3

    deadline = time.monotonic() + SQLITE_STARTUP_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # pragma: no cover - exercised via every test
        # Let SQLAlchemy emit BEGIN itself (below): the driver's legacy mode skips it for SELECTs.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # busy_timeout first: switching to WAL needs a lock that another process may hold (at
        # start-up, when many may: the long wait); then the short one for everything else.
        cur.execute(f"PRAGMA busy_timeout={SQLITE_STARTUP_BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            _switch_to_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the write lock up front: a deferred one that reads first and
        # then writes can fail with SQLITE_BUSY at once instead of waiting (no busy handler then).
        immediate = conn.get_execution_options().get("nnus_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def make_engine(url: str) -> Engine:
    """A new engine for `url`, configured (WAL and busy timeout for SQLite) but not migrated.

    Raises:
        StoreError: for a URL SQLAlchemy cannot use (missing driver, bad syntax).
    """
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            db = engine.url.database
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            _configure_sqlite(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(
            f"{DB_ENV}: cannot use database URL {_redact(url)!r}: {exc} "
            "(PostgreSQL needs `pip install psycopg` and a URL like postgresql+psycopg://user@host/db)"
        ) from exc
    return engine


def _redact(url: str) -> str:
    # Never echo a password from the URL into a page or a log.
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (default `db_url()`), migrated to the latest schema.

    Raises:
        StoreError: when the database cannot be opened or migrated.
    """
    url = url or db_url()
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            migrate(engine)
            check_health(engine)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests, and a forked child that must not share connections)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


# (what the driver says, busy?, what a visitor is told). SQLite's messages are stable across versions.
_CAUSES = (
    (("database is locked", "database table is locked", "database schema is locked"), True,
     "The progress database is busy (another program is writing to it)."),
    (("readonly database", "read-only", "read only"), False,
     "The progress database is read-only: answers cannot be saved."),
    (("disk is full", "database or disk is full", "no space left"), False,
     "The server's disk is full: answers cannot be saved."),
    (("malformed", "not a database", "file is encrypted"), False,
     "The progress database file is damaged."),
    (("unable to open database", "could not connect", "connection refused", "server closed"), False,
     "The progress database cannot be reached."),
)


def store_error(exc: BaseException, engine: Engine, action: str) -> StoreError:
    """The project's error for a driver failure: the detail for the log, a plain sentence for a page.

    Args:
        exc: what SQLAlchemy or the driver raised.
        engine: the engine it came from (named in the detail, password redacted).
        action: what was being done, e.g. "store an answer".
    """
    said = str(getattr(exc, "orig", None) or exc).lower()
    detail = f"cannot {action} in {_redact(str(engine.url))}: {type(exc).__name__}: {exc}"
    for needles, busy, plain in _CAUSES:
        if any(n in said for n in needles):
            return (StoreBusyError if busy else StoreError)(detail, plain)
    return StoreError(detail)


@contextmanager
def write_tx(engine: Engine, action: str = "write", busy_timeout_ms: int | None = None) -> Iterator[Connection]:
    """A transaction that takes the write lock at BEGIN on SQLite (plain BEGIN elsewhere).

    Args:
        engine: the database.
        action: what the transaction does, named in an error.
        busy_timeout_ms: wait this long for another writer's lock (SQLite; default 3 s).

    Raises:
        StoreBusyError: when another writer holds the lock past the busy timeout.
        StoreError: for any other database failure (read-only, disk full, damaged file).
    """
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection if busy_timeout_ms and engine.dialect.name == "sqlite" else None
            if raw is not None:  # on the driver: a statement here would open the transaction
                raw.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            try:
                conn.execution_options(nnus_write=True)
                with conn.begin():
                    yield conn
            finally:
                if raw is not None:
                    raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    except SQLAlchemyError as exc:
        raise store_error(exc, engine, action) from exc


@contextmanager
def read_conn(engine: Engine, action: str = "read") -> Iterator[Connection]:
    """A connection for reading; driver failures come out as StoreError (see write_tx)."""
    try:
        with engine.connect() as conn:
            yield conn
    except SQLAlchemyError as exc:
        raise store_error(exc, engine, action) from exc


class _RollBack(Exception):
    """Leaves write_tx by rolling back: the write probe must leave nothing behind."""


def check_health(engine: Engine) -> None:
    """Start-up check: the database is sound and takes a write (probed, then rolled back).

    Without it a read-only, damaged or full database passes start-up and then fails every answer.

    Raises:
        StoreError: naming the cause in `plain` (read-only, damaged, disk full, busy, unreachable).
    """
    with read_conn(engine, "check") as conn:
        if engine.dialect.name == "sqlite":
            verdict = [r[0] for r in conn.exec_driver_sql("PRAGMA quick_check").fetchall()]
            if verdict != ["ok"]:
                raise StoreError(
                    f"integrity check of {_redact(str(engine.url))} failed: {'; '.join(verdict[:5])}",
                    "The progress database file is damaged.",
                )
    try:
        with write_tx(engine, "write a test row", SQLITE_STARTUP_BUSY_TIMEOUT_MS) as conn:
            conn.execute(schema_version.insert().values(version=-1, description="write probe", applied_s=0.0))
            raise _RollBack
    except _RollBack:
        pass


def current_version(conn: Connection) -> int:
    """The schema version recorded in the database (0 for an empty database)."""
    if not inspect(conn).has_table("schema_version"):
        return 0
    return int(conn.scalar(select(schema_version.c.version).order_by(schema_version.c.version.desc())) or 0)


def migrate(engine: Engine, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring the schema up to the last migration; safe when many processes start at once.

    A busy database is tried again until the start-up timeout: when many processes create one new
    SQLite file together, SQLite can answer "locked" at once, without its busy handler, while
    another one switches the file to WAL (seen about once in 50 processes on a loaded 2-core host).
    Every step runs in one transaction that reads the version first, so a retry is harmless.

    Returns:
        The schema version after migrating.

    Raises:
        StoreError: when the database is newer than this code, or a step fails.
        StoreBusyError: when it stays locked for the whole start-up timeout.
    """
    deadline = time.monotonic() + SQLITE_STARTUP_BUSY_TIMEOUT_MS / 1000
    pause = 0.01
    while True:
        try:
            return _migrate_once(engine, migrations)
        except StoreBusyError:
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


def _migrate_once(engine: Engine, migrations: tuple[Migration, ...]) -> int:
    latest = migrations[-1].version if migrations else 0
    try:
        with write_tx(engine, "open or migrate the database", SQLITE_STARTUP_BUSY_TIMEOUT_MS) as conn:
            if engine.dialect.name == "postgresql":
                # Serialise concurrent app servers migrating the same database.
                conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
            schema_version.create(conn, checkfirst=True)
            have = current_version(conn)
            if have > latest:
                raise StoreError(
                    f"database schema version {have} is newer than this app's {latest}: "
                    "upgrade the app instead of downgrading the database"
                )
            for m in migrations:
                if m.version <= have:
                    continue
                m.apply(conn)
                conn.execute(
                    schema_version.insert().values(
                        version=m.version, description=m.description, applied_s=time.time()
                    )
                )
            return max(have, latest)
    except SQLAlchemyError as exc:  # pragma: no cover - write_tx converts driver errors
        raise store_error(exc, engine, "open or migrate the database") from exc
