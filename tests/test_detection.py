"""The typed detections value: shapes checked once, iteration, indexing and row adapters."""

from __future__ import annotations

import numpy as np
import pytest

from nnus_core.detection import Detection, Detections
from nnus_core.geometry import BoxPx


def three() -> Detections:
    return Detections([[0, 0, 10, 10], [5, 5, 20, 30], [1, 2, 3, 4]], [0.9, 0.4, 1.0000001], [1, 2, 7])


def test_columns_are_normalised_and_iterate_as_detection_values():
    d = three()
    assert d.xyxy.dtype == np.float64 and d.class_id.dtype == np.int64 and len(d) == 3
    first, _, last = list(d)
    assert first == Detection(1, 0.9, BoxPx(0, 0, 10, 10))
    assert last.confidence == 1.0  # float noise above 1 is clipped, as a Detection requires


@pytest.mark.parametrize(
    ("index", "classes"),
    [(1, [2]), (slice(0, 2), [1, 2]), (np.array([True, False, True]), [1, 7]), ([2, 0], [7, 1])],
)
def test_indexing_always_gives_detections(index, classes):
    sub = three()[index]
    assert isinstance(sub, Detections) and sub.class_id.tolist() == classes


def test_confidence_mask_keeps_the_confident_boxes():
    d = three()
    assert d[d.confidence >= 0.5].class_id.tolist() == [1, 7]
    assert d[d.confidence >= 0.5] == d[[0, 2]] and d[[0, 2]] != d and d == three()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([[0, 0, 1]], [0.5], [1]), r"\(N, 4\)"),
        (([[0, 0, 1, 1]], [0.5, 0.6], [1]), "2 confidences"),
        (([[0, 0, 1, 1]], [0.5], [1, 2]), "2 class ids"),
    ],
)
def test_mismatched_columns_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        Detections(*args)


def test_empty_and_row_adapters_round_trip():
    e = Detections.empty()
    assert len(e) == 0 and e.xyxy.shape == (0, 4) and e.to_rows() == [] and list(e) == []
    rows = three().to_rows()
    back = Detections.from_rows(rows)
    assert back.class_id.tolist() == [1, 2, 7] and back.xyxy[1].tolist() == [5, 5, 20, 30]
    with pytest.raises(ValueError, match="organ_id, confidence and box"):
        Detections.from_rows([{"box": [0, 0, 1, 1]}])


def test_track_ids_survive_iteration_and_from_detections():
    tracked = [Detection(1, 0.8, BoxPx(0, 0, 4, 4), 7), Detection(2, 0.7, BoxPx(1, 1, 5, 5), 9)]
    d = Detections.from_detections(tracked)
    assert d.track_id.tolist() == [7, 9] and list(d) == tracked
    assert Detections.from_detections(tracked[:1] + [Detection(3, 0.5, BoxPx(0, 0, 1, 1))]).track_id is None


def test_ground_truth_from_boxes_has_confidence_one():
    gt = Detections.from_boxes([(4, BoxPx(0, 0, 2, 2))])
    assert gt.confidence.tolist() == [1.0] and gt.class_id.tolist() == [4]
