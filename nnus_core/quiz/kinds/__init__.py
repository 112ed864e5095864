"""Question kinds, one module each (generate, score, feedback, view), and the registry the quiz dispatches through."""

from __future__ import annotations

import random
from collections.abc import Sequence

from nnus_core.errors import QuizInputError
from nnus_core.organs import N_ORGANS
from nnus_core.quiz.kinds.base import Evaluation, Metric, OrganOutcome, QuestionKind, Request
from nnus_core.quiz.kinds.identify import Identify
from nnus_core.quiz.kinds.label_all import LabelAll
from nnus_core.quiz.kinds.locate import Locate
from nnus_core.quiz.kinds.present import Present
from nnus_core.quiz.questions import PROMPTS, Kind, Question, QuestionIndex, QuizSettings

# One line per kind, in the order the setup offers them; the key is what the store keeps.
REGISTRY: dict[Kind, QuestionKind] = {
    Kind.LOCATE: Locate(),
    Kind.IDENTIFY: Identify(),
    Kind.PRESENT: Present(),
    Kind.LABEL_ALL: LabelAll(),
}
PROMPTS.update({k: impl.prompt for k, impl in REGISTRY.items()})


def kind_of(kind: Kind | str) -> QuestionKind:
    """The implementation of a kind (by its enum member or stored key).

    Raises:
        QuizInputError: for a key no kind is registered under.
    """
    try:
        return REGISTRY[Kind(kind)]
    except (ValueError, KeyError):
        raise QuizInputError(
            f"question kind: expected one of {[k.value for k in REGISTRY]}, got {kind!r}"
        ) from None


def generate_question(
    idx: QuestionIndex,
    settings: QuizSettings,
    position: int,
    rng: random.Random,
    *,
    organ_weights: dict[int, float] | None = None,
    review: Sequence[tuple[str, int]] = (),
    asked: Sequence[tuple[str, int | None]] = (),
) -> Question:
    """Make the question at `position` of a quiz.

    Args:
        idx: the dataset's question index.
        settings: the quiz settings (kinds cycle with the position).
        position: 0-based position in the quiz.
        rng: the random source (seed it per session and position for reproducible quizzes).
        organ_weights: sampling weight per organ (spaced repetition); None: uniform.
        review: (image, organ) pairs due again, worst first (adaptive practice).
        asked: (image, organ) pairs already asked in this quiz, avoided when possible.

    Raises:
        QuizInputError: when the settings leave nothing to ask (e.g. an organ filter with no images).
    """
    allowed = tuple(settings.organ_ids) or tuple(range(N_ORGANS))
    req = Request(idx, settings, position, rng, allowed, organ_weights, review, frozenset(asked))
    if settings.items:  # a fixed list of questions (a question set or an assignment)
        spec = settings.items[position]
        return kind_of(spec.kind).from_spec(req, spec)
    return kind_of(settings.kinds[position % len(settings.kinds)]).generate(req)


__all__ = [
    "REGISTRY",
    "Evaluation",
    "Metric",
    "OrganOutcome",
    "QuestionKind",
    "Request",
    "generate_question",
    "kind_of",
]
