"""The instructor's dashboard: what a class gets wrong, from SQL aggregations over the stored answers.

One call (`class_dashboard`) runs every query on one connection, for the class's instructor only
(`Action.VIEW_CLASS_PROGRESS`). The scope is the class's members' answers: all of them (practice and
assignments), or one assignment's. Every figure is a plain count or mean, so a test can recount it:

- mastery: per student and organ, the mean credit of their answers on that organ (Label all answers,
  which are about every organ at once, count in the totals but in no organ's cell);
- falling behind: a student with no answer, a mean credit under BEHIND_CREDIT, or a due assignment
  not finished;
- per question (kind, image, organ): answers, pass rate, mean seconds; the QUESTIONS_SHOWN hardest,
  by pass rate smoothed as (passes + 1) / (answers + 2) so that 0 of 10 ranks above 0 of 1;
- time spent: the sum of the seconds each answer took;
- confusion: Identify answers by the organ outlined (rows) and the organ chosen (columns);
- Locate: the centre of each student box, by organ, right or wrong;
- per organ: the class's pass rate, by the data the answers were given on (beside the model's AP).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, Float, Integer, and_, case, cast, func, select
from sqlalchemy.sql import ColumnElement, Select

from nnus_core.accounts import Action, Actor, require
from nnus_core.classroom.assignments import Assignment, class_assignments, get_assignment
from nnus_core.classroom.gradebook import AnswerRow, GradeItem, GradeRow, answers_csv, gradebook_csv
from nnus_core.errors import QuizInputError
from nnus_core.organs import N_ORGANS, ORGANS
from nnus_core.store.account_tables import memberships, users
from nnus_core.store.classroom_tables import assignment_sessions, assignments
from nnus_core.store.db import attempts, read_conn

BEHIND_CREDIT = 0.5  # a mean credit under this is falling behind
DRILL_LIMIT = 60  # answers shown under one cell
QUESTIONS_SHOWN = 100  # the hardest questions listed


@dataclass(frozen=True)
class StudentLine:
    """One student of the class, as the dashboard's table shows them."""

    user_id: int
    student_id: int | None
    name: str
    login: str | None
    answers: int
    passes: int
    credit: float  # sum of credit
    seconds: float  # time spent answering (sum)
    late: int
    last_s: float | None
    due_missed: int = 0  # assignments past their due date with questions left unanswered
    behind_reasons: tuple[str, ...] = ()

    @property
    def mean_credit(self) -> float | None:
        return self.credit / self.answers if self.answers else None

    @property
    def behind(self) -> bool:
        return bool(self.behind_reasons)


@dataclass(frozen=True)
class Cell:
    """A student's answers on one organ."""

    student_id: int
    organ_id: int
    answers: int
    passes: int
    credit: float
    seconds: float

    @property
    def mean_credit(self) -> float:
        return self.credit / self.answers


@dataclass(frozen=True)
class QuestionLine:
    """One question (kind, image, organ) as the class answered it."""

    kind: str
    image_stem: str
    organ_id: int | None
    answers: int
    passes: int
    credit: float
    seconds: float

    @property
    def pass_rate(self) -> float:
        return self.passes / self.answers

    @property
    def mean_seconds(self) -> float:
        return self.seconds / self.answers


@dataclass(frozen=True)
class LocatePoint:
    """The centre of one student's Locate box, in image pixels."""

    organ_id: int
    image_stem: str
    x: float
    y: float
    passed: bool


@dataclass(frozen=True)
class OrganAccuracy:
    """The class's answers on one organ, on one dataset."""

    organ_id: int
    dataset_key: str
    answers: int
    passes: int

    @property
    def accuracy(self) -> float:
        return self.passes / self.answers


@dataclass(frozen=True)
class DrillAnswer:
    """One answer behind a dashboard cell, with what the student drew."""

    student_id: int
    name: str
    kind: str
    image_stem: str
    organ_id: int | None
    box: tuple[float, float, float, float] | None
    choice: int | None
    passed: bool
    credit: float
    iou: float | None
    seconds: float | None
    created_s: float
    late: bool
    feedback: str


@dataclass(frozen=True)
class ClassDashboard:
    class_id: int
    assignment: Assignment | None
    students: tuple[StudentLine, ...]
    cells: tuple[Cell, ...]
    questions: tuple[QuestionLine, ...]
    confusion: dict[tuple[int, int], int]  # (outlined organ, chosen organ) -> answers
    locate_points: tuple[LocatePoint, ...]
    organ_accuracy: tuple[OrganAccuracy, ...]
    assignments: tuple[Assignment, ...] = field(default_factory=tuple)

    @property
    def answers(self) -> int:
        return sum(s.answers for s in self.students)

    @property
    def behind(self) -> tuple[StudentLine, ...]:
        return tuple(s for s in self.students if s.behind)

    def cell(self, student_id: int, organ_id: int) -> Cell | None:
        return next((c for c in self.cells if c.student_id == student_id and c.organ_id == organ_id), None)


