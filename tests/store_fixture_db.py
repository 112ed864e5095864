"""Builds tests/data/store-release-0.1.sql: a progress database written by the release before Alembic.

The committed text dump was made by running this script on the release whose store still had its
own `schema_version` table and hand-written migrations (commit c0d7c0c); git keeps the dump, not
the database file:

    .venv/bin/python -m tests.store_fixture_db /tmp/release.db
    .venv/bin/python -c "import sqlite3; print('\\n'.join(sqlite3.connect('/tmp/release.db').iterdump()))" \\
        > tests/data/store-release-0.1.sql

It goes through the real quiz service on a small NNUS-format folder, so every table holds rows as
the app writes them: students (one with HTML in the name, one with accents), a finished quiz of every
question kind, a timed quiz with a late answer, an unfinished quiz whose last served question still
waits for its answer (what a reload resumes), and answers with and without the model's figures.
The upgrade test (tests/test_store_upgrade.py) opens a copy with today's code and checks every row.
The script needs that release's API; on a later release, check it out in a spare worktree first.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

DEFAULT_OUT = Path(tempfile.gettempdir()) / "store-release-0.1.db"
T0 = 1_780_000_000.0  # 2026-05-28: fixed times, so the file is the same on every run


def build(out: Path) -> None:
    """Write the fixture database to `out` (replaced), as one compact SQLite file."""
    from nnus_core.dataset import load_dataset
    from nnus_core.detection import Detection
    from nnus_core.geometry import BoxPx
    from nnus_core.quiz import Answer, QuizService
    from nnus_core.quiz.questions import Kind, QuizSettings
    from nnus_core.store import db as dbm
    from nnus_core.store.students import get_or_create_student
    from tests.fixtures import make_nnus_folder

    if not hasattr(dbm, "MIGRATIONS"):  # the release's hand-written steps are gone: this is not it
        raise SystemExit(
            "this store migrates with Alembic: build the fixture on the release before it "
            "(git worktree add /tmp/release c0d7c0c, then run this script there)"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{out}{suffix}").unlink(missing_ok=True)
    clock = [T0]

    def tick() -> float:
        clock[0] += 7.5
        return clock[0]

    with tempfile.TemporaryDirectory() as tmp:
        ds = load_dataset(make_nnus_folder(Path(tmp) / "NNUS", n=6))
        engine = dbm.make_engine(f"sqlite:///{out}")
        dbm.migrate(engine)

        def model(sample):  # a stand-in detector: the truth shifted 6 px, so the model's IoU is < 1
            return [
                Detection(a.organ_id, 0.87, BoxPx(a.box.x1 + 6, a.box.y1 + 6, a.box.x2 + 6, a.box.y2 + 6))
                for a in sample.annotations
            ]

        with_model = QuizService(engine, ds, predict=model, clock=tick)
        no_model = QuizService(engine, ds, clock=tick)

        def answer_for(served, good: bool) -> Answer:
            q, s = served.question, served.sample
            mine = [a for a in s.annotations if a.organ_id == q.organ_id]
            if q.kind is Kind.LOCATE:
                if not mine:
                    return Answer(not_visible=good)
                b = mine[0].box
                return Answer(box=b if good else BoxPx(b.x1 + 40, b.y1 + 40, b.x2 + 40, b.y2 + 40))
            if q.kind is Kind.IDENTIFY:
                wrong = next(c for c in q.choices if c != q.organ_id)
                return Answer(choice=q.organ_id if good else wrong)
            if q.kind is Kind.PRESENT:
                return Answer(present=bool(mine) == good)
            return Answer(labels=tuple((a.organ_id, a.box) for a in s.annotations[: 3 if good else 1]))

        def play(student: str, settings: QuizSettings, answers: int, session_id: str, svc=no_model) -> None:
            sid = get_or_create_student(engine, student, now_s=tick()).id
            svc.start(sid, settings, session_id=session_id)
            for i in range(answers):
                served = svc.next_question(session_id)
                assert served is not None
                svc.submit(served, answer_for(served, good=i % 3 != 1))
            if answers < settings.n_questions:
                svc.next_question(session_id)  # served, never answered: the pending question

        every_kind = tuple(k.value for k in Kind)
        play("Ana", QuizSettings(n_questions=8, kinds=every_kind), 8, "a" * 32, with_model)
        play("  ana ", QuizSettings(n_questions=4, kinds=("locate",), adaptive=False), 2, "b" * 32)
        play("Zoé <b>Müller</b>", QuizSettings(n_questions=3, kinds=("identify", "present")), 3, "c" * 32)
        clock[0] += 3600  # an answer after the time limit is stored as a miss with its verdict
        play("Bob", QuizSettings(n_questions=2, time_limit_s=5, organ_ids=(1, 2)), 1, "d" * 32)
        get_or_create_student(engine, "Carla", now_s=tick())  # signed in, never answered
        engine.dispose()

    # One small self-contained file: no WAL beside it, 1 KiB pages (set and vacuumed on one connection).
    conn = sqlite3.connect(out, isolation_level=None)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA page_size=1024")
    conn.execute("VACUUM")
    conn.close()


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT
    build(target)
    print(f"{target}: {target.stat().st_size} bytes")
