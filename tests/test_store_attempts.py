"""Answers stored exactly once (50 concurrent threads and processes, duplicates), students, progress queries;
on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from nnus_core.errors import QuizInputError, StoreBusyError, StoreError
from nnus_core.store import db as dbm
from nnus_core.store.attempts import Attempt, count_attempts, get_attempt, record_attempt, student_attempts
from nnus_core.store.progress import daily_frame, history_csv, history_frame, mastery_frame, streaks
from nnus_core.store.students import clean_display_name, find_student, get_or_create_student

N_WRITERS = 50
N_SHARED = 10  # keys every fifth writer shares: the same question answered from several places


def attempt(
    key: str,
    student_id: int,
    organ_id: int | None = 2,
    credit: float = 0.8,
    passed: bool = True,
    at: float = 1_800_000_000.0,
    iou: float | None = 0.6,
) -> Attempt:
    return Attempt(
        key,
        student_id,
        "locate",
        "0001",
        organ_id,
        credit,
        passed,
        at,
        answer={"box": [1, 2, 3, 4]},
        iou=iou,
        feedback="ok",
    )


def test_record_is_idempotent_and_first_write_wins(engine):
    sid = get_or_create_student(engine, "Ana").id
    stored, wrote = record_attempt(engine, attempt("q-1", sid, credit=0.8))
    again, wrote_again = record_attempt(engine, attempt("q-1", sid, credit=0.1, passed=False))
    assert (wrote, wrote_again) == (True, False)
    assert again == stored and again.credit == 0.8 and stored.id is not None
    assert get_attempt(engine, "q-1") == stored and get_attempt(engine, "nope") is None
    assert count_attempts(engine) == 1


def test_unique_constraint_holds_even_without_the_store_api(engine):
    sid = get_or_create_student(engine, "Ana").id
    record_attempt(engine, attempt("q-1", sid))
    with pytest.raises(IntegrityError, match="(?i)unique"), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO attempts (idempotency_key, student_id, kind, image_stem, answer_json, credit, passed, created_s)"
                " VALUES ('q-1', :s, 'locate', '0001', '{}', 0, :passed, 0)"
            ),
            {"s": sid, "passed": False},
        )


@pytest.mark.parametrize(
    "kwargs, message",
    [({"key": ""}, "idempotency_key"), ({"key": "k" * 101}, "idempotency_key"), ({"credit": 1.5}, "credit")],
)
def test_malformed_attempts_are_refused(kwargs, message):
    with pytest.raises(StoreError, match=message):
        attempt(**{"key": "k", "student_id": 1, **kwargs})


def _retry_busy(fn, *args, tries: int = 20):
    """Call a store write, retrying while the database is busy, as the quiz page does with an answer
    (a write waits 3 s for the lock; 50 writers on 2 cores can queue longer than that)."""
    for _ in range(tries - 1):
        try:
            return fn(*args)
        except StoreBusyError:
            continue
    return fn(*args)


def _write(engine, i: int, student_ids: list[int], results: list, barrier) -> None:
    barrier.wait()
    own = attempt(f"own-{i}", student_ids[i % len(student_ids)], credit=i / N_WRITERS)
    shared = attempt(f"shared-{i % N_SHARED}", student_ids[0])
    results.append((own.idempotency_key, _retry_busy(record_attempt, engine, own)[1]))
    results.append((own.idempotency_key, _retry_busy(record_attempt, engine, own)[1]))  # a double submit
    results.append((shared.idempotency_key, _retry_busy(record_attempt, engine, shared)[1]))


def _check_exactly_once(engine, results) -> None:
    assert count_attempts(engine) == N_WRITERS + N_SHARED
    with engine.connect() as conn:
        dup = conn.execute(
            text("SELECT idempotency_key FROM attempts GROUP BY idempotency_key HAVING COUNT(*) > 1")
        )
        assert dup.all() == []
    wrote: dict[str, int] = {}
    for key, inserted in results:
        wrote[key] = wrote.get(key, 0) + int(inserted)
    assert len(wrote) == N_WRITERS + N_SHARED and set(wrote.values()) == {1}  # exactly one writer per key
    for i in range(N_WRITERS):
        assert get_attempt(engine, f"own-{i}").credit == pytest.approx(i / N_WRITERS)


def test_50_concurrent_threads_store_every_answer_exactly_once(engine):
    ids = [get_or_create_student(engine, f"student {k}").id for k in range(7)]
    results: list = []
    barrier = threading.Barrier(N_WRITERS)
    threads = [
        threading.Thread(target=_write, args=(engine, i, ids, results, barrier)) for i in range(N_WRITERS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 3 * N_WRITERS
    _check_exactly_once(engine, results)


def _process_writer(url: str, i: int, barrier, queue) -> None:
    # A separate server process: its own engine, migrating a database that may not exist yet.
    try:
        barrier.wait(60)
        engine = dbm.make_engine(url)
        dbm.migrate(engine)
        ids = [_retry_busy(get_or_create_student, engine, f"student {k}").id for k in (i % 7, 0)]
        out = []
        own = attempt(f"own-{i}", ids[0], credit=i / N_WRITERS)
        out.append((own.idempotency_key, _retry_busy(record_attempt, engine, own)[1]))
        out.append((own.idempotency_key, _retry_busy(record_attempt, engine, own)[1]))
        shared = attempt(f"shared-{i % N_SHARED}", ids[1])
        out.append((shared.idempotency_key, _retry_busy(record_attempt, engine, shared)[1]))
        engine.dispose()
        queue.put(("ok", out))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the test
        queue.put(("error", repr(exc)))


def test_50_concurrent_processes_migrate_and_store_every_answer_exactly_once(store_url):
    # SQLite: the file does not exist yet; PostgreSQL: an empty database. 50 processes race to
    # create the schema (the write lock, or the advisory lock), then to store the same answers.
    url = store_url
    ctx = mp.get_context("fork")  # fork: start-up in milliseconds on 2 cores; each child opens its own engine
    barrier, queue = ctx.Barrier(N_WRITERS), ctx.Queue()
    procs = [ctx.Process(target=_process_writer, args=(url, i, barrier, queue)) for i in range(N_WRITERS)]
    for p in procs:
        p.start()
    replies = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    errors = [r for status, r in replies if status == "error"]
    assert not errors, errors[:3]
    results = [x for _, out in replies for x in out]
    engine = dbm.make_engine(url)
    try:
        _check_exactly_once(engine, results)
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT COUNT(*) FROM students")) == 7
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
                dbm.head_revision()
            ]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("Ana", "Ana"),
        ("  Ana   María \t", "Ana María"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # kept as text, escaped when shown
        ("Zo\u0065\u0301", "Zo\u00e9"),  # NFC: one "é" whichever way it was typed
        ("Ana\x00\x07", "Ana"),  # control characters dropped
        ("x" * 40, "x" * 40),
    ],
)
def test_display_names_are_normalised(raw, clean):
    assert clean_display_name(raw) == clean


@pytest.mark.parametrize(
    "raw, message",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\x00", "empty"),
        ("x" * 41, "at most 40 characters, got 41"),
        ("y" * 500, "got 500"),
    ],
)
def test_bad_display_names_get_a_clear_message(raw, message):
    with pytest.raises(QuizInputError, match=message):
        clean_display_name(raw)


def test_students_are_one_per_name_case_insensitively_and_escape_html(engine):
    a = get_or_create_student(engine, "Ana <b>")
    assert get_or_create_student(engine, "  ana <B> ") == a
    assert a.display_name == "Ana <b>" and a.display_html == "Ana &lt;b&gt;"
    assert find_student(engine, "ANA <b>") == a and find_student(engine, "Bob") is None
    assert get_or_create_student(engine, "Bob").id != a.id


DAY = 86_400.0
T0 = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC).timestamp()


def test_history_mastery_and_csv(engine):
    sid = get_or_create_student(engine, "Ana").id
    rows = [
        attempt("a", sid, organ_id=2, credit=0.2, passed=False, at=T0, iou=0.1),
        attempt("b", sid, organ_id=2, credit=1.0, passed=True, at=T0 + 60, iou=0.8),
        attempt("c", sid, organ_id=3, credit=1.0, passed=True, at=T0 + DAY, iou=0.9),
    ]
    for r in rows:
        record_attempt(engine, r)
    hist = student_attempts(engine, sid)
    assert [a.idempotency_key for a in hist] == ["a", "b", "c"]
    assert [a.idempotency_key for a in student_attempts(engine, sid, limit=2)] == ["b", "c"]
    h = history_frame(hist)
    assert list(h["organ"]) == ["Common carotid artery", "Common carotid artery", "Internal jugular vein"]
    m = mastery_frame(hist).set_index("short")
    assert m.loc["CCA", "answers"] == 2 and m.loc["CCA", "pass_rate"] == 0.5
    assert 0.6 < m.loc["CCA", "mastery"] < 1.0  # the recent pass weighs more than the old miss
    assert m["mastery"].isna().sum() == 6  # never practised: unknown, not zero
    d = daily_frame(hist)
    assert list(d["answers"]) == [2, 1]
    formula = Attempt("d", sid, "locate", "0001", 2, 0.5, False, T0 + 2 * DAY, feedback="=HYPERLINK(1)")
    csv = history_csv([*hist, formula])
    lines = csv.strip().splitlines()
    assert lines[0].startswith("time_utc,session_id,kind,organ,image,iou")
    assert len(lines) == 5 and "2026-03-02T10:00:00+00:00" in lines[1]
    assert "'=HYPERLINK(1)" in lines[-1]  # a formula in free text is neutralised for spreadsheets


@pytest.mark.parametrize(
    "days, passes, today, expected",
    [
        ([], [], 0, (0, 0, 0, 0)),
        ([0, 1, 2], [True, True, False], 2, (3, 3, 0, 2)),
        ([0, 1, 2], [True, True, True], 3, (3, 3, 3, 3)),  # yesterday still counts
        ([0, 1, 2], [True, False, True], 4, (0, 3, 1, 1)),  # a day missed: streak over
        ([0, 2, 3, 4, 6], [False, True, True, True, True], 6, (1, 3, 4, 4)),
        ([0, 0, 0], [True, True, True], 0, (1, 1, 3, 3)),
    ],
)
def test_streaks(days, passes, today, expected):
    atts = [
        attempt(f"k{i}", 1, passed=p, at=T0 + d * DAY + i)
        for i, (d, p) in enumerate(zip(days, passes, strict=True))
    ]
    s = streaks(atts, today=(dt.datetime.fromtimestamp(T0, dt.UTC) + dt.timedelta(days=today)).date())
    assert (s.current_days, s.longest_days, s.current_passes, s.longest_passes) == expected


def test_timestamps_are_utc_epoch_seconds(engine):
    sid = get_or_create_student(engine, "Ana", now_s=123.0).id
    now = time.time()
    record_attempt(engine, attempt("t", sid, at=now))
    assert abs(get_attempt(engine, "t").created_s - now) < 1e-3
