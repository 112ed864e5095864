"""The video pipeline end to end with a model-free detector: timing, geometry, codec, cancel, cleanup."""

from __future__ import annotations

import threading
import tracemalloc

import av
import cv2
import numpy as np
import pandas as pd
import pytest

from nnus_core.detection import Detection
from nnus_core.errors import VideoError
from nnus_core.geometry import BoxPx, iou
from nnus_core.video import VideoOptions, probe_video, process_image, process_video, read_frame_at
from nnus_core.video.detections_csv import CSV_COLUMNS
from nnus_core.video.drawing import annotate, label_for
from nnus_core.video.options import working_size
from tests.synthetic_video import BRIGHT_ORGAN_ID, DARK_ORGAN_ID, BlobDetector, write_test_clip

RAW = VideoOptions(tracker="none", preset="ultrafast")


def decoded(path):
    """(codec, pix_fmt, width, height, [frame times], n audio streams) of a video, read back with PyAV."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        times = [f.time for f in c.decode(s)]
        return s.codec_context.name, s.codec_context.pix_fmt, s.width, s.height, times, len(c.streams.audio)


def only_outputs(folder, *names):
    """The folder holds exactly these files: no partial output or CSV left behind."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


class ShapeRecorder(BlobDetector):
    """Remembers the frame sizes the pipeline handed to the detector."""

    def __init__(self) -> None:
        super().__init__()
        self.shapes: set[tuple[int, int]] = set()

    def predict(self, image, conf=0.25, iou=0.7):
        self.shapes.add(image.shape[:2])
        return super().predict(image, conf, iou)


def test_odd_sized_clip_keeps_frames_and_timestamps_and_plays_as_h264(tmp_path):
    src = tmp_path / "in.mp4"
    truth = write_test_clip(src, width=494, height=447, n_frames=40, fps=25)
    out = tmp_path / "out" / "annotated.mp4"
    csv = tmp_path / "out" / "det.csv"
    res = process_video(src, out, BlobDetector(), RAW, csv_path=csv)

    codec, pix_fmt, w, h, times, _ = decoded(out)
    assert (codec, pix_fmt) == ("h264", "yuv420p")
    assert (w, h) == (494, 448) and w % 2 == 0 and h % 2 == 0  # 447 padded by one row, nothing cropped
    assert len(times) == res.frames_out == 40
    assert times == pytest.approx([t.time_s for t in truth], abs=1e-3)
    with open(out, "rb") as fh:  # faststart: the index (moov) comes before the media data (mdat)
        head = fh.read(200_000)
    assert 0 <= head.find(b"moov") < head.find(b"mdat")

    df = pd.read_csv(csv)
    assert tuple(df.columns) == CSV_COLUMNS
    assert sorted(df.frame.unique()) == list(range(40))
    for t in truth[::7]:
        for oid in (BRIGHT_ORGAN_ID, DARK_ORGAN_ID):
            row = df[(df.frame == t.index) & (df.organ_id == oid)].iloc[0]
            assert iou(BoxPx(row.x1, row.y1, row.x2, row.y2), t.boxes[oid]) > 0.9
            assert row.time_s == pytest.approx(t.time_s, abs=1e-3)
    only_outputs(out.parent, "annotated.mp4", "det.csv")


def test_variable_frame_rate_timestamps_are_preserved(tmp_path):
    src = tmp_path / "vfr.mkv"
    times_in = [0.0, 0.04, 0.08, 0.2, 0.24, 0.5, 0.52, 0.54, 0.9, 1.0, 1.03, 1.3]
    write_test_clip(src, width=160, height=120, frame_times_s=times_in)
    info = probe_video(src)
    assert info.variable_frame_rate
    assert any("Variable frame rate" in n for n in info.notes)
    process_video(src, tmp_path / "o.mp4", BlobDetector(), RAW)
    assert decoded(tmp_path / "o.mp4")[4] == pytest.approx(times_in, abs=1e-3)


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [(3840, 2160, (1280, 720)), (1080, 1920, (720, 1280))],
    ids=["4K-landscape", "portrait"],
)
def test_large_and_portrait_inputs_are_scaled_and_boxes_map_back(tmp_path, width, height, expected):
    src = tmp_path / "big.mp4"
    truth = write_test_clip(src, width=width, height=height, n_frames=4)
    det = ShapeRecorder()
    csv = tmp_path / "det.csv"
    res = process_video(src, tmp_path / "o.mp4", det, RAW, csv_path=csv)
    assert det.shapes == {(expected[1], expected[0])}  # the detector saw the scaled frames
    assert (res.width_px, res.height_px) == expected
    assert decoded(tmp_path / "o.mp4")[2:4] == expected
    assert res.scale == pytest.approx(expected[0] / width, rel=1e-3)
    assert any("scaled down" in n for n in res.info.notes)
    df = pd.read_csv(csv)
    for t in truth:
        for oid, gt in t.boxes.items():
            row = df[(df.frame == t.index) & (df.organ_id == oid)].iloc[0]
            # In original pixels: within a few working pixels (one working pixel = 3 original ones).
            assert iou(BoxPx(row.x1, row.y1, row.x2, row.y2), gt) > 0.85
            assert row.x2 > expected[0] or row.y2 > expected[1] or max(gt.x2, gt.y2) <= max(expected)


