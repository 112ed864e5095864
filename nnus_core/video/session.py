"""A video job of one app session: its input, the stored result and its freshness, shared detectors, the frame view."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nnus_core.dataset.model import Annotation
from nnus_core.detection import Detection
from nnus_core.video.detecting import FrameDetector
from nnus_core.video.detections_csv import detections_at, truth_at
from nnus_core.video.options import VideoOptions
from nnus_core.video.pipeline import ImageResult, Progress, VideoResult, process_video
from nnus_core.video.probe import VideoInfo
from nnus_core.video.seek import read_frame_at
from nnus_core.video.workspace import SessionWorkspace

SYNTHETIC_CAPTION = "SYNTHETIC PHANTOM - not a patient"  # burnt into every frame of a phantom sweep


@dataclass(frozen=True)
class VideoInput:
    """What will be processed: a file in the session folder or the sweep cache."""

    path: Path
    name: str
    token: str  # changes when the input changes (upload id, sweep parameters)
    is_image: bool = False
    synthetic: bool = False
    gt_csv: Path | None = None

    def belongs_to(self, image_source: bool, sweep_source: bool) -> bool:
        """Whether this input is the one the chosen source shows (an upload, a sweep or an image)."""
        return self.is_image == image_source and self.token.startswith("sweep") == sweep_source


class LockedDetector:
    """A detector used one frame at a time: one model is shared by every session and is not thread-safe."""

    def __init__(self, detector: FrameDetector, lock: threading.Lock) -> None:
        self._detector, self._lock = detector, lock
        self.input_hw = getattr(detector, "input_hw", None)  # lets the pipeline pre-scale frames

    def predict(self, image: np.ndarray, conf: float = 0.25, iou: float = 0.7) -> list[Detection]:
        with self._lock:
            return self._detector.predict(image, conf=conf, iou=iou)


def shared_detectors(detectors: Sequence[FrameDetector]) -> list[LockedDetector]:
    """Detectors to share between sessions, each behind its own lock (so that a run uses them all)."""
    return [LockedDetector(d, threading.Lock()) for d in detectors]


@dataclass(frozen=True)
class StoredResult:
    """The last result of a session, with what it was made from."""

    token: str  # of the input
    options: VideoOptions
    model_id: str
    result: VideoResult | ImageResult

    def is_for(self, inp: VideoInput) -> bool:
        return self.token == inp.token

    def is_fresh(self, inp: VideoInput, options: VideoOptions, model_id: str) -> bool:
        """Made from this input with these options and this model: nothing to process again."""
        return self.is_for(inp) and self.options == options and self.model_id == model_id


def is_fresh(stored: StoredResult | None, inp: VideoInput, options: VideoOptions, model_id: str) -> bool:
    return stored is not None and stored.is_fresh(inp, options, model_id)


def process_label(stored: StoredResult | None, inp: VideoInput, options: VideoOptions, model_id: str) -> str:
    """The process button's label: done, to be done again (the options changed) or to be done."""
    if is_fresh(stored, inp, options, model_id):
        return "Processed with these options"
    if stored is not None and stored.is_for(inp):
        return "Process again with these options"
    return "Process video"


def options_for_input(options: VideoOptions, inp: VideoInput, model_note: str = "") -> VideoOptions:
    """The options with the caption every frame carries: the phantom's label on a sweep, else the
    model card's note for inputs its training data does not cover (so that it travels with a download)."""
    if inp.synthetic:
        return options.update(caption=SYNTHETIC_CAPTION)
    if model_note:
        return options.update(caption=model_note)
    return options


def process_input(
    inp: VideoInput,
    detectors: FrameDetector | Sequence[FrameDetector],
    options: VideoOptions,
    workspace: SessionWorkspace,
    *,
    info: VideoInfo | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> VideoResult:
    """Process the input video into the session's folder (annotated MP4 and per-frame CSV).

    Raises:
        NnusError: a VideoError for a bad video, a ModelError for a model that fails on it.
    """
    stem = Path(inp.name).stem
    out = workspace.file(f"{stem}_annotated.mp4")
    csv_path = workspace.file(f"{stem}_detections.csv")
    return process_video(inp.path, out, detectors, options, csv_path=csv_path, progress=progress, info=info)


@dataclass(frozen=True)
class FrameView:
    """One frame of a processed video with the boxes shown on it and, for a sweep, its ground truth."""

    rgb: np.ndarray
    time_s: float  # the frame's exact time
    shown: list[Detection]
    truth: list[Annotation] | None  # None without ground truth


def timeline_axis(result: VideoResult, detections: pd.DataFrame) -> tuple[float, float]:
    """(duration, one frame's step) in seconds, for the timeline and the frame slider."""
    duration = result.info.duration_s or (float(detections.time_s.max()) if len(detections) else 1.0)
    step = 1.0 / result.info.fps if result.info.fps else 0.04
    return duration, step


def frame_view(
    inp: VideoInput,
    result: VideoResult,
    detections: pd.DataFrame,
    truth: pd.DataFrame | None,
    time_s: float,
) -> FrameView:
    """The frame shown at time_s, upright, with the CSV's boxes of that frame.

    Raises:
        VideoError: when the frame cannot be read.
    """
    rgb, exact = read_frame_at(inp.path, time_s, result.info.rotation_deg)
    return FrameView(
        rgb, exact, detections_at(detections, exact), truth_at(truth, exact) if truth is not None else None
    )
