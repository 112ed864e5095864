"""Tables behind the accounts package: users, classes, memberships, sign-in tokens and failures."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from nnus_core.store.db import NAME_MAX_CHARS, metadata

CLASS_NAME_MAX = 80
TERM_MAX = 40

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("role", String(16), nullable=False),
    Column("display_name", String(NAME_MAX_CHARS * 4), nullable=False),
    # Instructors' local sign-in name (case-folded e-mail or user name); NULL for students.
    Column("login", String(320), nullable=True, unique=True),
    Column("password_hash", Text, nullable=True),  # argon2id; instructors with a local account
    Column("pin_hash", Text, nullable=True),  # argon2id; students who chose a PIN
    Column("oidc_subject", String(400), nullable=True, unique=True),  # "<issuer> <sub>" from SSO
    # The progress record (students.id) this person answers into: one each, never shared.
    Column("student_id", Integer, ForeignKey("students.id"), nullable=True, unique=True),
    Column("created_s", Float, nullable=False),
    Column("last_seen_s", Float, nullable=True),
    Column("disabled", Boolean, nullable=False, server_default="0"),
)

classes = Table(
    "classes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(CLASS_NAME_MAX * 4), nullable=False),
    Column("term", String(TERM_MAX * 4), nullable=False),
    Column("instructor_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("join_code", String(8), nullable=True, unique=True),  # NULL: joining is closed
    Column("created_s", Float, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("class_id", Integer, ForeignKey("classes.id"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True),
    # Case-folded display name: unique within a class, so a PIN sign-in by name is unambiguous.
    Column("name_key", String(NAME_MAX_CHARS * 4), nullable=False),
    Column("joined_s", Float, nullable=False),
    UniqueConstraint("class_id", "name_key", name="uq_membership_name"),
)

auth_tokens = Table(
    "auth_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the secret; never the secret
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # "browser" (a signed-in browser) or "link" (one use)
    Column("created_s", Float, nullable=False),
    Column("expires_s", Float, nullable=False),
    Column("revoked_s", Float, nullable=True),
)

signin_failures = Table(
    "signin_failures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(16), nullable=False),  # "client" or "account"
    Column("key", String(200), nullable=False),
    Column("what", String(40), nullable=False),  # "join code", "pin", "password", "link"
    Column("created_s", Float, nullable=False),
)
Index("ix_signin_failures_key", signin_failures.c.scope, signin_failures.c.key, signin_failures.c.created_s)
Index("ix_auth_tokens_user", auth_tokens.c.user_id)

ACCOUNT_TABLES = (users, classes, memberships, auth_tokens, signin_failures)
