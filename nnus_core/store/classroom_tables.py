"""Tables behind the classroom package: question sets and their items, assignments, who started which."""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from nnus_core.store.db import metadata

SET_TITLE_MAX = 80

question_sets = Table(
    "question_sets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("owner_id", Integer, ForeignKey("users.id"), nullable=False),  # the instructor who made it
    Column("title", String(SET_TITLE_MAX * 4), nullable=False),
    Column("dataset_key", String(200), nullable=False),  # the data its images come from
    Column("copied_from", Integer, nullable=True),  # the set it was duplicated from (no key: it may go)
    Column("created_s", Float, nullable=False),
    Column("updated_s", Float, nullable=False),
)

question_set_items = Table(
    "question_set_items",
    metadata,
    Column("set_id", Integer, ForeignKey("question_sets.id"), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("image_stem", String(200), nullable=False),
    Column("organ_id", Integer, nullable=True),  # None: Label all (every organ of the image)
)

assignments = Table(
    "assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("class_id", Integer, ForeignKey("classes.id"), nullable=False),
    Column("set_id", Integer, nullable=True),  # the set it was made from (no key: a set may be deleted)
    Column("title", String(SET_TITLE_MAX * 4), nullable=False),
    # The questions as they were when assigned: editing the set later changes no given assignment.
    Column("items_json", Text, nullable=False),
    Column("dataset_key", String(200), nullable=False),
    Column("open_s", Float, nullable=False),
    Column("due_s", Float, nullable=False),
    Column("created_s", Float, nullable=False),
    Index("ix_assignments_class", "class_id"),
)

assignment_sessions = Table(
    "assignment_sessions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("assignment_id", Integer, ForeignKey("assignments.id"), nullable=False),
    Column("student_id", Integer, ForeignKey("students.id"), nullable=False),
    # The quiz session the student answers it in (quiz_sessions.id): one per student and assignment.
    Column("session_id", String(40), ForeignKey("quiz_sessions.id"), nullable=False, unique=True),
    Column("started_s", Float, nullable=False),
    UniqueConstraint("assignment_id", "student_id", name="uq_assignment_student"),
)

CLASSROOM_TABLES = (question_sets, question_set_items, assignments, assignment_sessions)
