"""Annotate a video end to end: decode ahead -> detect -> track/smooth -> draw -> encode behind (H.264)."""

from __future__ import annotations

import csv
import functools
import math
import os
import queue
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from nnus_core.detection import Detection
from nnus_core.errors import ModelError, VideoError
from nnus_core.geometry import BoxPx
from nnus_core.organs import N_ORGANS, ORGANS
from nnus_core.render import Overlay, draw_overlays
from nnus_core.video.borders import ScanArea, sample_gray, scan_area
from nnus_core.video.probe import VideoInfo, fraction_rate, probe_video
from nnus_core.video.tracking import TRACKERS, detector_threshold, make_tracker

LABEL_STYLES = ("name_conf", "name", "short_conf", "short", "none")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")
CSV_COLUMNS = (
    "frame",
    "time_s",
    "organ_id",
    "organ",
    "confidence",
    "x1",
    "y1",
    "x2",
    "y2",
    "track_id",
    "detected",
)
_QUEUE_FRAMES = 6  # frames buffered on each side of the detector: enough to absorb jitter, tiny in RAM
_PROGRESS_EVERY_S = 0.25
_JOIN_S = 120.0  # a worker thread stops within a frame; this only bounds a hung FFmpeg call
MAX_PER_ORGAN = 3  # an organ appears once or twice in a neck view; more boxes are duplicates or noise
# A frame's detection takes 5-40 ms; one that has not come back in this long is stuck (a detector
# runtime that hangs): the run fails with a message instead of freezing the page.
DETECT_TIMEOUT_S = 90.0
_PART_RE = re.compile(r"^\..+\.part(\d+)-[0-9a-f]{8}(\.mp4)?$")
_END = object()


class FrameDetector(Protocol):
    """What the pipeline needs from a detector: boxes in the pixels of the frame it was given."""

    def predict(self, image: np.ndarray, conf: float = 0.25, iou: float = 0.7) -> list[Detection]: ...


@dataclass(frozen=True)
class VideoOptions:
    """Settings shared by the page and the command line (the defaults are the app's defaults).

    Attributes:
        conf: confidence a box needs to be shown.
        iou: NMS IoU threshold within an organ.
        organs: canonical ids of the organs shown (all 8 by default).
        stride: run the detector on every n-th frame; the frames between keep (tracked) boxes.
        tracker: "smooth" (IoU + alpha-beta + hysteresis), "bytetrack" (ultralytics) or "none".
        label_style: "name_conf", "name", "short_conf", "short" or "none".
        side_by_side: write original | annotated next to each other.
        max_side_px: larger frames are scaled down to this for detection and output.
        preset: libx264 speed preset.
        crf: libx264 quality (lower is better and bigger).
        caption: text burnt into a corner of every frame (e.g. "SYNTHETIC PHANTOM"), so that a
            downloaded video keeps its label.
        trim_borders: detect inside the scan area of a screen recording (its dark borders
            trimmed, see `nnus_core.video.borders`); the output keeps the whole frame.
    """

    conf: float = 0.25
    iou: float = 0.7
    organs: tuple[int, ...] = tuple(range(N_ORGANS))
    stride: int = 1
    tracker: str = "smooth"
    label_style: str = "name_conf"
    side_by_side: bool = False
    max_side_px: int = 1280
    # ultrafast: 2.4 ms CPU a frame against 5.3 for superfast (one x264 thread, phantom sweeps), for
    # files ~2.5x larger; it is what keeps 494x447 video above 60 fps end to end on two cores.
    preset: str = "ultrafast"
    crf: int = 23
    caption: str = ""
    trim_borders: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.conf <= 1.0:
            raise VideoError(f"conf must be in (0, 1], got {self.conf}")
        if not 0.0 < self.iou <= 1.0:
            raise VideoError(f"iou must be in (0, 1], got {self.iou}")
        bad = [o for o in self.organs if not 0 <= o < N_ORGANS]
        if bad or not self.organs:
            raise VideoError(
                f"organs must be 1 to {N_ORGANS} ids in 0..{N_ORGANS - 1}, got {list(self.organs)}"
            )
        if not 1 <= self.stride <= 60:
            raise VideoError(f"stride must be 1..60, got {self.stride}")
        if self.tracker not in TRACKERS:
            raise VideoError(f"tracker must be one of {', '.join(TRACKERS)}, got {self.tracker!r}")
        if self.label_style not in LABEL_STYLES:
            raise VideoError(
                f"label_style must be one of {', '.join(LABEL_STYLES)}, got {self.label_style!r}"
            )
        if not 64 <= self.max_side_px <= 4096:
            raise VideoError(f"max_side_px must be 64..4096, got {self.max_side_px}")
        if self.preset not in PRESETS:
            raise VideoError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        if not 0 <= self.crf <= 51:
            raise VideoError(f"crf must be 0..51, got {self.crf}")
        if len(self.caption) > 80 or not self.caption.isascii():
            raise VideoError(f"caption must be at most 80 ASCII characters, got {self.caption!r}")

    def update(self, **changes: object) -> VideoOptions:
        """A copy with some settings changed.

        Raises:
            VideoError: for an unknown setting name or an invalid value.
        """
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise VideoError(
                f"unknown video option(s) {', '.join(unknown)}; expected some of {', '.join(sorted(known))}"
            )
        return replace(self, **changes)


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


