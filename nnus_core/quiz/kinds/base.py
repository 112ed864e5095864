"""The interface every question kind implements, and the shared flow of the kinds that ask about one organ."""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from nnus_core.dataset.model import Annotation, Sample
from nnus_core.detection import Detection
from nnus_core.errors import QuizInputError
from nnus_core.organs import ORGANS
from nnus_core.quiz.model_answer import NO_MODEL, ModelAnswer
from nnus_core.quiz.questions import (
    Kind,
    Question,
    QuestionIndex,
    QuestionSpec,
    QuizSettings,
    organ_bias,
    pick_by_difficulty,
    weighted_choice,
)
from nnus_core.quiz.scoring import LabelMatch, Score
from nnus_core.render import Overlay

if TYPE_CHECKING:
    from nnus_core.quiz.values import Answer, Review

STUDENT_RGB = (255, 255, 255)  # the student's box: white with a black outline, whatever the organ
VERDICT = {True: "right", False: "wrong"}


@dataclass(frozen=True)
class Request:
    """What generating the question at one position of a quiz may use."""

    idx: QuestionIndex
    settings: QuizSettings
    position: int
    rng: random.Random
    allowed: tuple[int, ...]  # organs the settings allow (every organ when the filter is empty)
    organ_weights: dict[int, float] | None = None  # spaced repetition; None: uniform
    review: Sequence[tuple[str, int]] = ()  # (image, organ) pairs due again, worst first
    asked: frozenset[tuple[str, int | None]] = frozenset()  # already asked in this quiz


@dataclass(frozen=True)
class Evaluation:
    """An answer scored against the truth, beside the model's answer to the same question."""

    score: Score
    feedback: tuple[str, ...]
    targets: tuple[Annotation, ...]  # the ground truth the answer is judged against
    model: ModelAnswer
    matches: tuple[LabelMatch, ...] = ()


@dataclass(frozen=True)
class Metric:
    """One figure of the score panel: a label, the value as shown, and optional small text."""

    label: str
    value: str
    delta: str | None = None  # shown greyed under the value ("confidence 0.93")
    caption: str | None = None  # a line under the figure


@dataclass(frozen=True)
class OrganOutcome:
    """What one answer says about one organ, for the quiz summary."""

    organ_id: int
    passed: bool
    iou: float | None


class QuestionKind(ABC):
    """One kind of question: how it is generated, scored, explained and shown.

    A new kind is a new module beside this one with a subclass, a member of `Kind` (the key
    stored with every question and answer) and one line in `nnus_core.quiz.kinds.REGISTRY`.
    """

    kind: ClassVar[Kind]
    title: ClassVar[str]  # as the setup and the badges name it
    help: ClassVar[str]  # one sentence for the setup's help

    @abstractmethod
    def prompt(self, q: Question) -> str:
        """The question as the student reads it."""

    @abstractmethod
    def generate(self, req: Request) -> Question:
        """The question at `req.position` (focused on one image when the settings say so).

        Raises:
            QuizInputError: when the settings leave nothing to ask.
        """

    @abstractmethod
    def from_spec(self, req: Request, spec: QuestionSpec) -> Question:
        """The question a fixed spec (a question set's item) asks.

        Raises:
            QuizInputError: when the image is not in the dataset or cannot carry this question.
        """

    @abstractmethod
    def evaluate(
        self, q: Question, sample: Sample, answer: Answer, pass_iou: float, dets: Sequence[Detection] | None
    ) -> Evaluation:
        """Score an answer, explain it, and answer the same question with the model's detections
        (`dets` None: no model).

        Raises:
            QuizInputError: an answer that cannot be scored.
        """

    @abstractmethod
    def you_said(self, rv: Review) -> str:
        """The student's half of the headline: "you 0.72", "you: Thyroid (wrong)"."""

    @abstractmethod
    def model_said(self, rv: Review) -> str:
        """The model's half of the headline (the model is available)."""

    def metrics(self, rv: Review) -> tuple[Metric, Metric | None]:
        """The score panel's two figures: the student's, and the model's (None without a model).

        By default both credits, with the model's answer in words under its figure.
        """
        you = Metric("Your credit", f"{rv.score.credit:.2f}")
        if not rv.model.available:
            return you, None
        m = rv.model
        return you, Metric("Model credit", "—" if m.credit is None else f"{m.credit:.2f}", caption=m.summary)

    @abstractmethod
    def overlays(self, rv: Review) -> list[Overlay]:
        """The feedback image's boxes: truth (solid), the model (dashed), the student's last."""

    @abstractmethod
    def organ_outcomes(self, rv: Review, pass_iou: float) -> list[OrganOutcome]:
        """What this answer counts for each organ in the summary."""


