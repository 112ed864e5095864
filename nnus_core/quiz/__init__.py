"""Quiz: question kinds (one module each, `kinds/`), generation, pure scoring and feedback, spaced repetition, and the quiz service."""

from __future__ import annotations

from nnus_core.quiz.engine import QuizService
from nnus_core.quiz.questions import Kind, Question, QuizSettings
from nnus_core.quiz.scoring import PASS_IOU_DEFAULT, DragResult, Score, box_from_drag
from nnus_core.quiz.values import Answer, QuizState, QuizSummary, Review, Served

__all__ = [
    "PASS_IOU_DEFAULT",
    "Answer",
    "DragResult",
    "Kind",
    "Question",
    "QuizService",
    "QuizSettings",
    "QuizState",
    "QuizSummary",
    "Review",
    "Score",
    "Served",
    "box_from_drag",
]
