"""Hostile videos and stuck detectors: clear errors naming the user's file, no partial files left,
and a run that cannot finish fails with a message instead of freezing the page."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from nnus_core.errors import ModelError, VideoError
from nnus_core.video import pipeline
from nnus_core.video.options import VideoOptions, working_size
from nnus_core.video.pipeline import process_video
from nnus_core.video.probe import probe_video
from nnus_core.video.workspace import SessionWorkspace, save_upload, sweep_part_files
from tests.synthetic_video import BlobDetector, write_test_clip

ROOT = Path(__file__).resolve().parents[1]
RAW = VideoOptions(tracker="none")


@pytest.mark.parametrize("size", [(2048, 16), (16, 1024)], ids=["wide", "tall"])
def test_frames_far_from_any_screen_shape_are_refused(tmp_path, size):
    """An 8192x16 input came out as a 1280x2 video."""
    src = tmp_path / "thin.mp4"
    write_test_clip(src, width=size[0], height=size[1], n_frames=2, pix_fmt="yuv444p")
    with pytest.raises(VideoError, match=r"times longer than wide.*at most 8:1"):
        probe_video(src)


def test_an_8_to_1_recording_is_processed_without_collapsing(tmp_path):
    src = tmp_path / "wide.mp4"
    write_test_clip(src, width=1536, height=192, n_frames=3)
    res = process_video(src, tmp_path / "o.mp4", BlobDetector(), RAW)
    assert (res.width_px, res.height_px) == (1280, 160)


def test_working_size_keeps_the_short_side_at_16_px():
    assert working_size(8192, 16, 1280) == (8192, 16, 1.0)
    w, h, _ = working_size(4096, 40, 1280)
    assert h >= 16 and w <= 4096


def test_errors_name_the_uploaded_file_not_the_workspace_copy(tmp_path):
    ws = SessionWorkspace("t", root=tmp_path)
    path = save_upload(ws, "carotid scan 3.mp4", b"\x00\x01not a video" * 100, 1300)
    assert path.name == "input.mp4"
    with pytest.raises(VideoError) as err:
        probe_video(path, name="carotid scan 3.mp4")
    assert "carotid scan 3.mp4" in str(err.value) and "input.mp4" not in str(err.value)
    good = save_upload(ws, "lobe left.mp4", b"", 1)  # replaced below by a real clip
    write_test_clip(good, width=64, height=48, n_frames=2)
    info = probe_video(good, name="lobe left.mp4")
    assert info.display_name == "lobe left.mp4" and info.path == good


def test_a_track_without_a_decoder_is_a_video_error(tmp_path):
    """A damaged mp4 whose video track FFmpeg cannot name used to end in an AttributeError."""
    src = tmp_path / "v.mp4"
    write_test_clip(src, width=64, height=48, n_frames=4)
    b = bytearray(src.read_bytes())
    stsd = b.find(b"stsd")
    entry = b.find(b"avc1", stsd)
    b[entry : entry + 4] = b"zzzz"  # an unknown sample entry: no codec for the track
    src.write_bytes(bytes(b))
    with pytest.raises(VideoError, match="codec that cannot be decoded"):
        probe_video(src)


# ---------------------------------------------------------------- partial files
def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_partial_files_of_dead_runs_are_swept_and_live_ones_kept(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    names = {
        f".o.part{dead}-0123abcd.mp4": False,
        f".o.csv.part{dead}-89abcdef": False,
        f".o.part{alive}-0123abcd.mp4": True,
        f".o.part{os.getpid()}-0123abcd.mp4": True,
        "o.mp4": True,
        f"o.part{dead}-0123abcd.mp4": True,  # not hidden: not ours
    }
    for n in names:
        (tmp_path / n).write_bytes(b"x")
    assert sweep_part_files(tmp_path) == 2
    assert {p.name for p in tmp_path.iterdir()} == {n for n, keep in names.items() if keep}


def test_a_run_sweeps_what_a_killed_run_left(tmp_path):
    src = tmp_path / "in.mp4"
    write_test_clip(src, width=64, height=48, n_frames=2)
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".o.part{_dead_pid()}-0123abcd.mp4"
    stale.write_bytes(b"half a video")
    process_video(src, out / "o.mp4", BlobDetector(), RAW)
    assert sorted(p.name for p in out.iterdir()) == ["o.mp4"]


SLOW_CLI = textwrap.dedent(
    """
    import sys, time
    from nnus_core.video import runtime
    from nnus_core.video.__main__ import main
    from tests.synthetic_video import BlobDetector

    class Slow(BlobDetector):
        def predict(self, image, conf=0.25, iou=0.7):
            time.sleep(0.05)
            return super().predict(image, conf, iou)

    runtime.load_video_detectors = lambda *a, **k: [Slow(), Slow()]
    sys.exit(main(sys.argv[1:]))
    """
)


def test_sigterm_of_the_cli_leaves_no_partial_files(tmp_path):
    src = tmp_path / "long.mp4"
    write_test_clip(src, width=120, height=90, n_frames=300)
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-c",
        SLOW_CLI,
        str(src),
        str(out / "o.mp4"),
        "--csv",
        str(out / "o.csv"),
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not (out.is_dir() and any(out.glob(".*part*"))):
        time.sleep(0.05)
    assert out.is_dir() and any(out.glob(".*part*")), "the run never started writing"
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated" in err
    assert list(out.iterdir()) == []


# ---------------------------------------------------------------- stuck detectors
class _Stuck(BlobDetector):
    """Answers the first frame, then never again (a runtime that hangs)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def predict(self, image, conf=0.25, iou=0.7):
        if self.calls >= 1:
            self.release.wait(30)
        return super().predict(image, conf, iou)


