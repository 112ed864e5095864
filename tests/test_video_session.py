"""A session's video job without Streamlit: freshness of a stored result, captions, shared detectors, the frame view."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from nnus_core.video import VideoOptions, session
from nnus_core.video.detections_csv import detections_table, read_detections, read_ground_truth
from nnus_core.video.workspace import SessionWorkspace
from tests.synthetic_video import BRIGHT_ORGAN_ID, DARK_ORGAN_ID, BlobDetector, write_test_clip

OPTS = VideoOptions()


def upload(name="scan.mp4", token="upload:1", **kw) -> session.VideoInput:
    return session.VideoInput(Path(name), name, token, **kw)


def test_a_stored_result_is_fresh_only_for_its_input_options_and_model():
    inp = upload()
    # The result itself is not consulted.
    stored = session.StoredResult(inp.token, OPTS, "model-a", result=None)
    assert session.is_fresh(stored, inp, OPTS, "model-a")
    assert session.process_label(stored, inp, OPTS, "model-a") == "Processed with these options"
    assert not session.is_fresh(stored, inp, OPTS.update(conf=0.5), "model-a")
    assert (
        session.process_label(stored, inp, OPTS.update(conf=0.5), "model-a")
        == "Process again with these options"
    )
    assert session.process_label(stored, inp, OPTS, "model-b") == "Process again with these options"
    assert session.process_label(stored, upload(token="upload:2"), OPTS, "model-a") == "Process video"
    assert session.process_label(None, inp, OPTS, "model-a") == "Process video"
    assert not session.is_fresh(None, inp, OPTS, "model-a")


@pytest.mark.parametrize(
    "inp, image_source, sweep_source, expected",
    [
        (upload(), False, False, True),
        (upload(), True, False, False),
        (upload(), False, True, False),
        (upload("x.png", is_image=True), True, False, True),
        (upload("x.png", is_image=True), False, False, False),
        (upload("s.mp4", "sweep:transverse:5:0", synthetic=True), False, True, True),
        (upload("s.mp4", "sweep:transverse:5:0", synthetic=True), False, False, False),
    ],
)
def test_an_input_shows_only_under_its_own_source(inp, image_source, sweep_source, expected):
    assert inp.belongs_to(image_source=image_source, sweep_source=sweep_source) is expected


def test_every_frame_carries_the_phantom_label_or_the_model_note():
    note = "MODEL TRAINED ON SYNTHETIC IMAGES"
    assert session.options_for_input(OPTS, upload(synthetic=True), note).caption == session.SYNTHETIC_CAPTION
    assert session.options_for_input(OPTS, upload(), note).caption == note
    assert session.options_for_input(OPTS, upload(), "").caption == ""


def test_a_shared_detector_runs_one_frame_at_a_time():
    class Slow:
        input_hw = (288, 320)
        running = 0
        most = 0

        def predict(self, image, conf=0.25, iou=0.7):
            Slow.running += 1
            Slow.most = max(Slow.most, Slow.running)
            time.sleep(0.01)
            Slow.running -= 1
            return []

    (locked,) = session.shared_detectors([Slow()])
    assert locked.input_hw == (288, 320)
    threads = [threading.Thread(target=locked.predict, args=(None,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Slow.most == 1
    # Two detectors get two locks: a run can use both at once.
    a, b = session.shared_detectors([Slow(), Slow()])
    assert isinstance(a, session.LockedDetector) and a._lock is not b._lock


def test_frame_view_reads_the_frame_and_its_boxes_from_the_csv(tmp_path):
    clip = tmp_path / "scan.mp4"
    truth = write_test_clip(clip, width=240, height=180, n_frames=20, fps=10)
    inp = upload(str(clip), token="upload:t")
    with SessionWorkspace("test", root=tmp_path / "ws") as ws:
        res = session.process_input(inp, BlobDetector(), VideoOptions(tracker="none"), ws)
        df = read_detections(res.csv_path)
        duration, step = session.timeline_axis(res, df)
        assert duration == pytest.approx(2.0, abs=0.11) and step == pytest.approx(0.1)
        gt = pd.DataFrame(
            [
                {
                    "frame": f.index,
                    "time_s": f.time_s,
                    "organ_id": oid,
                    "x1": b.x1,
                    "y1": b.y1,
                    "x2": b.x2,
                    "y2": b.y2,
                }
                for f in truth
                for oid, b in f.boxes.items()
            ]
        )
        gt.to_csv(tmp_path / "gt.csv", index=False)
        view = session.frame_view(inp, res, df, read_ground_truth(tmp_path / "gt.csv"), 1.0)
        assert view.time_s == pytest.approx(1.0) and view.rgb.shape == (180, 240, 3)
        assert {d.organ_id for d in view.shown} == {BRIGHT_ORGAN_ID, DARK_ORGAN_ID}
        assert {a.organ_id for a in view.truth} == {BRIGHT_ORGAN_ID, DARK_ORGAN_ID}
        assert session.frame_view(inp, res, df, None, 1.0).truth is None
        table = detections_table(view.shown)
        assert list(table.columns) == ["organ", "confidence", "x1", "y1", "x2", "y2"]
        assert set(table.organ) == {"Thyroid", "Common carotid artery"}
