"""A locked, read-only, damaged, full or unreachable database: plain errors, fast, and nothing half-written."""

from __future__ import annotations

import socket
import sqlite3
import time

import pytest
from sqlalchemy import event

from nnus_core.errors import StoreBusyError, StoreError
from nnus_core.store import db as dbm
from nnus_core.store.attempts import Attempt, count_attempts, get_attempt, record_attempt
from nnus_core.store.students import get_or_create_student
from tests.pg import create_database, drop_database, hold_write_lock


@pytest.fixture(autouse=True)
def _fresh_engines():
    dbm.dispose_engines()
    yield
    dbm.dispose_engines()


def _attempt(student_id: int, key: str = "s1-0") -> Attempt:
    return Attempt(key, student_id, "locate", "0001", 1, 1.0, True, time.time(), answer={"box": [1, 2, 3, 4]})


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "tutor.db"
    engine = dbm.get_engine(f"sqlite:///{path}")
    return engine, path, get_or_create_student(engine, "Ana")


@pytest.fixture
def any_db(store_url):
    engine = dbm.get_engine(store_url)
    return engine, store_url, get_or_create_student(engine, "Ana")


def test_a_locked_database_fails_fast_and_plainly_then_stores_once_when_free(any_db):
    engine, url, ana = any_db
    with hold_write_lock(url):
        t0 = time.perf_counter()
        with pytest.raises(StoreBusyError) as exc:
            record_attempt(engine, _attempt(ana.id))
        waited_s = time.perf_counter() - t0
        assert dbm.SQLITE_BUSY_TIMEOUT_MS / 1000 - 0.5 <= waited_s < dbm.SQLITE_BUSY_TIMEOUT_MS / 1000 + 2.0
        assert "busy" in exc.value.plain and "lock" in str(exc.value)
        assert url not in exc.value.plain and "OperationalError" not in exc.value.plain
        assert get_attempt(engine, "s1-0") is None  # readers are not blocked, nothing was written
    stored, wrote = record_attempt(engine, _attempt(ana.id))
    again, wrote_again = record_attempt(engine, _attempt(ana.id))
    assert wrote and not wrote_again and stored.id == again.id and count_attempts(engine) == 1


def test_an_unreachable_postgresql_server_is_refused_plainly():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError) as exc:
        dbm.get_engine(f"postgresql+psycopg://ana:s3cret@127.0.0.1:{port}/tutor?connect_timeout=5")
    assert exc.value.plain == "The progress database cannot be reached."
    assert "s3cret" not in str(exc.value) and "ana:***@127.0.0.1" in str(exc.value)


def test_a_read_only_database_is_refused_at_start_up(db, tmp_path, monkeypatch):
    _, path, _ = db
    dbm.dispose_engines()
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(StoreError) as exc:
        dbm.get_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert "read-only" in exc.value.plain
    assert list(work.iterdir()) == []  # a `file:` URI names a file: no folder "file:" is made for it


def test_a_postgresql_role_that_may_only_read_is_refused_at_start_up(postgres_server):
    store_url = create_database(postgres_server)
    dbm.get_engine(store_url)  # migrated by the owner
    dbm.dispose_engines()
    import psycopg

    name = store_url.rsplit("/", 1)[1]
    with psycopg.connect(store_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS reader")
        conn.execute("CREATE ROLE reader LOGIN")
        conn.execute(f'GRANT CONNECT ON DATABASE "{name}" TO reader')
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader")
    try:
        with pytest.raises(StoreError) as exc:
            dbm.get_engine(store_url.replace("//postgres@", "//reader@"))
        assert "read-only" in exc.value.plain and "permission denied" in str(exc.value)
    finally:
        dbm.dispose_engines()
        with psycopg.connect(store_url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            conn.execute("DROP OWNED BY reader")
        drop_database(postgres_server, store_url)
        with psycopg.connect(
            postgres_server.url().replace("postgresql+psycopg", "postgresql"), autocommit=True
        ) as conn:
            conn.execute("DROP ROLE reader")


def test_a_damaged_database_is_refused_at_start_up(db):
    engine, path, ana = db
    for i in range(200):  # enough rows for several pages, so the damage lands inside the data
        record_attempt(engine, _attempt(ana.id, f"s1-{i}"))
    dbm.dispose_engines()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(path.read_bytes())
    page = 4096
    raw[3 * page : 3 * page + 200] = b"\xff" * 200
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreError) as exc:
        dbm.get_engine(f"sqlite:///{path}")
    assert exc.value.plain == "The progress database file is damaged."


def test_garbage_instead_of_a_database_is_refused_plainly(tmp_path):
    path = tmp_path / "not.db"
    path.write_bytes(b"this is not a database" * 200)
    with pytest.raises(StoreError) as exc:
        dbm.get_engine(f"sqlite:///{path}")
    assert exc.value.plain == "The progress database file is damaged."


def test_a_full_disk_keeps_nothing_half_written_and_says_so(db):
    engine, path, ana = db
    with engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

    @event.listens_for(engine, "connect")
    def _no_room(dbapi_conn, _record):  # SQLite's own cap: the same SQLITE_FULL a full disk gives
        dbapi_conn.execute(f"PRAGMA max_page_count={pages}")

    engine.dispose()
    big = Attempt("s1-big", ana.id, "locate", "0001", 1, 1.0, True, time.time(), feedback="x" * 200_000)
    with pytest.raises(StoreError) as exc:
        record_attempt(engine, big)
    assert not isinstance(exc.value, StoreBusyError)
    assert exc.value.plain == "The server's disk is full: answers cannot be saved."
    event.remove(engine, "connect", _no_room)
    engine.dispose()
    assert get_attempt(engine, "s1-big") is None


def test_the_write_probe_leaves_nothing_behind(any_db):
    engine, _, _ = any_db
    dbm.check_health(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() == [
            dbm.head_revision()
        ]
