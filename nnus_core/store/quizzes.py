"""Quiz sessions and their question instances, persisted so a reload resumes the same question."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select, update

from nnus_core.store.db import question_instances, quiz_sessions, read_conn, write_tx
from nnus_core.store.upsert import insert_ignore


@dataclass(frozen=True)
class StoredSession:
    """A quiz session as stored: who, with which settings, on which dataset."""

    id: str
    student_id: int
    settings: dict[str, Any]
    dataset_key: str
    created_s: float
    finished_s: float | None = None


@dataclass(frozen=True)
class StoredInstance:
    """One served question. Its id is "<session>-<position>", so two tabs serving it agree."""

    id: str
    session_id: str
    position: int
    kind: str
    image_stem: str
    organ_id: int | None
    served_s: float
    payload: dict[str, Any] = field(default_factory=dict)


def instance_id(session_id: str, position: int) -> str:
    """The stable id of the question at `position` (0-based) of a session."""
    return f"{session_id}-{position:03d}"


def new_session_id() -> str:
    """A fresh random session id (URL-safe, 32 hex characters)."""
    return uuid.uuid4().hex


def create_session(
    engine: Engine,
    student_id: int,
    settings: dict[str, Any],
    dataset_key: str,
    now_s: float,
    session_id: str | None = None,
) -> StoredSession:
    """Store a new quiz session and return it."""
    s = StoredSession(session_id or new_session_id(), student_id, dict(settings), dataset_key, now_s)
    with write_tx(engine) as conn:
        insert_ignore(
            conn,
            quiz_sessions,
            {
                "id": s.id,
                "student_id": student_id,
                "settings_json": json.dumps(settings, sort_keys=True),
                "dataset_key": dataset_key,
                "created_s": now_s,
            },
            ("id",),
        )
    return get_session(engine, s.id) or s


def _session(r: Any) -> StoredSession:
    return StoredSession(
        r.id, int(r.student_id), json.loads(r.settings_json), r.dataset_key, float(r.created_s), r.finished_s
    )


def get_session(engine: Engine, session_id: str) -> StoredSession | None:
    """The stored session, or None for an unknown id."""
    with read_conn(engine) as conn:
        r = conn.execute(select(quiz_sessions).where(quiz_sessions.c.id == session_id)).first()
    return _session(r) if r else None


def student_sessions(engine: Engine, student_id: int) -> list[StoredSession]:
    """A student's sessions, newest first."""
    with read_conn(engine) as conn:
        rows = conn.execute(
            select(quiz_sessions)
            .where(quiz_sessions.c.student_id == student_id)
            .order_by(quiz_sessions.c.created_s.desc())
        ).all()
    return [_session(r) for r in rows]


def mark_finished(engine: Engine, session_id: str, now_s: float) -> None:
    """Record when a session's last question was answered (the first call wins)."""
    with write_tx(engine) as conn:
        conn.execute(
            update(quiz_sessions)
            .where(quiz_sessions.c.id == session_id, quiz_sessions.c.finished_s.is_(None))
            .values(finished_s=now_s)
        )


def add_instance(engine: Engine, inst: StoredInstance) -> tuple[StoredInstance, bool]:
    """Store a served question unless its position was served already (then return that one).

    Returns:
        (the stored instance, True when this call stored it).
    """
    with write_tx(engine) as conn:
        inserted = insert_ignore(
            conn,
            question_instances,
            {
                "id": inst.id,
                "session_id": inst.session_id,
                "position": inst.position,
                "kind": inst.kind,
                "image_stem": inst.image_stem,
                "organ_id": inst.organ_id,
                "payload_json": json.dumps(inst.payload, sort_keys=True),
                "served_s": inst.served_s,
            },
            ("id",),
        )
        r = conn.execute(select(question_instances).where(question_instances.c.id == inst.id)).one()
    return _instance(r), inserted


def _instance(r: Any) -> StoredInstance:
    return StoredInstance(
        r.id,
        r.session_id,
        int(r.position),
        r.kind,
        r.image_stem,
        r.organ_id,
        float(r.served_s),
        json.loads(r.payload_json),
    )


def session_instances(engine: Engine, session_id: str) -> list[StoredInstance]:
    """The questions served in a session, by position."""
    with read_conn(engine) as conn:
        rows = conn.execute(
            select(question_instances)
            .where(question_instances.c.session_id == session_id)
            .order_by(question_instances.c.position)
        ).all()
    return [_instance(r) for r in rows]
