"""Gradebook and per-answer CSV exports that Canvas and Moodle import as they are.

One writer for every export of the classroom (a live session's results, an assignment's grades):
callers build typed rows; this module knows the learning platforms' column conventions.

- **Canvas** (Grades -> Import): columns `Student, ID, SIS User ID, SIS Login ID, Section`, then one
  column per assignment; a second row `Points Possible` gives each assignment's maximum. Canvas
  matches a row on `SIS Login ID` (or `ID` / `SIS User ID`); the app's login goes there.
- **Moodle** (Grades -> Import -> CSV file): free columns mapped at import; the identifier is
  `Email address` (or `Username`), the grade item a number column named after the item.

Every text cell goes through `text.csv_cell`, so a name that starts like a formula stays text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from nnus_core.text import csv_cell


class Flavour(StrEnum):
    CANVAS = "canvas"
    MOODLE = "moodle"


@dataclass(frozen=True)
class GradeItem:
    """One graded thing: a live session or an assignment."""

    title: str
    points_possible: float


@dataclass(frozen=True)
class GradeRow:
    """One student's points on one grade item."""

    display_name: str
    login: str | None  # the sign-in name the school's platform matches on (an e-mail for SSO)
    student_id: int
    points: float | None  # None: no answer given (an empty cell, not 0)


@dataclass(frozen=True)
class AnswerRow:
    """One stored answer, as the per-answer export lists it."""

    display_name: str
    login: str | None
    question_no: int
    image: str
    organ: str
    kind: str
    answer: str
    correct: bool
    score: float
    iou: float | None
    seconds: float | None
    answered_at: str  # ISO 8601, UTC
    late: bool = False


ANSWER_COLUMNS = (
    "student",
    "login",
    "question",
    "image",
    "organ",
    "kind",
    "answer",
    "correct",
    "score",
    "iou",
    "seconds",
    "answered_at",
    "late",
)


def _number(x: float | None, digits: int = 2) -> str:
    """A number as a platform reads it: no exponent, no trailing zeros; None is an empty cell."""
    if x is None:
        return ""
    s = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def _split_name(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    return first, last


def gradebook_csv(item: GradeItem, rows: Sequence[GradeRow], flavour: Flavour | str = Flavour.CANVAS) -> str:
    """The gradebook of one item for one platform, as CSV text (UTF-8, CRLF rows as both expect)."""
    flavour = Flavour(flavour)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    title = csv_cell(item.title, 200)
    ordered = sorted(rows, key=lambda r: (r.display_name.casefold(), r.student_id))
    if flavour is Flavour.CANVAS:
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title])
        w.writerow(["Points Possible", "", "", "", "", _number(item.points_possible)])
        for r in ordered:
            w.writerow(
                [
                    csv_cell(r.display_name, 160),
                    "",
                    str(r.student_id),
                    csv_cell(r.login or "", 320),
                    "",
                    _number(r.points),
                ]
            )
    else:
        w.writerow(["First name", "Last name", "Username", "Email address", "ID number", title])
        for r in ordered:
            first, last = _split_name(r.display_name)
            login = r.login or ""
            w.writerow(
                [
                    csv_cell(first, 160),
                    csv_cell(last, 160),
                    csv_cell(login, 320),
                    csv_cell(login if "@" in login else "", 320),
                    str(r.student_id),
                    _number(r.points),
                ]
            )
    return out.getvalue()


def answers_csv(rows: Iterable[AnswerRow]) -> str:
    """Every answer, one row each, in the given order."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(ANSWER_COLUMNS)
    for r in rows:
        w.writerow(
            [
                csv_cell(r.display_name, 160),
                csv_cell(r.login or "", 320),
                r.question_no,
                csv_cell(r.image, 200),
                csv_cell(r.organ, 80),
                csv_cell(r.kind, 40),
                csv_cell(r.answer, 400),
                "yes" if r.correct else "no",
                _number(r.score, 3),
                _number(r.iou, 3),
                _number(r.seconds, 1),
                r.answered_at,
                "yes" if r.late else "no",
            ]
        )
    return out.getvalue()
