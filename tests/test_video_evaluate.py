"""Scoring a processed clip against per-frame ground truth, and the timeline built from its CSV."""

from __future__ import annotations

import pandas as pd
import pytest

from nnus_core.errors import VideoError
from nnus_core.organs import ORGANS
from nnus_core.video.detections_csv import CSV_COLUMNS, rows_at
from nnus_core.video.evaluate import score_clip, scores_table
from nnus_core.video.timeline import timeline_figure


def write(path, rows, columns):
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


def det_row(frame, oid, box, conf=0.9):
    return (frame, frame / 10, oid, ORGANS[oid].name, conf, *box, 1, 1)


def test_detection_rate_iou_and_false_frames(tmp_path):
    gt = write(
        tmp_path / "gt.csv",
        [(f, f / 10, 1, "Thyroid", 10, 10, 50, 50) for f in range(4)] + [(0, 0.0, 2, "CCA", 60, 60, 80, 80)],
        ["frame", "time_s", "organ_id", "organ", "x1", "y1", "x2", "y2"],
    )
    det = write(
        tmp_path / "det.csv",
        [
            det_row(0, 1, (10, 10, 50, 50)),  # exact
            det_row(1, 1, (12, 12, 52, 52)),  # close
            det_row(2, 1, (40, 40, 90, 90)),  # shown, but in the wrong place
            # frame 3: thyroid missed
            det_row(5, 1, (10, 10, 50, 50)),  # a thyroid box where there is none
        ],
        CSV_COLUMNS,
    )
    scores = {s.organ_id: s for s in score_clip(det, gt)}
    thy, cca = scores[1], scores[2]
    assert (thy.gt_frames, thy.found_frames, thy.false_frames) == (4, 2, 1)
    assert thy.detection_rate == pytest.approx(0.5)
    assert 0.3 < thy.mean_iou < 0.7  # mean over the 3 frames where it was shown
    assert (cca.gt_frames, cca.found_frames, cca.mean_iou) == (1, 0, None)
    table = scores_table(list(scores.values()))
    assert list(table.organ) == ["Thyroid", "Common carotid artery"]  # organs never present are omitted


def test_csv_without_the_needed_columns_is_refused(tmp_path):
    bad = write(tmp_path / "bad.csv", [(1, 2)], ["a", "b"])
    with pytest.raises(VideoError, match="missing frame, organ_id"):
        score_clip(bad, bad)


def test_timeline_has_one_trace_per_organ_in_its_colour(tmp_path):
    df = pd.DataFrame(
        [det_row(f, oid, (0, 0, 5, 5), conf=0.5) for f in range(20) for oid in (0, 3)], columns=CSV_COLUMNS
    )
    gt = pd.DataFrame({"frame": [0, 1], "time_s": [0.0, 0.1], "organ_id": [0, 0]})
    fig = timeline_figure(df, duration_s=2.0, gt=gt, marker_time_s=1.0)
    traces = {t.name: t for t in fig.data}
    assert set(traces) == {"ground truth", "Trachea", "Internal jugular vein"}
    assert traces["Trachea"].marker.color == ORGANS[0].color
    assert len(traces["Trachea"].x) == 20
    assert fig.layout.xaxis.range == (0, 2.0)
    assert len(rows_at(df, 0.5)) == 2  # frame 5: both organs
