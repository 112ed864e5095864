"""The release schema: students, quiz sessions, question instances, answers, and their indexes.

Revision ID: 0001
Revises:
Create Date: 2026-12-02

Written out column by column as the release before Alembic created it (its hand-written steps 1
and 2), never from the code's current table definitions, so later edits to those cannot change
what this revision builds.

A database made by that release carries its own `schema_version` table and already has these
tables: they are kept with every row, the history indexes a version-1 database lacks are added,
and the old version table is dropped (Alembic's `alembic_version` takes over).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from nnus_core.errors import StoreError

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RELEASE_VERSION_TABLE = "schema_version"
RELEASE_NEWEST_VERSION = 2  # the last hand-written step that release knew
TABLES = ("students", "quiz_sessions", "question_instances", "attempts")
INDEXES = (
    ("ix_sessions_student", "quiz_sessions", ["student_id"]),
    ("ix_attempts_student_time", "attempts", ["student_id", "created_s"]),
    ("ix_attempts_student_organ", "attempts", ["student_id", "organ_id"]),
)


def upgrade() -> None:
    bind = op.get_bind()
    if sa.inspect(bind).has_table(RELEASE_VERSION_TABLE):
        version = bind.scalar(sa.text(f"SELECT MAX(version) FROM {RELEASE_VERSION_TABLE}")) or 0
        if version > RELEASE_NEWEST_VERSION:
            raise StoreError(
                f"database schema version {version} is newer than this app knows "
                f"({RELEASE_NEWEST_VERSION} before its Alembic revisions): upgrade the app "
                "instead of downgrading the database"
            )
        op.drop_table(RELEASE_VERSION_TABLE)
        if version > 0:
            _take_over_release_tables(bind)
            return
    _create_tables()
    for name, table, cols in INDEXES:
        op.create_index(name, table, cols)


def _take_over_release_tables(bind: sa.Connection) -> None:
    missing = [t for t in TABLES if not sa.inspect(bind).has_table(t)]
    if missing:
        raise StoreError(
            f"database: its version table says the release schema, but tables {missing} are "
            "missing; restore it from a backup"
        )
    for name, table, cols in INDEXES:  # version 1 had no indexes; version 2 has them
        op.create_index(name, table, cols, if_not_exists=True)


def _create_tables() -> None:
    op.create_table(
        "students",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("name_key", sa.String(160), nullable=False),
        sa.Column("display_name", sa.String(160), nullable=False),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name_key"),
    )
    op.create_table(
        "quiz_sessions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("settings_json", sa.Text(), nullable=False),
        sa.Column("dataset_key", sa.String(200), nullable=False),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.Column("finished_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
    )
    op.create_table(
        "question_instances",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("image_stem", sa.String(200), nullable=False),
        sa.Column("organ_id", sa.Integer(), nullable=True),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.Column("served_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "position", name="uq_instance_position"),
        sa.ForeignKeyConstraint(["session_id"], ["quiz_sessions.id"]),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(40), nullable=True),
        sa.Column("instance_id", sa.String(64), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("image_stem", sa.String(200), nullable=False),
        sa.Column("organ_id", sa.Integer(), nullable=True),
        sa.Column("dataset_key", sa.String(200), nullable=False, server_default=""),
        sa.Column("answer_json", sa.Text(), nullable=False),
        sa.Column("iou", sa.Float(), nullable=True),
        sa.Column("credit", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("model_iou", sa.Float(), nullable=True),
        sa.Column("model_conf", sa.Float(), nullable=True),
        sa.Column("elapsed_s", sa.Float(), nullable=True),
        sa.Column("feedback", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
    )


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    for table in reversed(TABLES):
        op.drop_table(table)
