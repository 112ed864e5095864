"""A seeded class for the dashboard's tests and bench: an instructor, N students, M answers each.

Rows are written straight into the tables (no PIN hashing, one transaction), with values chosen so
that every dashboard figure can be recounted from the returned list by hand.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from sqlalchemy import Engine

from nnus_core.accounts import Actor
from nnus_core.accounts import service as acc
from nnus_core.classroom import assignments as asg
from nnus_core.classroom import sets
from nnus_core.dataset.model import Dataset
from nnus_core.quiz import Kind
from nnus_core.quiz.questions import CONFUSABLE, QuestionSpec
from nnus_core.store.account_tables import memberships, users
from nnus_core.store.classroom_tables import assignment_sessions
from nnus_core.store.db import attempts, quiz_sessions, students, write_tx

T0 = 1_800_000_000.0
KINDS = ("locate", "identify", "present", "label_all")
DATASETS = ("synthetic:test", "real:NNUS")


@dataclass(frozen=True)
class SeedAnswer:
    student_id: int
    name: str
    kind: str
    image_stem: str
    organ_id: int | None
    passed: bool
    credit: float
    seconds: float
    created_s: float
    dataset_key: str
    choice: int | None
    box: tuple[float, float, float, float] | None
    assignment: bool  # answered in the assignment's quiz
    late: bool


@dataclass(frozen=True)
class SeededClass:
    teacher: Actor
    other: Actor  # another instructor (refused)
    student: Actor  # one of the students (refused)
    class_id: int
    assignment: asg.Assignment
    names: dict[int, str]  # student (record) id -> display name
    answers: list[SeedAnswer]


def seed_class(
    engine: Engine,
    ds: Dataset,
    n_students: int = 30,
    n_answers: int = 40,
    seed: int = 7,
    *,
    first_run: bool = True,
) -> SeededClass:
    rng = random.Random(seed)
    teacher = acc.create_instructor(
        engine, None, "t@school.edu", "Dr T", "correct horse battery", first_run=first_run
    )
    t = Actor(teacher)
    other = Actor(acc.create_instructor(engine, t, "o@school.edu", "Dr O", "another long password"))
    klass = acc.create_class(engine, t, "Anatomy 101", "Spring")
    stems = [s.stem for s in ds.samples]
    items = tuple(
        QuestionSpec(Kind.LOCATE, ds.samples[i].stem, sorted(ds.samples[i].organ_ids)[0])
        for i in range(min(5, len(ds.samples)))
    )
    qs = sets.create_set(engine, t, "Homework", items, dataset_key=DATASETS[0])
    hw = asg.assign(engine, t, qs.id, klass.id, T0 - 10 * 86_400, T0)
    names: dict[int, str] = {}
    out: list[SeedAnswer] = []
    with write_tx(engine, "seed a class") as conn:
        for i in range(n_students):
            name = f"Student {i:03d}"
            sid = int(
                conn.execute(
                    students.insert().values(name_key=f"\x1fseed {i}", display_name=name, created_s=T0)
                ).inserted_primary_key[0]
            )
            uid = int(
                conn.execute(
                    users.insert().values(
                        role="student",
                        display_name=name,
                        student_id=sid,
                        login=f"s{i:03d}@school.edu" if i % 2 else None,
                        created_s=T0,
                    )
                ).inserted_primary_key[0]
            )
            conn.execute(
                memberships.insert().values(
                    class_id=klass.id, user_id=uid, name_key=name.lower(), joined_s=T0
                )
            )
            names[sid] = name
            # The first third of the class starts the assignment; its answers go into that quiz.
            session = None
            if i % 3 == 0:
                session = f"asg{i:05d}"
                conn.execute(
                    quiz_sessions.insert().values(
                        id=session, student_id=sid, settings_json="{}", dataset_key=DATASETS[0], created_s=T0
                    )
                )
                conn.execute(
                    assignment_sessions.insert().values(
                        assignment_id=hw.id, student_id=sid, session_id=session, started_s=T0 - 86_400
                    )
                )
            skill = 0.25 + 0.7 * (i / max(n_students - 1, 1))  # a spread from weak to strong
            rows = []
            for j in range(n_answers):
                kind = KINDS[rng.randrange(4)] if j >= 5 or session is None else "locate"
                in_asg = session is not None and j < len(items)
                if in_asg:
                    spec = items[j]
                    stem, organ = spec.image_stem, spec.organ_id
                else:
                    stem = rng.choice(stems)
                    organ = None if kind == "label_all" else rng.randrange(8)
                passed = rng.random() < skill
                credit = 1.0 if passed else rng.choice((0.0, 0.25))
                seconds = float(rng.randint(2, 40))
                created = T0 - 86_400 + j * 60 + i if not in_asg else T0 - 3600 + (j - 2) * 1800 + i
                choice = None
                box = None
                if kind == "identify" and organ is not None:
                    choice = organ if passed else CONFUSABLE[organ][rng.randrange(3)]
                if kind == "locate" and organ is not None and rng.random() < 0.9:
                    x, y = rng.randint(10, 400), rng.randint(10, 380)
                    box = (float(x), float(y), float(x + rng.randint(10, 80)), float(y + rng.randint(10, 60)))
                dkey = DATASETS[0] if in_asg or rng.random() < 0.7 else DATASETS[1]
                answer = {
                    "box": list(box) if box else None,
                    "choice": choice,
                    "not_visible": kind == "locate" and box is None,
                    "present": None,
                    "labels": [],
                }
                rows.append(
                    {
                        "idempotency_key": f"seed-{i}-{j}",
                        "student_id": sid,
                        "session_id": session if in_asg else None,
                        "instance_id": None,
                        "kind": kind,
                        "image_stem": stem,
                        "organ_id": organ,
                        "dataset_key": dkey,
                        "answer_json": json.dumps(answer),
                        "iou": 0.7 if passed and kind == "locate" else None,
                        "credit": credit,
                        "passed": passed,
                        "model_iou": None,
                        "model_conf": None,
                        "elapsed_s": seconds,
                        "feedback": "",
                        "created_s": created,
                    }
                )
                out.append(
                    SeedAnswer(
                        sid,
                        name,
                        kind,
                        stem,
                        organ,
                        passed,
                        credit,
                        seconds,
                        created,
                        dkey,
                        choice,
                        box,
                        in_asg,
                        in_asg and created > hw.due_s,
                    )
                )
            conn.execute(attempts.insert(), rows)
    a0 = next(iter(names))
    with write_tx(engine) as conn:
        from sqlalchemy import select

        user = conn.execute(select(users).where(users.c.student_id == a0)).one()
    from nnus_core.accounts.model import Role, User

    student = Actor(User(int(user.id), Role.STUDENT, user.display_name, a0))
    return SeededClass(t, other, student, klass.id, hw, names, out)
