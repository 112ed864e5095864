"""The quiz summary's figures: per-organ pass rate beside the model's AP (as percentages), and which AP to show."""

from __future__ import annotations

import pandas as pd

from nnus_core.organs import ORGANS
from nnus_core.quiz.model_answer import model_ap_by_organ
from nnus_core.quiz.values import QuizSummary


def organ_chart_frame(summary: QuizSummary) -> pd.DataFrame:
    """One row per organ in the summary: the student's pass rate and the model's AP@0.5, in percent.

    Organs the quiz did not ask show no student bar (NaN), not 0 %.
    """
    rows = []
    for r in summary.per_organ:
        you = 100.0 * r.accuracy if r.answers else float("nan")
        ap = 100.0 * r.model_ap50 if r.model_ap50 is not None else float("nan")
        rows.append(
            {
                "organ": ORGANS[r.organ_id].short,
                "organ_name": ORGANS[r.organ_id].name,
                "answers": r.answers,
                "you_pct": you,
                "model_ap_pct": ap,
                "you_text": f"{you:.0f}%" if r.answers else "",
                "model_text": f"{ap:.0f}" if r.model_ap50 is not None else "",
            }
        )
    return pd.DataFrame(
        rows, columns=["organ", "organ_name", "answers", "you_pct", "model_ap_pct", "you_text", "model_text"]
    )


def summary_model_ap(
    eval_ap: dict[int, float], eval_synthetic: bool | None, card, data_synthetic: bool
) -> tuple[dict[int, float], str]:
    """The model's per-organ AP@0.5 for the summary and what it was measured on.

    The evaluation file's figures win over the model card's; ({}, "") when neither has any.

    Args:
        eval_ap: per-organ AP from the model's evaluation file ({} when it has none).
        eval_synthetic: whether that evaluation ran on the phantom (None: it does not say).
        card: the model card (anything with `metrics` and `synthetic`), or None.
        data_synthetic: whether the active dataset is the phantom (the guess when nothing says).
    """
    ap, synthetic = eval_ap, eval_synthetic
    if not ap and card is not None:
        ap, synthetic = model_ap_by_organ(card.metrics), card.synthetic
    if not ap:
        return {}, ""
    if synthetic is None:
        synthetic = data_synthetic
    where = "measured on the SYNTHETIC phantom" if synthetic else "measured on real NNUS images"
    return ap, f"Model AP@0.5 on its test split ({where})"
