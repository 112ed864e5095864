"""Locate: draw a box around the named organ (or answer that it is not in the image)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nnus_core.dataset.model import Sample
from nnus_core.detection import Detection
from nnus_core.organs import ORGANS
from nnus_core.quiz import feedback as fb
from nnus_core.quiz.kinds.base import Evaluation, Metric, Request, SingleOrganKind
from nnus_core.quiz.model_answer import model_locate
from nnus_core.quiz.questions import Kind, Question, gt_boxes
from nnus_core.quiz.scoring import score_locate

if TYPE_CHECKING:
    from nnus_core.quiz.values import Answer, Review


class Locate(SingleOrganKind):
    kind = Kind.LOCATE
    title = Kind.LOCATE.title
    help = "Locate: draw a box."

    def prompt(self, q: Question) -> str:
        return f"Draw a box around the {ORGANS[q.organ_id].name.lower()}."

    def want_present(self, req: Request) -> bool:
        # A share of Locate questions ask for an organ that is not there ("Not visible here").
        return req.rng.random() >= req.settings.absent_rate

    def evaluate(
        self, q: Question, sample: Sample, answer: Answer, pass_iou: float, dets: Sequence[Detection] | None
    ) -> Evaluation:
        assert q.organ_id is not None
        gts = gt_boxes(sample, q.organ_id)
        score = score_locate(answer.box, gts, not_visible=answer.not_visible, pass_iou=pass_iou)
        targets = tuple(a for a in sample.annotations if a.organ_id == q.organ_id)
        if answer.not_visible:
            lines = [fb.present_missed_feedback(q.organ_id)] if gts else [fb.absent_feedback(q.organ_id)]
        elif not gts:
            lines = [fb.absent_feedback(q.organ_id)]
        else:
            assert answer.box is not None and score.matched_index is not None
            lateral = fb.lateral_direction(sample.annotations)
            lines = fb.locate_feedback(
                q.organ_id, answer.box, gts[score.matched_index], sample.annotations, lateral
            )
        model = self.model_or_none(dets, lambda d: model_locate(d, q.organ_id, gts, pass_iou))
        return Evaluation(score, tuple(lines), targets, model)

    def you_said(self, rv: Review) -> str:
        if rv.answer.not_visible:
            return "you: not visible"
        return f"you {rv.score.iou:.2f}" if rv.score.iou is not None else "you: —"

    def model_said(self, rv: Review) -> str:
        return f"model {rv.model.iou:.2f}" if rv.model.iou is not None else "model found none"

    def metrics(self, rv: Review) -> tuple[Metric, Metric | None]:
        s, m = rv.score, rv.model
        you = Metric("Your IoU", "—" if s.iou is None else f"{s.iou:.2f}")
        if not m.available:
            return you, None
        conf = m.detection.confidence if m.detection else None
        return you, Metric(
            "Model IoU",
            "—" if m.iou is None else f"{m.iou:.2f}",
            None if conf is None else f"confidence {conf:.2f}",
        )
