"""Detection in worker threads ahead of the pipeline: the detector interface, its input size, the scan area."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Protocol

import numpy as np

from nnus_core.detection import Detection
from nnus_core.geometry import BoxPx
from nnus_core.video.borders import ScanArea, sample_gray, scan_area
from nnus_core.video.codec import Frame
from nnus_core.video.options import VideoOptions, working_size
from nnus_core.video.probe import VideoInfo

MAX_PER_ORGAN = 3  # an organ appears once or twice in a neck view; more boxes are duplicates or noise


class FrameDetector(Protocol):
    """What the pipeline needs from a detector: boxes in the pixels of the frame it was given."""

    def predict(self, image: np.ndarray, conf: float = 0.25, iou: float = 0.7) -> list[Detection]: ...


def find_scan_area(info: VideoInfo, options: VideoOptions) -> ScanArea | None:
    """The scan area the detector will run on (in working pixels), or None for the whole frame."""
    if not options.trim_borders:
        return None
    w, h, _ = working_size(info.width_px, info.height_px, options.max_side_px)
    try:
        stamp = info.path.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _scan_area_of(str(info.path), stamp, (w, h), info.rotation_deg)


@functools.lru_cache(maxsize=16)
def _scan_area_of(path: str, mtime_ns: int, size: tuple[int, int], rotation_deg: int) -> ScanArea | None:
    # Cached: the page sizes its detectors with it, then the run itself asks again.
    return scan_area(sample_gray(path, size, rotation_deg))


def detection_size(info: VideoInfo, options: VideoOptions | None = None) -> tuple[int, int]:
    """(width, height) of what the detector sees in this video: the working frame, or its scan
    area. Load the video detectors for this size (`load_video_detectors(frame_size=...)`)."""
    options = options or VideoOptions()
    area = find_scan_area(info, options)
    if area is not None:
        return area.width, area.height
    w, h, _ = working_size(info.width_px, info.height_px, options.max_side_px)
    return w, h


def detector_fit(size: tuple[int, int], detector: object) -> tuple[int, int] | None:
    """(width, height) a frame of `size` takes inside the detector's letterboxed input, when the
    detector says its input shape (`input_hw`) and the frame must shrink to fit; else None."""
    shape = getattr(detector, "input_hw", None)
    if shape is None:
        return None
    w, h = size
    gain = min(shape[0] / h, shape[1] / w)
    if gain >= 1.0:
        return None
    return max(1, int(round(w * gain))), max(1, int(round(h * gain)))


class DetectorPool:
    """Detection ahead of the calling thread: one worker thread per detector, frames dealt in turn.

    Two single-thread detectors on two frames at once beat one two-thread detector on a small
    model (measured: OpenVINO yolov8n at 416 px took 10.9 ms on one thread and 12.2 ms on two).
    """

    def __init__(self, detectors: Sequence[FrameDetector], conf: float, iou: float, wanted: set[int]) -> None:
        self._detectors = list(detectors)
        self._executors = [
            ThreadPoolExecutor(1, thread_name_prefix=f"video-detect{i}") for i in range(len(self._detectors))
        ]
        self._conf, self._iou, self._wanted = conf, iou, wanted
        self._turn = 0
        self._busy = [0.0] * len(self._detectors)
        self._abandoned = False

    @property
    def size(self) -> int:
        return len(self._detectors)

    @property
    def busy_s(self) -> float:
        return sum(self._busy)

    def submit(self, frame: Frame) -> Future:
        i = self._turn % len(self._detectors)
        self._turn += 1
        return self._executors[i].submit(self._detect, i, frame)

    def _detect(self, i: int, frame: Frame) -> list[Detection]:
        t0 = time.perf_counter()
        if frame.small is None or frame.region is None:
            found = self._detectors[i].predict(frame.bgr, conf=self._conf, iou=self._iou)
        else:  # boxes of the pre-scaled frame or area, back to working pixels
            x, y, rw, rh = frame.region
            sx, sy = rw / frame.small.shape[1], rh / frame.small.shape[0]
            found = [
                replace(
                    d, box=BoxPx(d.box.x1 * sx + x, d.box.y1 * sy + y, d.box.x2 * sx + x, d.box.y2 * sy + y)
                )
                for d in self._detectors[i].predict(frame.small, conf=self._conf, iou=self._iou)
            ]
        self._busy[i] += time.perf_counter() - t0  # each slot is written by its own worker only
        return top_per_organ(found, self._wanted)

    def close(self) -> None:
        wait = not self._abandoned
        for ex in self._executors:
            ex.shutdown(wait=wait, cancel_futures=True)

    def abandon(self) -> None:
        """Stop waiting for a stuck detector: close() will not join its thread."""
        self._abandoned = True


def top_per_organ(detections: Sequence[Detection], wanted: set[int]) -> list[Detection]:
    """The most confident few boxes of each wanted organ (keeps tracking cheap on a noisy model)."""
    counts: dict[int, int] = {}
    out = []
    for d in sorted(detections, key=lambda d: -d.confidence):
        if d.organ_id in wanted and counts.get(d.organ_id, 0) < MAX_PER_ORGAN:
            counts[d.organ_id] = counts.get(d.organ_id, 0) + 1
            out.append(d)
    return out
