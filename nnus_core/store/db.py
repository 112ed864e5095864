"""Database engine from NNUS_DB_URL (SQLite by default), the schema, and its Alembic migrations at start-up."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

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
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from nnus_core.errors import StoreBusyError, StoreError
from nnus_core.settings import DB_URL_ENV, Settings, get_settings

if TYPE_CHECKING:
    from alembic.config import Config

DB_ENV = DB_URL_ENV
DEFAULT_DB_PATH = Settings.from_env({}).data_dir / "nnus_tutor.db"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# How long a write waits for another writer's lock before giving up. Writes here are single rows in
# milliseconds, so a lock held longer than this is a stuck or long job (a backup, a bulk import):
# the student is told at once and the answer is kept and retried, instead of a 30 s frozen page.
SQLITE_BUSY_TIMEOUT_MS = 3_000
# Start-up (migration, health check) may wait longer: many app servers starting at once queue on
# one lock, and nobody is waiting on a click.
SQLITE_STARTUP_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL: app servers starting together take this advisory lock, so one migrates at a time.
PG_MIGRATION_LOCK = 4242001

NAME_MAX_CHARS = 40

# The tables as the code reads and writes them. The database itself is built and changed only by
# the Alembic revisions under migrations/versions/ (written out column by column, never from this
# metadata); tests/test_store_db.py checks that a migrated database and this metadata agree.
metadata = MetaData()

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
    Index("ix_sessions_student", "student_id"),
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
    # Defaults as SQL text ('' quoted), the form the database reports back to Alembic's comparison.
    Column("dataset_key", String(200), nullable=False, server_default=text("''")),
    Column("answer_json", Text, nullable=False),
    Column("iou", Float, nullable=True),
    Column("credit", Float, nullable=False),
    Column("passed", Boolean, nullable=False),
    Column("model_iou", Float, nullable=True),
    Column("model_conf", Float, nullable=True),
    Column("elapsed_s", Float, nullable=True),
    Column("feedback", Text, nullable=False, server_default=text("''")),
    Column("created_s", Float, nullable=False),
    # Progress pages read a student's attempts by time, and the scheduler by organ.
    Index("ix_attempts_student_time", "student_id", "created_s"),
    Index("ix_attempts_student_organ", "student_id", "organ_id"),
)


def database_url(env: dict[str, str] | None = None) -> str:
    """The database URL (settings: $NNUS_DB_URL, else a SQLite file under data/)."""
    return (get_settings() if env is None else Settings.from_env(env)).database_url


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


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # pragma: no cover - exercised via every PG test
        # The counterpart of SQLite's busy timeout: a write waiting on another's lock gives up
        # after 3 s with "lock timeout" (a StoreBusyError: the answer is kept and retried).
        with dbapi_conn.cursor() as cur:
            cur.execute(f"SET lock_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        dbapi_conn.commit()


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
            # A plain file path gets its folder made; a `file:` URI (`?uri=true`) names a file that exists.
            if db and db != ":memory:" and not db.startswith("file:"):
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            _configure_sqlite(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True)
            if engine.dialect.name == "postgresql":
                _configure_postgresql(engine)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise StoreError(
            f"{DB_ENV}: cannot use database URL {_redact(url)!r}: {exc} "
            "(PostgreSQL: a URL like postgresql+psycopg://user:password@host:5432/db)"
        ) from exc
    return engine


def _redact(url: str) -> str:
    """The URL with its password hidden: never echo one into a page or a log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not parseable as a URL: nothing in it can be shown safely
        return "(not a database URL)"


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for `url` (default `database_url()`), migrated to the newest schema.

    Raises:
        StoreError: when the database cannot be opened or migrated.
    """
    url = url or database_url()
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
    (
        ("database is locked", "database table is locked", "database schema is locked", "lock timeout"),
        True,
        "The progress database is busy (another program is writing to it).",
    ),
    (
        # PostgreSQL: a role without INSERT, or a read-only server or transaction.
        ("readonly database", "read-only", "read only", "permission denied"),
        False,
        "The progress database is read-only: answers cannot be saved.",
    ),
    (
        ("disk is full", "database or disk is full", "no space left"),
        False,
        "The server's disk is full: answers cannot be saved.",
    ),
    (("malformed", "not a database", "file is encrypted"), False, "The progress database file is damaged."),
    (
        ("unable to open database", "could not connect", "connection refused", "server closed"),
        False,
        "The progress database cannot be reached.",
    ),
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
def write_tx(
    engine: Engine,
    action: str = "write",
    busy_timeout_ms: int | None = None,
    *,
    schema_change: bool = False,
) -> Iterator[Connection]:
    """A transaction that takes the write lock at BEGIN on SQLite (plain BEGIN elsewhere).

    Args:
        engine: the database.
        action: what the transaction does, named in an error.
        busy_timeout_ms: wait this long for another writer's lock (default 3 s; on PostgreSQL the
            lock_timeout of this transaction).
        schema_change: a migration (SQLite: foreign keys off while it runs, checked before commit).

    Raises:
        StoreBusyError: when another writer holds the lock past the busy timeout.
        StoreError: for any other database failure (read-only, disk full, damaged file).
    """
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection if sqlite and (busy_timeout_ms or schema_change) else None
            # On the driver: a statement through SQLAlchemy here would open the transaction.
            if raw is not None and busy_timeout_ms:
                raw.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            if raw is not None and schema_change:
                # SQLite's recipe for rebuilding a table (what Alembic's batch mode does): foreign
                # keys off, which only takes effect outside a transaction, then checked before
                # commit; with them on, dropping a referenced table deletes or refuses its rows.
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                conn.execution_options(nnus_write=True)
                with conn.begin():
                    if busy_timeout_ms and engine.dialect.name == "postgresql":
                        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(busy_timeout_ms)}")
                    yield conn
                    if sqlite and schema_change:
                        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                        if broken:
                            raise StoreError(
                                f"{action}: the migration left {len(broken)} row(s) whose foreign key "
                                f"points nowhere (first: {tuple(broken[0])}); nothing was changed"
                            )
            finally:
                if raw is not None:
                    raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
                    raw.execute("PRAGMA foreign_keys=ON")
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
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('write-probe')"))
            raise _RollBack
    except _RollBack:
        pass


def alembic_config() -> Config:
    """Alembic's configuration for this package's migrations (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision(cfg: Config | None = None) -> str:
    """The newest schema revision this code knows."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(cfg or alembic_config()).get_current_head()
    assert head is not None, f"no migrations under {MIGRATIONS_DIR}"
    return head


def current_revision(conn: Connection) -> str | None:
    """The schema revision recorded in the database (None for an empty one)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, cfg: Config | None = None) -> str:
    """Bring the schema up to the newest Alembic revision; safe when many processes start at once.

    A database made by a release before Alembic (its own `schema_version` table) is taken over by
    revision 0001, which recognises its tables and keeps every row.

    A busy database is tried again until the start-up timeout: when many processes create one new
    SQLite file together, SQLite can answer "locked" at once, without its busy handler, while
    another one switches the file to WAL (seen about once in 50 processes on a loaded 2-core host).
    Everything runs in one transaction that reads the revision first, so a retry is harmless.

    Args:
        engine: the database.
        cfg: Alembic configuration (default `alembic_config()`; tests add revisions through it).

    Returns:
        The schema revision after migrating.

    Raises:
        StoreError: when the database is newer than this code, or a revision fails.
        StoreBusyError: when it stays locked for the whole start-up timeout.
    """
    cfg = cfg or alembic_config()
    deadline = time.monotonic() + SQLITE_STARTUP_BUSY_TIMEOUT_MS / 1000
    pause = 0.01
    while True:
        try:
            return _migrate_once(engine, cfg)
        except StoreBusyError:
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


@contextmanager
def migration_tx(engine: Engine) -> Iterator[Connection]:
    """The one transaction a migration runs in: write lock (SQLite) or advisory lock (PostgreSQL)."""
    with write_tx(
        engine, "open or migrate the database", SQLITE_STARTUP_BUSY_TIMEOUT_MS, schema_change=True
    ) as conn:
        if engine.dialect.name == "postgresql":
            # Serialise concurrent app servers migrating the same database.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK})
        yield conn


def _migrate_once(engine: Engine, cfg: Config) -> str:
    from alembic import command
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(cfg)
    known = {rev.revision for rev in script.walk_revisions()}
    head = script.get_current_head()
    with migration_tx(engine) as conn:
        have = current_revision(conn)
        if have is not None and have not in known:
            raise StoreError(
                f"database schema revision {have!r} is newer than this app's {head!r} "
                "(or unknown to it): upgrade the app instead of downgrading the database"
            )
        if have != head:
            cfg.attributes["connection"] = conn  # env.py runs the revisions on this transaction
            try:
                command.upgrade(cfg, "head")
            finally:
                cfg.attributes.pop("connection", None)
        return current_revision(conn) or ""
