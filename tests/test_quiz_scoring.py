"""Scoring table: drags to boxes, IoU credit, Locate / Identify / Present? / Label all, failing cases included."""

from __future__ import annotations

import math

import pytest

from nnus_core.errors import QuizInputError
from nnus_core.geometry import BoxPx
from nnus_core.quiz.scoring import (
    MSG_NO_BOX,
    MSG_OUTSIDE,
    MSG_ZERO_AREA,
    box_from_drag,
    credit_for_iou,
    score_choice,
    score_label_all,
    score_locate,
    score_presence,
)

W, H = 494, 447


def drag(x1, y1, x2, y2, width=W, height=H):
    return {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "width": width, "height": height, "unix_time": 1}


@pytest.mark.parametrize(
    "value, box, problem, clipped, reversed_",
    [
        (drag(10, 20, 110, 220), BoxPx(10, 20, 110, 220), None, False, False),
        # displayed at twice the natural size: coordinates halve
        (drag(20, 40, 220, 440, 988, 894), BoxPx(10, 20, 110, 220), None, False, False),
        # displayed smaller than natural: coordinates grow
        (drag(10, 10, 50, 50, 247, 223.5), BoxPx(20, 20, 100, 100), None, False, False),
        # dragged from bottom-right to top-left
        (drag(110, 220, 10, 20), BoxPx(10, 20, 110, 220), None, False, True),
        (drag(110, 20, 10, 220), BoxPx(10, 20, 110, 220), None, False, True),
        # released past the right/bottom edge, and past the top-left (negative)
        (drag(400, 300, 900, 700), BoxPx(400, 300, W, H), None, True, False),
        (drag(50, 60, -40, -30), BoxPx(0, 0, 50, 60), None, True, True),
        # a click without a drag, a 2-px sliver, nothing at all, malformed values
        (drag(100, 100, 100, 100), None, MSG_ZERO_AREA, False, False),
        (drag(100, 100, 102, 300), None, MSG_ZERO_AREA, False, False),
        (None, None, MSG_NO_BOX, False, False),
        ({}, None, MSG_NO_BOX, False, False),
        ({"x": 3, "y": 4}, None, MSG_NO_BOX, False, False),
        (drag("a", 1, 2, 3), None, MSG_NO_BOX, False, False),
        (drag(math.nan, 1, 200, 300), None, MSG_NO_BOX, False, False),
        (drag(1, 1, 200, 300, 0, 0), None, MSG_NO_BOX, False, False),
        # entirely outside the image: nothing left after clamping
        (drag(500, 10, 600, 100), None, MSG_OUTSIDE, True, False),
    ],
)
def test_box_from_drag(value, box, problem, clipped, reversed_):
    r = box_from_drag(value, W, H)
    assert r.problem == problem
    assert r.clipped is clipped
    assert r.reversed is reversed_
    if box is None:
        assert r.box is None
    else:
        assert r.box == pytest.approx(box)


@pytest.mark.parametrize(
    "iou_value, pass_iou, credit",
    [
        (1.0, 0.5, 1.0),
        (0.5, 0.5, 1.0),
        (0.49, 0.5, 0.98),
        (0.25, 0.5, 0.5),
        (0.0, 0.5, 0.0),
        (0.6, 0.7, 0.6 / 0.7),
        (0.7, 0.7, 1.0),
        (-0.1, 0.5, 0.0),
    ],
)
def test_credit_for_iou(iou_value, pass_iou, credit):
    assert credit_for_iou(iou_value, pass_iou) == pytest.approx(credit)


@pytest.mark.parametrize("pass_iou", [0.0, -0.5, 1.5])
def test_bad_pass_iou_is_refused(pass_iou):
    with pytest.raises(QuizInputError, match="pass IoU"):
        credit_for_iou(0.5, pass_iou)


GT = BoxPx(100, 100, 200, 200)  # area 10 000