# --- the answers in scope ------------------------------------------------------------------------------


def _json_number(conn: Connection, path: tuple[str | int, ...], as_type=Float) -> ColumnElement:  # noqa: ANN001
    """A number inside attempts.answer_json (SQLite json_extract, PostgreSQL's jsonb path)."""
    col = attempts.c.answer_json
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import JSONB

        return cast(cast(col, JSONB)[tuple(str(p) for p in path)].astext, as_type)
    jpath = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return cast(func.json_extract(col, jpath), as_type)


def _scope(class_id: int, assignment_id: int | None) -> Select:
    """The class's members' answers (one assignment's when given), with who, and late or not."""
    late = case((attempts.c.created_s > assignments.c.due_s, 1), else_=0)
    q = select(
        attempts.c.id,
        attempts.c.student_id,
        users.c.id.label("user_id"),
        users.c.display_name,
        attempts.c.kind,
        attempts.c.image_stem,
        attempts.c.organ_id,
        attempts.c.credit,
        cast(attempts.c.passed, Integer).label("passed"),
        attempts.c.iou,
        func.coalesce(attempts.c.elapsed_s, 0.0).label("seconds"),
        attempts.c.created_s,
        attempts.c.dataset_key,
        attempts.c.answer_json,
        attempts.c.feedback,
        late.label("late"),
    ).select_from(
        attempts.join(users, users.c.student_id == attempts.c.student_id)
        .join(
            memberships,
            and_(memberships.c.user_id == users.c.id, memberships.c.class_id == class_id),
        )
        .outerjoin(assignment_sessions, assignment_sessions.c.session_id == attempts.c.session_id)
        .outerjoin(
            assignments,
            and_(assignments.c.id == assignment_sessions.c.assignment_id, assignments.c.class_id == class_id),
        )
    )
    if assignment_id is not None:
        q = q.where(assignments.c.id == assignment_id)
    return q


@dataclass
class _Sum:
    n: int = 0
    passes: int = 0
    credit: float = 0.0
    seconds: float = 0.0
    late: int = 0
    last: float | None = None

    def add(self, n: int, passes: int, credit: float, seconds: float, late: int, last: float | None) -> None:
        self.n += n
        self.passes += passes
        self.credit += credit
        self.seconds += seconds
        self.late += late
        if last is not None and (self.last is None or last > self.last):
            self.last = last


def _groups(conn: Connection, scope) -> list[tuple]:  # noqa: ANN001 - the scope subquery
    """One pass over the answers: totals per (student, organ, dataset); the organ is NULL for Label
    all (about every organ at once). Students, cells and per-organ accuracy are sums of these rows."""
    organ = case((scope.c.kind == "label_all", None), else_=scope.c.organ_id)
    return list(
        conn.execute(
            select(
                scope.c.student_id,
                organ.label("organ"),
                scope.c.dataset_key,
                func.count(),
                func.sum(scope.c.passed),
                func.sum(scope.c.credit),
                func.sum(scope.c.seconds),
                func.sum(scope.c.late),
                func.max(scope.c.created_s),
            ).group_by(scope.c.student_id, organ, scope.c.dataset_key)
        ).tuples()
    )


def _students(
    conn: Connection, class_id: int, totals: dict[int, _Sum], due: list[Assignment]
) -> tuple[StudentLine, ...]:
    roster = conn.execute(
        select(users.c.id, users.c.student_id, users.c.display_name, users.c.login)
        .select_from(memberships.join(users, users.c.id == memberships.c.user_id))
        .where(memberships.c.class_id == class_id)
        .order_by(func.lower(users.c.display_name), users.c.id)
    ).all()
    # Answers per (student, assignment) for the assignments already due.
    done: dict[tuple[int, int], int] = {}
    if due:
        q = (
            select(
                assignment_sessions.c.student_id,
                assignment_sessions.c.assignment_id,
                func.count(attempts.c.id),
            )
            .select_from(
                assignment_sessions.join(attempts, attempts.c.session_id == assignment_sessions.c.session_id)
            )
            .where(assignment_sessions.c.assignment_id.in_([a.id for a in due]))
            .group_by(assignment_sessions.c.student_id, assignment_sessions.c.assignment_id)
        )
        done = {(int(s), int(a)): int(n) for s, a, n in conn.execute(q)}
    out = []
    for r in roster:
        t = totals.get(r.student_id) or _Sum()
        missed = sum(1 for a in due if done.get((r.student_id, a.id), 0) < a.n_questions)
        reasons = []
        if t.n == 0:
            reasons.append("no answers yet")
        elif t.credit / t.n < BEHIND_CREDIT:
            reasons.append(f"mean credit {t.credit / t.n:.2f} < {BEHIND_CREDIT:.2f}")
        if missed:
            reasons.append(f"{missed} assignment(s) past due unfinished")
        out.append(
            StudentLine(
                int(r.id),
                r.student_id,
                str(r.display_name),
                r.login,
                t.n,
                t.passes,
                t.credit,
                t.seconds,
                t.late,
                t.last,
                missed,
                tuple(reasons),
            )
        )
    return tuple(out)