def test_rotation_metadata_is_applied(tmp_path):
    src = tmp_path / "phone.mp4"
    write_test_clip(src, width=160, height=96, n_frames=3, rotation_ccw_deg=-90)
    info = probe_video(src)
    assert (info.width_px, info.height_px, info.rotation_deg) == (96, 160, 90)
    res = process_video(src, tmp_path / "o.mp4", BlobDetector(), RAW)
    assert (res.width_px, res.height_px) == (96, 160)
    frame, _ = read_frame_at(src, 0.0, info.rotation_deg)
    assert frame.shape[:2] == (160, 96)


def test_side_by_side_doubles_width_and_keeps_the_original_on_the_left(tmp_path):
    src = tmp_path / "in.mp4"
    write_test_clip(src, width=201, height=99, n_frames=3)
    res = process_video(src, tmp_path / "o.mp4", BlobDetector(), RAW.update(side_by_side=True))
    assert (res.width_px, res.height_px) == (402, 100)
    with av.open(str(tmp_path / "o.mp4")) as c:
        img = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    left, right = img[:99, :201], img[:99, 201:402]
    # Organ colours are drawn only on the right half: the left one stays grey (R == G == B).
    assert np.abs(left[..., 0] - left[..., 2]).mean() < 3
    assert np.abs(right[..., 0] - right[..., 2]).mean() > np.abs(left[..., 0] - left[..., 2]).mean() + 0.5


def test_stride_runs_the_detector_on_every_nth_frame_but_writes_all(tmp_path):
    src = tmp_path / "in.mp4"
    write_test_clip(src, width=128, height=96, n_frames=20)
    det = BlobDetector()
    csv = tmp_path / "d.csv"
    res = process_video(
        src, tmp_path / "o.mp4", det, VideoOptions(stride=4, preset="ultrafast"), csv_path=csv
    )
    assert det.calls == res.frames_detected == 5
    assert res.frames_out == 20 and len(decoded(tmp_path / "o.mp4")[4]) == 20
    df = pd.read_csv(csv)
    assert set(df[df.detected == 1].frame) == {0, 4, 8, 12, 16}
    assert set(df.frame) == set(range(20))  # frames in between keep their tracked boxes


def test_organ_filter_and_labels(tmp_path):
    src = tmp_path / "in.mp4"
    write_test_clip(src, width=128, height=96, n_frames=4)
    csv = tmp_path / "d.csv"
    process_video(src, tmp_path / "o.mp4", BlobDetector(), RAW.update(organs=(DARK_ORGAN_ID,)), csv_path=csv)
    assert set(pd.read_csv(csv).organ_id) == {DARK_ORGAN_ID}
    d = Detection(1, 0.875, BoxPx(1, 1, 5, 5))
    assert [label_for(d, s) for s in ("name_conf", "name", "short_conf", "short", "none")] == [
        "Thyroid 0.88",
        "Thyroid",
        "THY 0.88",
        "THY",
        "",
    ]


def test_cancel_keeps_a_playable_partial_video(tmp_path):
    src = tmp_path / "in.mp4"
    write_test_clip(src, width=128, height=96, n_frames=200)
    cancel = threading.Event()

    class CancelAfter(BlobDetector):
        def predict(self, image, conf=0.25, iou=0.7):
            if self.calls == 30:
                cancel.set()
            return super().predict(image, conf, iou)

    res = process_video(
        src, tmp_path / "o.mp4", CancelAfter(), RAW, cancel=cancel, csv_path=tmp_path / "d.csv"
    )
    assert res.cancelled and 30 <= res.frames_out < 200
    assert len(decoded(tmp_path / "o.mp4")[4]) == res.frames_out
    only_outputs(tmp_path, "in.mp4", "o.mp4", "d.csv")


