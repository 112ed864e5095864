"""Decoding ahead of the detector and H.264 encoding behind it, each in its own thread, fed by short queues."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.reformatter import VideoReformatter

from nnus_core.errors import VideoError
from nnus_core.video.borders import ScanArea
from nnus_core.video.options import VideoOptions
from nnus_core.video.probe import VideoInfo, fraction_rate

QUEUE_FRAMES = 6  # frames buffered on each side of the detector: enough to absorb jitter, tiny in RAM
END = object()  # the last item of a queue
_DECODE_THREADS_ABOVE_PX = 1920 * 1088


@dataclass(frozen=True)
class Frame:
    """One decoded frame, ready for the detector and for drawing."""

    index: int
    pts: int  # in the output time base, from 0
    time_s: float
    bgr: np.ndarray  # working size, upright
    # What the detector sees when not `bgr` itself: the frame (or its scan area) already scaled
    # to fit the detector's input; `region` is (x, y, w, h) of the working frame it shows.
    small: np.ndarray | None = None
    region: tuple[int, int, int, int] | None = None


def rotate(img: np.ndarray, clockwise_deg: int) -> np.ndarray:
    """The frame turned upright by a container's rotation (0, 90, 180 or 270 degrees clockwise)."""
    if clockwise_deg == 90:
        return cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
    if clockwise_deg == 180:
        return cv2.rotate(img, cv2.ROTATE_180)
    if clockwise_deg == 270:
        return cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return img


def put(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put unless stopped; False when the run was stopped while waiting."""
    while not stop.is_set():
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def get(q: queue.Queue, stop: threading.Event) -> object:
    """The next item, or END once the run is stopped and the queue is empty."""
    while True:
        try:
            return q.get(timeout=0.1)
        except queue.Empty:
            if stop.is_set():
                return END


class _Clock:
    """Output timestamps from 0, strictly increasing, for frames whose own may be missing or repeated."""

    def __init__(self, per_frame: int) -> None:
        self.per_frame = per_frame  # one nominal frame interval in ticks
        self.first: int | None = None
        self.last = -1

    def next(self, pts: int | None, decoded: int) -> int:
        if pts is None:
            pts = decoded * self.per_frame if self.first is None else self.last + self.per_frame
        if self.first is None:
            self.first = pts
        rel = pts - self.first
        if rel <= self.last:  # repeated or reordered timestamps: keep frames strictly in order
            rel = self.last + 1
        self.last = rel
        return rel


class _Converter:
    """Each frame converted twice by FFmpeg's swscale, each with its own cached context: to BGR at
    the working size (for drawing) and, when `fit` is given, straight from YUV to BGR at the size
    it takes in the detector's input. Measured on 494x448 H.264: 0.3 ms a frame for both, against
    0.9 ms for OpenCV's YUV->BGR conversion and resize."""

    def __init__(
        self, size: tuple[int, int], rotation_deg: int, fit: tuple[int, int] | None, area: ScanArea | None
    ) -> None:
        self.size, self.rotation_deg, self.area = size, rotation_deg, area
        w, h = size
        # The scaler works on the stored (pre-rotation) orientation.
        turned = rotation_deg in (90, 270)
        self.stored = (h, w) if turned else (w, h)
        if fit is not None and turned and area is None:
            fit = fit[1], fit[0]  # scaled from the stored frame, then turned
        self.fit = fit
        self._to_working, self._to_detector = VideoReformatter(), VideoReformatter()

    def convert(self, frame: av.VideoFrame, index: int, pts: int, time_s: float) -> Frame:
        sw, sh = self.stored
        fit, area, turn = self.fit, self.area, self.rotation_deg
        bgr = self._to_working.reformat(
            frame, width=sw, height=sh, format="bgr24", interpolation="AREA"
        ).to_ndarray()
        small = region = None
        if area is not None:  # the scan area of the upright frame, scaled by OpenCV
            bgr = rotate(bgr, turn)
            region = (area.x, area.y, area.width, area.height)
            small = bgr[area.y : area.y + area.height, area.x : area.x + area.width]
            if fit is not None:
                small = cv2.resize(small, fit, interpolation=cv2.INTER_LINEAR)
        else:
            if fit is not None:
                # Two-tap bilinear, as the letterbox's cv2.resize the model was trained with.
                small = self._to_detector.reformat(
                    frame, width=fit[0], height=fit[1], format="bgr24", interpolation="FAST_BILINEAR"
                ).to_ndarray()
                small = rotate(small, turn)
                region = (0, 0, *self.size)
            bgr = rotate(bgr, turn)
        return Frame(index, pts, time_s, bgr, small, region)


class Decoder(threading.Thread):
    """Reads, scales, rotates and converts frames ahead of the detector into `q` (END last).

    An error is kept in `error` for the calling thread; a file that breaks after some frames ends
    the queue early and says so in `warning`.
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
        self.info, self.stop = info, stop
        self._converter = _Converter(size, info.rotation_deg, fit, area)
        self.q: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
        self.error: BaseException | None = None
        self.warning: str | None = None
        self.time_base: Fraction = Fraction(1, 90000)
        self.decoded = 0
        self.busy_s = 0.0
        self.ready = threading.Event()  # set once `time_base` is known (or the decoder failed)

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # handed to the calling thread, which re-raises it
            self.error = exc
        finally:
            self.ready.set()
            put(self.q, END, self.stop)

    def _run(self) -> None:
        info = self.info
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
            clock = _Clock(max(1, int(round(1 / (info.fps * tb)))))
            frames = container.decode(stream)
            while not self.stop.is_set():
                t0 = time.perf_counter()
                frame = self._next(frames)
                if frame is None:
                    break
                rel = clock.next(frame.pts, self.decoded)
                item = self._converter.convert(frame, self.decoded, rel, float(rel * tb))
                self.busy_s += time.perf_counter() - t0
                self.decoded += 1
                if not put(self.q, item, self.stop):
                    break

    def _next(self, frames: Iterator[av.VideoFrame]) -> av.VideoFrame | None:
        """The next frame; None at the end or where a damaged file stops decoding after some frames."""
        try:
            return next(frames)
        except StopIteration:
            return None
        except av.error.FFmpegError as exc:
            if self.decoded == 0:
                raise VideoError(f"{self.info.display_name}: no frame could be decoded ({exc})") from exc
            self.warning = (
                f"Decoding stopped after frame {self.decoded} ({exc.strerror or exc}): the file is "
                "damaged or truncated. The frames before it were processed."
            )
            return None


class Encoder(threading.Thread):
    """Writes H.264 (yuv420p, even size, faststart) behind the detector, from (pts, BGR canvas) items."""

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
        self.path, self.size, self.fps, self.time_base = path, size, fps, time_base
        self.options, self.stop = options, stop
        self.q: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
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
                item = get(self.q, self.stop)
                if item is END:
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
