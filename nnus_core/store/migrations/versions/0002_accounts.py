"""Accounts: users and roles, classes with join codes, memberships, sign-in tokens and failed sign-ins.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Records made before accounts (a `students` row per typed display name) are kept as they are: no
user owns them, and an instructor can merge each into a student's account (accounts.service).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("display_name", sa.String(160), nullable=False),
        sa.Column("login", sa.String(320), nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("pin_hash", sa.Text(), nullable=True),
        sa.Column("oidc_subject", sa.String(400), nullable=True),
        sa.Column("student_id", sa.Integer(), nullable=True),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.Column("last_seen_s", sa.Float(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("login"),
        sa.UniqueConstraint("oidc_subject"),
        sa.UniqueConstraint("student_id"),
        sa.ForeignKeyConstraint(["student_id"], ["students.id"]),
    )
    op.create_table(
        "classes",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("name", sa.String(320), nullable=False),
        sa.Column("term", sa.String(160), nullable=False),
        sa.Column("instructor_id", sa.Integer(), nullable=False),
        sa.Column("join_code", sa.String(8), nullable=True),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("join_code"),
        sa.ForeignKeyConstraint(["instructor_id"], ["users.id"]),
    )
    op.create_table(
        "memberships",
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name_key", sa.String(160), nullable=False),
        sa.Column("joined_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("class_id", "user_id"),
        sa.UniqueConstraint("class_id", "name_key", name="uq_membership_name"),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
    )
    op.create_table(
        "auth_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.Column("expires_s", sa.Float(), nullable=False),
        sa.Column("revoked_s", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
    )
    op.create_index("ix_auth_tokens_user", "auth_tokens", ["user_id"])
    op.create_table(
        "signin_failures",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("what", sa.String(40), nullable=False),
        sa.Column("created_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signin_failures_key", "signin_failures", ["scope", "key", "created_s"])


def downgrade() -> None:
    op.drop_index("ix_signin_failures_key", table_name="signin_failures")
    op.drop_table("signin_failures")
    op.drop_index("ix_auth_tokens_user", table_name="auth_tokens")
    op.drop_table("auth_tokens")
    op.drop_table("memberships")
    op.drop_table("classes")
    op.drop_table("users")
