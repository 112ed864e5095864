"""Temporal smoothing: fewer appear/disappear events and less jitter than raw per-frame boxes."""

from __future__ import annotations

import numpy as np
import pytest

from nnus_core.detection import Detection
from nnus_core.geometry import BoxPx, iou
from nnus_core.video.tracking import (
    PassThrough,
    SmoothTracker,
    as_columns,
    detector_threshold,
    flicker_stats,
    make_tracker,
)
from tests.synthetic_video import noisy_detections

CONF = 0.25


def run(tracker, frames, kind="smooth"):
    low = detector_threshold(kind, CONF)  # what the pipeline asks the detector for
    return [tracker.update(as_columns([d for d in f if d.confidence >= low])) for f in frames]


def mean_iou(shown, truth):
    """Mean IoU with the true box over all frames (0 where the organ is not shown)."""
    vals = []
    for frame, true in zip(shown, truth, strict=True):
        for oid, box in true.items():
            vals.append(max((iou(d.box, box) for d in frame if d.organ_id == oid), default=0.0))
    return float(np.mean(vals))


def test_smoothing_removes_flicker_and_jitter_without_losing_accuracy():
    frames, truth = noisy_detections(300, seed=1)
    raw = run(PassThrough(CONF), frames, "none")
    smooth = run(SmoothTracker(CONF), frames)
    r, s = flicker_stats(raw), flicker_stats(smooth)
    assert r.toggles_per_100_frames > 40  # the raw boxes blink constantly
    assert s.toggles_per_100_frames < r.toggles_per_100_frames / 10
    assert s.jitter_px < r.jitter_px * 0.6
    assert mean_iou(smooth, truth) > mean_iou(raw, truth) + 0.1


def test_bytetrack_adapter_tracks_our_detections():
    pytest.importorskip("lap")
    frames, truth = noisy_detections(120, seed=2)
    raw = flicker_stats(run(PassThrough(CONF), frames, "none"))
    shown = run(make_tracker("bytetrack", CONF), frames, "bytetrack")
    bt = flicker_stats(shown)
    assert bt.toggles_per_100_frames < raw.toggles_per_100_frames / 4
    assert all(d.track_id is not None for f in shown for d in f)
    assert mean_iou(shown, truth) > 0.7


def det(oid, conf, x, y=10.0, w=40.0):
    return Detection(oid, conf, BoxPx(x, y, x + w, y + w))


def cols(*dets):
    return as_columns(list(dets))


def test_hysteresis_keeps_a_shown_organ_through_a_dip_but_never_shows_a_weak_newcomer():
    t = SmoothTracker(conf=0.5)  # shown from 0.5, hidden below 0.3
    assert t.update(cols(det(1, 0.9, 10))) and t.update(cols(det(1, 0.9, 11)))
    for x in range(12, 20):  # confidence dips to 0.35: still shown, with a stable id
        shown = t.update(cols(det(1, 0.35, x)))
        assert [d.track_id for d in shown] == [1]
    fresh = SmoothTracker(conf=0.5)
    for x in range(10, 20):
        assert fresh.update(cols(det(2, 0.35, x))) == []


def test_a_missed_frame_coasts_and_a_gone_organ_disappears():
    t = SmoothTracker(conf=0.25, max_missed=3)
    for x in range(10, 20):
        t.update(cols(det(1, 0.8, x)))
    coasting = t.update(cols())
    assert len(coasting) == 1 and coasting[0].box.x1 > 19  # moved on with its velocity
    for _ in range(3):
        t.update(cols())
    assert t.update(cols()) == []


def test_a_jump_does_not_leave_a_ghost_box_behind():
    t = SmoothTracker(conf=0.25)
    t.update(cols(det(1, 0.9, 10)))
    t.update(cols(det(1, 0.9, 10)))
    shown = t.update(cols(det(1, 0.9, 300)))  # same organ, far away (a cut in the video)
    assert len(shown) == 1 and shown[0].box.x1 > 250


def test_coast_follows_velocity_between_detector_frames():
    t = SmoothTracker(conf=0.25)
    for x in range(0, 40, 4):
        t.update(cols(det(1, 0.9, float(x))))
    before = t.update(cols(det(1, 0.9, 40.0)))[0].box.x1
    after = t.coast()[0].box.x1
    assert after > before


def test_unknown_tracker_name_is_rejected():
    with pytest.raises(ValueError, match="tracker must be one of"):
        make_tracker("kalman", CONF)


class Columns:
    """Any value with the three columns will do (the core's `Detections` is one)."""

    def __init__(self, xyxy, confidence, class_id):
        self.xyxy, self.confidence, self.class_id = xyxy, confidence, class_id


@pytest.mark.parametrize("kind", ["smooth", "none"])
def test_trackers_read_columns_of_any_detections_value(kind):
    t = make_tracker(kind, CONF)
    frame = Columns(
        np.array([[10.0, 10.0, 50.0, 50.0], [100.0, 20.0, 160.0, 70.0], [12.0, 11.0, 52.0, 49.0]]),
        np.array([0.9, 0.8, 0.1], dtype=np.float32),
        np.array([1, 2, 1]),
    )
    t.update(frame)
    shown = t.update(frame)
    # One box per organ: the weak duplicate of organ 1 is under the threshold and starts no track.
    assert sorted(d.organ_id for d in shown) == [1, 2]
    assert all((d.track_id is not None) == (kind == "smooth") for d in shown)
    assert all(isinstance(d, Detection) for d in shown)
    empty = Columns(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=int))
    assert isinstance(t.update(empty), list)


def test_as_columns_keeps_a_columnar_value_and_converts_a_list():
    c = Columns(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=int))
    assert as_columns(c) is c
    got = as_columns([det(3, 0.5, 10.0), det(1, 0.7, 20.0)])
    assert got.xyxy.shape == (2, 4) and got.class_id.tolist() == [3, 1]
    assert got.confidence.tolist() == [0.5, 0.7]
    assert as_columns([]).xyxy.shape == (0, 4)