def test_a_stuck_detector_fails_the_run_with_a_message(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "DETECT_TIMEOUT_S", 1.0)
    src = tmp_path / "in.mp4"
    write_test_clip(src, width=64, height=48, n_frames=20)
    stuck = _Stuck()
    t0 = time.perf_counter()
    with pytest.raises(VideoError, match=r"no answer for frame \d+ within 1 s"):
        process_video(
            src, tmp_path / "out" / "o.mp4", [stuck, stuck], RAW, csv_path=tmp_path / "out" / "o.csv"
        )
    assert time.perf_counter() - t0 < 10
    stuck.release.set()
    assert list((tmp_path / "out").iterdir()) == []


class _FakeRequest:
    """An OpenVINO infer request stand-in that records what is called on it."""

    def __init__(self, finishes: bool = True) -> None:
        self.calls: list[str] = []
        self.finishes = finishes
        self._in = np.zeros((1, 4, 4, 3), np.uint8)
        self._out = np.zeros((1, 12, 5), np.float32)

    def get_input_tensor(self, i):
        self.calls.append("get_input_tensor")
        return type("T", (), {"data": self._in})()

    def get_output_tensor(self, i):
        self.calls.append("get_output_tensor")
        return type("T", (), {"data": self._out})()

    def start_async(self):
        self.calls.append("start_async")
        self._out[...] = self._in.sum()

    def wait_for(self, ms):
        self.calls.append("wait_for")
        if not self.finishes:
            time.sleep(ms / 1000)
        return self.finishes


def _runtime(requests):
    from nnus_core.video.runtime import ThroughputOpenVino, _Slot

    rt = object.__new__(ThroughputOpenVino)
    rt.requests = len(requests)
    import queue

    rt._pool = queue.Queue()
    for r in requests:
        rt._pool.put(_Slot(r))
    return rt


def test_per_frame_openvino_calls_release_the_gil():
    """Between frames only start_async and wait_for touch OpenVINO: both release the GIL before
    they wait, so no detector thread can hold the GIL while waiting inside the binding."""
    req = _FakeRequest()
    rt = _runtime([req])
    setup = list(req.calls)
    out = rt(np.full((4, 4, 3), 2, np.uint8))
    assert setup == ["get_input_tensor", "get_output_tensor"]
    assert req.calls[len(setup) :] == ["start_async", "wait_for"]
    assert out.shape == (12, 5) and out[0, 0] == 96


def test_a_request_that_never_answers_raises_within_the_bound(monkeypatch):
    from nnus_core.video import runtime

    monkeypatch.setattr(runtime, "_WAIT_SLICE_MS", 50)
    rt = _runtime([_FakeRequest(finishes=False)])
    t0 = time.perf_counter()
    with pytest.raises(ModelError, match="no answer within 0 s"):
        rt(np.zeros((4, 4, 3), np.uint8), timeout_s=0.2)
    assert time.perf_counter() - t0 < 2
    with pytest.raises(ModelError, match="came free"):  # the stuck request is retired
        rt(np.zeros((4, 4, 3), np.uint8), timeout_s=0.2)


def test_real_throughput_runtime_serves_more_threads_than_requests():
    pytest.importorskip("openvino")
    from nnus_core.detector import default_model_dir
    from nnus_core.video.runtime import ThroughputOpenVino, load_video_detectors

    if default_model_dir() is None:
        pytest.skip("no shipped model")
    dets = load_video_detectors(None, n=2, frame_size=(494, 448))
    rt = dets[0]._runtime
    assert isinstance(rt, ThroughputOpenVino) and rt.requests == 4
    frame = (np.random.default_rng(0).rayleigh(40, (448, 494, 3))).clip(0, 255).astype(np.uint8)
    expected = dets[0].predict(frame)
    got: list = []

    def work() -> None:
        for _ in range(5):
            got.append(dets[0].predict(frame))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == 30 and all(g == expected for g in got)


def test_a_runtime_timeout_becomes_a_video_error_naming_file_and_frame(tmp_path):
    class TimesOut(BlobDetector):
        def predict(self, image, conf=0.25, iou=0.7):
            raise ModelError("the detector gave no answer within 60 s")

    src = tmp_path / "in.mp4"
    write_test_clip(src, width=64, height=48, n_frames=3)
    info = probe_video(src, name="left lobe.mp4")
    with pytest.raises(VideoError, match=r"^left lobe.mp4, frame 0: the detector gave no answer"):
        process_video(src, tmp_path / "out" / "o.mp4", TimesOut(), RAW, info=info)
    assert list((tmp_path / "out").iterdir()) == []