def test_an_exception_from_the_progress_callback_stops_threads_and_leaves_nothing(tmp_path):
    src = tmp_path / "in.mp4"
    write_test_clip(src, width=128, height=96, n_frames=120)
    before = threading.active_count()

    class Stop(BaseException):  # what a UI raises to stop a run (not an Exception)
        pass

    def progress(p):
        if p.frames_done > 5:
            raise Stop

    with pytest.raises(Stop):
        process_video(
            src, tmp_path / "o.mp4", BlobDetector(), RAW, csv_path=tmp_path / "d.csv", progress=progress
        )
    only_outputs(tmp_path, "in.mp4")
    assert threading.active_count() == before


def test_a_failing_detector_leaves_no_partial_output(tmp_path):
    src = tmp_path / "in.mp4"
    write_test_clip(src, width=64, height=48, n_frames=10)

    class Broken(BlobDetector):
        def predict(self, image, conf=0.25, iou=0.7):
            raise VideoError("detector exploded")

    with pytest.raises(VideoError, match="exploded"):
        process_video(src, tmp_path / "o.mp4", Broken(), RAW, csv_path=tmp_path / "d.csv")
    only_outputs(tmp_path, "in.mp4")


def test_memory_stays_flat_with_video_length(tmp_path):
    peaks = []
    for n in (20, 160):
        src = tmp_path / f"in{n}.mp4"
        write_test_clip(src, width=320, height=240, n_frames=n)
        tracemalloc.start()
        process_video(src, tmp_path / f"o{n}.mp4", BlobDetector(), RAW, csv_path=tmp_path / f"d{n}.csv")
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # 8x the frames, about the same peak: frames are streamed, never collected.
    assert peaks[1] < peaks[0] * 1.5 + 2_000_000, peaks


def test_progress_reports_frames_fps_and_eta(tmp_path):
    src = tmp_path / "in.mp4"
    write_test_clip(src, width=64, height=48, n_frames=12)
    seen = []
    process_video(src, tmp_path / "o.mp4", BlobDetector(), RAW, progress=seen.append)
    last = seen[-1]
    assert last.frames_done == last.frames_total == 12 and last.fraction == 1.0
    assert last.fps > 0 and last.eta_s == 0.0 and "12/12 frames" in last.text()


def test_read_frame_at_returns_the_frame_at_that_time(tmp_path):
    src = tmp_path / "in.mp4"
    truth = write_test_clip(src, width=128, height=96, n_frames=30, fps=10)
    frame, t = read_frame_at(src, 1.23)
    assert t == pytest.approx(1.2, abs=1e-3)
    found = BlobDetector().predict(frame[:, :, ::-1].copy())
    bright = next(d for d in found if d.organ_id == BRIGHT_ORGAN_ID)
    assert iou(bright.box, truth[12].boxes[BRIGHT_ORGAN_ID]) > 0.9


def test_process_image_and_annotate(tmp_path):
    import cv2

    frames = write_test_clip(tmp_path / "x.mp4", width=200, height=150, n_frames=1)
    with av.open(str(tmp_path / "x.mp4")) as c:
        bgr = next(c.decode(video=0)).to_ndarray(format="bgr24")
    cv2.imwrite(str(tmp_path / "img.png"), bgr)
    res = process_image(tmp_path / "img.png", BlobDetector())
    assert {d.organ_id for d in res.detections} == {BRIGHT_ORGAN_ID, DARK_ORGAN_ID}
    assert res.annotated_rgb.shape == (150, 200, 3)
    assert res.unfamiliar_note is None  # two organs found surely: a frame like the training images
    unsure = process_image(tmp_path / "img.png", BlobDetector(confidence=0.5))
    assert "unlike the images the model was trained on" in unsure.unfamiliar_note
    assert (
        iou(
            next(d for d in res.detections if d.organ_id == DARK_ORGAN_ID).box, frames[0].boxes[DARK_ORGAN_ID]
        )
        > 0.9
    )
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(VideoError, match="could not be read as an image"):
        process_image(tmp_path / "bad.png", BlobDetector())
    assert annotate(np.zeros((10, 10, 3), np.uint8), []).shape == (10, 10, 3)


def test_options_reject_bad_values_by_name():
    with pytest.raises(VideoError, match="unknown video option"):
        VideoOptions().update(confidence=0.3)
    with pytest.raises(VideoError, match="stride"):
        VideoOptions(stride=0)
    with pytest.raises(VideoError, match="organs"):
        VideoOptions(organs=(9,))
    assert VideoOptions().organs == tuple(range(8))  # all 8 organs by default
    assert working_size(494, 447, 1280) == (494, 447, 1.0)