class SingleOrganKind(QuestionKind):
    """A question about one organ of one image (Locate, Identify, Present?): the shared flow."""

    uses_review: ClassVar[bool] = True  # a badly answered (image, organ) pair may come back

    def want_present(self, req: Request) -> bool:
        """Whether to ask about an organ that is in the image (draws from `req.rng` when it varies)."""
        return True

    def make(
        self, req: Request, si: int, oid: int, present: bool, difficulty: float, reason: str
    ) -> Question:
        """The question for image `si` and organ `oid`."""
        s = req.idx.ds.samples[si]
        return Question(
            self.kind, s.stem, oid, expected_present=present, difficulty=round(difficulty, 3), reason=reason
        )

    def generate(self, req: Request) -> Question:
        idx, settings, rng = req.idx, req.settings, req.rng
        if settings.focus_stem is not None:
            return self.focused(req)
        # Adaptive practice: a due (image, organ) pair comes back half of the time.
        if req.review and settings.adaptive and self.uses_review and rng.random() < 0.5:
            for stem, oid in req.review:
                s = idx.sample(stem)
                if (
                    s is not None
                    and oid in req.allowed
                    and oid in s.organ_ids
                    and (stem, oid) not in req.asked
                ):
                    si = idx.position[s.stem]
                    d = idx.difficulty(si, oid, with_contrast=False)
                    return self.make(req, si, oid, True, d, "review: answered badly before")
        usable = [o for o in req.allowed if idx.by_organ[o]]
        if not usable:
            raise QuizInputError("no image contains the chosen organs; widen the organ filter")
        weights = {
            o: (req.organ_weights or {}).get(o, 1.0) * organ_bias(idx, o, settings.difficulty) for o in usable
        }
        oid = weighted_choice(rng, weights)
        due = req.organ_weights and req.organ_weights.get(oid, 1.0) > 1.0
        reason = "weak or due organ" if due else "practice"
        want_present = self.want_present(req)
        if not want_present and not idx.without_organ[oid]:
            want_present = True
        if want_present:
            cands = [
                si for si in idx.by_organ[oid] if (idx.ds.samples[si].stem, oid) not in req.asked
            ] or idx.by_organ[oid]
            si, d = pick_by_difficulty(idx, rng, cands, oid, settings.difficulty)
        else:
            cands = [
                si for si in idx.without_organ[oid] if idx.ds.samples[si].annotations
            ] or idx.without_organ[oid]
            si, d = rng.choice(cands), organ_bias(idx, oid, "hard") / 1.3
        return self.make(req, si, oid, want_present, d, reason)

    needs_present: ClassVar[bool] = False  # Identify outlines the organ: it must be in the image

    def from_spec(self, req: Request, spec: QuestionSpec) -> Question:
        s = req.idx.sample(spec.image_stem)
        if s is None:
            raise QuizInputError(f"image {spec.image_stem!r} is not in the active dataset")
        assert spec.organ_id is not None
        present = spec.organ_id in s.organ_ids
        if self.needs_present and not present:
            raise QuizInputError(
                f"{self.title}: image {s.stem!r} has no {ORGANS[spec.organ_id].name.lower()} to outline"
            )
        si = req.idx.position[s.stem]
        d = req.idx.difficulty(si, spec.organ_id, with_contrast=False)
        return self.make(req, si, spec.organ_id, present, d, "question set")

    def focused(self, req: Request) -> Question:
        """A question on the focused image: the first allowed organ in it not asked yet."""
        s = req.idx.sample(req.settings.focus_stem or "")
        if s is None:
            raise QuizInputError(f"image {req.settings.focus_stem!r} is not in the active dataset")
        si = req.idx.position[s.stem]
        present = [o for o in sorted(s.organ_ids) if o in req.allowed] or sorted(s.organ_ids)
        if not present:
            raise QuizInputError(f"image {s.stem!r} has no labelled organ to ask about")
        pool = [o for o in present if (s.stem, o) not in req.asked] or present
        oid = pool[0]
        d = req.idx.difficulty(si, oid, with_contrast=False)
        return self.make(req, si, oid, True, d, "focused image")

    @staticmethod
    def model_or_none(dets: Sequence[Detection] | None, answer_with) -> ModelAnswer:
        """`answer_with(dets)` when a model answered, else NO_MODEL."""
        return answer_with(dets) if dets is not None else NO_MODEL

    def overlays(self, rv: Review) -> list[Overlay]:
        q, m = rv.served.question, rv.model
        # One organ asked: the truth needs no tag (the legend names its colour); its tag would sit
        # exactly under the model's when both boxes agree.
        out = [Overlay(a.organ_id, a.box, "", "solid") for a in rv.targets]
        if m.detection is not None:
            d = m.detection
            name = "" if d.organ_id == q.organ_id else f" {d.organ.short}"  # Identify: the organ it says
            out.append(Overlay(d.organ_id, d.box, f"model{name} {d.confidence:.2f}", "dashed"))
        if rv.answer.box is not None:
            out.append(Overlay(None, rv.answer.box, "", "student", STUDENT_RGB))
        return out

    def organ_outcomes(self, rv: Review, pass_iou: float) -> list[OrganOutcome]:
        q = rv.served.question
        if q.organ_id is None:
            return []
        return [OrganOutcome(q.organ_id, rv.attempt.passed, rv.attempt.iou)]
