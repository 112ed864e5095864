"""Matching a model's detections to the ground truth of one image: found, missed, false positive."""

from __future__ import annotations

import numpy as np
import pytest

from nnus_core.dataset.model import Annotation
from nnus_core.detection import Detection
from nnus_core.geometry import BoxPx
from nnus_core.matching import OUTCOME_COLORS, Outcome, match_image, match_overlays, match_rows, outcome_rgb

THY = Annotation(1, BoxPx(100, 100, 200, 200))
CCA = Annotation(2, BoxPx(300, 150, 360, 210))
SCM = Annotation(7, BoxPx(280, 40, 440, 110))


def det(organ: int, conf: float, x1: float, y1: float, x2: float, y2: float) -> Detection:
    return Detection(organ, conf, BoxPx(x1, y1, x2, y2))


def outcomes(m) -> list[tuple[str, int]]:
    return [(x.outcome.value, x.organ_id) for x in m.matches]


def test_all_found_with_their_iou_and_confidence():
    m = match_image([THY, CCA], [det(1, 0.9, 110, 100, 210, 200), det(2, 0.8, 300, 150, 360, 210)])
    assert outcomes(m) == [("tp", 1), ("tp", 2)]
    thy = m.tp[0]
    # 90x100 overlap of two 100x100 boxes: 9000 / (10000 + 10000 - 9000)
    assert thy.iou == pytest.approx(9000 / 11000)
    assert thy.confidence == 0.9 and thy.gt_box == THY.box and thy.pred_box.x1 == 110
    assert m.precision == 1.0 and m.recall == 1.0


@pytest.mark.parametrize(
    ("detections", "expected", "why"),
    [
        ([], [("fn", 1), ("fn", 2)], "no detections: everything missed"),
        ([det(2, 0.9, 100, 100, 200, 200)], [("fn", 1), ("fn", 2), ("fp", 2)], "right place, wrong organ"),
        ([det(1, 0.9, 150, 150, 250, 250)], [("fn", 1), ("fn", 2), ("fp", 1)], "IoU 0.14 is below 0.5"),
        ([det(1, 0.2, 100, 100, 200, 200)], [("fn", 1), ("fn", 2)], "below the confidence threshold"),
        (
            [det(1, 0.9, 100, 100, 200, 200), det(1, 0.6, 102, 100, 202, 200)],
            [("tp", 1), ("fn", 2), ("fp", 1)],
            "a duplicate of a found organ is a false positive",
        ),
    ],
)
def test_misses_and_false_positives(detections, expected, why):
    assert outcomes(match_image([THY, CCA], detections)) == expected, why


def test_greedy_pairs_the_highest_iou_first():
    a = Annotation(6, BoxPx(0, 0, 100, 20))
    b = Annotation(6, BoxPx(0, 15, 100, 35))
    d1 = det(6, 0.5, 0, 14, 100, 34)  # IoU with b 0.9, with a ~0.14
    d2 = det(6, 0.9, 0, 2, 100, 22)  # IoU with a ~0.82
    m = match_image([a, b], [d1, d2])
    pairs = {(x.gt_box, x.pred_box) for x in m.tp}
    assert pairs == {(a.box, d2.box), (b.box, d1.box)}


def test_false_positive_names_the_organ_it_overlaps():
    m = match_image([THY], [det(6, 0.7, 100, 100, 200, 190)])
    fp = m.fp[0]
    assert fp.overlaps_organ_id == 1 and fp.iou == pytest.approx(0.9)
    row = [r for r in match_rows(m) if r["outcome"] == "false positive"][0]
    assert "Thyroid" in row["note"] and "wrong organ" in row["note"]
    far = match_image([THY], [det(6, 0.7, 400, 400, 420, 420)]).fp[0]
    assert far.overlaps_organ_id is None and far.iou == 0.0


def test_miss_reports_the_nearest_same_organ_detection():
    m = match_image([THY], [det(1, 0.9, 150, 150, 250, 250)], iou_threshold=0.5)
    assert m.fn[0].iou == pytest.approx(2500 / 17500)
    assert "IoU 0.14" in match_rows(m)[0]["note"]


def test_iou_threshold_changes_the_verdict():
    d = [det(1, 0.9, 150, 150, 250, 250)]
    assert not match_image([THY], d, iou_threshold=0.5).tp
    assert match_image([THY], d, iou_threshold=0.1).tp


