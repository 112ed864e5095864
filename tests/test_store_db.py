"""The database layer: URL from the environment, SQLite settings, Alembic migrations at start-up."""

from __future__ import annotations

import os
import sqlite3
import textwrap

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from nnus_core.errors import StoreError
from nnus_core.store import db as dbm
from nnus_core.store.attempts import Attempt, get_attempt, record_attempt
from nnus_core.store.students import find_student, get_or_create_student


def test_url_from_environment_else_a_file_under_data():
    assert dbm.database_url({"NNUS_DB_URL": "sqlite:////tmp/x.db"}) == "sqlite:////tmp/x.db"
    assert dbm.database_url({}) == f"sqlite:///{dbm.DEFAULT_DB_PATH}"
    assert dbm.DEFAULT_DB_PATH.parent.name == "data" and dbm.DEFAULT_DB_PATH.suffix == ".db"


def test_fresh_database_is_created_migrated_and_uses_wal(tmp_path):
    url = f"sqlite:///{tmp_path / 'sub' / 'tutor.db'}"  # the folder is created too
    engine = dbm.make_engine(url)
    head = dbm.head_revision()
    assert dbm.migrate(engine) == head == "0004"
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == dbm.SQLITE_BUSY_TIMEOUT_MS
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1  # on again after migrating
        assert dbm.current_revision(conn) == head
        names = set(inspect(conn).get_table_names())
        idx = {i["name"] for i in inspect(conn).get_indexes("attempts")}
    assert names == {
        "alembic_version",
        "students",
        "quiz_sessions",
        "question_instances",
        "attempts",
        "users",
        "classes",
        "memberships",
        "auth_tokens",
        "signin_failures",
        "live_sessions",
        "live_questions",
        "live_participants",
        "live_answers",
        "question_sets",
        "question_set_items",
        "assignments",
        "assignment_sessions",
    }
    assert {"ix_attempts_student_time", "ix_attempts_student_organ"} <= idx
    # migrating again changes nothing
    assert dbm.migrate(engine) == head
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]


def test_a_fresh_database_on_each_backend_matches_the_code(store_url):
    engine = dbm.make_engine(store_url)
    try:
        assert dbm.migrate(engine) == dbm.head_revision()
        assert dbm.migrate(engine) == dbm.head_revision()  # again: nothing to do
        with engine.connect() as conn:
            ctx = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(ctx, dbm.metadata) == []
            assert set(inspect(conn).get_table_names()) == {"alembic_version", *dbm.metadata.tables}
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
                dbm.head_revision()
            ]
    finally:
        engine.dispose()


def _extra_revisions(tmp_path, *bodies: str):
    """An Alembic configuration with the package's revisions plus test revisions 9001, 9002 ..."""
    folder = tmp_path / "extra_versions"
    folder.mkdir()
    down = dbm.head_revision()
    for i, body in enumerate(bodies, start=9001):
        (folder / f"{i}_test.py").write_text(
            "import sqlalchemy as sa\nfrom alembic import op\n"
            f"revision = '{i}'\ndown_revision = '{down}'\nbranch_labels = None\ndepends_on = None\n\n"
            f"def upgrade():\n{textwrap.indent(textwrap.dedent(body), '    ')}\n"
        )
        down = str(i)
    cfg = dbm.alembic_config()
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option(
        "version_locations", os.pathsep.join([str(dbm.MIGRATIONS_DIR / "versions"), str(folder)])
    )
    return cfg


def test_a_new_revision_runs_once_and_rebuilds_a_referenced_table_with_its_rows(tmp_path, store_url):
    engine = dbm.make_engine(store_url)
    dbm.migrate(engine)
    ana = get_or_create_student(engine, "Ana")
    record_attempt(engine, Attempt("k1", ana.id, "locate", "0001", 1, 1.0, True, 1.0))
    # Batch mode with recreate="always" on SQLite: it copies `students` (referenced by two tables)
    # into a new table, drops the old one and renames: foreign keys must be off for that, and hold
    # after. PostgreSQL alters the table in place.
    cfg = _extra_revisions(
        tmp_path,
        """
        op.get_bind().exec_driver_sql("INSERT INTO alembic_version_calls VALUES (1)")
        sqlite = op.get_bind().dialect.name == "sqlite"
        with op.batch_alter_table("students", recreate="always" if sqlite else "auto") as b:
            b.add_column(sa.Column("school", sa.String(80), nullable=True))
        """,
    )
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version_calls (n INTEGER)")
    assert dbm.migrate(engine, cfg) == "9001"
    assert dbm.migrate(engine, cfg) == "9001"
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM alembic_version_calls").scalar() == 1
        assert "school" in {c["name"] for c in inspect(conn).get_columns("students")}
        assert {fk["referred_table"] for fk in inspect(conn).get_foreign_keys("attempts")} == {"students"}
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    assert find_student(engine, "ana") == ana and get_attempt(engine, "k1").student_id == ana.id


def test_a_revision_that_breaks_a_foreign_key_is_rolled_back(tmp_path, store_url):
    engine = dbm.make_engine(store_url)
    dbm.migrate(engine)
    ana = get_or_create_student(engine, "Ana")
    record_attempt(engine, Attempt("k1", ana.id, "locate", "0001", 1, 1.0, True, 1.0))
    cfg = _extra_revisions(tmp_path, 'op.get_bind().exec_driver_sql("DELETE FROM students")')
    # SQLite checks after the revision (keys are off while it runs); PostgreSQL refuses at once.
    with pytest.raises(StoreError, match="foreign key points nowhere|violates foreign key constraint"):
        dbm.migrate(engine, cfg)
    assert find_student(engine, "Ana") == ana
    with engine.connect() as conn:
        assert dbm.current_revision(conn) == dbm.head_revision()


def test_a_failing_revision_rolls_back_and_a_newer_database_is_refused(tmp_path, store_url):
    engine = dbm.make_engine(store_url)
    dbm.migrate(engine)
    cfg = _extra_revisions(
        tmp_path,
        """
        op.create_table("half_done", sa.Column("x", sa.Integer()))
        op.execute("THIS IS NOT SQL")
        """,
    )
    with pytest.raises(StoreError, match="cannot open or migrate"):
        dbm.migrate(engine, cfg)
    with engine.connect() as conn:
        assert not inspect(conn).has_table("half_done")  # transactional DDL: nothing half-applied
        assert dbm.current_revision(conn) == dbm.head_revision()
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'f00dfeed'")
    with pytest.raises(StoreError, match="newer than this app"):
        dbm.migrate(engine)


@pytest.mark.parametrize(
    "url, shown, hidden",
    [
        ("nosuchdb://x/y", "nosuchdb://x/y", None),
        ("postgresql+nosuchdriver://ana:s3cret@db.school/tutor", "ana:***@db.school", "s3cret"),
        # An '@' or ':' in the password (percent-encoded, as URLs need) is hidden whole.
        ("postgresql+nosuchdriver://ana:p%40zz%3Aq@db.school:5433/tutor", "ana:***@db.school:5433", "zz"),
        ("oracle+nosuchdriver://ana:s3cret@db.school/tutor?ssl=1", "ana:***@db.school/tutor?ssl=1", "s3cret"),
        ("ana:s3cret@db.school", "(not a database URL)", "s3cret"),
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
            assert raw.execute("SELECT version_num FROM alembic_version").fetchall() == [
                (dbm.head_revision(),)
            ]
    finally:
        dbm.dispose_engines()
