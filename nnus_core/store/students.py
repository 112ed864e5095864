"""Students by display name (self-study, no password): validation, normalisation, get-or-create."""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass

from sqlalchemy import Engine, select

from nnus_core.errors import QuizInputError
from nnus_core.store.db import NAME_MAX_CHARS, read_conn, students, write_tx
from nnus_core.store.upsert import insert_ignore
from nnus_core.text import html_escape


@dataclass(frozen=True)
class Student:
    """A student known to the store."""

    id: int
    display_name: str

    @property
    def display_html(self) -> str:
        """The name escaped for HTML: a name is text, never markup."""
        return html_escape(self.display_name)


def clean_display_name(raw: str) -> str:
    """Normalise a display name typed by a student.

    Whitespace runs collapse to one space; control characters are dropped; HTML such as `<b>` is
    kept as literal text (pages escape it when showing it).

    Raises:
        QuizInputError: for an empty name or one longer than NAME_MAX_CHARS characters.
    """
    text = unicodedata.normalize("NFC", raw or "")
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in " \t\n")
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise QuizInputError("display name: expected 1 to 40 visible characters, got an empty name")
    if len(text) > NAME_MAX_CHARS:
        raise QuizInputError(
            f"display name: expected at most {NAME_MAX_CHARS} characters, got {len(text)}; "
            "please choose a shorter name"
        )
    return text


def name_key(display_name: str) -> str:
    """The identity of a name: case-folded, so "Ana" and "ANA" are the same student."""
    return display_name.casefold()


def get_or_create_student(engine: Engine, raw_name: str, *, now_s: float | None = None) -> Student:
    """The student with this display name, created on first use (race-safe across processes).

    Raises:
        QuizInputError: for an invalid name (see `clean_display_name`).
    """
    name = clean_display_name(raw_name)
    key = name_key(name)
    with write_tx(engine) as conn:
        insert_ignore(
            conn,
            students,
            {"name_key": key, "display_name": name, "created_s": time.time() if now_s is None else now_s},
            ("name_key",),
        )
        row = conn.execute(
            select(students.c.id, students.c.display_name).where(students.c.name_key == key)
        ).one()
    return Student(int(row.id), str(row.display_name))


def find_student(engine: Engine, raw_name: str) -> Student | None:
    """The student with this name, or None when nobody has used it (nothing is created).

    Raises:
        QuizInputError: for an invalid name.
    """
    key = name_key(clean_display_name(raw_name))
    with read_conn(engine) as conn:
        row = conn.execute(
            select(students.c.id, students.c.display_name).where(students.c.name_key == key)
        ).first()
    return Student(int(row.id), str(row.display_name)) if row else None


def student_by_id(engine: Engine, student_id: int) -> Student | None:
    """The student with this id, or None."""
    with read_conn(engine) as conn:
        row = conn.execute(
            select(students.c.id, students.c.display_name).where(students.c.id == student_id)
        ).first()
    return Student(int(row.id), str(row.display_name)) if row else None
