"""Live class sessions: the session and its state, its questions, participants and their answers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_sessions",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("join_code", sa.String(8), nullable=False),
        sa.Column("instructor_id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(320), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("current_index", sa.Integer(), nullable=False),
        sa.Column("opened_s", sa.Float(), nullable=True),
        sa.Column("deadline_s", sa.Float(), nullable=True),
        sa.Column("time_limit_s", sa.Integer(), nullable=False),
        sa.Column("speed_counts", sa.Boolean(), nullable=False),
        sa.Column("leaderboard_hidden", sa.Boolean(), nullable=False),
        sa.Column("pass_iou", sa.Float(), nullable=False),
        sa.Column("dataset_key", sa.String(200), nullable=False),
        sa.Column("n_questions", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.Column("finished_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("join_code"),
        sa.ForeignKeyConstraint(["instructor_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"]),
    )
    op.create_table(
        "live_questions",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("image_stem", sa.String(200), nullable=False),
        sa.Column("organ_id", sa.Integer(), nullable=True),
        sa.Column("payload_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("session_id", "position"),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"]),
    )
    op.create_table(
        "live_participants",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(160), nullable=False),
        sa.Column("name_key", sa.String(160), nullable=False),
        sa.Column("joined_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("session_id", "user_id", name="uq_live_participant_user"),
        sa.UniqueConstraint("session_id", "name_key", name="uq_live_participant_name"),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
    )
    op.create_table(
        "live_answers",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("answer_json", sa.Text(), nullable=False),
        sa.Column("credit", sa.Float(), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("iou", sa.Float(), nullable=True),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("elapsed_s", sa.Float(), nullable=False),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("participant_id", "position", name="uq_live_answer_once"),
        sa.ForeignKeyConstraint(["session_id"], ["live_sessions.id"]),
        sa.ForeignKeyConstraint(["participant_id"], ["live_participants.id"]),
    )
    op.create_index("ix_live_answers_question", "live_answers", ["session_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_live_answers_question", table_name="live_answers")
    op.drop_table("live_answers")
    op.drop_table("live_participants")
    op.drop_table("live_questions")
    op.drop_table("live_sessions")
