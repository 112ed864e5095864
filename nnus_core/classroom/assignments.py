"""Assignments: a question set given to a class with an open and a due date, taken self-paced.

A student takes an assignment as a quiz of the existing engine whose settings carry the set's
questions (`QuizSettings.items`), not the spaced-repetition practice: `start_assignment` makes that
quiz once per student (a second call resumes it) and records which quiz answers which assignment.
An answer stored after the due date is late; the flag is worked out from the stored answer time and
the assignment's due date, so moving the due date (an extension) moves it too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine, and_, case, func, select, update

from nnus_core.accounts import Action, Actor, require
from nnus_core.classroom.sets import get_set
from nnus_core.errors import QuizInputError
from nnus_core.quiz.questions import QuestionSpec, QuizSettings
from nnus_core.store.account_tables import classes, memberships
from nnus_core.store.classroom_tables import SET_TITLE_MAX, assignment_sessions, assignments
from nnus_core.store.db import attempts, read_conn, write_tx
from nnus_core.store.upsert import insert_ignore
from nnus_core.text import plain

if TYPE_CHECKING:
    from nnus_core.quiz.engine import QuizService


@dataclass(frozen=True)
class Assignment:
    """A set given to a class: its questions as they were when assigned, and its dates (epoch s)."""

    id: int
    class_id: int
    set_id: int | None
    title: str
    items: tuple[QuestionSpec, ...]
    dataset_key: str
    open_s: float
    due_s: float
    created_s: float

    @property
    def n_questions(self) -> int:
        return len(self.items)

    def is_open(self, now: float) -> bool:
        return now >= self.open_s

    def is_late(self, answered_s: float) -> bool:
        return answered_s > self.due_s


@dataclass(frozen=True)
class StudentAssignment:
    """An assignment as one student sees it on Home."""

    assignment: Assignment
    class_name: str
    session_id: str | None  # the quiz they answer it in, once started
    answered: int
    late: int  # answers given after the due date

    @property
    def done(self) -> bool:
        return self.answered >= self.assignment.n_questions


def settings_for(a: Assignment) -> QuizSettings:
    """The quiz settings an assignment is taken with: its fixed questions, no adaptive practice."""
    return QuizSettings(
        n_questions=len(a.items),
        kinds=kinds_of(a.items),
        adaptive=False,
        items=a.items,
    )


def _assignment(r) -> Assignment:  # noqa: ANN001 - a Row of `assignments`
    return Assignment(
        int(r.id),
        int(r.class_id),
        r.set_id,
        str(r.title),
        tuple(QuestionSpec.from_dict(d) for d in json.loads(r.items_json)),
        str(r.dataset_key),
        float(r.open_s),
        float(r.due_s),
        float(r.created_s),
    )


def _get(engine: Engine, assignment_id: int) -> Assignment | None:
    with read_conn(engine) as conn:
        r = conn.execute(select(assignments).where(assignments.c.id == assignment_id)).first()
    return _assignment(r) if r else None


def assign(
    engine: Engine,
    actor: Actor,
    set_id: int,
    class_id: int,
    open_s: float,
    due_s: float,
    title: str | None = None,
) -> Assignment:
    """Give one of the acting instructor's sets to one of their classes.

    Raises:
        AccessDenied: for another instructor's set or class.
        QuizInputError: for an empty set, or a due date before the open date.
    """
    qs = get_set(engine, actor, set_id)
    require(engine, actor, Action.MANAGE_CLASS, class_id)
    if not qs.items:
        raise QuizInputError("this set has no questions yet: add some before assigning it")
    if due_s <= open_s:
        raise QuizInputError("due date: expected a time after the open date")
    name = " ".join(plain(title or qs.title).split())[:SET_TITLE_MAX] or qs.title
    now = time.time()
    with write_tx(engine, "assign a set") as conn:
        res = conn.execute(
            assignments.insert().values(
                class_id=class_id,
                set_id=qs.id,
                title=name,
                items_json=json.dumps([i.to_dict() for i in qs.items]),
                dataset_key=qs.dataset_key,
                open_s=float(open_s),
                due_s=float(due_s),
                created_s=now,
            )
        )
        aid = int(res.inserted_primary_key[0])
    out = _get(engine, aid)
    assert out is not None
    return out


def get_assignment(engine: Engine, actor: Actor, assignment_id: int) -> Assignment:
    """An assignment, for its class's instructor or a member of its class.

    Raises:
        AccessDenied: for anyone else (and for an id that does not exist).
    """
    a = _get(engine, assignment_id)
    if a is None:
        require(engine, actor, Action.TAKE_ASSIGNMENT, assignment_id)  # refuses: nothing to name
        raise AssertionError("unreachable")
    if actor.is_instructor:
        require(engine, actor, Action.VIEW_CLASS_PROGRESS, a.class_id)
    else:
        require(engine, actor, Action.TAKE_ASSIGNMENT, a.id)
    return a


def class_assignments(engine: Engine, actor: Actor, class_id: int) -> list[Assignment]:
    """A class's assignments, newest due date first (the class's instructor only)."""
    require(engine, actor, Action.VIEW_CLASS_PROGRESS, class_id)
    with read_conn(engine) as conn:
        rows = conn.execute(
            select(assignments)
            .where(assignments.c.class_id == class_id)
            .order_by(assignments.c.due_s.desc(), assignments.c.id.desc())
        ).all()
    return [_assignment(r) for r in rows]


def set_dates(
    engine: Engine,
    actor: Actor,
    assignment_id: int,
    *,
    open_s: float | None = None,
    due_s: float | None = None,
) -> Assignment:
    """Move an assignment's open or due date (an extension, or closing it early)."""
    a = _get(engine, assignment_id)
    if a is None:
        raise QuizInputError(f"assignment {assignment_id} not found")
    require(engine, actor, Action.MANAGE_CLASS, a.class_id)
    new_open = a.open_s if open_s is None else float(open_s)
    new_due = a.due_s if due_s is None else float(due_s)
    if new_due <= new_open:
        raise QuizInputError("due date: expected a time after the open date")
    with write_tx(engine, "change an assignment's dates") as conn:
        conn.execute(
            update(assignments).where(assignments.c.id == a.id).values(open_s=new_open, due_s=new_due)
        )
    out = _get(engine, a.id)
    assert out is not None
    return out


