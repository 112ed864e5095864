"""Screen recordings: the detector runs inside the scan area, boxes come back in full-frame pixels."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pandas as pd
import pytest

from nnus_core.geometry import BoxPx, iou
from nnus_core.video import VideoOptions, process_video
from nnus_core.video.borders import ScanArea, sample_gray, scan_area
from tests.synthetic_video import BRIGHT_ORGAN_ID, BlobDetector, write_test_clip

RAW = VideoOptions(tracker="none", preset="ultrafast")


def speckle(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (40 + rng.random((h, w)) * 150).astype(np.uint8)


def screen(image: np.ndarray, size: tuple[int, int], at: tuple[int, int]) -> np.ndarray:
    """A scanner screen: the image at `at` on black, with status text in the margins."""
    w, h = size
    out = np.zeros((h, w), np.uint8)
    x, y = at
    out[y : y + image.shape[0], x : x + image.shape[1]] = image
    cv2.putText(out, "MI 1.3 TIS 0.2", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 200, 1)
    cv2.putText(out, "D 3.5", (w - 40, h // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.4, 200, 1)
    return out


def test_the_scan_area_of_a_screen_recording_is_found_despite_text_in_its_margins():
    frames = [screen(speckle(200, 240, s), (400, 240), (80, 30)) for s in range(3)]
    assert scan_area(frames) == ScanArea(80, 30, 240, 200)


@pytest.mark.parametrize(
    "frame",
    [
        speckle(240, 320),  # a scan that fills the frame
        np.pad(speckle(239, 320), ((0, 1), (0, 0))),  # one black padding row: not worth trimming
        np.pad(speckle(40, 40), ((100, 100), (140, 140))),  # a dark frame: no telling border from image
    ],
)
def test_frames_without_a_border_worth_trimming_are_left_whole(frame):
    assert scan_area([frame]) is None


def test_a_dark_patch_inside_the_scan_never_moves_the_area():
    img = speckle(200, 240)
    img[:, :60] = 0  # an acoustic shadow reaching the scan's left edge, but not the whole height
    img[:20, :60] = 120
    assert scan_area([screen(img, (400, 240), (80, 30))]) == ScanArea(80, 30, 240, 200)


def test_sample_gray_reads_nothing_from_a_file_that_is_not_a_video(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    assert list(sample_gray(bad, (32, 32), 0)) == []


def _letterboxed_clip(tmp_path, size=(320, 150), at=(80, 15)):
    """The moving-ellipse clip (160x120) placed on a black screen; returns the path and the truth."""
    src = tmp_path / "scan.mp4"
    truth = write_test_clip(src, width=160, height=120, n_frames=8, fps=25.0)
    out_path = tmp_path / "screen.mp4"
    w, h = size
    with av.open(str(src)) as c, av.open(str(out_path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i, f in enumerate(c.decode(video=0)):
            canvas = np.zeros((h, w, 3), np.uint8)
            canvas[at[1] : at[1] + 120, at[0] : at[0] + 160] = f.to_ndarray(format="rgb24")
            vf = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            vf.pts = i
            out.mux(s.encode(vf))
        out.mux(s.encode(None))
    return out_path, truth


class Recorder(BlobDetector):
    def __init__(self, input_hw=None) -> None:
        super().__init__()
        self.shapes: set[tuple[int, int]] = set()
        if input_hw is not None:
            self.input_hw = input_hw

    def predict(self, image, conf=0.25, iou=0.7):
        self.shapes.add(image.shape[:2])
        return super().predict(image, conf, iou)


@pytest.mark.parametrize("input_hw", [None, (64, 96)])
def test_the_detector_runs_inside_the_scan_area_and_boxes_land_in_the_full_frame(tmp_path, input_hw):
    clip, truth = _letterboxed_clip(tmp_path)
    det = Recorder(input_hw)
    csv = tmp_path / "d.csv"
    res = process_video(clip, tmp_path / "o.mp4", det, RAW, csv_path=csv)
    assert (res.width_px, res.height_px) == (320, 150)  # the output keeps the whole screen
    assert any(w.startswith("Dark borders trimmed") for w in res.warnings)
    assert det.shapes == ({(120, 160)} if input_hw is None else {(64, 85)})
    df = pd.read_csv(csv)
    for t in truth:
        row = df[(df.frame == t.index) & (df.organ_id == BRIGHT_ORGAN_ID)].iloc[0]
        b = t.boxes[BRIGHT_ORGAN_ID]
        expected = BoxPx(b.x1 + 80, b.y1 + 15, b.x2 + 80, b.y2 + 15)
        assert iou(BoxPx(row.x1, row.y1, row.x2, row.y2), expected) > 0.8


def test_trimming_can_be_turned_off(tmp_path):
    clip, _ = _letterboxed_clip(tmp_path)
    det = Recorder()
    res = process_video(clip, tmp_path / "o.mp4", det, RAW.update(trim_borders=False))
    assert det.shapes == {(150, 320)}
    assert not any(w.startswith("Dark borders trimmed") for w in res.warnings)


def test_a_dark_band_across_the_scan_never_cuts_it_in_two():
    img = speckle(200, 240)
    img[90:110] = 0  # the lumen of a carotid seen along its length, wall to wall
    assert scan_area([screen(img, (400, 240), (80, 30))]) == ScanArea(80, 30, 240, 200)