@pytest.mark.parametrize(
    ("name", "codec", "pix_fmt"),
    [
        ("vp9.webm", "libvpx-vp9", "yuv420p"),
        ("vp8.webm", "libvpx", "yuv420p"),
        ("mjpeg.avi", "mjpeg", "yuvj420p"),
        ("h264.mov", "libx264", "yuv420p"),
        ("hevc.mkv", "libx265", "yuv420p"),
    ],
)
def test_accepted_containers_and_codecs_become_browser_h264(tmp_path, name, codec, pix_fmt):
    if codec not in av.codecs_available:
        pytest.skip(f"{codec} not in this PyAV build")
    src = tmp_path / name
    write_test_clip(src, width=160, height=120, n_frames=6, codec=codec, pix_fmt=pix_fmt)
    process_video(src, tmp_path / "o.mp4", BlobDetector(), RAW)
    codec_out, pix, w, h, times, _ = decoded(tmp_path / "o.mp4")
    assert (codec_out, pix, w, h, len(times)) == ("h264", "yuv420p", 160, 120, 6)


def test_caption_is_burnt_into_every_frame(tmp_path):
    src = tmp_path / "in.mp4"
    write_test_clip(src, width=320, height=240, n_frames=2)
    process_video(src, tmp_path / "o.mp4", BlobDetector(), RAW.update(caption="SYNTHETIC PHANTOM"))
    with av.open(str(tmp_path / "o.mp4")) as c:
        img = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    corner = img[:22, -150:]
    assert ((corner[..., 0] > 200) & (corner[..., 2] < 120)).sum() > 30  # orange text on a black tag
    with pytest.raises(VideoError, match="caption"):
        VideoOptions(caption="é" * 3)


def test_several_detectors_share_the_frames_and_order_is_kept(tmp_path):
    import random
    import time

    src = tmp_path / "in.mp4"
    truth = write_test_clip(src, width=160, height=120, n_frames=40)

    class Jittery(BlobDetector):
        """Takes a random time, so that frames finish out of order across the two workers."""

        def predict(self, image, conf=0.25, iou=0.7):
            time.sleep(random.random() * 0.01)
            return super().predict(image, conf, iou)

    dets = [Jittery(), Jittery()]
    csv = tmp_path / "d.csv"
    res = process_video(src, tmp_path / "o.mp4", dets, RAW, csv_path=csv)
    assert [d.calls for d in dets] == [20, 20] and res.frames_detected == 40
    df = pd.read_csv(csv)
    for t in truth:  # every frame got its own boxes, not a neighbour's
        row = df[(df.frame == t.index) & (df.organ_id == BRIGHT_ORGAN_ID)].iloc[0]
        assert iou(BoxPx(row.x1, row.y1, row.x2, row.y2), t.boxes[BRIGHT_ORGAN_ID]) > 0.9
    with pytest.raises(VideoError, match="at least one detector"):
        process_video(src, tmp_path / "o2.mp4", [], RAW)


@pytest.mark.parametrize("rotation", [0, 90])
def test_frames_are_prescaled_for_a_detector_that_names_its_input(tmp_path, rotation):
    """A detector with `input_hw` gets the frame already shrunk to fit it; boxes come back in the
    frame's pixels, as with a full-size frame."""
    from nnus_core.video.detecting import detector_fit

    src = tmp_path / "in.mp4"
    truth = write_test_clip(src, width=320, height=240, n_frames=6, rotation_ccw_deg=-rotation)
    det = ShapeRecorder()
    det.input_hw = (96, 128)  # (height, width)
    info = probe_video(src)
    csv = tmp_path / "d.csv"
    process_video(src, tmp_path / "o.mp4", det, RAW, csv_path=csv)
    fit = detector_fit((info.width_px, info.height_px), det)
    assert det.shapes == {(fit[1], fit[0])}
    assert fit == ((128, 96) if rotation == 0 else (72, 96))
    df = pd.read_csv(csv)
    full = ShapeRecorder()
    process_video(src, tmp_path / "o2.mp4", full, RAW, csv_path=tmp_path / "d2.csv")
    ref = pd.read_csv(tmp_path / "d2.csv")
    for organ in (BRIGHT_ORGAN_ID, DARK_ORGAN_ID):
        for frame in range(6):
            a = df[(df.frame == frame) & (df.organ_id == organ)].iloc[0]
            b = ref[(ref.frame == frame) & (ref.organ_id == organ)].iloc[0]
            assert iou(BoxPx(a.x1, a.y1, a.x2, a.y2), BoxPx(b.x1, b.y1, b.x2, b.y2)) > 0.8
    if rotation == 0:
        assert (
            iou(
                BoxPx(*df[df.organ_id == BRIGHT_ORGAN_ID].iloc[0][["x1", "y1", "x2", "y2"]]),
                truth[0].boxes[BRIGHT_ORGAN_ID],
            )
            > 0.8
        )
    assert detector_fit((100, 80), det) is None  # smaller than the input: the detector letterboxes it
    assert detector_fit((320, 240), BlobDetector()) is None  # no input shape named