def class_dashboard(
    engine: Engine, actor: Actor, class_id: int, assignment_id: int | None = None, now: float | None = None
) -> ClassDashboard:
    """Every figure of the dashboard of one class (or of one of its assignments).

    Raises:
        AccessDenied: for anyone but the class's instructor.
    """
    require(engine, actor, Action.VIEW_CLASS_PROGRESS, class_id)
    now = time.time() if now is None else now
    given = tuple(class_assignments(engine, actor, class_id))
    assignment = (
        next((a for a in given if a.id == assignment_id), None) if assignment_id is not None else None
    )
    if assignment_id is not None and assignment is None:
        raise QuizInputError(f"assignment {assignment_id} is not one of this class's")
    due = [a for a in given if a.due_s <= now and (assignment is None or a.id == assignment.id)]
    with read_conn(engine, "read the class's answers") as conn:
        scope = _scope(class_id, assignment_id).subquery()
        per_student: dict[int, _Sum] = {}
        per_cell: dict[tuple[int, int], _Sum] = {}
        per_organ: dict[tuple[int, str], _Sum] = {}
        for sid, organ, dkey, n, p, c, sec, late, last in _groups(conn, scope):
            row = (int(n), int(p or 0), float(c or 0.0), float(sec or 0.0), int(late or 0), last)
            per_student.setdefault(int(sid), _Sum()).add(*row)
            if organ is not None:
                per_cell.setdefault((int(sid), int(organ)), _Sum()).add(*row)
                per_organ.setdefault((int(organ), str(dkey)), _Sum()).add(*row)
        students = _students(conn, class_id, per_student, due)
        cells = tuple(
            Cell(sid, oid, t.n, t.passes, t.credit, t.seconds) for (sid, oid), t in sorted(per_cell.items())
        )
        accuracy = tuple(
            OrganAccuracy(oid, dkey, t.n, t.passes) for (oid, dkey), t in sorted(per_organ.items())
        )
        questions = tuple(
            QuestionLine(kind, stem, organ, int(n), int(p), float(c), float(sec))
            for kind, stem, organ, n, p, c, sec in conn.execute(
                select(
                    scope.c.kind,
                    scope.c.image_stem,
                    scope.c.organ_id,
                    func.count().label("n"),
                    func.sum(scope.c.passed).label("passes"),
                    func.sum(scope.c.credit).label("credit"),
                    func.sum(scope.c.seconds).label("seconds"),
                )
                .group_by(scope.c.kind, scope.c.image_stem, scope.c.organ_id)
                .order_by(
                    # Laplace-smoothed pass rate: 0 of 10 is harder than 0 of 1.
                    ((func.sum(scope.c.passed) + 1.0) / (func.count() + 2.0)).asc(),
                    func.count().desc(),
                    scope.c.kind,
                    scope.c.image_stem,
                    scope.c.organ_id,
                )
                .limit(QUESTIONS_SHOWN)
            ).tuples()
        )
        choice = _json_number(conn, ("choice",), Integer)
        answered = _scope(class_id, assignment_id).add_columns(choice.label("choice")).subquery()
        confusion = {
            (int(r.organ_id), int(r.choice)): int(r.n)
            for r in conn.execute(
                select(answered.c.organ_id, answered.c.choice, func.count().label("n"))
                .where(
                    and_(
                        answered.c.kind == "identify",
                        answered.c.organ_id.is_not(None),
                        answered.c.choice.is_not(None),
                    )
                )
                .group_by(answered.c.organ_id, answered.c.choice)
            )
        }
        corners = [_json_number(conn, ("box", i)) for i in range(4)]
        boxed = (
            _scope(class_id, assignment_id)
            .add_columns(*(c.label(f"b{i}") for i, c in enumerate(corners)))
            .subquery()
        )
        points = tuple(
            LocatePoint(organ, stem, (x1 + x2) / 2, (y1 + y2) / 2, bool(passed))
            for organ, stem, passed, x1, y1, x2, y2 in conn.execute(
                select(
                    boxed.c.organ_id,
                    boxed.c.image_stem,
                    boxed.c.passed,
                    boxed.c.b0,
                    boxed.c.b1,
                    boxed.c.b2,
                    boxed.c.b3,
                )
                .where(and_(boxed.c.kind == "locate", boxed.c.organ_id.is_not(None), boxed.c.b0.is_not(None)))
                .order_by(boxed.c.id)
            ).tuples()
        )
    return ClassDashboard(
        class_id, assignment, students, cells, questions, confusion, points, accuracy, given
    )


