"""The video runtime: a throughput-compiled OpenVINO model shared by threads gives the detector's boxes."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from nnus_core.geometry import iou
from tests.synthetic_video import iter_clip_frames


@pytest.fixture(scope="module")
def weights():
    pytest.importorskip("openvino")
    from nnus_core.detector import default_model_dir

    folder = default_model_dir()
    if folder is None:
        pytest.skip("no shipped model (the bench covers untrained ones)")
    return folder / "best.pt"


@pytest.fixture(scope="module")
def frames():
    try:
        from nnus_core.phantom import iter_sweep_frames
    except ImportError:
        return [f for f, _ in iter_clip_frames(494, 447, 6)]
    return [f for f, _ in iter_sweep_frames("transverse", seconds=0.24, fps=25.0, seed=1)]


def same(a, b):
    """Same organs, boxes overlapping almost fully (bf16 rounding may differ between compilations)."""
    assert sorted(d.organ_id for d in a) == sorted(d.organ_id for d in b)
    for d in a:
        best = max(iou(d.box, e.box) for e in b if e.organ_id == d.organ_id)
        assert best > 0.95


def test_throughput_detectors_match_the_detector_and_run_from_threads(weights, frames):
    from nnus_core.detector import Detector
    from nnus_core.video.runtime import ThroughputOpenVino, load_video_detectors

    # One thread: the variant each video stream runs (on a CPU where another one wins on every
    # core, the two would differ by their precision, not by the throughput runtime).
    reference = Detector.load(weights, threads=1)
    expected = [reference.predict(f) for f in frames]
    assert any(expected), "the shipped model finds organs on phantom frames"
    dets = load_video_detectors(weights, n=2)
    assert len(dets) == 2 and isinstance(dets[0]._runtime, ThroughputOpenVino)
    results: dict[int, list] = {}

    def work(k: int) -> None:
        for i in range(k, len(frames), 2):
            results[i] = dets[k].predict(frames[i])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, exp in enumerate(expected):
        same(results[i], exp)


def test_one_stream_is_a_plain_single_thread_detector(weights):
    from nnus_core.video.runtime import load_video_detectors

    (det,) = load_video_detectors(weights, n=1)
    assert det.predict(np.zeros((100, 120), np.uint8), conf=0.99) == []


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((494, 448), (288, 320)),  # the phantom sweeps: 0.7 % smaller than 320x290 in 320x320
        ((494, 447), (288, 320)),  # NNUS images
        ((1280, 720), (192, 320)),  # 16:9 rounds up: down to 160 would shrink it 11 %
        ((720, 1280), (320, 192)),
        ((640, 480), (256, 320)),
        ((3840, 2160), (192, 320)),
        ((300, 300), (320, 320)),
        ((2000, 20), (32, 320)),
    ],
)
def test_video_input_is_the_tightest_rectangle_around_the_frame(size, expected):
    from nnus_core.video.runtime import MAX_SHRINK, video_input_hw

    h, w = video_input_hw(*size, 320)
    assert (h, w) == expected
    assert h % 32 == 0 and w % 32 == 0
    gain = min(h / size[1], w / size[0])
    assert gain >= (1 - MAX_SHRINK) * 320 / max(size) or max(size) / min(size) > 320 / 32


def test_detectors_for_a_frame_size_run_a_rectangle_and_find_the_same_organs(weights, frames):
    from nnus_core.detector import Detector
    from nnus_core.detector.fast import cache_root, shape_tag, weights_info
    from nnus_core.video.runtime import load_video_detectors, video_input_hw

    h, w = frames[0].shape[:2]
    info = weights_info(weights)
    side = info.imgsz  # the model's own size: its exports are the ones the test session prepared
    tight = video_input_hw(w, h, side, info.stride)
    assert tight[0] < side and tight[1] == side  # a 494x448 frame is wider than tall
    square = Detector.load(weights, imgsz=side)  # the square input at the model's own size
    # The size given (without it, the choice may run a smaller input whose check passed).
    dets = load_video_detectors(weights, n=2, imgsz=side, frame_size=(w, h))
    assert dets[0].input_hw == tight and square.input_hw == (side, side)
    assert (cache_root() / info.sha256[:16] / f"openvino_{shape_tag(tight)}" / "model.xml").is_file()
    ious = []
    for f in frames:
        a, b = dets[0].predict(f), square.predict(f)
        assert {d.organ_id for d in a if d.confidence > 0.5} <= {d.organ_id for d in b}
        for d in a:
            if d.confidence > 0.5:  # boxes in the frame's pixels, as the square input gives them
                ious.append(max(iou(d.box, e.box) for e in b if e.organ_id == d.organ_id))
    assert len(ious) >= 4 * len(frames)  # a phantom neck view shows 5-7 organs: the check bit
    # A mapping error would move every box; the other input may move one deep organ's box (the
    # default model's card rejects this input in INT8 for the longus colli).
    assert float(np.median(ious)) > 0.9 and min(ious) > 0.5