def test_frames_are_drawn_in_bgr_with_the_same_pixels_as_in_rgb():
    from nnus_core.video.drawing import burn_caption

    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    rgb = np.ascontiguousarray(bgr[..., ::-1])
    dets = [
        Detection(2, 0.9, BoxPx(10, 12, 70, 80)),  # a light organ colour: black label text
        Detection(0, 0.6, BoxPx(60, 30, 150, 110)),
    ]
    drawn_bgr = burn_caption(annotate(bgr, dets, bgr=True), "SYNTHETIC", bgr=True)
    drawn_rgb = burn_caption(annotate(rgb, dets), "SYNTHETIC")
    assert not np.array_equal(drawn_rgb, rgb)
    assert np.array_equal(drawn_bgr[..., ::-1], drawn_rgb)


def test_box_colours_survive_the_h264_round_trip(tmp_path):
    """The encoder's own BT.601 conversion: a drawn organ colour reads back as that colour."""
    from nnus_core.organs import ORGANS

    src = tmp_path / "in.mp4"
    write_test_clip(src, width=320, height=240, n_frames=3)

    class Fixed:
        def predict(self, image, conf=0.25, iou=0.7):
            return [Detection(BRIGHT_ORGAN_ID, 0.9, BoxPx(40, 40, 200, 180))]

    process_video(src, tmp_path / "o.mp4", Fixed(), RAW.update(label_style="none"))
    with av.open(str(tmp_path / "o.mp4")) as c:
        rgb = next(c.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    edge = rgb[100:120, 40].reshape(-1, 3)  # on the box's left side (2 px wide at this size)
    assert np.abs(np.median(edge, axis=0) - np.array(ORGANS[BRIGHT_ORGAN_ID].rgb)).max() < 12


def test_opencv_runs_on_one_thread_during_a_run_and_is_restored_after(tmp_path):
    src = tmp_path / "in.mp4"
    write_test_clip(src, width=160, height=120, n_frames=4)
    seen: set[int] = set()

    class Recorder(BlobDetector):
        def predict(self, image, conf=0.25, iou=0.7):
            seen.add(cv2.getNumThreads())
            return super().predict(image, conf, iou)

    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    try:
        process_video(src, tmp_path / "o.mp4", Recorder(), RAW)
        assert seen == {1}
        assert cv2.getNumThreads() == 2
        with pytest.raises(VideoError):  # restored after a failed run too
            process_video(tmp_path / "missing.mp4", tmp_path / "o2.mp4", Recorder(), RAW)
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)


@pytest.mark.parametrize("size", [(494, 448), (320, 240), (1280, 720), (160, 120)])
def test_a_long_caption_fits_the_frame_whole(size):
    """The phantom-model note once ran off the right edge of a 494-px video ("... UNRELIA")."""
    import cv2

    from nnus_core.video.drawing import burn_caption, caption_layout

    note = "MODEL TRAINED ON SYNTHETIC IMAGES: BOXES ON REAL SCANS UNRELIABLE"
    w, h = size
    scale, thick, lines = caption_layout(note, w, h)
    assert " ".join(lines) == note  # every word kept, none cut
    widest = max(cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)[0][0] for line in lines)
    assert widest <= w, (lines, widest)
    frame = np.full((h, w, 3), 128, np.uint8)
    burn_caption(frame, note)
    assert (frame[:, -1] != 128).any() and (frame[-1] == 128).all()  # a tag at the top, the rest untouched


@pytest.mark.parametrize(
    "name, content",
    [
        ("bad.png", b"not an image"),
        ("empty.jpg", b""),
        ("gone.png", None),
        ("cut.png", b"\x89PNG\r\n\x1a\n\0\0"),
    ],
)
def test_a_still_image_that_cannot_be_decoded_is_refused_by_name(tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(VideoError, match=rf"^{name} could not be read as an image: expected a JPG, PNG"):
        process_image(path, BlobDetector())
