"""Annotate a video end to end: decode ahead -> detect -> track/smooth -> draw -> encode behind (H.264)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

from nnus_core.dataset.images import read_image
from nnus_core.detection import Detection
from nnus_core.detector.familiar import unfamiliar_note
from nnus_core.errors import ModelError, VideoError
from nnus_core.video.codec import END, Decoder, Encoder, Frame, get, put
from nnus_core.video.detecting import (
    DetectorPool,
    FrameDetector,
    detection_size,
    detector_fit,
    find_scan_area,
)
from nnus_core.video.detections_csv import CSV_COLUMNS, DetectionsCsvWriter
from nnus_core.video.drawing import annotate, burn_caption, compose
from nnus_core.video.options import LABEL_STYLES, PRESETS, VideoOptions, working_size
from nnus_core.video.probe import VideoInfo, probe_video
from nnus_core.video.seek import read_frame_at
from nnus_core.video.tracking import as_columns, detector_threshold, make_tracker
from nnus_core.video.workspace import sweep_part_files

# Names other modules have always imported from here.
__all__ = [
    "CSV_COLUMNS",
    "LABEL_STYLES",
    "PRESETS",
    "FrameDetector",
    "ImageResult",
    "Progress",
    "VideoOptions",
    "VideoResult",
    "detection_size",
    "process_image",
    "process_video",
    "read_frame_at",
    "sweep_part_files",
    "working_size",
]

_PROGRESS_EVERY_S = 0.25
_JOIN_S = 120.0  # a worker thread stops within a frame; this only bounds a hung FFmpeg call
# A frame's detection takes 5-40 ms; one that has not come back in this long is stuck (a detector
# runtime that hangs): the run fails with a message instead of freezing the page.
DETECT_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Progress:
    """Where a run stands, for a progress bar."""

    frames_done: int
    frames_total: int | None  # an estimate from the container; None when unknown
    elapsed_s: float
    fps: float

    @property
    def fraction(self) -> float:
        if not self.frames_total:
            return 0.0
        return min(1.0, self.frames_done / self.frames_total)

    @property
    def eta_s(self) -> float | None:
        if not self.frames_total or self.fps <= 0:
            return None
        return max(0.0, (self.frames_total - self.frames_done) / self.fps)

    def text(self) -> str:
        total = f"/{self.frames_total}" if self.frames_total else ""
        eta = f", {self.eta_s:.0f} s left" if self.eta_s is not None else ""
        return f"{self.frames_done}{total} frames, {self.fps:.1f} fps{eta}"


@dataclass(frozen=True)
class VideoResult:
    """The outcome of one run. A cancelled run keeps the frames done so far, as a playable file."""

    output_path: Path
    csv_path: Path | None
    info: VideoInfo
    options: VideoOptions
    frames_out: int
    frames_detected: int
    width_px: int  # of the output video
    height_px: int
    scale: float  # working pixels per original pixel (1.0 unless the input was scaled down)
    elapsed_s: float
    cancelled: bool = False
    warnings: tuple[str, ...] = ()
    timings_s: dict[str, float] = field(default_factory=dict)  # busy time of each stage

    @property
    def fps(self) -> float:
        return self.frames_out / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def duration_s(self) -> float | None:
        return self.info.duration_s


_opencv_lock = threading.Lock()
_opencv_runs = 0
_opencv_threads_before = 0


@contextmanager
def _serial_opencv() -> Iterator[None]:
    """OpenCV on one thread while any video runs (restored when the last one ends).

    The pipeline already spreads frames over the cores; OpenCV's own worker threads on top (for a
    colour conversion or a resize) spin on those same cores: measured here, 8 % more CPU a frame
    and 7 % fewer frames a second.
    """
    global _opencv_runs, _opencv_threads_before
    with _opencv_lock:
        if _opencv_runs == 0:
            _opencv_threads_before = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _opencv_runs += 1
    try:
        yield
    finally:
        with _opencv_lock:
            _opencv_runs -= 1
            if _opencv_runs == 0:
                cv2.setNumThreads(_opencv_threads_before)


class _Run:
    """One call of `process_video`: its threads, tracker, partial files and counters.

    `start` builds the threads, `loop` moves frames through them, `finish` drains them and renames
    the partial files into place; `abort` stops everything and deletes what was written.
    """

    def __init__(
        self,
        info: VideoInfo,
        dst: Path,
        csv_path: Path | None,
        detectors: list[FrameDetector],
        options: VideoOptions,
    ) -> None:
        self.info, self.dst, self.csv_final, self.options = info, dst, csv_path, options
        # Unique per call: a UI may start the next run while an interrupted one still unwinds.
        self.run_tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.part = dst.with_name(f".{dst.stem}.part{self.run_tag}.mp4")
        self.stop = threading.Event()
        self.w, self.h, self.scale = working_size(info.width_px, info.height_px, options.max_side_px)
        out_w = 2 * self.w if options.side_by_side else self.w
        self.out_size = (out_w + out_w % 2, self.h + self.h % 2)
        self.tracker = make_tracker(options.tracker, options.conf, info.fps)
        self.warnings = list(info.notes)
        self.detectors = detectors
        area = find_scan_area(info, options)
        if area is not None:
            self.warnings.append(area.describe(self.w, self.h))
        fit = detector_fit((area.width, area.height) if area else (self.w, self.h), detectors[0])
        self.decoder = Decoder(info, (self.w, self.h), self.stop, fit, area)
        self.encoder: Encoder | None = None
        self.pool: DetectorPool | None = None
        self.csv: DetectionsCsvWriter | None = None
        self.t_start = time.perf_counter()
        self.elapsed_s = 0.0
        self.track_s = self.draw_s = 0.0
        self.done = self.detected = 0
        self.cancelled = False
        self._last_report = 0.0

    def start(self) -> None:
        if self.csv_final is not None:
            self.csv = DetectionsCsvWriter(self.csv_final, self.run_tag, (self.w, self.h), self.scale)
        self.decoder.start()
        self.decoder.ready.wait()
        self.encoder = Encoder(
            self.part, self.out_size, self.info.fps, self.decoder.time_base, self.options, self.stop
        )
        self.encoder.start()
        det_conf = detector_threshold(self.options.tracker, self.options.conf)
        self.pool = DetectorPool(self.detectors, det_conf, self.options.iou, set(self.options.organs))

    def loop(self, progress: Callable[[Progress], None] | None, cancel: threading.Event) -> None:
        """Frames in decode order; the detector works on the next few while one is drawn."""
        # Frames whose detection is under way, in order; one more than the detectors keeps them all busy.
        pending: deque[tuple[Frame, Future | None]] = deque()
        exhausted = False
        while True:
            while not exhausted and len(pending) <= self.pool.size:
                item = get(self.decoder.q, self.stop)
                if item is END:
                    exhausted = True
                    break
                run = item.index % self.options.stride == 0
                pending.append((item, self.pool.submit(item) if run else None))
            if not pending:
                break
            if cancel.is_set():
                self.cancelled = True
                break
            item, future = pending.popleft()
            if not self._emit(item, future):
                break
            self.done += 1
            self._report(progress)

    def _detections(self, item: Frame, future: Future | None) -> list[Detection] | None:
        """The detector's boxes for a frame (waiting for them), or None for a frame the stride skips."""
        if future is None:
            return None
        try:
            found = future.result(timeout=DETECT_TIMEOUT_S)
        except FutureTimeout:
            self.pool.abandon()
            raise VideoError(
                f"{self.info.display_name}: the detector gave no answer for frame {item.index} within "
                f"{DETECT_TIMEOUT_S:.0f} s; the run was stopped (the frames before it were fine)"
            ) from None
        except ModelError as exc:  # e.g. the runtime's own bound on one inference
            raise VideoError(f"{self.info.display_name}, frame {item.index}: {exc}") from exc
        self.detected += 1
        return found

    def _emit(self, item: Frame, future: Future | None) -> bool:
        """Track, draw, queue for the encoder and write the CSV rows; False when the run was stopped."""
        found = self._detections(item, future)
        t0 = time.perf_counter()
        shown = self.tracker.coast() if found is None else self.tracker.update(as_columns(found))
        t1 = time.perf_counter()
        opts = self.options
        # The detector is done with the frame: draw on it unless the original is shown beside.
        drawn = annotate(item.bgr, shown, opts.label_style, bgr=True, inplace=not opts.side_by_side)
        canvas = compose(
            item.bgr, burn_caption(drawn, opts.caption, bgr=True), opts.side_by_side, self.out_size
        )
        t2 = time.perf_counter()
        self.track_s += t1 - t0
        self.draw_s += t2 - t1
        if not put(self.encoder.q, (item.pts, canvas), self.stop):
            return False
        if self.csv is not None:
            self.csv.write(item.index, item.time_s, shown, found is not None)
        return True

    def _report(self, progress: Callable[[Progress], None] | None) -> None:
        now = time.perf_counter()
        if progress is not None and now - self._last_report >= _PROGRESS_EVERY_S:
            self._last_report = now
            elapsed = now - self.t_start
            progress(
                Progress(
                    self.done, self.info.frames_estimate, elapsed, self.done / elapsed if elapsed > 0 else 0.0
                )
            )

    def finish(self, progress: Callable[[Progress], None] | None) -> None:
        """Drain the threads, raise what they met, and rename the partial files into place."""
        self.pool.close()
        if self.decoder.error is not None:
            raise self.decoder.error
        put(self.encoder.q, END, self.stop)
        self.encoder.join()
        if self.encoder.error is not None:
            raise self.encoder.error
        self.stop.set()
        self.decoder.join(timeout=_JOIN_S)
        if self.done == 0:
            raise VideoError(f"{self.info.display_name}: no frame was processed")
        self.elapsed_s = time.perf_counter() - self.t_start
        if progress is not None:  # finished: the true count
            progress(Progress(self.done, self.done, self.elapsed_s, self.done / self.elapsed_s))
        if self.csv is not None:
            self.csv.commit()
        os.replace(self.part, self.dst)

    def abort(self) -> None:
        """Stop the threads and delete the partial files."""
        self.stop.set()
        if self.pool is not None:
            self.pool.close()
        for t in (self.decoder, self.encoder):
            if t is not None and t.is_alive():
                # Both stop within a frame; the muxer must be closed before its file is deleted,
                # or its faststart pass writes the file again after the unlink.
                t.join(timeout=_JOIN_S)
        if self.csv is not None:
            self.csv.discard()
        self.part.unlink(missing_ok=True)

    def result(self) -> VideoResult:
        warnings = list(self.warnings)
        estimate = self.info.frames_estimate
        if self.decoder.warning:
            warnings.append(self.decoder.warning)
        elif estimate and not self.cancelled and self.done < estimate - max(2, 0.02 * estimate):
            warnings.append(
                f"Only {self.done} of the {estimate} frames the file announces could be decoded: "
                "it may be truncated."
            )
        return VideoResult(
            output_path=self.dst,
            csv_path=self.csv_final,
            info=self.info,
            options=self.options,
            frames_out=self.done,
            frames_detected=self.detected,
            width_px=self.out_size[0],
            height_px=self.out_size[1],
            scale=self.scale,
            elapsed_s=self.elapsed_s,
            cancelled=self.cancelled,
            warnings=tuple(warnings),
            timings_s={
                "decode": round(self.decoder.busy_s, 3),
                "detect": round(self.pool.busy_s if self.pool else 0.0, 3),
                "track": round(self.track_s, 3),
                "draw": round(self.draw_s, 3),
                "encode": round(self.encoder.busy_s if self.encoder else 0.0, 3),
            },
        )


