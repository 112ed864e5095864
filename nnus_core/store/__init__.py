"""Progress store: students, quiz sessions, answers written exactly once, progress queries (SQLAlchemy)."""

from __future__ import annotations

from nnus_core.store.attempts import Attempt, get_attempt, record_attempt, student_attempts
from nnus_core.store.db import (
    DB_ENV,
    database_url,
    db_url,
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
    "db_url",
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
