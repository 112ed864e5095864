"""The one table of who may do what. Every service call asks `require`; pages only hide what it refuses.

A rule names the roles that may act and, where the target is a record, the relation the actor must
have to it: it is their own record, their own class, or a student of one of their classes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine, and_, select

from nnus_core.accounts.model import Actor, Role
from nnus_core.errors import AccessDenied
from nnus_core.store.account_tables import classes, memberships, users
from nnus_core.store.classroom_tables import assignments, question_sets
from nnus_core.store.db import read_conn
from nnus_core.store.live_tables import live_participants, live_sessions


class Action(StrEnum):
    SELF_STUDY = "self-study (browse, atlas, practice quiz)"
    ANSWER = "answer into a progress record"
    READ_PROGRESS = "read a progress record"
    JOIN_CLASS = "join a class"
    CREATE_CLASS = "create a class"
    MANAGE_CLASS = "manage a class (codes, roster, sign-ins)"
    VIEW_CLASS_PROGRESS = "see a class's progress"
    MERGE_RECORDS = "merge a progress record into an account"
    LOAD_SERVER_DATASET = "load a dataset from a server folder"
    UPLOAD_DATASET = "upload a dataset"
    SET_ACTIVE_DATASET = "choose the active dataset"
    SET_ACTIVE_MODEL = "choose the active model"
    CREATE_INSTRUCTOR = "create an instructor account"
    CREATE_LIVE = "start a live session"
    RUN_LIVE = "open, close or advance a live session"
    VIEW_LIVE_REVEAL = "see a live session's answers (reveal, projector, report)"
    JOIN_LIVE = "join a live session"
    ANSWER_LIVE = "answer in a live session"
    VIEW_LIVE_RESULT = "see a live session result"
    BUILD_QUESTION_SETS = "build question sets"
    EDIT_QUESTION_SET = "use or change a question set"
    TAKE_ASSIGNMENT = "take an assignment"


EVERYONE = frozenset({None, Role.GUEST, Role.STUDENT, Role.INSTRUCTOR})
SIGNED_IN = frozenset({Role.GUEST, Role.STUDENT, Role.INSTRUCTOR})
INSTRUCTORS = frozenset({Role.INSTRUCTOR})
LEARNERS = frozenset({Role.GUEST, Role.STUDENT})


def _own_record(engine: Engine, actor: Actor, student_id: object) -> bool:
    return actor.student_id is not None and actor.student_id == student_id


def _own_class(engine: Engine, actor: Actor, class_id: object) -> bool:
    with read_conn(engine) as conn:
        row = conn.execute(select(classes.c.instructor_id).where(classes.c.id == class_id)).first()
    return row is not None and row.instructor_id == actor.user_id


def _teaches_student(engine: Engine, actor: Actor, student_id: object) -> bool:
    """The student (a progress record id) is a member of a class this instructor runs."""
    q = (
        select(users.c.id)
        .select_from(users.join(memberships, memberships.c.user_id == users.c.id))
        .join(classes, classes.c.id == memberships.c.class_id)
        .where(and_(users.c.student_id == student_id, classes.c.instructor_id == actor.user_id))
        .limit(1)
    )
    with read_conn(engine) as conn:
        return conn.execute(q).first() is not None


def _own_record_or_teaches(engine: Engine, actor: Actor, student_id: object) -> bool:
    if _own_record(engine, actor, student_id):
        return True
    return actor.is_instructor and _teaches_student(engine, actor, student_id)


def _runs_live(engine: Engine, actor: Actor, session_id: object) -> bool:
    """The live session is this instructor's own."""
    with read_conn(engine) as conn:
        row = conn.execute(
            select(live_sessions.c.instructor_id).where(live_sessions.c.id == session_id)
        ).first()
    return row is not None and row.instructor_id == actor.user_id


def _may_join_live(engine: Engine, actor: Actor, session_id: object) -> bool:
    """The session is open to anyone with its code, or is for a class the actor is a member of."""
    q = (
        select(live_sessions.c.class_id, memberships.c.user_id)
        .select_from(
            live_sessions.outerjoin(
                memberships,
                and_(
                    memberships.c.class_id == live_sessions.c.class_id, memberships.c.user_id == actor.user_id
                ),
            )
        )
        .where(live_sessions.c.id == session_id)
    )
    with read_conn(engine) as conn:
        row = conn.execute(q).first()
    return row is not None and (row.class_id is None or row.user_id is not None)


def _own_participant(engine: Engine, actor: Actor, participant_id: object) -> bool:
    """The participant (a live_participants id) is the acting user in that session."""
    with read_conn(engine) as conn:
        row = conn.execute(
            select(live_participants.c.user_id).where(live_participants.c.id == participant_id)
        ).first()
    return row is not None and actor.user_id is not None and row.user_id == actor.user_id