def test_empty_image_has_undefined_precision_and_recall():
    m = match_image([], [])
    assert m.matches == () and m.precision is None and m.recall is None


def test_rejects_a_bad_iou_threshold():
    with pytest.raises(ValueError, match="iou_threshold"):
        match_image([THY], [], iou_threshold=0.0)


def test_overlays_tag_each_outcome_and_keep_line_styles():
    m = match_image(
        [THY, CCA, SCM],
        [det(1, 0.9, 100, 100, 200, 200), det(3, 0.4, 10, 10, 40, 40), det(7, 0.8, 280, 40, 440, 110)],
    )
    ovs = match_overlays(m)
    labels = [o.label for o in ovs if o.label]
    assert any(lbl.startswith("OK THY 0.90 IoU 1.00") for lbl in labels)
    assert "MISS CCA" in labels and "FP IJV 0.40" in labels
    # Ground truth solid, model dashed; outcome colours in the outcome view.
    assert {o.style for o in ovs if o.label.startswith("MISS")} == {"solid"}
    assert {o.style for o in ovs if o.label.startswith(("OK", "FP"))} == {"dashed"}
    assert {o.color for o in ovs if o.label.startswith("FP")} == {outcome_rgb(Outcome.FP)}
    # Organ view: no colour override, so the organ colours apply.
    assert all(o.color is None for o in match_overlays(m, color_by="organ"))
    assert len(match_overlays(m, show_gt_of_found=False)) == len(ovs) - len(m.tp)
    with pytest.raises(ValueError, match="color_by"):
        match_overlays(m, color_by="rainbow")


def test_outcome_colours_are_distinct():
    assert len(set(OUTCOME_COLORS.values())) == 3


def test_agrees_with_the_evaluation_per_image_outcome():
    """The page's matching and the evaluation's per-image lists must tell the same story."""
    metrics = pytest.importorskip("nnus_core.detector.metrics")
    rng = np.random.default_rng(3)
    for _ in range(20):
        gts = [
            Annotation(int(rng.integers(0, 8)), BoxPx(x, y, x + w, y + h))
            for x, y, w, h in rng.uniform([0, 0, 20, 20], [400, 350, 120, 90], size=(5, 4))
        ]
        dets = [
            Detection(
                a.organ_id if rng.random() < 0.8 else int(rng.integers(0, 8)),
                float(rng.uniform(0.05, 1)),
                BoxPx(a.box.x1 + d, a.box.y1 + d, a.box.x2 + d, a.box.y2 + d),
            )
            for a, d in zip(gts, rng.uniform(-15, 15, size=5), strict=False)
        ]
        ours = match_image(gts, dets, min_confidence=0.25)
        ip = metrics.ImagePredictions.from_arrays(
            "x",
            [a.box.as_tuple() for a in gts],
            [a.organ_id for a in gts],
            [d.box.as_tuple() for d in dets],
            [d.confidence for d in dets],
            [d.organ_id for d in dets],
        )
        theirs = metrics.image_outcome(ip, [str(i) for i in range(8)], conf=0.25, iou_threshold=0.5)
        assert (len(ours.tp), len(ours.fp), len(ours.fn)) == (len(theirs.tp), len(theirs.fp), len(theirs.fn))
        assert sorted(x.iou for x in ours.tp) == pytest.approx(sorted(t.iou for t in theirs.tp), abs=1e-4)


def test_pair_boxes_same_class_or_any_class_and_strict():
    from nnus_core.detection import Detections
    from nnus_core.matching import pair_boxes

    truth = Detections([[0, 0, 10, 10], [20, 0, 30, 10]], [1, 1], [0, 1])
    pred = Detections([[0, 0, 10, 10], [20, 0, 30, 5], [50, 50, 60, 60]], [0.9, 0.8, 0.7], [1, 1, 2])
    same = pair_boxes(truth, pred, 0.5)  # pred 0 sits on truth 0 but names another class
    assert same.pairs == ((1, 1),) and same.missed == (0,) and same.unpaired == (0, 2)
    assert same.best_truth(0) == (0, 1.0) and same.best_truth(2) == (None, 0.0)
    assert same.best_same_class(0) == 0.0
    anyc = pair_boxes(truth, pred, 0.5, any_class=True)  # the confusion matrix's pairing
    assert anyc.pairs == ((0, 0), (1, 1)) and anyc.unpaired == (2,)
    assert pair_boxes(truth, pred, 0.5, strict=True).pairs == ()  # IoU of pred 1 is exactly 0.5