@pytest.mark.parametrize(
    "box, gts, not_visible, pass_iou, outcome, passed, iou_value, matched",
    [
        (GT, [GT], False, 0.5, "pass", True, 1.0, 0),
        # IoU exactly 0.5: 100x150 box containing... (a 100x100 GT inside a 100x200 box -> 0.5)
        (BoxPx(100, 100, 200, 300), [GT], False, 0.5, "pass", True, 0.5, 0),
        # IoU just under the pass mark
        (BoxPx(100, 100, 200, 305), [GT], False, 0.5, "partial", False, 10000 / 20500, 0),
        (BoxPx(150, 150, 250, 250), [GT], False, 0.5, "partial", False, 2500 / 17500, 0),
        (BoxPx(300, 300, 350, 350), [GT], False, 0.5, "miss", False, 0.0, 0),
        # two instances of the organ: matched to the better one
        (
            BoxPx(300, 300, 400, 400),
            [GT, BoxPx(300, 300, 400, 410)],
            False,
            0.5,
            "pass",
            True,
            10000 / 11000,
            1,
        ),
        # a stricter pass mark
        (BoxPx(100, 100, 200, 300), [GT], False, 0.7, "partial", False, 0.5, 0),
        # "not visible": right when absent, wrong when present
        (None, [], True, 0.5, "correct", True, None, None),
        (None, [GT], True, 0.5, "miss", False, 0.0, None),
        # a box drawn for an organ that is not in the image
        (GT, [], False, 0.5, "miss", False, 0.0, None),
    ],
)
def test_score_locate(box, gts, not_visible, pass_iou, outcome, passed, iou_value, matched):
    s = score_locate(box, gts, not_visible=not_visible, pass_iou=pass_iou)
    assert s.outcome == outcome
    assert s.passed is passed
    assert s.matched_index == matched
    if iou_value is None:
        assert s.iou is None
    else:
        assert s.iou == pytest.approx(iou_value)
    assert 0.0 <= s.credit <= 1.0
    assert s.verdict


@pytest.mark.parametrize(
    "box, message",
    [(None, "Draw a box first"), (BoxPx(10, 10, 10, 50), "no area"), (BoxPx(10, 10, 50, 10), "no area")],
)
def test_score_locate_refuses_missing_or_empty_box(box, message):
    with pytest.raises(QuizInputError, match=message):
        score_locate(box, [GT])


@pytest.mark.parametrize(
    "choice, correct, passed, credit", [(2, 2, True, 1.0), (3, 2, False, 0.0), (0, 4, False, 0.0)]
)
def test_score_choice(choice, correct, passed, credit):
    s = score_choice(choice, correct)
    assert (s.passed, s.credit) == (passed, credit)


def test_score_choice_needs_a_choice():
    with pytest.raises(QuizInputError, match="Pick one"):
        score_choice(None, 2)


@pytest.mark.parametrize(
    "answer, truth, passed, phrase",
    [
        (True, True, True, "is visible"),
        (False, False, True, "is not visible"),
        (True, False, False, "is not visible"),
        (False, True, False, "is visible"),
    ],
)
def test_score_presence(answer, truth, passed, phrase):
    s = score_presence(answer, truth, 3)
    assert s.passed is passed
    assert phrase in s.verdict


def test_score_presence_plural_and_missing_answer():
    assert "are visible" in score_presence(True, True, 6).verdict
    with pytest.raises(QuizInputError, match="yes or no"):
        score_presence(None, True, 3)


THY, CCA = BoxPx(150, 120, 310, 230), BoxPx(330, 180, 410, 260)
GT_ALL = [(1, THY), (2, CCA)]


@pytest.mark.parametrize(
    "student, credit, passed, n_missed, n_extra",
    [
        ([(1, THY), (2, CCA)], 1.0, True, 0, 0),
        ([(2, CCA), (1, THY)], 1.0, True, 0, 0),  # order does not matter
        ([(1, THY)], 0.5, False, 1, 0),  # CCA missed
        ([(1, THY), (2, CCA), (3, BoxPx(420, 180, 480, 260))], 2 / 3, False, 0, 1),  # extra IJV box
        ([(1, CCA), (2, THY)], 0.0, False, 2, 2),  # names swapped: nothing matches
        ([(1, THY), (1, THY), (2, CCA)], 2 / 3, False, 0, 1),  # the same organ twice
    ],
)
def test_score_label_all(student, credit, passed, n_missed, n_extra):
    r = score_label_all(student, GT_ALL)
    assert r.score.credit == pytest.approx(credit)
    assert r.score.passed is passed
    assert len(r.missed) == n_missed
    assert len(r.extra) == n_extra


def test_score_label_all_partial_iou_and_empty_answer():
    half = BoxPx(THY.x1, THY.y1, THY.x2, THY.y1 + (THY.y2 - THY.y1) * 0.4)  # IoU 0.4
    r = score_label_all([(1, half), (2, CCA)], GT_ALL)
    assert r.score.credit == pytest.approx((0.4 / 0.5 + 1.0) / 2)
    assert not r.score.passed
    with pytest.raises(QuizInputError, match="Label at least one"):
        score_label_all([], GT_ALL)


def test_an_accepted_drag_says_what_was_done_to_it():
    from nnus_core.quiz.scoring import box_from_drag

    back_and_out = box_from_drag(
        {"x1": 300, "y1": 200, "x2": -20, "y2": 50, "width": 494, "height": 447}, 494, 447
    )
    assert back_and_out.box is not None and len(back_and_out.notes) == 2
    assert "clipped" in back_and_out.notes[0] and "sorted" in back_and_out.notes[1]
    assert box_from_drag(None, 494, 447).notes == ()  # no box: the problem is the message, no notes