def _video_error(exc: BaseException, info: VideoInfo, dst: Path) -> VideoError | None:
    """The message a failed run ends with, for an FFmpeg or disk error; None to re-raise as it is."""
    if isinstance(exc, av.error.FFmpegError):
        return VideoError(f"{info.display_name}: video processing failed ({exc})")
    if isinstance(exc, OSError):  # e.g. the disk filled up while writing
        return VideoError(f"cannot write {dst.name}: {exc.strerror or exc}")
    return None


@_serial_opencv()  # one context per call: OpenCV stays serial while any video runs
def process_video(
    src: str | Path,
    dst: str | Path,
    detector: FrameDetector | Sequence[FrameDetector],
    options: VideoOptions | None = None,
    *,
    csv_path: str | Path | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    info: VideoInfo | None = None,
    max_mb: int | None = None,
) -> VideoResult:
    """Detect organs in every frame of a video and write an annotated H.264 MP4 that browsers play.

    Three threads overlap the work: a decoder fills a short queue with frames already scaled and
    converted, the calling thread detects, tracks and draws, and an encoder writes H.264 behind it.
    Only a few frames are in memory at any time, so memory stays flat however long the video is.
    Progress is reported from the calling thread; an exception raised by the callback (a UI's
    "stop this run") stops the threads, removes the partial files and propagates.

    Args:
        src: the input video.
        dst: the output .mp4 (written to a temporary name, then renamed: never half a file).
        detector: anything with `predict(frame_bgr, conf=, iou=) -> list[Detection]` in frame pixels,
            or several of them (each used by its own thread on alternate frames; see
            `nnus_core.video.runtime.load_video_detectors`). One that names its `input_hw` gets
            frames already scaled to fit it; with `options.trim_borders` it sees only the scan
            area. Boxes always come back in frame pixels.
        options: settings; default `VideoOptions()`.
        csv_path: where to write per-frame detections (boxes in original pixels); None for none.
        progress: called with a Progress about 4 times a second and at the end, from this thread.
        cancel: set it to stop early; the frames done so far are kept and `cancelled` is True.
        info: the input's probe result, when already known.
        max_mb: size cap for the input in MB; default $NNUS_VIDEO_MAX_MB or 500.

    Returns:
        What was written, with timings and any warnings about the input.

    Raises:
        VideoError: for an input that cannot be read or an output that cannot be written. No
            partial output or CSV is left behind on an error.
    """
    options = options or VideoOptions()
    info = info or probe_video(src, max_mb=max_mb)
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    sweep_part_files(dst.parent)
    csv_final = Path(csv_path) if csv_path is not None else None
    if csv_final is not None and csv_final.parent != dst.parent:
        sweep_part_files(csv_final.parent)
    detectors = list(detector) if isinstance(detector, (list, tuple)) else [detector]
    if not detectors:
        raise VideoError("expected at least one detector, got none")
    run = _Run(info, dst, csv_final, detectors, options)
    try:
        run.start()
        run.loop(progress, cancel if cancel is not None else threading.Event())
        run.finish(progress)
    except BaseException as exc:
        run.abort()
        error = _video_error(exc, info, dst)
        if error is None:
            raise
        raise error from exc
    return run.result()


