"""The database layer: URL from the environment, SQLite settings, ordered self-applied migrations."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import inspect, text

from nnus_core.errors import StoreError
from nnus_core.store import db as dbm


def test_url_from_environment_else_a_file_under_data():
    assert dbm.db_url({"NNUS_DB_URL": "sqlite:////tmp/x.db"}) == "sqlite:////tmp/x.db"
    assert dbm.db_url({}) == f"sqlite:///{dbm.DEFAULT_DB_PATH}"
    assert dbm.DEFAULT_DB_PATH.parent.name == "data" and dbm.DEFAULT_DB_PATH.suffix == ".db"


def test_fresh_database_is_created_migrated_and_uses_wal(tmp_path):
    url = f"sqlite:///{tmp_path / 'sub' / 'tutor.db'}"  # the folder is created too
    engine = dbm.make_engine(url)
    assert dbm.migrate(engine) == dbm.SCHEMA_VERSION
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == dbm.SQLITE_BUSY_TIMEOUT_MS
        assert dbm.current_version(conn) == dbm.SCHEMA_VERSION
        names = set(inspect(conn).get_table_names())
        idx = {i["name"] for i in inspect(conn).get_indexes("attempts")}
    assert {"schema_version", "students", "quiz_sessions", "question_instances", "attempts"} <= names
    assert {"ix_attempts_student_time", "ix_attempts_student_organ"} <= idx
    # migrating again changes nothing
    assert dbm.migrate(engine) == dbm.SCHEMA_VERSION
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT COUNT(*) FROM schema_version")) == len(dbm.MIGRATIONS)


def test_an_older_database_is_upgraded_in_order(tmp_path):
    engine = dbm.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    assert dbm.migrate(engine, dbm.MIGRATIONS[:1]) == 1
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX IF EXISTS ix_attempts_student_time")  # as a v1 database had
    assert dbm.migrate(engine) == dbm.SCHEMA_VERSION
    with engine.connect() as conn:
        assert "ix_attempts_student_time" in {i["name"] for i in inspect(conn).get_indexes("attempts")}
        versions = [r[0] for r in conn.execute(text("SELECT version FROM schema_version ORDER BY version"))]
    assert versions == [m.version for m in dbm.MIGRATIONS]


def test_a_new_migration_step_runs_once(tmp_path):
    engine = dbm.make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    dbm.migrate(engine)
    calls = []

    def add_column(conn):
        calls.append(1)
        conn.exec_driver_sql("ALTER TABLE students ADD COLUMN school VARCHAR(80)")

    steps = (*dbm.MIGRATIONS, dbm.Migration(dbm.SCHEMA_VERSION + 1, "school column", add_column))
    assert dbm.migrate(engine, steps) == dbm.SCHEMA_VERSION + 1
    assert dbm.migrate(engine, steps) == dbm.SCHEMA_VERSION + 1
    assert calls == [1]


def test_a_failing_step_rolls_back_and_a_newer_database_is_refused(tmp_path):
    engine = dbm.make_engine(f"sqlite:///{tmp_path / 'f.db'}")
    dbm.migrate(engine)

    def broken(conn):
        conn.exec_driver_sql("CREATE TABLE half_done (x INTEGER)")
        conn.exec_driver_sql("THIS IS NOT SQL")

    with pytest.raises(StoreError, match="cannot open or migrate"):
        dbm.migrate(engine, (*dbm.MIGRATIONS, dbm.Migration(99, "broken", broken)))
    with engine.connect() as conn:
        assert not inspect(conn).has_table("half_done")  # transactional DDL: nothing half-applied
        assert dbm.current_version(conn) == dbm.SCHEMA_VERSION
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO schema_version VALUES (99, 'from the future', 0)")
    with pytest.raises(StoreError, match="newer than this app"):
        dbm.migrate(engine)


@pytest.mark.parametrize(
    "url, shown, hidden",
    [
        ("nosuchdb://x/y", "nosuchdb://x/y", None),
        ("postgresql+nosuchdriver://ana:s3cret@db.school/tutor", "ana:***@db.school", "s3cret"),
    ],
)
def test_unusable_urls_fail_clearly_without_leaking_passwords(url, shown, hidden):
    with pytest.raises(StoreError) as exc:
        dbm.make_engine(url)
    assert shown in str(exc.value) and "NNUS_DB_URL" in str(exc.value)
    if hidden:
        assert hidden not in str(exc.value)


def test_get_engine_is_cached_per_url_and_reads_the_environment(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.setenv("NNUS_DB_URL", url)
    try:
        e1, e2 = dbm.get_engine(), dbm.get_engine(url)
        assert e1 is e2 and str(e1.url) == url
        with sqlite3.connect(tmp_path / "env.db") as raw:
            assert raw.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == dbm.SCHEMA_VERSION
    finally:
        dbm.dispose_engines()