def _own_set(engine: Engine, actor: Actor, set_id: object) -> bool:
    with read_conn(engine) as conn:
        row = conn.execute(select(question_sets.c.owner_id).where(question_sets.c.id == set_id)).first()
    return row is not None and row.owner_id == actor.user_id


def _member_of_assignment_class(engine: Engine, actor: Actor, assignment_id: object) -> bool:
    """The assignment was given to a class the acting user is a member of."""
    q = (
        select(memberships.c.user_id)
        .select_from(assignments.join(memberships, memberships.c.class_id == assignments.c.class_id))
        .where(and_(assignments.c.id == assignment_id, memberships.c.user_id == actor.user_id))
        .limit(1)
    )
    with read_conn(engine) as conn:
        return actor.student_id is not None and conn.execute(q).first() is not None


Relation = Callable[[Engine, Actor, object], bool]


@dataclass(frozen=True)
class Rule:
    roles: frozenset
    relation: Relation | None = None  # checked against the target when set
    refusal: str = ""


RULES: dict[Action, Rule] = {
    Action.SELF_STUDY: Rule(EVERYONE),
    Action.ANSWER: Rule(SIGNED_IN, _own_record, "Answers can only go into your own record."),
    Action.READ_PROGRESS: Rule(
        SIGNED_IN, _own_record_or_teaches, "This record is private to its student and their instructors."
    ),
    Action.JOIN_CLASS: Rule(frozenset({None, Role.GUEST, Role.STUDENT})),
    Action.CREATE_CLASS: Rule(INSTRUCTORS),
    Action.MANAGE_CLASS: Rule(INSTRUCTORS, _own_class, "Only the class's instructor can change it."),
    Action.VIEW_CLASS_PROGRESS: Rule(
        INSTRUCTORS, _own_class, "Only the class's instructor sees its progress."
    ),
    Action.MERGE_RECORDS: Rule(INSTRUCTORS),
    Action.LOAD_SERVER_DATASET: Rule(INSTRUCTORS),
    Action.UPLOAD_DATASET: Rule(INSTRUCTORS),
    Action.SET_ACTIVE_DATASET: Rule(INSTRUCTORS),
    Action.SET_ACTIVE_MODEL: Rule(INSTRUCTORS),
    Action.CREATE_INSTRUCTOR: Rule(INSTRUCTORS),
    Action.CREATE_LIVE: Rule(INSTRUCTORS),
    Action.RUN_LIVE: Rule(INSTRUCTORS, _runs_live, "Only the session's instructor can run it."),
    Action.VIEW_LIVE_REVEAL: Rule(
        INSTRUCTORS, _runs_live, "Only the session's instructor sees the class's answers."
    ),
    Action.JOIN_LIVE: Rule(LEARNERS, _may_join_live, "This session is for the members of its class."),
    Action.ANSWER_LIVE: Rule(LEARNERS, _own_participant, "You can only answer as yourself."),
    Action.VIEW_LIVE_RESULT: Rule(LEARNERS, _own_participant, "A result is private to its student."),
    Action.BUILD_QUESTION_SETS: Rule(INSTRUCTORS),
    Action.EDIT_QUESTION_SET: Rule(INSTRUCTORS, _own_set, "Only the instructor who made a set can use it."),
    Action.TAKE_ASSIGNMENT: Rule(
        frozenset({Role.STUDENT}), _member_of_assignment_class, "This assignment is for another class."
    ),
}


def allowed(engine: Engine | None, actor: Actor, action: Action, target: object = None) -> bool:
    """Whether `actor` may do `action` (on `target`, for rules with a relation)."""
    rule = RULES[action]
    if actor.role not in rule.roles:
        return False
    if rule.relation is None:
        return True
    if target is None or engine is None:
        return False
    return rule.relation(engine, actor, target)


def require(engine: Engine | None, actor: Actor, action: Action, target: object = None) -> None:
    """Return when `actor` may do `action`; raise otherwise.

    Raises:
        AccessDenied: with a sentence a visitor may read ("instructors only", "private record").
    """
    if allowed(engine, actor, action, target):
        return
    rule = RULES[action]
    if actor.role not in rule.roles:
        if rule.roles == INSTRUCTORS:
            raise AccessDenied(f"Instructors only: you cannot {action.value}.")
        if actor.user is None:
            raise AccessDenied(f"Sign in or join a class first: you cannot {action.value} anonymously.")
        raise AccessDenied(f"Your role ({actor.role}) cannot {action.value}.")
    raise AccessDenied(rule.refusal or f"You cannot {action.value} here.")
