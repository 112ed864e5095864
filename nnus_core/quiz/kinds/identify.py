"""Identify: name the outlined organ, choosing among plausible distractors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nnus_core.dataset.model import Sample
from nnus_core.detection import Detection
from nnus_core.errors import QuizInputError
from nnus_core.organs import ORGANS
from nnus_core.quiz import feedback as fb
from nnus_core.quiz.kinds.base import VERDICT, Evaluation, Request, SingleOrganKind
from nnus_core.quiz.model_answer import model_identify
from nnus_core.quiz.questions import Kind, Question, distractors
from nnus_core.quiz.scoring import score_choice

if TYPE_CHECKING:
    from nnus_core.quiz.values import Answer, Review


class Identify(SingleOrganKind):
    kind = Kind.IDENTIFY
    title = Kind.IDENTIFY.title
    help = "Identify: name the outlined organ."
    needs_present = True

    def prompt(self, q: Question) -> str:
        return "Which organ is outlined?"

    def make(
        self, req: Request, si: int, oid: int, present: bool, difficulty: float, reason: str
    ) -> Question:
        s = req.idx.ds.samples[si]
        ais = [ai for ai, a in enumerate(s.annotations) if a.organ_id == oid]
        ai = req.rng.choice(ais)
        choices = [oid, *distractors(req.idx, s, ai, req.rng)]
        req.rng.shuffle(choices)
        return Question(self.kind, s.stem, oid, ai, tuple(choices), True, round(difficulty, 3), reason)

    def evaluate(
        self, q: Question, sample: Sample, answer: Answer, pass_iou: float, dets: Sequence[Detection] | None
    ) -> Evaluation:
        assert q.organ_id is not None and q.target_index is not None
        if answer.choice is not None and answer.choice not in q.choices:
            raise QuizInputError(f"choice: expected one of the offered organs, got {answer.choice}")
        score = score_choice(answer.choice, q.organ_id)
        target = sample.annotations[q.target_index]
        lines = (
            fb.identify_feedback(q.organ_id, answer.choice if answer.choice is not None else q.organ_id),
        )
        model = self.model_or_none(dets, lambda d: model_identify(d, target.box, q.organ_id))
        return Evaluation(score, lines, (target,), model)

    def you_said(self, rv: Review) -> str:
        picked = ORGANS[rv.answer.choice].name if rv.answer.choice is not None else "—"
        return f"you: {picked} ({VERDICT[rv.score.passed]})"

    def model_said(self, rv: Review) -> str:
        m = rv.model
        if m.choice is None:
            return "model found none"
        return f"model: {ORGANS[m.choice].name} ({VERDICT[bool(m.passed)]})"
