"""Classroom: question sets and their items, assignments with open and due dates, assignment sessions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

Independent of the live-session tables: it only refers to users, classes, students and quiz
sessions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "question_sets",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(320), nullable=False),
        sa.Column("dataset_key", sa.String(200), nullable=False),
        sa.Column("copied_from", sa.Integer(), nullable=True),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.Column("updated_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"]),
    )
    op.create_table(
        "question_set_items",
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("image_stem", sa.String(200), nullable=False),
        sa.Column("organ_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("set_id", "position"),
        sa.ForeignKeyConstraint(["set_id"], ["question_sets.id"]),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(320), nullable=False),
        sa.Column("items_json", sa.Text(), nullable=False),
        sa.Column("dataset_key", sa.String(200), nullable=False),
        sa.Column("open_s", sa.Float(), nullable=False),
        sa.Column("due_s", sa.Float(), nullable=False),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"]),
    )
    op.create_index("ix_assignments_class", "assignments", ["class_id"])
    op.create_table(
        "assignment_sessions",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("assignment_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(40), nullable=False),
        sa.Column("started_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id"),
        sa.UniqueConstraint("assignment_id", "student_id", name="uq_assignment_student"),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignments.id"]),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
        sa.ForeignKeyConstraint(["session_id"], ["quiz_sessions.id"]),
    )


def downgrade() -> None:
    op.drop_table("assignment_sessions")
    op.drop_index("ix_assignments_class", table_name="assignments")
    op.drop_table("assignments")
    op.drop_table("question_set_items")
    op.drop_table("question_sets")
