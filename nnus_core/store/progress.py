"""Progress queries for "My progress": history frame, per-organ mastery, streaks, CSV export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine

from nnus_core.organs import ORGANS
from nnus_core.store.attempts import Attempt, student_attempts
from nnus_core.text import csv_cell

HISTORY_COLUMNS = [
    "time_utc",
    "session_id",
    "kind",
    "organ",
    "image",
    "iou",
    "model_iou",
    "model_conf",
    "credit",
    "passed",
    "elapsed_s",
    "feedback",
]
# Recent answers weigh more: mastery follows what the student can do now, not a month ago.
MASTERY_HALF_LIFE_ANSWERS = 5


def history_frame(attempts: Sequence[Attempt]) -> pd.DataFrame:
    """One row per answer, oldest first, with organ names and UTC timestamps."""
    rows = [
        {
            "time_utc": pd.Timestamp(a.created_s, unit="s", tz="UTC"),
            "session_id": a.session_id or "",
            "kind": a.kind,
            "organ": ORGANS[a.organ_id].name if a.organ_id is not None else "",
            "image": a.image_stem,
            "iou": a.iou,
            "model_iou": a.model_iou,
            "model_conf": a.model_conf,
            "credit": a.credit,
            "passed": a.passed,
            "elapsed_s": a.elapsed_s,
            "feedback": a.feedback,
        }
        for a in attempts
    ]
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def student_history(engine: Engine, student_id: int) -> pd.DataFrame:
    """`history_frame` of every answer a student stored."""
    return history_frame(student_attempts(engine, student_id))


def mastery_frame(attempts: Sequence[Attempt]) -> pd.DataFrame:
    """Per organ: answers, pass rate, mean IoU and a recency-weighted mastery in [0, 1].

    Mastery is the exponentially weighted mean of the credit (half-life MASTERY_HALF_LIFE_ANSWERS
    answers of that organ); organs never practised have mastery NaN, not 0.
    """
    rows = []
    decay = 0.5 ** (1 / MASTERY_HALF_LIFE_ANSWERS)
    for o in ORGANS:
        mine = [a for a in attempts if a.organ_id == o.id]
        if not mine:
            rows.append(
                {
                    "organ": o.name,
                    "short": o.short,
                    "answers": 0,
                    "pass_rate": float("nan"),
                    "mean_iou": float("nan"),
                    "mastery": float("nan"),
                    "color": o.color,
                }
            )
            continue
        weights = [decay ** (len(mine) - 1 - i) for i in range(len(mine))]
        mastery = sum(w * a.credit for w, a in zip(weights, mine, strict=True)) / sum(weights)
        ious = [a.iou for a in mine if a.iou is not None]
        rows.append(
            {
                "organ": o.name,
                "short": o.short,
                "answers": len(mine),
                "pass_rate": sum(a.passed for a in mine) / len(mine),
                "mean_iou": sum(ious) / len(ious) if ious else float("nan"),
                "mastery": mastery,
                "color": o.color,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Streaks:
    """Practice streaks: days in a row with at least one answer, and passes in a row."""

    current_days: int
    longest_days: int
    current_passes: int
    longest_passes: int


def streaks(attempts: Sequence[Attempt], today: dt.date | None = None) -> Streaks:
    """Day and answer streaks (UTC days). A day streak still counts if the last day was yesterday."""
    days = sorted({dt.datetime.fromtimestamp(a.created_s, dt.UTC).date() for a in attempts})
    longest = run = 0
    prev: dt.date | None = None
    for d in days:
        run = run + 1 if prev is not None and (d - prev).days == 1 else 1
        longest = max(longest, run)
        prev = d
    today = today or dt.datetime.now(dt.UTC).date()
    current = run if prev is not None and (today - prev).days <= 1 else 0
    longest_p = cur_p = 0
    for a in attempts:
        cur_p = cur_p + 1 if a.passed else 0
        longest_p = max(longest_p, cur_p)
    return Streaks(current, longest, cur_p, longest_p)


def daily_frame(attempts: Sequence[Attempt]) -> pd.DataFrame:
    """Per UTC day: answers, passes and mean credit (for the history chart)."""
    h = history_frame(attempts)
    if h.empty:
        return pd.DataFrame(columns=["day", "answers", "passes", "mean_credit"])
    h["day"] = h["time_utc"].dt.floor("D")
    g = h.groupby("day")
    return pd.DataFrame(
        {
            "answers": g.size(),
            "passes": g["passed"].sum(),
            "mean_credit": g["credit"].mean(),
        }
    ).reset_index()


def history_csv(attempts: Sequence[Attempt]) -> str:
    """The history as CSV text (ISO-8601 UTC times), safe to open in a spreadsheet."""
    h = history_frame(attempts)
    h["time_utc"] = h["time_utc"].map(lambda t: t.isoformat())
    # A cell starting with = + - @ is run as a formula by spreadsheets: neutralise free text.
    h["feedback"] = h["feedback"].map(csv_cell)
    return h.to_csv(index=False)


@dataclass(frozen=True)
class ProgressReport:
    """Everything "My progress" shows, computed from a student's answers in one call."""

    history: pd.DataFrame
    daily: pd.DataFrame
    mastery: pd.DataFrame
    streaks: Streaks
    answers: int
    pass_rate: float | None
    mean_iou: float | None
    csv: str


def progress_report(attempts: Sequence[Attempt], today: dt.date | None = None) -> ProgressReport:
    """History, daily totals, per-organ mastery, streaks, headline numbers and the CSV export."""
    ious = [a.iou for a in attempts if a.iou is not None and a.kind == "locate"]
    return ProgressReport(
        history=history_frame(attempts),
        daily=daily_frame(attempts),
        mastery=mastery_frame(attempts),
        streaks=streaks(attempts, today),
        answers=len(attempts),
        pass_rate=sum(a.passed for a in attempts) / len(attempts) if attempts else None,
        mean_iou=sum(ious) / len(ious) if ious else None,
        csv=history_csv(attempts),
    )
