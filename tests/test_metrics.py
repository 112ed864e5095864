"""Detection metrics: hand-checked AP, matching, P/R at best F1, confusion matrix, per-image lists."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnus_core.detector.metrics import (
    RECALL_POINTS,
    ImagePredictions,
    compute_metrics,
    confusion_diagonal,
    confusion_matrix,
    image_outcome,
)
from nnus_core.detector.report_schema import metrics_json
from nnus_core.matching import greedy_match

NAMES = ("A", "B", "C")


def _one_class(tp: list[int], conf: list[float], n_gt: int) -> ImagePredictions:
    """Class-0 predictions in the given order: a hit lies on the next unclaimed ground truth, a miss far away."""
    gt = [[i * 20, 0, i * 20 + 10, 10] for i in range(n_gt)]
    hits = iter(gt)
    pred = [next(hits) if t else [500 + j * 20, 500, 510 + j * 20, 510] for j, t in enumerate(tp)]
    return ImagePredictions.from_arrays(
        "x", gt, [0] * n_gt, np.array(pred, float).reshape(-1, 4), conf, [0] * len(tp)
    )


# ultralytics' AP (the one definition, see the metrics module): the precision envelope, linearly
# interpolated at the 101 recall points and integrated with the trapezoid rule; at a recall step the
# point takes the lower precision, so the trapezoid on either side of a step is a half-step.
@pytest.mark.parametrize(
    ("tp", "conf", "n_gt", "expected"),
    [
        # perfect ranking: precision 1 up to recall 1, where it falls to 0 -> 99 full steps + a half
        ([1, 1], [0.9, 0.8], 2, 0.995),
        # T F T: precision 1 to recall .5, then 2/3 to recall 1 ->
        # 0.49 x 1 + half-step (1 + 2/3) / 2 + 0.49 x 2/3 + half-step (2/3 + 0) / 2
        ([1, 0, 1], [0.9, 0.8, 0.7], 2, 0.49 + 0.01 * 5 / 6 + 0.49 * 2 / 3 + 0.01 / 3),
        # F T: the only recall level (1.0) is reached at precision 1/2 -> 0.5, less half a step at each end
        ([0, 1], [0.9, 0.8], 1, 0.5 - 0.0025),
        # half the ground truth found, precision 1 -> 0.49 + a half-step at recall 0.5
        ([1], [0.9], 2, 0.495),
        # nothing predicted
        ([], [], 3, 0.0),
        # confidences out of order: sorted to T(.9) F(.5) -> a perfect ranking of 1 box
        ([0, 1], [0.5, 0.9], 1, 0.995),
    ],
)
def test_average_precision_hand_checked(tp, conf, n_gt, expected):
    ap50 = compute_metrics([_one_class(tp, conf, n_gt)], NAMES).classes[0].ap50
    assert ap50 == pytest.approx(expected, abs=1e-9)


def test_pr_curve_is_the_monotone_envelope_and_zero_beyond_max_recall():
    pr = compute_metrics([_one_class([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.6], 4)], NAMES).pr_precision[0]
    assert len(pr) == len(RECALL_POINTS) and np.all(np.diff(pr) <= 1e-12)
    assert pr[0] == 1.0 and pr[35] == pytest.approx(2 / 3) and np.all(pr[51:] == 0.0)


@pytest.mark.parametrize(
    ("iou", "allowed", "thr", "strict", "expected"),
    [
        # highest IoU first: gt0-pred1 (0.9), then gt1 can only take pred0 (0.6)
        ([[0.8, 0.9], [0.6, 0.7]], None, 0.5, False, [(0, 1), (1, 0)]),
        # below threshold: nothing
        ([[0.4]], None, 0.5, False, []),
        # exactly at threshold: >= keeps it, > (strict) drops it
        ([[0.5]], None, 0.5, False, [(0, 0)]),
        ([[0.5]], None, 0.5, True, []),
        # a disallowed pair (other class) is skipped even with the best IoU
        ([[0.9, 0.6]], [[False, True]], 0.5, False, [(0, 1)]),
        # one prediction, two ground truths: only one pair
        ([[0.7], [0.8]], None, 0.5, False, [(1, 0)]),
    ],
)
def test_greedy_match(iou, allowed, thr, strict, expected):
    a = None if allowed is None else np.array(allowed)
    assert greedy_match(np.array(iou, float), a, thr, strict) == expected


def _img(gt, gtc, pred, conf, pc, name="im"):
    return ImagePredictions.from_arrays(
        name, np.array(gt, float), np.array(gtc), np.array(pred, float), np.array(conf), np.array(pc)
    )


def test_ap50_95_counts_iou_thresholds():
    # IoU 0.72 (box 10 x 7.2 inside a 10 x 10 ground truth): a hit at 0.50..0.70 (5 of 10
    # thresholds), a miss at 0.75..0.95 -> AP50 0.995 (a perfect class), AP50:95 5 x 0.995 / 10
    m = compute_metrics([_img([[0, 0, 10, 10]], [0], [[0, 0, 10, 7.2]], [0.9], [0])], NAMES)
    c = m.classes[0]
    assert c.ap50 == pytest.approx(0.995)
    assert c.ap50_95 == pytest.approx(0.4975)
    # classes without ground truth are reported as None and left out of the mean
    assert (
        m.classes[1].ap50 is None
        and m.overall.map50 == pytest.approx(0.995)
        and m.overall.map50_95 == pytest.approx(0.4975)
    )


def test_wrong_class_is_not_a_true_positive():
    m = compute_metrics([_img([[0, 0, 10, 10]], [0], [[0, 0, 10, 10]], [0.9], [1])], NAMES)
    assert m.classes[0].ap50 == 0.0 and m.classes[0].recall == 0.0


def test_map_over_two_classes_and_images():
    images = [
        # class 0: T(.9) F(.8) on image 1, T(.7) on image 2 -> T F T of 2 boxes (see above)
        _img([[0, 0, 10, 10]], [0], [[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.8], [0, 0], "1"),
        _img(
            [[0, 0, 10, 10], [20, 20, 30, 30]],
            [0, 1],
            [[0, 0, 10, 10], [20, 20, 30, 30]],
            [0.7, 0.6],
            [0, 1],
            "2",
        ),
    ]
    m = compute_metrics(images, NAMES)
    ap0 = 0.49 + 0.01 * 5 / 6 + 0.49 * 2 / 3 + 0.01 / 3
    assert m.classes[0].ap50 == pytest.approx(ap0)
    assert m.classes[1].ap50 == pytest.approx(0.995)
    assert m.overall.map50 == pytest.approx((ap0 + 0.995) / 2)


def test_precision_recall_at_best_f1():
    # class 0, 2 ground truths, predictions T(.9) F(.6) T(.3):
    #   keep conf >= t for t <= .3: P 2/3, R 1 -> F1 0.8 (the best)
    #   .3 < t <= .6: P 1/2, R 1/2 -> 0.5;  .6 < t <= .9: P 1, R 1/2 -> 2/3
    img = _img(
        [[0, 0, 10, 10], [20, 20, 30, 30]],
        [0, 0],
        [[0, 0, 10, 10], [50, 50, 60, 60], [20, 20, 30, 30]],
        [0.9, 0.6, 0.3],
        [0, 0, 0],
    )
    m = compute_metrics([img], NAMES)
    assert m.overall.precision == pytest.approx(2 / 3) and m.overall.recall == pytest.approx(1.0)
    assert m.overall.f1 == pytest.approx(0.8) and m.overall.f1_conf <= 0.3


def test_confusion_matrix_rows_predicted_columns_true():
    img = _img(
        [[0, 0, 10, 10], [20, 20, 30, 30]],
        [0, 1],
        # class-1 box on the class-0 organ; a class-2 box on nothing; a class-0 box below conf
        [[0, 0, 10, 9], [100, 100, 110, 110], [20, 20, 30, 30]],
        [0.5, 0.6, 0.1],
        [1, 2, 1],
    )
    cm = confusion_matrix([img], 3, conf=0.25, iou_threshold=0.45)
    expected = np.zeros((4, 4), int)
    expected[1, 0] = 1  # true A predicted as B
    expected[3, 1] = 1  # B missed (background row)
    expected[2, 3] = 1  # C predicted on background
    assert (cm == expected).all()
    assert confusion_diagonal(cm) == [0.0, 0.0, None]


def test_image_outcome_lists():
    img = _img(
        [[0, 0, 10, 10], [20, 20, 30, 30]],
        [0, 1],
        [[0, 0, 10, 10], [0, 0, 10, 8], [20, 20, 30, 30]],
        [0.9, 0.8, 0.1],
        [0, 1, 1],
    )
    out = image_outcome(img, NAMES, conf=0.25, iou_threshold=0.5).to_json()
    assert [(e["name"], e["iou"]) for e in out["tp"]] == [("A", 1.0)]
    assert [(e["name"], e["best_iou"], e["best_gt_class"]) for e in out["fp"]] == [("B", 0.8, 0)]
    assert [e["name"] for e in out["fn"]] == ["B"]


def test_metrics_json_is_nan_free_and_complete():
    m = compute_metrics([_img([[0, 0, 10, 10]], [0], [], [], [])], NAMES)
    d = metrics_json(m)
    json.dumps(d, allow_nan=False)
    assert d["overall"]["map50"] == 0.0
    assert len(d["pr_curves"]["recall"]) == 101 and set(d["pr_curves"]["precision"]) == set(NAMES)
    assert d["confusion_matrix"]["labels"] == [*NAMES, "background"]


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one class per ground-truth box"):
        ImagePredictions.from_arrays(
            "x", np.zeros((2, 4)), np.zeros(1), np.zeros((0, 4)), np.zeros(0), np.zeros(0)
        )
