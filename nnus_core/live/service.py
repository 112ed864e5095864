"""The live session service: create, join, open/close/reveal/finish, answer once, poll, reveal, report.

The state machine lives in the database: every change is one conditional UPDATE (the state it
leaves and the question index it expects), so two instructor tabs, or two app servers, pressing
"next" at once move the session one step. A passed deadline closes a question without a write:
every reader computes it from the stored deadline and its clock.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, and_, func, select, update
from sqlalchemy.exc import IntegrityError

from nnus_core.accounts import Action, Actor, require
from nnus_core.accounts import service as acc
from nnus_core.accounts.codes import new_join_code, normalise_join_code
from nnus_core.classroom.gradebook import AnswerRow, Flavour, GradeItem, GradeRow, answers_csv, gradebook_csv
from nnus_core.classroom.sets import check_items, get_set
from nnus_core.dataset.model import Dataset, Sample
from nnus_core.detection import Detection
from nnus_core.errors import AnswersLocked, QuizInputError, SignInError, StoreError
from nnus_core.live.model import (
    MAX_LIVE_QUESTIONS,
    LiveAnswer,
    LiveQuestion,
    LiveSession,
    LiveSetup,
    LiveState,
    MyResult,
    Participant,
    Pulse,
    points_for,
)
from nnus_core.live.reveal import LeaderRow, Reveal, build_reveal, leaderboard
from nnus_core.organs import ORGANS
from nnus_core.quiz.engine import TIMER_GRACE_S, dataset_key
from nnus_core.quiz.kinds import generate_question, kind_of
from nnus_core.quiz.questions import Kind, Question, QuizSettings, question_index
from nnus_core.quiz.values import Answer
from nnus_core.store.account_tables import classes, users
from nnus_core.store.db import read_conn, write_tx
from nnus_core.store.live_tables import (
    TITLE_MAX,
    live_answers,
    live_participants,
    live_questions,
    live_sessions,
)
from nnus_core.store.students import clean_display_name, name_key
from nnus_core.store.upsert import insert_ignore
from nnus_core.text import plain

Predict = Callable[[Sample], Sequence[Detection]]
# Parsed questions by (database, session, position): immutable rows, read on every answer otherwise.
_QUESTIONS: dict[tuple[str, int, int], LiveQuestion] = {}
_QUESTIONS_LOCK = threading.Lock()
_QUESTIONS_MAX = 4096
WRONG_LIVE_CODE = "No live session has that code. Check the code on the projector and try again."
LOCKED = "This question is closed: answers are locked."


@dataclass(frozen=True)
class OrganLine:
    organ_id: int
    answers: int
    passed: int

    @property
    def accuracy(self) -> float:
        return self.passed / self.answers if self.answers else 0.0


@dataclass(frozen=True)
class QuestionLine:
    position: int
    question: Question
    answers: int
    passed: int

    @property
    def accuracy(self) -> float:
        return self.passed / self.answers if self.answers else 0.0


@dataclass(frozen=True)
class SessionReport:
    """After the session: scores, per-organ accuracy, and the hardest questions first."""

    session: LiveSession
    standings: tuple[LeaderRow, ...]
    per_organ: tuple[OrganLine, ...]
    questions: tuple[QuestionLine, ...]  # in order
    hardest: tuple[QuestionLine, ...]  # lowest accuracy first (answered questions only)


def _is_conflict(exc: BaseException) -> bool:
    """A unique key was already taken (write_tx wraps the driver's IntegrityError in StoreError)."""
    return isinstance(exc, IntegrityError) or isinstance(exc.__cause__, IntegrityError)


def _session(r, now: float) -> LiveSession:  # noqa: ANN001 - a Row of live_sessions
    state = LiveState(r.state)
    if state is LiveState.QUESTION_OPEN and r.deadline_s is not None and now > r.deadline_s:
        state = LiveState.QUESTION_CLOSED  # time is up: closed for everyone, without a write
    return LiveSession(
        int(r.id),
        r.join_code,
        int(r.instructor_id),
        r.class_id,
        r.title,
        state,
        int(r.current_index),
        r.opened_s,
        r.deadline_s,
        int(r.time_limit_s),
        bool(r.speed_counts),
        bool(r.leaderboard_hidden),
        float(r.pass_iou),
        r.dataset_key,
        int(r.n_questions),
        int(r.version),
        float(r.created_s),
        r.finished_s,
    )


def _participant(r) -> Participant:  # noqa: ANN001
    return Participant(int(r.id), int(r.session_id), int(r.user_id), r.display_name, float(r.joined_s))


def _answer(r) -> LiveAnswer:  # noqa: ANN001
    return LiveAnswer(
        int(r.id),
        int(r.session_id),
        int(r.position),
        int(r.participant_id),
        Answer.from_dict(json.loads(r.answer_json)),
        float(r.credit),
        bool(r.passed),
        r.iou,
        float(r.points),
        float(r.elapsed_s),
        float(r.created_s),
    )


def describe_answer(kind: Kind, a: Answer) -> str:
    """An answer in words, for the per-answer export."""
    if kind is Kind.LOCATE:
        if a.not_visible:
            return "not visible"
        return "box " + " ".join(f"{v:.0f}" for v in a.box.as_tuple()) if a.box else ""
    if kind is Kind.IDENTIFY:
        return ORGANS[a.choice].name if a.choice is not None else ""
    if kind is Kind.PRESENT:
        return "" if a.present is None else ("yes" if a.present else "no")
    return "; ".join(f"{ORGANS[o].short} " + " ".join(f"{v:.0f}" for v in b.as_tuple()) for o, b in a.labels)


class LiveService:
    """Live sessions over a dataset and a store; cheap to build, holds nothing between calls."""

    def __init__(
        self,
        db: Engine,
        ds: Dataset,
        *,
        predict: Predict | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.ds = ds
        self.predict = predict
        self.clock = clock
        self.dataset_key = dataset_key(ds)

    # -- the instructor ------------------------------------------------------------------------
    def create(self, actor: Actor, setup: LiveSetup, class_id: int | None = None) -> LiveSession:
        """A new session in the lobby, with every question generated now (the same for the whole room).

        Raises:
            AccessDenied: not an instructor, or not this class's instructor.
            QuizInputError: settings that leave nothing to ask.
        """
        require(self.db, actor, Action.CREATE_LIVE)
        if class_id is not None:
            require(self.db, actor, Action.MANAGE_CLASS, class_id)
        title = " ".join(plain(setup.title or "").split())[:TITLE_MAX] or "Live quiz"
        settings = self._settings(actor, setup)
        n_questions = settings.n_questions
        seed = setup.seed if setup.seed is not None else secrets.randbits(32)
        idx = question_index(self.ds)
        asked: list[tuple[str, int | None]] = []
        questions = []
        for pos in range(n_questions):
            q = generate_question(idx, settings, pos, random.Random(f"live:{seed}:{pos}"), asked=asked)
            asked.append((q.image_stem, q.organ_id))
            questions.append(q)
        now = self.clock()
        for _ in range(8):  # a fresh code; a clash with another session's code is retried
            try:
                with write_tx(self.db, "start a live session") as conn:
                    res = conn.execute(
                        live_sessions.insert().values(
                            join_code=new_join_code(),
                            instructor_id=actor.user_id,
                            class_id=class_id,
                            title=title,
                            state=LiveState.LOBBY.value,
                            current_index=-1,
                            time_limit_s=setup.time_limit_s,
                            speed_counts=setup.speed_counts,
                            leaderboard_hidden=setup.leaderboard_hidden,
                            pass_iou=setup.pass_iou,
                            dataset_key=self.dataset_key,
                            n_questions=n_questions,
                            version=1,
                            created_s=now,
                        )
                    )
                    sid = int(res.inserted_primary_key[0])
                    conn.execute(
                        live_questions.insert(),
                        [
                            {
                                "session_id": sid,
                                "position": pos,
                                "kind": q.kind.value,
                                "image_stem": q.image_stem,
                                "organ_id": q.organ_id,
                                "payload_json": json.dumps(q.to_payload(), sort_keys=True),
                            }
                            for pos, q in enumerate(questions)
                        ],
                    )
                return self.session(sid)
            except (IntegrityError, StoreError) as exc:
                if not _is_conflict(exc):
                    raise
        raise StoreError("no free live-session code after 8 tries")

    def _settings(self, actor: Actor, setup: LiveSetup) -> QuizSettings:
        """The quiz settings a session's questions are generated with: drawn, or a saved set's items."""
        if setup.set_id is None:
            return QuizSettings(
                n_questions=setup.n_questions,
                kinds=setup.kinds,
                organ_ids=setup.organ_ids,
                difficulty=setup.difficulty,
                pass_iou=setup.pass_iou,
                absent_rate=setup.absent_rate,
                adaptive=False,
            )
        qs = get_set(self.db, actor, setup.set_id)  # AccessDenied for another instructor's set
        if not qs.items:
            raise QuizInputError(
                f"the set {qs.title!r} has no questions yet: add some before running it live"
            )
        if len(qs.items) > MAX_LIVE_QUESTIONS:
            raise QuizInputError(
                f"the set {qs.title!r} has {len(qs.items)} questions; a live session asks at most "
                f"{MAX_LIVE_QUESTIONS}: duplicate it and shorten the copy"
            )
        if qs.dataset_key != self.dataset_key:
            raise QuizInputError(
                f"the set {qs.title!r} was made on other images ({qs.dataset_key}) than the active dataset "
                f"({self.dataset_key}): make that dataset active on Home, or choose another set"
            )
        check_items(self.ds, qs.items)
        return QuizSettings(
            n_questions=len(qs.items),
            kinds=tuple(dict.fromkeys(i.kind.value for i in qs.items)),
            pass_iou=setup.pass_iou,
            adaptive=False,
            items=qs.items,
        )

    def instructor_sessions(self, actor: Actor, *, include_finished: bool = False) -> list[LiveSession]:
        """The acting instructor's sessions, newest first."""
        require(self.db, actor, Action.CREATE_LIVE)
        q = select(live_sessions).where(live_sessions.c.instructor_id == actor.user_id)
        if not include_finished:
            q = q.where(live_sessions.c.state != LiveState.FINISHED.value)
        with read_conn(self.db) as conn:
            rows = conn.execute(q.order_by(live_sessions.c.id.desc())).all()
        now = self.clock()
        return [_session(r, now) for r in rows]

    def _move(self, actor: Actor, session_id: int, what: str, build) -> LiveSession:  # noqa: ANN001
        """One step of the state machine: `build(session, now)` gives (where-clauses, values) or None
        when the session is already where this step leads (a double click: nothing changes)."""
        require(self.db, actor, Action.RUN_LIVE, session_id)
        now = self.clock()
        with write_tx(self.db, what) as conn:
            row = conn.execute(select(live_sessions).where(live_sessions.c.id == session_id)).one()
            sess = _session(row, now)
            step = build(sess, now)
            if step is not None:
                values = {**step, "version": live_sessions.c.version + 1}
                conn.execute(
                    update(live_sessions)
                    .where(live_sessions.c.id == session_id, live_sessions.c.version == sess.version)
                    .values(**values)
                )
        return self.session(session_id)

    def open_question(self, actor: Actor, session_id: int, position: int) -> LiveSession:
        """Open question `position` (normally the next one) for everyone, with the countdown started.

        Idempotent: opening the question that is already open changes nothing.

        Raises:
            QuizInputError: a position outside the session, or a finished session.
        """

        def build(s: LiveSession, now: float):  # noqa: ANN202
            if s.state is LiveState.FINISHED:
                raise QuizInputError("this live session has finished")
            if not 0 <= position < s.n_questions:
                raise QuizInputError(f"question: expected 1..{s.n_questions}, got {position + 1}")
            if s.current_index == position and s.state is not LiveState.LOBBY:
                return None
            return {
                "state": LiveState.QUESTION_OPEN.value,
                "current_index": position,
                "opened_s": now,
                "deadline_s": now + s.time_limit_s,
            }

        return self._move(actor, session_id, "open a live question", build)

    def open_next(self, actor: Actor, session_id: int, after: int) -> LiveSession:
        """Open the question after `after` (the index the instructor saw): a second click is harmless."""
        return self.open_question(actor, session_id, after + 1)

    def close(self, actor: Actor, session_id: int) -> LiveSession:
        """Lock the current question's answers now."""

        def build(s: LiveSession, now: float):  # noqa: ANN202
            if s.state is not LiveState.QUESTION_OPEN:
                return None
            return {"state": LiveState.QUESTION_CLOSED.value, "deadline_s": min(s.deadline_s or now, now)}

        return self._move(actor, session_id, "close a live question", build)

    def reveal(self, actor: Actor, session_id: int) -> LiveSession:
        """Show the class's answers to the current question (closing it first when still open)."""

        def build(s: LiveSession, now: float):  # noqa: ANN202
            if s.state in (LiveState.REVEAL, LiveState.LOBBY, LiveState.FINISHED):
                return None
            return {"state": LiveState.REVEAL.value, "deadline_s": min(s.deadline_s or now, now)}

        return self._move(actor, session_id, "reveal a live question", build)

    def finish(self, actor: Actor, session_id: int) -> LiveSession:
        """End the session: nothing more is asked or answered; the report and exports remain."""

        def build(s: LiveSession, now: float):  # noqa: ANN202
            if s.state is LiveState.FINISHED:
                return None
            deadline = min(s.deadline_s or now, now) if s.deadline_s is not None else None
            return {"state": LiveState.FINISHED.value, "finished_s": now, "deadline_s": deadline}

        return self._move(actor, session_id, "finish a live session", build)

    def set_leaderboard_hidden(self, actor: Actor, session_id: int, hidden: bool) -> LiveSession:
        def build(s: LiveSession, now: float):  # noqa: ANN202
            return None if s.leaderboard_hidden == hidden else {"leaderboard_hidden": hidden}

        return self._move(actor, session_id, "change the leaderboard setting", build)

    # -- reading -------------------------------------------------------------------------------
    def session(self, session_id: int) -> LiveSession:
        """The session as of now (no personal data: code, state, question index, deadline).

        Raises:
            QuizInputError: for an unknown session.
        """
        with read_conn(self.db) as conn:
            row = conn.execute(select(live_sessions).where(live_sessions.c.id == session_id)).first()
        if row is None:
            raise QuizInputError("this live session does not exist")
        return _session(row, self.clock())

    def _pulse(self, where) -> Pulse:  # noqa: ANN001 - a WHERE clause on live_sessions
        """The session row and its two counts in one statement (every phone reads it every second)."""
        joined = (
            select(func.count())
            .select_from(live_participants)
            .where(live_participants.c.session_id == live_sessions.c.id)
            .scalar_subquery()
        )
        answered = (
            select(func.count())
            .select_from(live_answers)
            .where(
                live_answers.c.session_id == live_sessions.c.id,
                live_answers.c.position == live_sessions.c.current_index,
            )
            .scalar_subquery()
        )
        with read_conn(self.db) as conn:
            row = conn.execute(
                select(live_sessions, joined.label("n_joined"), answered.label("n_answered")).where(where)
            ).first()
        if row is None:
            raise QuizInputError("this live session does not exist")
        return Pulse(_session(row, self.clock()), int(row.n_joined), int(row.n_answered))

    def pulse(self, actor: Actor, session_id: int) -> Pulse:
        """What the projector polls: state, joined count, answers to the current question."""
        require(self.db, actor, Action.RUN_LIVE, session_id)
        return self._pulse(live_sessions.c.id == session_id)

    def student_pulse(self, actor: Actor, participant_id: int) -> Pulse:
        """What a student's phone polls (the same counts; never anyone's answer)."""
        require(self.db, actor, Action.ANSWER_LIVE, participant_id)
        of_participant = (
            select(live_participants.c.session_id)
            .where(live_participants.c.id == participant_id)
            .scalar_subquery()
        )
        return self._pulse(live_sessions.c.id == of_participant)

    def question(self, session_id: int, position: int) -> tuple[LiveQuestion, Sample]:
        """One question of a session and its image (the same for everyone).

        Raises:
            QuizInputError: unknown position, or an image no longer in the active dataset.
        """
        with read_conn(self.db) as conn:
            return self._question(conn, session_id, position)

    def _question(self, conn: Connection, session_id: int, position: int) -> tuple[LiveQuestion, Sample]:
        key = (str(self.db.url), session_id, position)
        q = _QUESTIONS.get(key)
        if q is None:  # stored once at creation and never changed: kept per process after a first read
            row = conn.execute(
                select(live_questions.c.payload_json).where(
                    live_questions.c.session_id == session_id, live_questions.c.position == position
                )
            ).first()
            if row is None:
                raise QuizInputError(f"question {position + 1} is not part of this live session")
            q = LiveQuestion(session_id, position, Question.from_payload(json.loads(row.payload_json)))
            with _QUESTIONS_LOCK:
                if len(_QUESTIONS) > _QUESTIONS_MAX:
                    _QUESTIONS.clear()
                _QUESTIONS[key] = q
        sample = self.ds.get(q.question.image_stem)
        if sample is None:
            raise QuizInputError(
                f"image {q.question.image_stem!r} of this live session is not in the active dataset"
            )
        return q, sample

    def current_question(
        self, actor: Actor, participant_id: int
    ) -> tuple[LiveSession, LiveQuestion | None, Sample | None]:
        """A student's view of where the session is: the current question once it was opened."""
        require(self.db, actor, Action.ANSWER_LIVE, participant_id)
        p = self._participant_row(participant_id)
        sess = self.session(p.session_id)
        if sess.current_index < 0:
            return sess, None, None
        q, sample = self.question(sess.id, sess.current_index)
        return sess, q, sample

    # -- students ------------------------------------------------------------------------------
    def find_by_code(self, actor: Actor, code: str) -> LiveSession:
        """The running session with this code (wrong codes count against the client, as class codes do).

        Raises:
            RateLimited: after too many wrong codes from this client.
            SignInError: no running session has this code.
        """
        acc.check_code_rate(self.db, actor)
        norm = normalise_join_code(code)
        row = None
        if norm is not None:
            with read_conn(self.db) as conn:
                row = conn.execute(
                    select(live_sessions).where(
                        live_sessions.c.join_code == norm, live_sessions.c.state != LiveState.FINISHED.value
                    )
                ).first()
        if row is None:
            acc.record_wrong_code(self.db, actor, "live code")
            raise SignInError(WRONG_LIVE_CODE)
        return _session(row, self.clock())

    def participant_of(self, actor: Actor, session_id: int) -> Participant | None:
        """The acting user's place in a session (a reload or a second device finds it again)."""
        if actor.user_id is None:
            return None
        with read_conn(self.db) as conn:
            row = conn.execute(
                select(live_participants).where(
                    live_participants.c.session_id == session_id, live_participants.c.user_id == actor.user_id
                )
            ).first()
        return _participant(row) if row else None

    def rejoin(self, actor: Actor, code: str) -> Participant | None:
        """The acting user's place in the session with this code, finished or not (a reload).

        Says nothing about a code the user is not in, so it counts no failure.
        """
        norm = normalise_join_code(code)
        if norm is None or actor.user_id is None:
            return None
        with read_conn(self.db) as conn:
            row = conn.execute(
                select(live_participants)
                .select_from(
                    live_participants.join(
                        live_sessions, live_sessions.c.id == live_participants.c.session_id
                    )
                )
                .where(live_sessions.c.join_code == norm, live_participants.c.user_id == actor.user_id)
            ).first()
        return _participant(row) if row else None

    def join(self, actor: Actor, code: str, display_name: str | None = None) -> Participant:
        """Join the session with this code under a display name (default: the account's name).

        Joining again (a reload, another tab) returns the same participant.

        Raises:
            RateLimited / SignInError: a wrong code, or a name someone in the session already uses.
            AccessDenied: a class session, and the actor is not in that class (or not signed in).
            QuizInputError: a name outside the rules.
        """
        sess = self.find_by_code(actor, code)
        require(self.db, actor, Action.JOIN_LIVE, sess.id)
        have = self.participant_of(actor, sess.id)
        if have is not None:
            return have
        name = clean_display_name(display_name or (actor.user.display_name if actor.user else ""))
        try:
            with write_tx(self.db, "join a live session") as conn:
                conn.execute(
                    live_participants.insert().values(
                        session_id=sess.id,
                        user_id=actor.user_id,
                        display_name=name,
                        name_key=name_key(name),
                        joined_s=self.clock(),
                    )
                )
        except (IntegrityError, StoreError) as exc:
            if not _is_conflict(exc):
                raise
            found = self.participant_of(actor, sess.id)  # the same user joining twice at once
            if found is not None:
                return found
            raise SignInError(
                f"Someone in this session already uses the name '{name}'. Add an initial."
            ) from exc
        found = self.participant_of(actor, sess.id)
        assert found is not None
        return found

    def participant(self, actor: Actor, participant_id: int) -> Participant:
        """The acting user's own participant record (a page holding its id between runs)."""
        require(self.db, actor, Action.ANSWER_LIVE, participant_id)
        return self._participant_row(participant_id)

    def _participant_row(self, participant_id: int) -> Participant:
        with read_conn(self.db) as conn:
            row = conn.execute(
                select(live_participants).where(live_participants.c.id == participant_id)
            ).first()
        if row is None:
            raise QuizInputError("this participant is not in any live session")
        return _participant(row)

    def submit(
        self,
        actor: Actor,
        participant_id: int,
        position: int,
        answer: Answer,
        answered_s: float | None = None,
    ) -> tuple[LiveAnswer, bool]:
        """Score and store an answer to question `position`, once.

        Returns:
            (the STORED answer, True when this call stored it). A second submit (double tap, reload,
            another server) stores nothing and returns the first answer.

        Raises:
            AccessDenied: the participant id is not the acting user's.
            AnswersLocked: the question is not open (not opened yet, closed, or its time is up).
            QuizInputError: an answer that cannot be scored.
        """
        require(self.db, actor, Action.ANSWER_LIVE, participant_id)
        # One read for the participant's session, an earlier answer, and the question: a room
        # answering at once is 60 of these within seconds.
        with read_conn(self.db) as conn:
            row = conn.execute(
                select(live_sessions)
                .select_from(
                    live_sessions.join(
                        live_participants, live_participants.c.session_id == live_sessions.c.id
                    )
                )
                .where(live_participants.c.id == participant_id)
            ).one()
            have = conn.execute(
                select(live_answers).where(
                    live_answers.c.participant_id == participant_id, live_answers.c.position == position
                )
            ).first()
            sess = _session(row, self.clock())
            q, sample = self._question(conn, sess.id, position) if have is None else (None, None)
        if have is not None:
            return _answer(have), False
        now = self.clock() if answered_s is None else min(answered_s, self.clock())
        if sess.current_index < position or sess.state is LiveState.LOBBY:
            raise AnswersLocked("This question is not open yet.")
        # Open, or closed less than the grace ago (an answer sent just before the close, still on
        # its way); never once the reveal shows the right answer.
        if (
            sess.current_index != position
            or sess.state not in (LiveState.QUESTION_OPEN, LiveState.QUESTION_CLOSED)
            or sess.deadline_s is None
            or now > sess.deadline_s + TIMER_GRACE_S
        ):
            raise AnswersLocked(LOCKED)
        ev = kind_of(q.kind).evaluate(q.question, sample, answer, sess.pass_iou, None)
        elapsed = round(max(0.0, now - (sess.opened_s or now)), 2)
        credit = round(ev.score.credit, 4)
        with write_tx(self.db, "store a live answer") as conn:
            inserted = insert_ignore(
                conn,
                live_answers,
                {
                    "session_id": sess.id,
                    "position": position,
                    "participant_id": participant_id,
                    "answer_json": json.dumps(answer.to_dict(), sort_keys=True),
                    "credit": credit,
                    "passed": ev.score.passed,
                    "iou": None if ev.score.iou is None else round(ev.score.iou, 4),
                    "points": points_for(credit, elapsed, sess.time_limit_s, sess.speed_counts),
                    "elapsed_s": elapsed,
                    "created_s": now,
                },
                ("participant_id", "position"),
            )
            stored = _answer(
                conn.execute(
                    select(live_answers).where(
                        live_answers.c.participant_id == participant_id, live_answers.c.position == position
                    )
                ).one()
            )
        return stored, inserted

    def my_answer(self, participant_id: int, position: int) -> LiveAnswer | None:
        with read_conn(self.db) as conn:
            row = conn.execute(
                select(live_answers).where(
                    live_answers.c.participant_id == participant_id, live_answers.c.position == position
                )
            ).first()
        return _answer(row) if row else None

    def my_result(self, actor: Actor, participant_id: int, position: int) -> MyResult:
        """A student's own answer to a question and their rank so far; nobody else's answer."""
        require(self.db, actor, Action.VIEW_LIVE_RESULT, participant_id)
        p = self._participant_row(participant_id)
        sess = self.session(p.session_id)
        rows = self._standings(sess)
        mine = next((r for r in rows if r.participant_id == p.id), None)
        return MyResult(
            self.my_answer(p.id, position),
            mine.rank if mine and mine.answered else None,
            len(rows),
            mine.points if mine else 0.0,
            mine.correct if mine else 0,
            mine.answered if mine else 0,
        )

    # -- the room's answers (the instructor) ---------------------------------------------------
    def _all(self, session_id: int) -> tuple[list[Participant], list[LiveAnswer]]:
        with read_conn(self.db) as conn:
            ps = conn.execute(
                select(live_participants)
                .where(live_participants.c.session_id == session_id)
                .order_by(live_participants.c.id)
            ).all()
            ans = conn.execute(
                select(live_answers)
                .where(live_answers.c.session_id == session_id)
                .order_by(live_answers.c.id)
            ).all()
        return [_participant(r) for r in ps], [_answer(r) for r in ans]

    def _standings(self, sess: LiveSession) -> list[LeaderRow]:
        ps, ans = self._all(sess.id)
        return leaderboard(ps, ans, max(sess.current_index + 1, 0))

    def participants(self, actor: Actor, session_id: int) -> list[Participant]:
        """Who joined (the lobby), in joining order."""
        require(self.db, actor, Action.RUN_LIVE, session_id)
        return self._all(session_id)[0]

    def standings(self, actor: Actor, session_id: int) -> list[LeaderRow]:
        """The leaderboard (the instructor decides whether the room sees it)."""
        require(self.db, actor, Action.VIEW_LIVE_REVEAL, session_id)
        return self._standings(self.session(session_id))

    def reveal_data(self, actor: Actor, session_id: int, position: int) -> Reveal:
        """The class's answers to one question, aggregated for the projector."""
        require(self.db, actor, Action.VIEW_LIVE_REVEAL, session_id)
        sess = self.session(session_id)
        q, sample = self.question(session_id, position)
        ps, ans = self._all(session_id)
        mine = [a for a in ans if a.position == position]
        dets = self.predict(sample) if self.predict is not None else None
        return build_reveal(q, sample, mine, len(ps), sess.pass_iou, dets)

    def report(self, actor: Actor, session_id: int) -> SessionReport:
        """Scores, per-organ accuracy and the hardest questions (any time; final once finished)."""
        require(self.db, actor, Action.VIEW_LIVE_REVEAL, session_id)
        sess = self.session(session_id)
        ps, ans = self._all(session_id)
        asked = sess.n_questions if sess.state is LiveState.FINISHED else max(sess.current_index + 1, 0)
        standings = leaderboard(ps, ans, asked)
        questions = []
        organs: dict[int, list[bool]] = {}
        for pos in range(max(asked, 0)):
            try:
                q, _ = self.question(session_id, pos)
            except QuizInputError:
                continue
            mine = [a for a in ans if a.position == pos]
            questions.append(QuestionLine(pos, q.question, len(mine), sum(a.passed for a in mine)))
            if q.question.organ_id is not None:
                organs.setdefault(q.question.organ_id, []).extend(a.passed for a in mine)
        per_organ = tuple(OrganLine(o, len(v), sum(v)) for o, v in sorted(organs.items()))
        hardest = tuple(
            sorted((x for x in questions if x.answers), key=lambda x: (x.accuracy, x.position))[:3]
        )
        return SessionReport(sess, tuple(standings), per_organ, tuple(questions), hardest)

    def _logins(self, ps: Sequence[Participant]) -> dict[int, str | None]:
        ids = [p.user_id for p in ps]
        if not ids:
            return {}
        with read_conn(self.db) as conn:
            rows = conn.execute(select(users.c.id, users.c.login).where(users.c.id.in_(ids))).all()
        return {int(r.id): r.login for r in rows}

    def grade_item(self, sess: LiveSession) -> GradeItem:
        day = dt.datetime.fromtimestamp(sess.created_s, dt.UTC).strftime("%Y-%m-%d")
        return GradeItem(f"{sess.title} ({day})", float(sess.n_questions))

    def gradebook(self, actor: Actor, session_id: int, flavour: Flavour | str = Flavour.CANVAS) -> str:
        """The session's gradebook CSV (points = sum of credits, out of the number of questions)."""
        require(self.db, actor, Action.VIEW_LIVE_REVEAL, session_id)
        sess = self.session(session_id)
        ps, ans = self._all(session_id)
        logins = self._logins(ps)
        credit: dict[int, float] = {}
        for a in ans:
            credit[a.participant_id] = credit.get(a.participant_id, 0.0) + a.credit
        rows = [
            GradeRow(
                p.display_name,
                logins.get(p.user_id),
                p.user_id,
                round(credit[p.id], 3) if p.id in credit else None,
            )
            for p in ps
        ]
        return gradebook_csv(self.grade_item(sess), rows, flavour)

    def answers_export(self, actor: Actor, session_id: int) -> str:
        """Every answer of the session, one CSV row each (question order, then joining order)."""
        require(self.db, actor, Action.VIEW_LIVE_REVEAL, session_id)
        sess = self.session(session_id)
        ps, ans = self._all(session_id)
        logins = self._logins(ps)
        by_id = {p.id: p for p in ps}
        qs: dict[int, Question] = {}
        rows = []
        for a in sorted(ans, key=lambda a: (a.position, a.participant_id)):
            if a.position not in qs:
                with read_conn(self.db) as conn:
                    r = conn.execute(
                        select(live_questions.c.payload_json).where(
                            and_(
                                live_questions.c.session_id == sess.id,
                                live_questions.c.position == a.position,
                            )
                        )
                    ).one()
                qs[a.position] = Question.from_payload(json.loads(r.payload_json))
            q, p = qs[a.position], by_id[a.participant_id]
            rows.append(
                AnswerRow(
                    p.display_name,
                    logins.get(p.user_id),
                    a.position + 1,
                    q.image_stem,
                    ORGANS[q.organ_id].name if q.organ_id is not None else "all organs",
                    q.kind.title,
                    describe_answer(q.kind, a.answer),
                    a.passed,
                    a.credit,
                    a.iou,
                    a.elapsed_s,
                    dt.datetime.fromtimestamp(a.created_s, dt.UTC).isoformat(timespec="seconds"),
                )
            )
        return answers_csv(rows)

    def class_name(self, sess: LiveSession) -> str | None:
        if sess.class_id is None:
            return None
        with read_conn(self.db) as conn:
            r = conn.execute(select(classes.c.name).where(classes.c.id == sess.class_id)).first()
        return r.name if r else None
