"""Question kinds, one module each (generate, score, feedback, view), and the registry the quiz dispatches through."""

from __future__ import annotations

from nnus_core.errors import QuizInputError
from nnus_core.quiz.kinds.base import Evaluation, Metric, OrganOutcome, QuestionKind, Request
from nnus_core.quiz.kinds.identify import Identify
from nnus_core.quiz.kinds.label_all import LabelAll
from nnus_core.quiz.kinds.locate import Locate
from nnus_core.quiz.kinds.present import Present
from nnus_core.quiz.questions import Kind

# One line per kind, in the order the setup offers them; the key is what the store keeps.
REGISTRY: dict[Kind, QuestionKind] = {
    Kind.LOCATE: Locate(),
    Kind.IDENTIFY: Identify(),
    Kind.PRESENT: Present(),
    Kind.LABEL_ALL: LabelAll(),
}


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


__all__ = ["REGISTRY", "Evaluation", "Metric", "OrganOutcome", "QuestionKind", "Request", "kind_of"]
