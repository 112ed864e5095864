"""Values of the quiz: an answer, a served question, the review of an answer, a quiz's state and summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nnus_core.dataset.model import Annotation, Sample
from nnus_core.geometry import BoxPx
from nnus_core.quiz.model_answer import ModelAnswer
from nnus_core.quiz.questions import Question, QuizSettings
from nnus_core.quiz.scoring import LabelMatch, Score
from nnus_core.store.attempts import Attempt
from nnus_core.store.quizzes import StoredInstance, StoredSession


@dataclass(frozen=True)
class Answer:
    """What a student submitted; only the fields of the question's kind are used."""

    box: BoxPx | None = None  # Locate
    not_visible: bool = False  # Locate
    choice: int | None = None  # Identify
    present: bool | None = None  # Present?
    labels: tuple[tuple[int, BoxPx], ...] = ()  # Label all: (organ id, box)

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": list(self.box.as_tuple()) if self.box else None,
            "not_visible": self.not_visible,
            "choice": self.choice,
            "present": self.present,
            "labels": [[o, list(b.as_tuple())] for o, b in self.labels],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Answer:
        return cls(
            box=BoxPx(*d["box"]) if d.get("box") else None,
            not_visible=bool(d.get("not_visible")),
            choice=d.get("choice"),
            present=d.get("present"),
            labels=tuple((int(o), BoxPx(*b)) for o, b in d.get("labels") or ()),
        )


@dataclass(frozen=True)
class Served:
    """A question as served to the student (persisted, so a reload shows the same one)."""

    instance: StoredInstance
    question: Question
    sample: Sample
    total: int  # questions in the quiz

    @property
    def id(self) -> str:
        return self.instance.id

    @property
    def position(self) -> int:
        return self.instance.position


@dataclass(frozen=True)
class Review:
    """Everything the feedback view shows for one stored answer."""

    served: Served
    attempt: Attempt
    answer: Answer
    score: Score
    feedback: tuple[str, ...]
    targets: tuple[Annotation, ...]  # the ground truth the answer is judged against
    model: ModelAnswer
    matches: tuple[LabelMatch, ...] = ()
    timed_out: bool = False
    # A plain verdict, worded by the question's kind: "you 0.72, model 0.81",
    # "you: Thyroid (wrong), model: Internal jugular vein (right)".
    headline: str = ""


@dataclass(frozen=True)
class OrganResult:
    """One organ's line in a quiz summary."""

    organ_id: int
    answers: int
    passes: int
    mean_iou: float | None
    model_ap50: float | None

    @property
    def accuracy(self) -> float:
        return self.passes / self.answers if self.answers else 0.0


@dataclass(frozen=True)
class QuizSummary:
    """The end-of-quiz report."""

    session: StoredSession
    reviews: tuple[Review, ...]
    per_organ: tuple[OrganResult, ...]
    model_ap_label: str  # "" when no AP is known

    @property
    def answered(self) -> int:
        return len(self.reviews)

    @property
    def score(self) -> float:
        return sum(r.attempt.credit for r in self.reviews)

    @property
    def passes(self) -> int:
        return sum(r.attempt.passed for r in self.reviews)

    @property
    def mistakes(self) -> tuple[Review, ...]:
        return tuple(r for r in self.reviews if not r.attempt.passed)


@dataclass(frozen=True)
class QuizState:
    """Where a session stands: what was served and answered, and what to show now."""

    session: StoredSession
    settings: QuizSettings
    served: tuple[Served, ...]
    attempts: dict[str, Attempt] = field(default_factory=dict)

    @property
    def last(self) -> Served | None:
        return self.served[-1] if self.served else None

    @property
    def answered(self) -> int:
        return sum(1 for s in self.served if s.id in self.attempts)

    @property
    def finished(self) -> bool:
        return self.answered >= self.settings.n_questions

    @property
    def awaiting_answer(self) -> Served | None:
        """The served question still waiting for its answer (a reload shows this one again)."""
        last = self.last
        return last if last is not None and last.id not in self.attempts else None