@dataclass(frozen=True)
class _Frame:
    index: int
    pts: int  # in the output time base, from 0
    time_s: float
    bgr: np.ndarray  # working size, upright
    # What the detector sees when not `bgr` itself: the frame (or its scan area) already scaled
    # to fit the detector's input; `region` is (x, y, w, h) of the working frame it shows.
    small: np.ndarray | None = None
    region: tuple[int, int, int, int] | None = None


def working_size(width: int, height: int, max_side_px: int) -> tuple[int, int, float]:
    """Size frames are processed and written at, and its scale from the original.

    The shorter side never shrinks below 16 px (the probe's minimum): a long thin frame is scaled
    less rather than written as a video 2 px high.
    """
    scale = min(1.0, max_side_px / max(width, height))
    scale = max(scale, min(1.0, 16 / min(width, height)))
    if scale >= 1.0:
        return width, height, 1.0
    return max(2, int(round(width * scale))), max(2, int(round(height * scale))), scale


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: a process of another user has that id
        return True
    return True


def sweep_part_files(folder: Path) -> int:
    """Delete partial outputs (`.NAME.partPID-XXXXXXXX[.mp4]`) of runs whose process is gone.

    A run removes its own partial files on an error, a cancel or SIGTERM; only a process killed
    outright (SIGKILL, a crash, a power cut) leaves them, and the next run in the folder sweeps
    them. Returns how many were deleted.
    """
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        m = _PART_RE.match(e.name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            try:
                os.unlink(e.path)
                removed += 1
            except OSError:
                pass
    return removed


def label_for(d: Detection, style: str) -> str:
    """A box label in one of LABEL_STYLES."""
    if style == "none":
        return ""
    name = d.organ.name if style.startswith("name") else d.organ.short
    return f"{name} {d.confidence:.2f}" if style.endswith("_conf") else name


def annotate(
    image: np.ndarray,
    detections: Sequence[Detection],
    label_style: str = "name_conf",
    *,
    bgr: bool = False,
    inplace: bool = False,
) -> np.ndarray:
    """A copy of an RGB (or, with `bgr`, BGR) frame with the detections drawn in the organ colours
    (line width and text scale with the frame); with `inplace`, the frame itself, drawn on."""
    k = max(1.0, max(image.shape[:2]) / 600.0)
    overlays = [Overlay(d.organ_id, d.box, label_for(d, label_style)) for d in detections]
    return draw_overlays(
        image,
        overlays,
        thickness=max(2, int(round(2 * k))),
        show_labels=label_style != "none",
        font_scale=0.45 * k,
        bgr=bgr,
        inplace=inplace,
    )


_CAPTION_RGB = (255, 170, 40)


def caption_layout(text: str, width: int, height: int) -> tuple[float, int, list[str]]:
    """Font scale, thickness and lines of a caption that fits a `width` x `height` frame.

    The scale follows the frame's size; a caption wider than the frame is first set smaller (down
    to a size that stays legible), then broken between words, so that no word is cut at the edge.
    """
    k = max(1.0, max(width, height) / 600.0)
    scale, thick = 0.5 * k, max(1, int(round(k)))
    room = width - 8 * k  # the tag's padding on both sides
    tw = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)[0][0]
    if tw > room:
        scale = max(0.38 * k, scale * room / tw)
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(trial, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)[0][0] <= room:
            lines[-1] = trial
        else:
            lines.append(word)
    return scale, thick, lines or [text]


