"""Label all: draw and name a box for every organ in the image."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nnus_core.dataset.model import Sample
from nnus_core.detection import Detection
from nnus_core.errors import QuizInputError
from nnus_core.organs import ORGANS
from nnus_core.quiz import feedback as fb
from nnus_core.quiz.kinds.base import STUDENT_RGB, Evaluation, OrganOutcome, QuestionKind, Request
from nnus_core.quiz.model_answer import NO_MODEL, model_label_all
from nnus_core.quiz.questions import CANDIDATES_PER_QUESTION, Kind, Question, QuestionSpec
from nnus_core.quiz.scoring import LabelMatch, score_label_all
from nnus_core.render import Overlay

if TYPE_CHECKING:
    from nnus_core.quiz.values import Answer, Review


class LabelAll(QuestionKind):
    kind = Kind.LABEL_ALL
    title = Kind.LABEL_ALL.title
    help = "Label all: box and name every organ."

    def prompt(self, q: Question) -> str:
        return "Draw and name a box for every organ you can see."

    def generate(self, req: Request) -> Question:
        idx, settings = req.idx, req.settings
        if settings.focus_stem is not None:
            s = idx.sample(settings.focus_stem)
            if s is None:
                raise QuizInputError(f"image {settings.focus_stem!r} is not in the active dataset")
            return Question(
                self.kind, s.stem, None, difficulty=min(1.0, len(s.organ_ids) / 6), reason="focused image"
            )
        samples = idx.ds.samples
        cands = [
            si
            for si, s in enumerate(samples)
            if len(s.annotations) >= 2 and s.organ_ids & set(req.allowed) and (s.stem, None) not in req.asked
        ] or [si for si, s in enumerate(samples) if s.annotations]
        if not cands:
            raise QuizInputError("Label all: no image has labelled organs")
        pool = req.rng.sample(cands, min(len(cands), CANDIDATES_PER_QUESTION))
        n_organs = {si: len(samples[si].organ_ids) for si in pool}
        # "hard": the most organs to find, "easy": the fewest.
        si = {"hard": max(pool, key=n_organs.__getitem__), "easy": min(pool, key=n_organs.__getitem__)}.get(
            settings.difficulty, pool[0]
        )
        return Question(
            self.kind, samples[si].stem, None, difficulty=min(1.0, len(samples[si].organ_ids) / 6)
        )

    def from_spec(self, req: Request, spec: QuestionSpec) -> Question:
        s = req.idx.sample(spec.image_stem)
        if s is None:
            raise QuizInputError(f"image {spec.image_stem!r} is not in the active dataset")
        if not s.annotations:
            raise QuizInputError(f"Label all: image {s.stem!r} has no labelled organ")
        return Question(
            self.kind, s.stem, None, difficulty=min(1.0, len(s.organ_ids) / 6), reason="question set"
        )

    def evaluate(
        self, q: Question, sample: Sample, answer: Answer, pass_iou: float, dets: Sequence[Detection] | None
    ) -> Evaluation:
        gt = [(a.organ_id, a.box) for a in sample.annotations]
        res = score_label_all(list(answer.labels), gt, pass_iou=pass_iou)
        model = model_label_all(dets, gt, pass_iou) if dets is not None else NO_MODEL
        lines = tuple(_lines(res.matches, pass_iou))
        return Evaluation(res.score, lines, tuple(sample.annotations), model, res.matches)

    def you_said(self, rv: Review) -> str:
        return f"you {rv.score.credit:.2f}"

    def model_said(self, rv: Review) -> str:
        return f"model {rv.model.credit or 0:.2f}"

    def overlays(self, rv: Review) -> list[Overlay]:
        out = [Overlay(a.organ_id, a.box, a.organ.short, "solid") for a in rv.targets]
        out += [
            Overlay(d.organ_id, d.box, f"model {d.confidence:.2f}", "dashed") for d in rv.model.detections
        ]
        out += [Overlay(o, b, "", "student", STUDENT_RGB) for o, b in rv.answer.labels]
        return out

    def organ_outcomes(self, rv: Review, pass_iou: float) -> list[OrganOutcome]:
        # Each ground-truth organ counts once; an extra box of the student's counts for none.
        return [
            OrganOutcome(m.organ_id, m.iou >= pass_iou, m.iou) for m in rv.matches if m.gt_index is not None
        ]


def _lines(matches: Sequence[LabelMatch], pass_iou: float) -> list[str]:
    lines = []
    for m in matches:
        name = ORGANS[m.organ_id].name
        if m.student_index is None:
            lines.append(f"Missed the {name}: it lies {fb.LANDMARKS[m.organ_id]}.")
        elif m.gt_index is None:
            lines.append(f"Extra box labelled {name}: no {name} there.")
        elif m.iou < pass_iou:
            lines.append(f"{name}: IoU {m.iou:.2f}, below {pass_iou:.2f}.")
    return lines or ["Every organ found and well placed."]
