"""Upgrading a database written by the release before Alembic keeps every row (SQLite, PostgreSQL); a fresh one equals the code."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy import inspect as sa_inspect

from nnus_core.errors import StoreError
from nnus_core.store import db as dbm
from nnus_core.store.account_tables import ACCOUNT_TABLES
from nnus_core.store.attempts import Attempt, record_attempt, student_attempts
from nnus_core.store.classroom_tables import CLASSROOM_TABLES
from nnus_core.store.live_tables import LIVE_TABLES
from nnus_core.store.quizzes import get_session, session_instances
from nnus_core.store.students import find_student, get_or_create_student
from tests.pg import create_database, drop_database

# A text dump (sqlite3 iterdump) of the database the release wrote (tests/store_fixture_db.py): the
# schema as that release stored it, character for character, and every row; built into a file here.
RELEASE_SQL = Path(__file__).resolve().parent / "data" / "store-release-0.1.sql"


def release_database(path: Path) -> Path:
    """The release's database rebuilt from its dump at `path`."""
    with sqlite3.connect(path) as conn:
        conn.executescript(RELEASE_SQL.read_text())
    return path


TABLES = ("students", "quiz_sessions", "question_instances", "attempts")


def _rows(path: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in TABLES}


def _schema(path: Path) -> dict[str, str]:
    """CREATE statements by name (tables and indexes), without the version tables."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL").fetchall()
    return {n: sql for n, sql in rows if n not in ("schema_version", "alembic_version")}


def _diff(engine) -> list:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(ctx, dbm.metadata)


@pytest.fixture
def release_db(tmp_path) -> Path:
    return release_database(tmp_path / "release.db")


def test_the_fixture_is_a_release_database_with_rows_in_every_table(release_db):
    rows = _rows(release_db)
    assert {t: len(r) for t, r in rows.items()} == {
        "students": 4,
        "quiz_sessions": 4,
        "question_instances": 16,
        "attempts": 14,
    }
    with sqlite3.connect(release_db) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone() == (2,)


def test_a_release_database_upgrades_with_every_row_kept(release_db):
    before = _rows(release_db)
    engine = dbm.make_engine(f"sqlite:///{release_db}")
    try:
        assert dbm.migrate(engine) == dbm.head_revision()
        assert _rows(release_db) == before  # every row, every column, unchanged
        assert _diff(engine) == []  # and the schema is what the code expects
        with sqlite3.connect(release_db) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert "schema_version" not in tables and "alembic_version" in tables

        # The app reads and continues the old records: history, the unfinished quiz, new answers.
        ana = find_student(engine, "ANA")
        assert ana is not None and len(student_attempts(engine, ana.id)) == 10
        unfinished = get_session(engine, "b" * 32)
        assert unfinished.finished_s is None and len(session_instances(engine, unfinished.id)) == 3
        assert find_student(engine, "zoé <b>müller</b>").display_name == "Zoé <b>Müller</b>"
        stored, wrote = record_attempt(engine, Attempt("new-1", ana.id, "locate", "0001", 1, 1.0, True, 2e9))
        assert wrote and stored.id == 15  # ids continue after the release's rows
        assert get_or_create_student(engine, "Dana").id == 5
    finally:
        engine.dispose()


def test_a_fresh_database_has_the_release_schema_exactly_and_matches_the_code(tmp_path, release_db):
    fresh = tmp_path / "fresh.db"
    engine = dbm.make_engine(f"sqlite:///{fresh}")
    try:
        dbm.migrate(engine)
        assert _diff(engine) == []
    finally:
        engine.dispose()
    made, release = _schema(fresh), _schema(release_db)
    assert {n: made[n] for n in release} == release  # the release's CREATE statements, to the character
    added = (*ACCOUNT_TABLES, *LIVE_TABLES, *CLASSROOM_TABLES)
    later = {t.name for t in added} | {i.name for t in added for i in t.indexes}
    assert set(made) - set(release) <= later | {n for n in made if n.startswith("sqlite_autoindex_")}


def test_a_version_1_release_database_gets_its_indexes(release_db):
    with sqlite3.connect(release_db) as conn:  # as a database made before the release's step 2
        for name in ("ix_sessions_student", "ix_attempts_student_time", "ix_attempts_student_organ"):
            conn.execute(f"DROP INDEX {name}")
        conn.execute("DELETE FROM schema_version WHERE version = 2")
    before = _rows(release_db)
    engine = dbm.make_engine(f"sqlite:///{release_db}")
    try:
        dbm.migrate(engine)
        assert _diff(engine) == [] and _rows(release_db) == before
    finally:
        engine.dispose()


def test_a_release_database_from_a_newer_hand_written_version_is_refused(release_db):
    with sqlite3.connect(release_db) as conn:
        conn.execute("INSERT INTO schema_version VALUES (3, 'from the future', 0)")
    before = _rows(release_db)
    engine = dbm.make_engine(f"sqlite:///{release_db}")
    try:
        with pytest.raises(StoreError, match="version 3 is newer than this app"):
            dbm.migrate(engine)
    finally:
        engine.dispose()
    with sqlite3.connect(release_db) as conn:  # rolled back: the old version table is still there
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone() == (3,)
    assert _rows(release_db) == before


def test_a_release_database_on_postgresql_upgrades_with_every_row_kept(postgres_server, tmp_path):
    """The release's schema on PostgreSQL (its version table and the fixture's rows) is taken over."""
    url = create_database(postgres_server)
    engine = dbm.make_engine(url)
    try:
        dbm.migrate(engine)  # the release's tables (revision 0001 is written out as it made them)
        release = _rows(release_database(tmp_path / "release.db"))
        legacy = Table(
            "schema_version",
            MetaData(),
            Column("version", Integer, primary_key=True, autoincrement=False),
            Column("description", String(200), nullable=False),
            Column("applied_s", Float, nullable=False),
        )
        with engine.begin() as conn:  # ... and the release's bookkeeping instead of Alembic's
            for table in reversed(
                (*ACCOUNT_TABLES, *LIVE_TABLES, *CLASSROOM_TABLES)
            ):  # later revisions' tables, which the release lacked
                table.drop(conn)
            conn.execute(text("DROP TABLE alembic_version"))
            legacy.create(conn)
            conn.execute(
                insert(legacy), [{"version": v, "description": "release", "applied_s": 0.0} for v in (1, 2)]
            )
            for name in TABLES:
                table = dbm.metadata.tables[name]
                rows = [dict(zip(table.c.keys(), r, strict=True)) for r in release[name]]
                conn.execute(insert(table), rows)
            # Rows inserted with their ids: move the sequences on, as the release's own inserts did.
            for name in ("students", "attempts"):
                conn.execute(text(f"SELECT setval('{name}_id_seq', (SELECT MAX(id) FROM {name}))"))
        assert dbm.migrate(engine) == dbm.head_revision()
        with engine.connect() as conn:
            after = {
                t: [tuple(r) for r in conn.execute(select(dbm.metadata.tables[t]).order_by(text("1")))]
                for t in TABLES
            }
            assert not sa_inspect(conn).has_table("schema_version")
        for t in TABLES:  # SQLite stores booleans as 0/1: compare as the app reads them
            assert [tuple(int(v) if isinstance(v, bool) else v for v in r) for r in after[t]] == release[t], t
        assert _diff(engine) == []
        ana = find_student(engine, "ana")
        stored, wrote = record_attempt(engine, Attempt("new-1", ana.id, "locate", "0001", 1, 1.0, True, 2e9))
        assert wrote and stored.id == 15
    finally:
        engine.dispose()
        drop_database(postgres_server, url)
