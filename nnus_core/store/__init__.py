"""Progress store: students, accounts, quiz sessions, answers written exactly once, progress queries (SQLAlchemy)."""

from __future__ import annotations

# The accounts' tables join the store's metadata here, so migrations and checks see every table.
from nnus_core.store import account_tables, classroom_tables, live_tables  # noqa: F401
from nnus_core.store.attempts import Attempt, get_attempt, record_attempt, student_attempts
from nnus_core.store.db import (
    DB_ENV,
    database_url,
    dispose_engines,
    get_engine,
    head_revision,
    make_engine,
    migrate,
)
from nnus_core.store.students import Student, clean_display_name, find_student, get_or_create_student

__all__ = [
    "DB_ENV",
    "Attempt",
    "Student",
    "clean_display_name",
    "database_url",
    "dispose_engines",
    "find_student",
    "get_attempt",
    "get_engine",
    "get_or_create_student",
    "head_revision",
    "make_engine",
    "migrate",
    "record_attempt",
    "student_attempts",
]