@dataclass(frozen=True)
class ImageResult:
    """One annotated still image."""

    annotated_rgb: np.ndarray
    detections: tuple[Detection, ...]  # in the image's pixels
    width_px: int
    height_px: int
    unfamiliar_note: str | None = None  # the image looks unlike the training images (`familiar`)


def process_image(
    image: str | Path | np.ndarray, detector: FrameDetector, options: VideoOptions | None = None
) -> ImageResult:
    """Detect and draw on one still image (the page's single-image input).

    Raises:
        VideoError: for a file that is not a readable image.
    """
    options = options or VideoOptions()
    if isinstance(image, (str, Path)):
        p = Path(image)
        try:
            bgr = read_image(p)  # the project's one decoder
        # Its own error (a ValueError), or a file that is gone or a folder (an OSError).
        except (ValueError, OSError) as exc:
            raise VideoError(
                f"{p.name} could not be read as an image: expected a JPG, PNG, BMP or TIFF file"
            ) from exc
    else:
        bgr = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    wanted = set(options.organs)
    found = detector.predict(bgr, conf=options.conf, iou=options.iou)
    dets = tuple(d for d in found if d.organ_id in wanted)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    note = unfamiliar_note(found)  # from every organ's boxes, not only the ones asked for
    return ImageResult(annotate(rgb, dets, options.label_style), dets, bgr.shape[1], bgr.shape[0], note)