def burn_caption(image: np.ndarray, text: str, *, bgr: bool = False) -> np.ndarray:
    """Write `text` on a dark tag in the top-right corner of an RGB (or BGR) frame, in place
    (returns the same array); a caption wider than the frame is set smaller or on two lines.

    Top right: a browser's player controls cover the bottom of a paused video.
    """
    if not text:
        return image
    h, w = image.shape[:2]
    scale, thick, lines = caption_layout(text, w, h)
    k = max(1.0, max(h, w) / 600.0)
    pad = int(4 * k)
    sizes = [cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, thick) for line in lines]
    tw = max(size[0][0] for size in sizes)
    th = max(size[0][1] for size in sizes)
    base = max(size[1] for size in sizes)
    step = th + base + pad
    x0 = max(0, w - tw - 2 * pad)
    cv2.rectangle(image, (x0, 0), (w, len(lines) * step + pad), (0, 0, 0), -1)
    color = _CAPTION_RGB[::-1] if bgr else _CAPTION_RGB
    for i, line in enumerate(lines):
        cv2.putText(image, line, (x0 + pad, pad + th + i * step), cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick,
                    cv2.LINE_AA)
    return image


def _rotate(img: np.ndarray, clockwise_deg: int) -> np.ndarray:
    if clockwise_deg == 90:
        return cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
    if clockwise_deg == 180:
        return cv2.rotate(img, cv2.ROTATE_180)
    if clockwise_deg == 270:
        return cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return img


