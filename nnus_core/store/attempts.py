"""Answers written exactly once per question instance (idempotency key + insert-or-ignore) and read back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from nnus_core.errors import StoreError
from nnus_core.store.db import attempts, read_conn, write_tx
from nnus_core.store.upsert import insert_ignore


@dataclass(frozen=True)
class Attempt:
    """One scored answer. `idempotency_key` identifies the question instance it answers."""

    idempotency_key: str
    student_id: int
    kind: str  # "locate" | "identify" | "present" | "label_all"
    image_stem: str
    organ_id: int | None
    credit: float  # 0..1
    passed: bool
    created_s: float
    answer: dict[str, Any] = field(default_factory=dict)
    iou: float | None = None
    model_iou: float | None = None
    model_conf: float | None = None
    elapsed_s: float | None = None
    feedback: str = ""
    session_id: str | None = None
    instance_id: str | None = None
    dataset_key: str = ""
    id: int | None = None  # set once stored

    def __post_init__(self) -> None:
        if not self.idempotency_key or len(self.idempotency_key) > 100:
            raise StoreError(
                f"idempotency_key: expected 1-100 characters, got {len(self.idempotency_key or '')}"
            )
        if not 0.0 <= self.credit <= 1.0:
            raise StoreError(f"credit: expected a value in [0, 1], got {self.credit}")


_COLUMNS = (
    "idempotency_key",
    "student_id",
    "kind",
    "image_stem",
    "organ_id",
    "credit",
    "passed",
    "created_s",
    "iou",
    "model_iou",
    "model_conf",
    "elapsed_s",
    "feedback",
    "session_id",
    "instance_id",
    "dataset_key",
)


def _to_row(a: Attempt) -> dict[str, Any]:
    d = asdict(a)
    row = {k: d[k] for k in _COLUMNS}
    row["answer_json"] = json.dumps(a.answer, sort_keys=True)
    return row


def _from_row(r: Any) -> Attempt:
    m = r._mapping
    return Attempt(
        **{k: m[k] for k in _COLUMNS if k != "passed"},
        passed=bool(m["passed"]),
        answer=json.loads(m["answer_json"] or "{}"),
        id=int(m["id"]),
    )


def record_attempt(engine: Engine, attempt: Attempt) -> tuple[Attempt, bool]:
    """Store an answer unless its idempotency key was stored before.

    A double submit, a reload after submitting or a second tab all carry the same key: the first
    write wins and later ones return that stored answer unchanged.

    Returns:
        (the stored attempt, True when this call wrote it).

    Raises:
        StoreBusyError: the database is locked by another writer (keep the answer, retry later).
        StoreError: it cannot be written at all (read-only, disk full, damaged).
    """
    with write_tx(engine, "store an answer") as conn:
        inserted = insert_ignore(conn, attempts, _to_row(attempt), ("idempotency_key",))
        row = conn.execute(
            select(attempts).where(attempts.c.idempotency_key == attempt.idempotency_key)
        ).one()
    return _from_row(row), inserted


def get_attempt(engine: Engine, idempotency_key: str) -> Attempt | None:
    """The stored answer for a key, or None."""
    with read_conn(engine) as conn:
        row = conn.execute(select(attempts).where(attempts.c.idempotency_key == idempotency_key)).first()
    return _from_row(row) if row else None


def attempts_for_keys(engine: Engine, keys: Sequence[str]) -> dict[str, Attempt]:
    """Stored answers for several keys at once (missing keys are absent from the result)."""
    if not keys:
        return {}
    with read_conn(engine) as conn:
        rows = conn.execute(select(attempts).where(attempts.c.idempotency_key.in_(list(keys)))).all()
    return {r.idempotency_key: _from_row(r) for r in rows}


def student_attempts(
    engine: Engine, student_id: int, *, session_id: str | None = None, limit: int | None = None
) -> list[Attempt]:
    """A student's answers, oldest first (optionally one quiz session's, or the latest `limit`)."""
    q = select(attempts).where(attempts.c.student_id == student_id)
    if session_id is not None:
        q = q.where(attempts.c.session_id == session_id)
    if limit is not None:
        q = q.order_by(attempts.c.created_s.desc(), attempts.c.id.desc()).limit(limit)
    else:
        q = q.order_by(attempts.c.created_s, attempts.c.id)
    with read_conn(engine) as conn:
        rows = [_from_row(r) for r in conn.execute(q).all()]
    return rows[::-1] if limit is not None else rows


def count_attempts(engine: Engine) -> int:
    """Number of stored answers (all students)."""
    from sqlalchemy import func

    with read_conn(engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(attempts)) or 0)
