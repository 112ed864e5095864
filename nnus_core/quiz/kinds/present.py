"""Present?: say whether the named organ is visible in the image."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nnus_core.dataset.model import Sample
from nnus_core.detection import Detection
from nnus_core.errors import QuizInputError
from nnus_core.organs import ORGANS
from nnus_core.quiz import feedback as fb
from nnus_core.quiz.kinds.base import VERDICT, Evaluation, Request, SingleOrganKind
from nnus_core.quiz.model_answer import model_present
from nnus_core.quiz.questions import Kind, Question
from nnus_core.quiz.scoring import score_presence

if TYPE_CHECKING:
    from nnus_core.quiz.values import Answer, Review


class Present(SingleOrganKind):
    kind = Kind.PRESENT
    title = Kind.PRESENT.title
    help = "Present?: is it in the image."
    uses_review = False  # a review pair is always present: it would give the answer away

    def prompt(self, q: Question) -> str:
        name = ORGANS[q.organ_id].name.lower() if q.organ_id is not None else ""
        verb = "Are" if name.endswith("muscles") else "Is"
        return f"{verb} the {name} visible in this image?"

    def want_present(self, req: Request) -> bool:
        return req.rng.random() < 0.5

    def focused(self, req: Request) -> Question:
        # Any allowed organ may be asked about the focused image, present or not.
        s = req.idx.sample(req.settings.focus_stem or "")
        if s is None:
            raise QuizInputError(f"image {req.settings.focus_stem!r} is not in the active dataset")
        pool = [o for o in req.allowed if (s.stem, o) not in req.asked] or list(req.allowed)
        oid = pool[req.position % len(pool)]
        return Question(self.kind, s.stem, oid, expected_present=oid in s.organ_ids, reason="focused image")

    def evaluate(
        self, q: Question, sample: Sample, answer: Answer, pass_iou: float, dets: Sequence[Detection] | None
    ) -> Evaluation:
        assert q.organ_id is not None
        truth = q.organ_id in sample.organ_ids
        score = score_presence(answer.present, truth, q.organ_id)
        targets = tuple(a for a in sample.annotations if a.organ_id == q.organ_id)
        lines = (fb.present_missed_feedback(q.organ_id) if truth else fb.absent_feedback(q.organ_id),)
        model = self.model_or_none(dets, lambda d: model_present(d, q.organ_id, truth))
        return Evaluation(score, lines, targets, model)

    def you_said(self, rv: Review) -> str:
        return f"you: {'yes' if rv.answer.present else 'no'} ({VERDICT[rv.score.passed]})"

    def model_said(self, rv: Review) -> str:
        return f"model: {'yes' if rv.model.present else 'no'} ({VERDICT[bool(rv.model.passed)]})"