def my_assignments(engine: Engine, actor: Actor, now: float | None = None) -> list[StudentAssignment]:
    """The acting student's open assignments (opened already), soonest due first, with progress."""
    if actor.user is None or actor.student_id is None:
        return []
    now = time.time() if now is None else now
    answered = (
        select(
            attempts.c.session_id,
            func.count().label("n"),
            func.sum(case((attempts.c.created_s > assignments.c.due_s, 1), else_=0)).label("late"),
        )
        .select_from(
            attempts.join(
                assignment_sessions, assignment_sessions.c.session_id == attempts.c.session_id
            ).join(assignments, assignments.c.id == assignment_sessions.c.assignment_id)
        )
        .where(attempts.c.student_id == actor.student_id)
        .group_by(attempts.c.session_id)
        .subquery()
    )
    q = (
        select(
            assignments,
            classes.c.name.label("class_name"),
            assignment_sessions.c.session_id,
            answered.c.n,
            answered.c.late,
        )
        .select_from(
            assignments.join(classes, classes.c.id == assignments.c.class_id)
            .join(memberships, memberships.c.class_id == assignments.c.class_id)
            .outerjoin(
                assignment_sessions,
                and_(
                    assignment_sessions.c.assignment_id == assignments.c.id,
                    assignment_sessions.c.student_id == actor.student_id,
                ),
            )
            .outerjoin(answered, answered.c.session_id == assignment_sessions.c.session_id)
        )
        .where(and_(memberships.c.user_id == actor.user_id, assignments.c.open_s <= now))
        .order_by(assignments.c.due_s, assignments.c.id)
    )
    with read_conn(engine) as conn:
        rows = conn.execute(q).all()
    return [
        StudentAssignment(_assignment(r), str(r.class_name), r.session_id, int(r.n or 0), int(r.late or 0))
        for r in rows
    ]


def start_assignment(svc: QuizService, actor: Actor, assignment_id: int) -> str:
    """The quiz session in which the acting student takes an assignment: made on the first call,
    the same one on every later call (another tab, another day).

    Raises:
        AccessDenied: for someone not in the assignment's class.
        QuizInputError: before the open date, or when the active dataset is not the set's.
    """
    engine = svc.db
    require(engine, actor, Action.TAKE_ASSIGNMENT, assignment_id)
    a = _get(engine, assignment_id)
    assert a is not None
    with read_conn(engine) as conn:
        have = conn.execute(
            select(assignment_sessions.c.session_id).where(
                and_(
                    assignment_sessions.c.assignment_id == a.id,
                    assignment_sessions.c.student_id == actor.student_id,
                )
            )
        ).scalar()
    if have is not None:
        return str(have)
    now = svc.clock()
    if not a.is_open(now):
        raise QuizInputError(f"“{a.title}” opens later: it cannot be started yet")
    if a.dataset_key and a.dataset_key != svc.dataset_key:
        raise QuizInputError(
            f"“{a.title}” was made on other images ({a.dataset_key}); the app shows {svc.dataset_key} now"
        )
    sess = svc.start(actor, settings_for(a))
    with write_tx(engine, "start an assignment") as conn:
        insert_ignore(
            conn,
            assignment_sessions,
            {"assignment_id": a.id, "student_id": actor.student_id, "session_id": sess.id, "started_s": now},
            ("assignment_id", "student_id"),
        )
        stored = conn.execute(
            select(assignment_sessions.c.session_id).where(
                and_(
                    assignment_sessions.c.assignment_id == a.id,
                    assignment_sessions.c.student_id == actor.student_id,
                )
            )
        ).scalar_one()
    return str(stored)


def assignment_of_session(engine: Engine, session_id: str) -> Assignment | None:
    """The assignment a quiz session answers, if any (the quiz page names it and its due date)."""
    with read_conn(engine) as conn:
        r = conn.execute(
            select(assignments)
            .select_from(
                assignments.join(assignment_sessions, assignment_sessions.c.assignment_id == assignments.c.id)
            )
            .where(assignment_sessions.c.session_id == session_id)
        ).first()
    return _assignment(r) if r else None


def kinds_of(items: Sequence[QuestionSpec]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i.kind.value for i in items))