def drill_down(
    engine: Engine,
    actor: Actor,
    class_id: int,
    *,
    student_id: int | None = None,
    organ_id: int | None = None,
    kind: str | None = None,
    image_stem: str | None = None,
    assignment_id: int | None = None,
    limit: int = DRILL_LIMIT,
) -> list[DrillAnswer]:
    """The answers behind a cell (a student, an organ, a question, or any mix), newest first."""
    require(engine, actor, Action.VIEW_CLASS_PROGRESS, class_id)
    with read_conn(engine, "read the class's answers") as conn:
        extra = [
            _json_number(conn, ("box", 0)).label("b0"),
            _json_number(conn, ("box", 1)).label("b1"),
            _json_number(conn, ("box", 2)).label("b2"),
            _json_number(conn, ("box", 3)).label("b3"),
            _json_number(conn, ("choice",), Integer).label("choice"),
        ]
        sub = _scope(class_id, assignment_id).add_columns(*extra).subquery()
        q = select(sub)
        for col, value in (
            (sub.c.student_id, student_id),
            (sub.c.organ_id, organ_id),
            (sub.c.kind, kind),
            (sub.c.image_stem, image_stem),
        ):
            if value is not None:
                q = q.where(col == value)
        rows = conn.execute(q.order_by(sub.c.created_s.desc(), sub.c.id.desc()).limit(limit)).all()
    return [
        DrillAnswer(
            int(r.student_id),
            str(r.display_name),
            str(r.kind),
            str(r.image_stem),
            r.organ_id,
            None if r.b0 is None else (float(r.b0), float(r.b1), float(r.b2), float(r.b3)),
            r.choice,
            bool(r.passed),
            float(r.credit),
            r.iou,
            r.seconds,
            float(r.created_s),
            bool(r.late),
            str(r.feedback or ""),
        )
        for r in rows
    ]


# --- exports -------------------------------------------------------------------------------------------


def gradebook_export(engine: Engine, actor: Actor, assignment_id: int, flavour: str = "canvas") -> str:
    """An assignment's gradebook CSV (points = the sum of credit; an empty cell for no answer)."""
    a = get_assignment(engine, actor, assignment_id)
    d = class_dashboard(engine, actor, a.class_id, a.id)
    rows = [
        GradeRow(s.name, s.login, s.student_id or s.user_id, round(s.credit, 2) if s.answers else None)
        for s in d.students
    ]
    return gradebook_csv(GradeItem(a.title, float(a.n_questions)), rows, flavour)


def _answer_text(a: DrillAnswer) -> str:
    if a.kind == "identify":
        return ORGANS[a.choice].name if a.choice is not None and 0 <= a.choice < N_ORGANS else ""
    if a.box is not None:
        return "box " + ",".join(f"{v:.0f}" for v in a.box)
    return ""


def answers_export(
    engine: Engine, actor: Actor, class_id: int, assignment_id: int | None = None, limit: int = 1_000_000
) -> str:
    """Every answer in scope, one CSV row each (oldest first), with late marked."""
    rows = drill_down(engine, actor, class_id, assignment_id=assignment_id, limit=limit)[::-1]
    logins = {s.student_id: s.login for s in class_dashboard(engine, actor, class_id, assignment_id).students}
    numbers: dict[int, int] = {}
    out = []
    for a in rows:
        numbers[a.student_id] = numbers.get(a.student_id, 0) + 1
        out.append(
            AnswerRow(
                a.name,
                logins.get(a.student_id),
                numbers[a.student_id],
                a.image_stem,
                ORGANS[a.organ_id].name if a.organ_id is not None else "",
                a.kind,
                _answer_text(a),
                a.passed,
                a.credit,
                a.iou,
                a.seconds,
                dt.datetime.fromtimestamp(a.created_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                a.late,
            )
        )
    return answers_csv(out)
