"""The quiz service: start, serve (or resume) the next question, score and store each answer once, summarise."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from sqlalchemy import Engine

from nnus_core.accounts import Action, Actor, require
from nnus_core.dataset.model import Dataset, Sample
from nnus_core.detection import Detection
from nnus_core.errors import QuizInputError
from nnus_core.organs import ORGANS
from nnus_core.quiz import scheduler
from nnus_core.quiz.kinds import generate_question, kind_of
from nnus_core.quiz.model_answer import ModelAnswer
from nnus_core.quiz.questions import Question, QuizSettings, question_index
from nnus_core.quiz.scoring import Score
from nnus_core.quiz.values import Answer, OrganResult, QuizState, QuizSummary, Review, Served
from nnus_core.store import quizzes
from nnus_core.store.attempts import Attempt, attempts_for_keys, record_attempt, student_attempts
from nnus_core.store.quizzes import StoredInstance, StoredSession

Predict = Callable[[Sample], Sequence[Detection]]
TIMER_GRACE_S = 2.0  # network and rerun latency are not the student's fault


def dataset_key(ds: Dataset) -> str:
    """Which data an answer was given on: synthetic answers never mix with real-image reviews."""
    if ds.synthetic:
        return f"synthetic:{ds.generator_version or '?'}"
    return f"real:{ds.root.name}"


class QuizService:
    """Quiz logic over a dataset and a store; cheap to build, safe to share between reruns."""

    def __init__(
        self,
        db: Engine,
        ds: Dataset,
        *,
        predict: Predict | None = None,
        model_ap: dict[int, float] | None = None,
        model_ap_label: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.ds = ds
        self.predict = predict
        self.model_ap = model_ap or {}
        self.model_ap_label = model_ap_label
        self.clock = clock
        self.index = question_index(ds)
        self.dataset_key = dataset_key(ds)

    # -- sessions -----------------------------------------------------------------------------
    def start(self, actor: Actor, settings: QuizSettings, session_id: str | None = None) -> StoredSession:
        """Store a new quiz session in the acting user's own record (`session_id`: a fixed id for
        reproducible tests; default random).

        Raises:
            AccessDenied: for an actor without a record of their own (nobody signed in).
            QuizInputError: when the focused image is not in the dataset.
        """
        require(self.db, actor, Action.ANSWER, actor.student_id)
        student_id = int(actor.student_id)
        if settings.focus_stem is not None and self.ds.get(settings.focus_stem) is None:
            raise QuizInputError(f"image {settings.focus_stem!r} is not in the active dataset")
        return quizzes.create_session(
            self.db, student_id, settings.to_dict(), self.dataset_key, self.clock(), session_id
        )

    def state(self, session_id: str, actor: Actor) -> QuizState:
        """The stored state of a session, for its student or their instructor.

        Raises:
            QuizInputError: for an unknown session, or one made on another dataset.
            AccessDenied: when the quiz is another student's (the message names no one).
        """
        sess = quizzes.get_session(self.db, session_id)
        if sess is None:
            raise QuizInputError(f"quiz {session_id!r} not found; start a new quiz")
        require(self.db, actor, Action.READ_PROGRESS, sess.student_id)
        return self._state(sess)

    def _state(self, sess: StoredSession) -> QuizState:
        session_id = sess.id
        if sess.dataset_key != self.dataset_key:
            raise QuizInputError(
                f"quiz {session_id!r} was made on another dataset ({sess.dataset_key}); start a new quiz"
            )
        settings = QuizSettings.from_dict(sess.settings)
        served = tuple(self._served(i, settings) for i in quizzes.session_instances(self.db, session_id))
        atts = attempts_for_keys(self.db, [s.id for s in served])
        return QuizState(sess, settings, served, atts)

    def _served(self, inst: StoredInstance, settings: QuizSettings) -> Served:
        sample = self.ds.get(inst.image_stem)
        if sample is None:
            raise QuizInputError(f"image {inst.image_stem!r} of this quiz is no longer in the dataset")
        return Served(inst, Question.from_payload(inst.payload), sample, settings.n_questions)

    def next_question(self, session_id: str, actor: Actor) -> Served | None:
        """The question to show now: the unanswered one if any, else a new one; None when finished.

        Serving is idempotent per position: two tabs asking at once get the same stored question.

        Raises:
            AccessDenied: when the quiz is not the acting user's own.
        """
        st = self.state(session_id, actor)
        require(self.db, actor, Action.ANSWER, st.session.student_id)
        if st.awaiting_answer is not None:
            return st.awaiting_answer
        if st.finished:
            quizzes.mark_finished(self.db, session_id, self.clock())
            return None
        position = len(st.served)
        history = student_attempts(self.db, st.session.student_id)
        outcomes = [
            scheduler.Outcome(a.organ_id, a.image_stem, a.credit, a.passed, a.iou, a.created_s)
            for a in history
        ]
        now = self.clock()
        weights = None
        review: list[tuple[str, int]] = []
        if st.settings.adaptive:
            weights = scheduler.organ_weights(scheduler.organ_states(outcomes), st.settings.organ_ids, now)
            same_data = [
                o for o, a in zip(outcomes, history, strict=True) if a.dataset_key == self.dataset_key
            ]
            review = scheduler.images_due(scheduler.image_states(same_data), now, st.settings.organ_ids)
        asked = [(s.question.image_stem, s.question.organ_id) for s in st.served]
        rng = random.Random(f"{session_id}:{position}")
        q = generate_question(
            self.index, st.settings, position, rng, organ_weights=weights, review=review, asked=asked
        )
        inst = StoredInstance(
            quizzes.instance_id(session_id, position),
            session_id,
            position,
            q.kind.value,
            q.image_stem,
            q.organ_id,
            now,
            q.to_payload(),
        )
        stored, _ = quizzes.add_instance(self.db, inst)
        return self._served(stored, st.settings)

    def unfinished(self, actor: Actor, *, look_back: int = 5) -> QuizState | None:
        """The acting user's latest unfinished quiz on this dataset (among the last `look_back`), to
        offer resuming it: a closed browser loses nothing."""
        if actor.student_id is None:
            return None
        for sess in quizzes.student_sessions(self.db, actor.student_id)[:look_back]:
            if sess.finished_s is not None or sess.dataset_key != self.dataset_key:
                continue
            try:
                st = self.state(sess.id, actor)
            except QuizInputError:  # its images are gone: nothing to resume
                continue
            if not st.finished:
                return st
        return None

    # -- answers ------------------------------------------------------------------------------
    def _detections(self, sample: Sample) -> Sequence[Detection] | None:
        if self.predict is None:
            return None
        return self.predict(sample)

    def _evaluate(self, served: Served, answer: Answer, settings: QuizSettings) -> Review:
        """Score an answer and build its review (pure apart from the cached model predictions)."""
        q, s = served.question, served.sample
        ev = kind_of(q.kind).evaluate(q, s, answer, settings.pass_iou, self._detections(s))
        return Review(
            served, _placeholder_attempt(), answer, ev.score, ev.feedback, ev.targets, ev.model, ev.matches
        )

    def submit(
        self, served: Served, answer: Answer, actor: Actor, answered_s: float | None = None
    ) -> tuple[Review, bool]:
        """Score an answer and store it exactly once (the question instance id is the key).

        Returns:
            (the review of the STORED answer, True when this call stored it). A second submit of
            the same question (double click, reload, another tab) changes nothing and returns the
            first answer's review.

        Args:
            served: the question answered.
            answer: the student's answer.
            actor: who answers; only into their own record.
            answered_s: when the student answered (default now): a retry of an answer that could not
                be stored at once keeps its own time, so the timer does not count the wait.

        Raises:
            AccessDenied: the question is in another student's quiz (nothing is stored).
            QuizInputError: an answer that cannot be scored (no box, no choice ...).
            StoreBusyError: the database is locked by another writer (keep the answer, retry).
            StoreError: the database cannot take the answer at all.
        """
        sess = quizzes.get_session(self.db, served.instance.session_id)
        if sess is None:
            raise QuizInputError("this quiz no longer exists; start a new quiz")
        require(self.db, actor, Action.ANSWER, sess.student_id)
        existing = attempts_for_keys(self.db, [served.id]).get(served.id)
        if existing is not None:
            return self.review(served, existing), False
        settings = QuizSettings.from_dict(sess.settings)
        rv = self._evaluate(served, answer, settings)
        now = self.clock() if answered_s is None else answered_s
        elapsed = max(0.0, now - served.instance.served_s)
        score, lines, timed_out = rv.score, list(rv.feedback), False
        if settings.time_limit_s is not None and elapsed > settings.time_limit_s + TIMER_GRACE_S:
            timed_out = True
            verdict = f"Time's up: answered after {elapsed:.0f} s (limit {settings.time_limit_s} s)."
            score = Score(0.0, False, "miss", verdict, score.iou, score.matched_index)
        stored_answer = {**answer.to_dict(), "timed_out": timed_out, "verdict": score.verdict}
        att = Attempt(
            idempotency_key=served.id,
            student_id=sess.student_id,
            kind=served.question.kind.value,
            image_stem=served.sample.stem,
            organ_id=served.question.organ_id,
            credit=round(score.credit, 4),
            passed=score.passed,
            created_s=now,
            answer=stored_answer,
            iou=None if score.iou is None else round(score.iou, 4),
            model_iou=None if rv.model.iou is None else round(rv.model.iou, 4),
            model_conf=None if rv.model.detection is None else round(rv.model.detection.confidence, 4),
            elapsed_s=round(elapsed, 2),
            feedback=" ".join([score.verdict, *lines]),
            session_id=sess.id,
            instance_id=served.id,
            dataset_key=self.dataset_key,
        )
        stored, inserted = record_attempt(self.db, att)
        if inserted and served.position + 1 >= settings.n_questions:
            quizzes.mark_finished(self.db, sess.id, now)
        return self.review(served, stored), inserted

    def review(self, served: Served, attempt: Attempt) -> Review:
        """The review of a stored answer (the same view after a reload as right after submitting)."""
        sess = quizzes.get_session(self.db, served.instance.session_id)
        settings = QuizSettings.from_dict(sess.settings) if sess else QuizSettings()
        answer = Answer.from_dict(attempt.answer)
        rv = self._evaluate(served, answer, settings)
        score = rv.score
        timed_out = bool(attempt.answer.get("timed_out"))
        if timed_out:
            verdict = str(attempt.answer.get("verdict") or "Time's up.")
            score = Score(attempt.credit, attempt.passed, "miss", verdict, score.iou, score.matched_index)
        model = rv.model
        if not model.available and attempt.model_iou is not None:
            # The model is gone now, but what it scored at answer time is part of the record.
            model = ModelAnswer(True, None, attempt.model_iou)
        rv = Review(served, attempt, answer, score, rv.feedback, rv.targets, model, rv.matches, timed_out)
        return replace(rv, headline=_headline(rv))

    # -- summary ------------------------------------------------------------------------------
    def summary(self, session_id: str, actor: Actor) -> QuizSummary:
        """Score, per-organ accuracy beside the model's AP, and every answer for review."""
        st = self.state(session_id, actor)
        reviews = tuple(self.review(s, st.attempts[s.id]) for s in st.served if s.id in st.attempts)
        acc: dict[int, list[tuple[bool, float | None]]] = {}
        for r in reviews:
            for out in kind_of(r.served.question.kind).organ_outcomes(r, st.settings.pass_iou):
                acc.setdefault(out.organ_id, []).append((out.passed, out.iou))
        per = tuple(
            OrganResult(
                o.id,
                len(acc.get(o.id, [])),
                sum(p for p, _ in acc.get(o.id, [])),
                _mean([v for _, v in acc.get(o.id, []) if v is not None]),
                self.model_ap.get(o.id),
            )
            for o in ORGANS
            if o.id in acc or o.id in self.model_ap
        )
        return QuizSummary(st.session, reviews, per, self.model_ap_label if self.model_ap else "")


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _placeholder_attempt() -> Attempt:
    return Attempt("unsaved", 0, "locate", "", None, 0.0, False, 0.0)


def _headline(rv: Review) -> str:
    """The review's one-line verdict: each kind words its own half."""
    k = kind_of(rv.served.question.kind)
    if not rv.model.available:
        return f"{k.you_said(rv)}; no model available"
    return f"{k.you_said(rv)}, {k.model_said(rv)}"
