"""Tables behind the quiz summary chart: per-organ pass rate beside the model's AP, as percentages."""

from __future__ import annotations

import pandas as pd

from nnus_core.organs import ORGANS
from nnus_core.quiz.engine import QuizSummary


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