def _put(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put unless stopped; False when the run was stopped while waiting."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def _get(q: queue.Queue, stop: threading.Event) -> object:
    while True:
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                return _END


_DECODE_THREADS_ABOVE_PX = 1920 * 1088


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


class _Decoder(threading.Thread):
    """Reads, scales, rotates and converts frames ahead of the detector.

    Each frame is converted twice by FFmpeg's swscale, each with its own cached context: to BGR at
    the working size (for drawing) and, when `fit` is given, straight from YUV to BGR at the size
    it takes in the detector's input. Measured on 494x448 H.264: 0.3 ms a frame for both, against
    0.9 ms for OpenCV's YUV->BGR conversion and resize.
    """

    def __init__(
        self,
        info: VideoInfo,
        size: tuple[int, int],
        stop: threading.Event,
        fit: tuple[int, int] | None = None,
        area: ScanArea | None = None,
    ) -> None:
        super().__init__(name="video-decode", daemon=True)
        self.info, self.size, self.stop, self.fit, self.area = info, size, stop, fit, area
        self.q: queue.Queue = queue.Queue(maxsize=_QUEUE_FRAMES)
        self.error: BaseException | None = None
        self.warning: str | None = None
        self.time_base: Fraction = Fraction(1, 90000)
        self.decoded = 0
        self.busy_s = 0.0
        self.ready = threading.Event()

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # handed to the calling thread, which re-raises it
            self.error = exc
        finally:
            self.ready.set()
            _put(self.q, _END, self.stop)

    def _run(self) -> None:
        info = self.info
        w, h = self.size
        # The scaler works on the stored (pre-rotation) orientation.
        turned = info.rotation_deg in (90, 270)
        sw, sh = (h, w) if turned else (w, h)
        fit, area = self.fit, self.area
        if fit is not None and turned and area is None:
            fit = fit[1], fit[0]  # scaled from the stored frame, then turned
        to_working, to_detector = VideoReformatter(), VideoReformatter()
        with av.open(str(info.path)) as container:
            stream = container.streams.video[0]
            # Up to 1080p one thread decodes faster than the pipeline can use (~1 ms a frame at
            # 494x448), and FFmpeg's frame threads cost ~40 % more CPU on cores the detector needs.
            stream.thread_type = (
                "AUTO" if info.width_px * info.height_px > _DECODE_THREADS_ABOVE_PX else "NONE"
            )
            tb = stream.time_base or Fraction(1, 90000)
            self.time_base = tb
            self.ready.set()
            first_pts = None
            last_pts = -1
            per_frame = max(1, int(round(1 / (info.fps * tb))))  # one nominal frame interval in ticks
            frames = container.decode(stream)
            while not self.stop.is_set():
                t0 = time.perf_counter()
                try:
                    frame = next(frames)
                except StopIteration:
                    break
                except av.error.FFmpegError as exc:
                    if self.decoded == 0:
                        raise VideoError(f"{info.display_name}: no frame could be decoded ({exc})") from exc
                    self.warning = (
                        f"Decoding stopped after frame {self.decoded} ({exc.strerror or exc}): the file is "
                        "damaged or truncated. The frames before it were processed."
                    )
                    break
                pts = frame.pts
                if pts is None:
                    pts = self.decoded * per_frame if first_pts is None else last_pts + per_frame
                if first_pts is None:
                    first_pts = pts
                rel = pts - first_pts
                if rel <= last_pts:  # repeated or reordered timestamps: keep frames strictly in order
                    rel = last_pts + 1
                last_pts = rel
                bgr = to_working.reformat(
                    frame, width=sw, height=sh, format="bgr24", interpolation="AREA"
                ).to_ndarray()
                small = region = None
                if area is not None:  # the scan area of the upright frame, scaled by OpenCV
                    bgr = _rotate(bgr, info.rotation_deg)
                    region = (area.x, area.y, area.width, area.height)
                    small = bgr[area.y : area.y + area.height, area.x : area.x + area.width]
                    if fit is not None:
                        small = cv2.resize(small, fit, interpolation=cv2.INTER_LINEAR)
                else:
                    if fit is not None:
                        # Two-tap bilinear, as the letterbox's cv2.resize the model was trained with.
                        small = to_detector.reformat(
                            frame, width=fit[0], height=fit[1], format="bgr24", interpolation="FAST_BILINEAR"
                        ).to_ndarray()
                        small = _rotate(small, info.rotation_deg)
                        region = (0, 0, w, h)
                    bgr = _rotate(bgr, info.rotation_deg)
                item = _Frame(self.decoded, rel, float(rel * tb), bgr, small, region)
                self.busy_s += time.perf_counter() - t0
                self.decoded += 1
                if not _put(self.q, item, self.stop):
                    break


class _Encoder(threading.Thread):
    """Writes H.264 (yuv420p, even size, faststart) behind the detector."""

    def __init__(
        self,
        path: Path,
        size: tuple[int, int],
        fps: float,
        time_base: Fraction,
        options: VideoOptions,
        stop: threading.Event,
    ) -> None:
        super().__init__(name="video-encode", daemon=True)
        self.path, self.size, self.fps, self.time_base, self.options, self.stop = (
            path,
            size,
            fps,
            time_base,
            options,
            stop,
        )
        self.q: queue.Queue = queue.Queue(maxsize=_QUEUE_FRAMES)
        self.error: BaseException | None = None
        self.written = 0
        self.busy_s = 0.0

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.error = exc
            self.stop.set()

    def _run(self) -> None:
        w, h = self.size
        with av.open(str(self.path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = out.add_stream("libx264", rate=fraction_rate(self.fps))
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.codec_context.time_base = self.time_base
            # One x264 thread: the pipeline already keeps every core busy, and x264's own frame
            # threads cost ~15 % more CPU per frame for nothing here.
            stream.options = {"preset": self.options.preset, "crf": str(self.options.crf), "threads": "1"}
            while True:
                item = _get(self.q, self.stop)
                if item is _END:
                    break
                t0 = time.perf_counter()
                pts, canvas = item
                # BT.601 limited range: what swscale gives (within one level), without the GIL.
                yuv = cv2.cvtColor(canvas, cv2.COLOR_BGR2YUV_I420)
                frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
                frame.pts, frame.time_base = pts, self.time_base
                out.mux(stream.encode(frame))
                self.written += 1
                self.busy_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            if not self.stop.is_set():
                out.mux(stream.encode(None))
            self.busy_s += time.perf_counter() - t0


class _DetectorPool:
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

    def submit(self, frame: _Frame) -> Future:
        i = self._turn % len(self._detectors)
        self._turn += 1
        return self._executors[i].submit(self._detect, i, frame)

    def _detect(self, i: int, frame: _Frame) -> list[Detection]:
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
        return _top_per_organ(found, self._wanted)

    def close(self) -> None:
        wait = not self._abandoned
        for ex in self._executors:
            ex.shutdown(wait=wait, cancel_futures=True)

    def abandon(self) -> None:
        """Stop waiting for a stuck detector: close() will not join its thread."""
        self._abandoned = True


def _compose(
    original: np.ndarray, annotated: np.ndarray, side_by_side: bool, size: tuple[int, int]
) -> np.ndarray:
    """The output canvas: annotated (or original | annotated), padded to the even output size."""
    w, h = size
    if not side_by_side and annotated.shape[:2] == (h, w):
        return annotated  # already a fresh array of the output size
    canvas = np.empty((h, w, 3), dtype=np.uint8)
    fh, fw = annotated.shape[:2]
    if side_by_side:
        canvas[:fh, :fw] = original
        canvas[:fh, fw : 2 * fw] = annotated
        used_w = 2 * fw
    else:
        canvas[:fh, :fw] = annotated
        used_w = fw
    # Odd sizes get one replicated row/column: libx264's 4:2:0 needs even sizes, and no pixel is lost.
    if used_w < w:
        canvas[:fh, used_w:] = canvas[:fh, used_w - 1 : used_w]
    if fh < h:
        canvas[fh:] = canvas[fh - 1 : fh]
    return canvas


def _top_per_organ(detections: Sequence[Detection], wanted: set[int]) -> list[Detection]:
    """The most confident few boxes of each wanted organ (keeps tracking cheap on a noisy model)."""
    counts: dict[int, int] = {}
    out = []
    for d in sorted(detections, key=lambda d: -d.confidence):
        if d.organ_id in wanted and counts.get(d.organ_id, 0) < MAX_PER_ORGAN:
            counts[d.organ_id] = counts.get(d.organ_id, 0) + 1
            out.append(d)
    return out


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


def _as_event(cancel: threading.Event | None) -> threading.Event:
    return cancel if cancel is not None else threading.Event()


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
    if csv_path is not None and Path(csv_path).parent != dst.parent:
        sweep_part_files(Path(csv_path).parent)
    # Unique per call: a UI may start the next run while an interrupted one still unwinds.
    run_tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    part = dst.with_name(f".{dst.stem}.part{run_tag}.mp4")
    csv_final = Path(csv_path) if csv_path is not None else None
    csv_part = csv_final.with_name(f".{csv_final.name}.part{run_tag}") if csv_final else None
    cancel = _as_event(cancel)
    stop = threading.Event()
    w, h, scale = working_size(info.width_px, info.height_px, options.max_side_px)
    out_w = 2 * w if options.side_by_side else w
    out_size = (out_w + out_w % 2, h + h % 2)
    tracker = make_tracker(options.tracker, options.conf, info.fps)
    det_conf = detector_threshold(options.tracker, options.conf)
    wanted = set(options.organs)
    warnings = list(info.notes)

    detectors = list(detector) if isinstance(detector, (list, tuple)) else [detector]
    if not detectors:
        raise VideoError("expected at least one detector, got none")
    area = find_scan_area(info, options)
    if area is not None:
        warnings.append(area.describe(w, h))
    fit = detector_fit((area.width, area.height) if area else (w, h), detectors[0])
    decoder = _Decoder(info, (w, h), stop, fit, area)
    encoder: _Encoder | None = None
    pool: _DetectorPool | None = None
    csv_file = None
    t_start = time.perf_counter()
    track_s = draw_s = 0.0
    done = detected = 0
    cancelled = False
    last_report = 0.0
    try:
        if csv_part is not None:
            csv_file = csv_part.open("w", newline="")
            writer = csv.writer(csv_file)
            writer.writerow(CSV_COLUMNS)
        decoder.start()
        decoder.ready.wait()
        encoder = _Encoder(part, out_size, info.fps, decoder.time_base, options, stop)
        encoder.start()
        pool = _DetectorPool(detectors, det_conf, options.iou, wanted)
        inv = 1.0 / scale
        # Frames whose detection is under way, in order; one more than the detectors keeps them all busy.
        pending: deque[tuple[_Frame, Future | None]] = deque()
        exhausted = False
        while True:
            while not exhausted and len(pending) <= pool.size:
                item = _get(decoder.q, stop)
                if item is _END:
                    exhausted = True
                    break
                run = item.index % options.stride == 0
                pending.append((item, pool.submit(item) if run else None))
            if not pending:
                break
            if cancel.is_set():
                cancelled = True
                break
            item, future = pending.popleft()
            run_detector = future is not None
            if run_detector:
                try:
                    found = future.result(timeout=DETECT_TIMEOUT_S)
                except FutureTimeout:
                    pool.abandon()
                    raise VideoError(
                        f"{info.display_name}: the detector gave no answer for frame {item.index} within "
                        f"{DETECT_TIMEOUT_S:.0f} s; the run was stopped (the frames before it were fine)"
                    ) from None
                except ModelError as exc:  # e.g. the runtime's own bound on one inference
                    raise VideoError(f"{info.display_name}, frame {item.index}: {exc}") from exc
                t0 = time.perf_counter()
                shown = tracker.update(found)
                detected += 1
            else:
                t0 = time.perf_counter()
                shown = tracker.coast()
            t1 = time.perf_counter()
            # The detector is done with the frame: draw on it unless the original is shown beside.
            drawn = annotate(item.bgr, shown, options.label_style, bgr=True, inplace=not options.side_by_side)
            annotated = burn_caption(drawn, options.caption, bgr=True)
            canvas = _compose(item.bgr, annotated, options.side_by_side, out_size)
            t2 = time.perf_counter()
            track_s += t1 - t0
            draw_s += t2 - t1
            if not _put(encoder.q, (item.pts, canvas), stop):
                break
            if csv_file is not None:
                for d in shown:
                    b = d.box.clamp(w, h).scale(inv, inv)
                    writer.writerow(
                        (
                            item.index,
                            f"{item.time_s:.4f}",
                            d.organ_id,
                            d.organ_name,
                            f"{d.confidence:.4f}",
                            f"{b.x1:.1f}",
                            f"{b.y1:.1f}",
                            f"{b.x2:.1f}",
                            f"{b.y2:.1f}",
                            "" if d.track_id is None else d.track_id,
                            int(run_detector),
                        )
                    )
            done += 1
            now = time.perf_counter()
            if progress is not None and now - last_report >= _PROGRESS_EVERY_S:
                last_report = now
                elapsed = now - t_start
                progress(
                    Progress(done, info.frames_estimate, elapsed, done / elapsed if elapsed > 0 else 0.0)
                )
        pool.close()
        if decoder.error is not None:
            raise decoder.error
        _put(encoder.q, _END, stop)
        encoder.join()
        if encoder.error is not None:
            raise encoder.error
        stop.set()
        decoder.join(timeout=_JOIN_S)
        if done == 0:
            raise VideoError(f"{info.display_name}: no frame was processed")
        elapsed = time.perf_counter() - t_start
        if progress is not None:
            progress(Progress(done, done, elapsed, done / elapsed))  # finished: the true count
        if csv_file is not None:
            csv_file.close()
            os.replace(csv_part, csv_final)
        os.replace(part, dst)
    except BaseException as exc:
        stop.set()
        if pool is not None:
            pool.close()
        for t in (decoder, encoder):
            if t is not None and t.is_alive():
                # Both stop within a frame; the muxer must be closed before its file is deleted,
                # or its faststart pass writes the file again after the unlink.
                t.join(timeout=_JOIN_S)
        if csv_file is not None and not csv_file.closed:
            csv_file.close()
        for p in (part, csv_part):
            if p is not None:
                p.unlink(missing_ok=True)
        if isinstance(exc, av.error.FFmpegError):
            raise VideoError(f"{info.display_name}: video processing failed ({exc})") from exc
        if isinstance(exc, OSError):  # e.g. the disk filled up while writing
            raise VideoError(f"cannot write {dst.name}: {exc.strerror or exc}") from exc
        raise
    if decoder.warning:
        warnings.append(decoder.warning)
    elif (
        info.frames_estimate
        and not cancelled
        and done < info.frames_estimate - max(2, 0.02 * info.frames_estimate)
    ):
        warnings.append(
            f"Only {done} of the {info.frames_estimate} frames the file announces could be decoded: "
            "it may be truncated."
        )
    return VideoResult(
        output_path=dst,
        csv_path=csv_final,
        info=info,
        options=options,
        frames_out=done,
        frames_detected=detected,
        width_px=out_size[0],
        height_px=out_size[1],
        scale=scale,
        elapsed_s=elapsed,
        cancelled=cancelled,
        warnings=tuple(warnings),
        timings_s={
            "decode": round(decoder.busy_s, 3),
            "detect": round(pool.busy_s if pool else 0.0, 3),
            "track": round(track_s, 3),
            "draw": round(draw_s, 3),
            "encode": round(encoder.busy_s if encoder else 0.0, 3),
        },
    )


@dataclass(frozen=True)
class ImageResult:
    """One annotated still image."""

    annotated_rgb: np.ndarray
    detections: tuple[Detection, ...]  # in the image's pixels
    width_px: int
    height_px: int


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
        data = np.fromfile(str(p), dtype=np.uint8) if p.is_file() else np.zeros(0, np.uint8)
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if bgr is None:
            raise VideoError(f"{p.name} could not be read as an image: expected a JPG, PNG, BMP or TIFF file")
    else:
        bgr = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    wanted = set(options.organs)
    dets = tuple(d for d in detector.predict(bgr, conf=options.conf, iou=options.iou) if d.organ_id in wanted)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return ImageResult(annotate(rgb, dets, options.label_style), dets, bgr.shape[1], bgr.shape[0])


def read_frame_at(path: str | Path, time_s: float, rotation_deg: int = 0) -> tuple[np.ndarray, float]:
    """The RGB frame shown at `time_s` in a video, and its exact time (seek, then decode forward).

    Times count from the first frame, as in the per-frame CSV; `rotation_deg` turns the frame
    upright as the pipeline did (VideoInfo.rotation_deg).

    Raises:
        VideoError: when the video cannot be read.
    """
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            tb = stream.time_base
            start = stream.start_time or 0
            target = start + int(max(0.0, time_s) / tb)
            container.seek(target, stream=stream, backward=True, any_frame=False)
            best = None
            for frame in container.decode(stream):
                if best is not None and frame.pts is not None and frame.pts > target:
                    break
                best = frame
                if frame.pts is not None and frame.pts >= target:
                    break
            if best is None:
                raise VideoError(f"{Path(path).name}: no frame at {time_s:.2f} s")
            t = float((best.pts - start) * tb) if best.pts is not None else time_s
            return _rotate(best.to_ndarray(format="rgb24"), rotation_deg), t
    except av.error.FFmpegError as exc:
        raise VideoError(f"{Path(path).name}: cannot read the frame at {time_s:.2f} s ({exc})") from exc


def frame_boxes(csv_rows: Sequence[dict], scale: float = 1.0) -> list[Detection]:
    """Detections from rows of the per-frame CSV (dicts), boxes multiplied by `scale`."""
    out = []
    for r in csv_rows:
        box = BoxPx(
            float(r["x1"]) * scale, float(r["y1"]) * scale, float(r["x2"]) * scale, float(r["y2"]) * scale
        )
        tid = r.get("track_id")
        track = (
            int(tid) if tid not in (None, "") and not (isinstance(tid, float) and math.isnan(tid)) else None
        )
        out.append(Detection(int(r["organ_id"]), float(r["confidence"]), box, track))
    return out


def organ_names(ids: Sequence[int]) -> list[str]:
    """Catalogue names of organ ids."""
    return [ORGANS[i].name for i in ids]
