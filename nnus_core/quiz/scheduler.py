"""Spaced repetition driven by measured IoU: badly located organs and images come back sooner."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nnus_core.organs import N_ORGANS

# Review intervals per level: a miss drops to level 0 (back within the same quiz), each strong
# answer climbs one level. Minutes inside a session, then days, as in a Leitner box.
LEVEL_INTERVALS_S: tuple[float, ...] = (60.0, 600.0, 86_400.0, 3 * 86_400.0, 7 * 86_400.0, 21 * 86_400.0)
STRONG_IOU = 0.7  # a locate answer at or above this counts as mastered, not just passed
NOT_DUE_WEIGHT = 0.15
NEW_WEIGHT = 1.0


@dataclass(frozen=True)
class Outcome:
    """What the scheduler needs from one stored answer."""

    organ_id: int | None
    image_stem: str
    credit: float
    passed: bool
    iou: float | None
    at_s: float


@dataclass(frozen=True)
class ReviewItem:
    """The review state of one organ (or one organ in one image)."""

    level: int
    due_s: float
    last_credit: float
    answers: int
    lapses: int


def grade(outcome: Outcome) -> str:
    """Grade: "again" (not passed), "hard" (passed with IoU below STRONG_IOU) or "good"."""
    if not outcome.passed:
        return "again"
    if outcome.iou is not None and outcome.iou < STRONG_IOU:
        return "hard"
    return "good"


def step(item: ReviewItem | None, outcome: Outcome) -> ReviewItem:
    """The review state after one more answer."""
    level = item.level if item else 0
    g = grade(outcome)
    if g == "again":
        level = 0
    elif g == "good":
        level = min(level + 1, len(LEVEL_INTERVALS_S) - 1)
    else:
        level = max(level, 1)
    return ReviewItem(
        level=level,
        due_s=outcome.at_s + LEVEL_INTERVALS_S[level],
        last_credit=outcome.credit,
        answers=(item.answers if item else 0) + 1,
        lapses=(item.lapses if item else 0) + (g == "again"),
    )


def organ_states(history: Sequence[Outcome]) -> dict[int, ReviewItem]:
    """Review state per organ from a student's answers (any order; replayed by time)."""
    out: dict[int, ReviewItem] = {}
    for o in sorted(history, key=lambda h: h.at_s):
        if o.organ_id is not None:
            out[o.organ_id] = step(out.get(o.organ_id), o)
    return out


def image_states(history: Sequence[Outcome]) -> dict[tuple[str, int], ReviewItem]:
    """Review state per (image, organ) pair."""
    out: dict[tuple[str, int], ReviewItem] = {}
    for o in sorted(history, key=lambda h: h.at_s):
        if o.organ_id is not None:
            key = (o.image_stem, o.organ_id)
            out[key] = step(out.get(key), o)
    return out


def organ_weights(
    states: dict[int, ReviewItem], allowed: Sequence[int] | None, now_s: float
) -> dict[int, float]:
    """Sampling weight of each allowed organ: due and weak organs high, recently mastered ones low.

    New organs get NEW_WEIGHT; due organs 1 + 2 x (1 - last credit) + overdue share (max 1);
    organs not yet due NOT_DUE_WEIGHT x (1 + 2 x (1 - last credit)), so they still appear now and
    then, a weak one more often than a mastered one.
    """
    ids = list(allowed) if allowed else list(range(N_ORGANS))
    weights: dict[int, float] = {}
    for oid in ids:
        s = states.get(oid)
        if s is None:
            weights[oid] = NEW_WEIGHT
        elif s.due_s <= now_s:
            interval = LEVEL_INTERVALS_S[s.level]
            overdue = min(1.0, (now_s - s.due_s) / interval)
            weights[oid] = 1.0 + 2.0 * (1.0 - s.last_credit) + overdue
        else:
            weights[oid] = NOT_DUE_WEIGHT * (1.0 + 2.0 * (1.0 - s.last_credit))
    return weights


def images_due(
    states: dict[tuple[str, int], ReviewItem], now_s: float, allowed: Sequence[int] | None = None
) -> list[tuple[str, int]]:
    """(image, organ) pairs last answered badly whose review time has come, worst first."""
    due = [
        (k, s)
        for k, s in states.items()
        if s.level == 0 and s.due_s <= now_s and (not allowed or k[1] in allowed)
    ]
    due.sort(key=lambda ks: (ks[1].last_credit, ks[1].due_s))
    return [k for k, _ in due]
