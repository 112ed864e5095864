"""Geometric feedback: depth, side (with the image's lateral direction), size, confusion; scheduler table."""

from __future__ import annotations

import pytest

from nnus_core.dataset.model import Annotation
from nnus_core.geometry import BoxPx
from nnus_core.quiz import feedback as fb
from nnus_core.quiz import scheduler as sch

# A right-lobe transverse frame: trachea at the left of the screen, lateral is to the right.
TRA = Annotation(0, BoxPx(20, 150, 110, 260))
THY = Annotation(1, BoxPx(130, 120, 290, 230))
CCA = Annotation(2, BoxPx(330, 180, 410, 260))
IJV = Annotation(3, BoxPx(420, 170, 480, 230))
SCM = Annotation(7, BoxPx(300, 60, 470, 130))
FRAME = (TRA, THY, CCA, IJV, SCM)


def shifted(b: BoxPx, dx: float = 0, dy: float = 0, grow: float = 1.0) -> BoxPx:
    cx, cy = b.center
    w, h = b.width * grow / 2, b.height * grow / 2
    return BoxPx(cx + dx - w, cy + dy - h, cx + dx + w, cy + dy + h)


@pytest.mark.parametrize(
    "annotations, expected",
    [
        (FRAME, 1),
        (
            tuple(
                Annotation(a.organ_id, BoxPx(494 - a.box.x2, a.box.y1, 494 - a.box.x1, a.box.y2))
                for a in FRAME
            ),
            -1,
        ),
        ((CCA,), None),
        ((), None),
    ],
)
def test_lateral_direction(annotations, expected):
    assert fb.lateral_direction(annotations) == expected


@pytest.mark.parametrize(
    "box, lateral, phrases",
    [
        # the issue's own example: a box too close to the skin over the CCA (feedback writes the name out)
        (
            shifted(CCA.box, dy=-70),
            1,
            ["Too superficial: the common carotid artery lies deeper", "lateral to the thyroid lobe"],
        ),
        (shifted(CCA.box, dy=70), 1, ["Too deep: the common carotid artery lies more superficial"]),
        (shifted(CCA.box, dx=-60), 1, ["Too medial", "more lateral"]),
        (shifted(CCA.box, dx=60), -1, ["Too medial"]),  # mirrored image: +x is medial
        (shifted(CCA.box, dx=-60), None, ["Too far left on the screen", "further right"]),
        (shifted(CCA.box, dy=-70, dx=-60), 1, ["Too superficial and too medial"]),
        (shifted(CCA.box, grow=2.0), 1, ["4.0x the organ's area"]),
        (shifted(CCA.box, grow=0.5), 1, ["covers 25% of the organ's area"]),
        (shifted(CCA.box, dx=5), 1, ["Well placed"]),
    ],
)
def test_locate_feedback(box, lateral, phrases):
    text = " ".join(fb.locate_feedback(2, box, CCA.box, FRAME, lateral))
    for p in phrases:
        assert p in text, text


def test_locate_feedback_names_the_organ_boxed_instead():
    lines = fb.locate_feedback(2, IJV.box, CCA.box, FRAME, 1)
    assert lines[0].startswith("Your box fits the Internal jugular vein")
    assert "collapses" in lines[0]  # the CCA card's "confused with" advice


def test_plural_organ_wording_and_absent_feedback():
    assert "Strap muscles are not in this view" in fb.absent_feedback(6)
    assert "lie " in fb.identify_feedback(2, 6)
    assert fb.present_missed_feedback(3).startswith("The Internal jugular vein is in this image")


def out(organ_id, credit, passed, iou, at_s, stem="0001"):
    return sch.Outcome(organ_id, stem, credit, passed, iou, at_s)


@pytest.mark.parametrize(
    "outcome, grade",
    [
        (out(2, 1.0, True, 0.9, 0), "good"),
        (out(2, 1.0, True, 0.55, 0), "hard"),
        (out(2, 0.6, False, 0.3, 0), "again"),
        (out(2, 1.0, True, None, 0), "good"),
        (out(2, 0.0, False, None, 0), "again"),
    ],
)
def test_grade(outcome, grade):
    assert sch.grade(outcome) == grade


def test_step_climbs_on_strong_answers_and_drops_on_a_miss():
    item = None
    levels = []
    for i, (credit, passed, value) in enumerate(
        [(1, True, 0.9), (1, True, 0.8), (1, True, 0.6), (0.2, False, 0.1)]
    ):
        item = sch.step(item, out(2, credit, passed, value, i * 10.0))
        levels.append(item.level)
    assert levels == [1, 2, 2, 0]
    assert item.due_s == 30.0 + sch.LEVEL_INTERVALS_S[0]
    assert (item.answers, item.lapses) == (4, 1)


def test_weights_bring_weak_organs_back_sooner():
    now = 10_000.0
    hist = [out(2, 0.1, False, 0.05, now - 200), out(1, 1.0, True, 0.9, now - 200)]
    w = sch.organ_weights(sch.organ_states(hist), None, now)
    assert w[2] > w[0] > w[1]  # missed CCA > never-seen trachea > mastered thyroid (not due)
    assert w[1] == sch.NOT_DUE_WEIGHT
    # not yet due but weak still outweighs not yet due and mastered
    w_soon = sch.organ_weights(sch.organ_states(hist), None, now - 150)
    assert w_soon[2] > w_soon[1]
    # restricted to an organ filter
    assert set(sch.organ_weights({}, [2, 3], now)) == {2, 3}


def test_images_due_lists_badly_answered_images_worst_first():
    now = 10_000.0
    hist = [
        out(2, 0.4, False, 0.2, now - 500, "a"),
        out(2, 0.0, False, 0.0, now - 500, "b"),
        out(1, 0.0, False, 0.0, now - 10, "c"),  # not due yet
        out(3, 1.0, True, 0.9, now - 500, "d"),  # answered well
        out(2, 0.0, False, 0.0, now - 900, "e"),
        out(2, 1.0, True, 0.9, now - 800, "e"),  # later answered well: no longer due
    ]
    assert sch.images_due(sch.image_states(hist), now) == [("b", 2), ("a", 2)]
    assert sch.images_due(sch.image_states(hist), now, allowed=[1]) == []


@pytest.mark.parametrize("organ_id", range(8))
def test_feedback_writes_organ_names_out_for_students(organ_id):
    """No "tighten the box on the TRA": every sentence names the organ in words, never by its tag."""
    from nnus_core.organs import ORGANS

    truth = BoxPx(100, 100, 200, 180)
    sentences = [
        *fb.locate_feedback(organ_id, shifted(truth, dx=12, dy=8), truth, FRAME, 1),  # "Close: tighten ..."
        *fb.locate_feedback(organ_id, shifted(truth, dy=-90), truth, FRAME, 1),
        *fb.locate_feedback(organ_id, truth, truth, FRAME, 1),
        fb.identify_feedback(organ_id, organ_id),
        fb.identify_feedback(organ_id, (organ_id + 1) % 8),
    ]
    text = " ".join(sentences)
    assert ORGANS[organ_id].name.lower() in text.lower()
    for o in ORGANS:
        assert f" {o.short} " not in f" {text} ".replace(".", " ").replace(",", " ").replace(":", " "), text
