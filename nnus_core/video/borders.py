"""Find the scan area of a screen recording: the image inside the scanner's dark borders.

A recording of an ultrasound scanner's screen (or a scan letterboxed into 16:9) shows the image
with dark margins around it, often with text, a depth scale or a grey bar in them. A detector trained on the image
alone sees those margins as dark anatomy (air in the trachea looks the same) and sees the organs
smaller than it was trained on. Detecting inside the scan area fixes both; the output video and the
boxes keep the full frame's pixels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

DARK_LEVEL = 16  # luma at or below which a pixel is "black" (limited-range black is 16)
BORDER_DARK_SHARE = 0.98  # a border row/column is (almost) all dark in every sampled frame
IMAGE_DARK_SHARE = 0.9  # an image row/column is lit in at least a tenth of its pixels
MERGE_GAP_SHARE = 0.01  # dark lines inside the image (up to 1 % of a side) do not split it
MIN_RUN_SHARE = 0.1  # shorter lit runs (text, a scale, a logo) belong to the margins...
SOLID_DARK_SHARE = 0.5  # ...unless their lines are at least half lit, as no text is
MIN_TRIM_SHARE = 0.04  # trim only borders worth it: together >= 4 % of the width or height
MIN_AREA_SHARE = 0.3  # and never to less than 30 % of a side (a dark scan is not a border)
SAMPLE_FRAMES = 24


@dataclass(frozen=True)
class ScanArea:
    """A rectangle of a frame, in the frame's (upright, working-size) pixels."""

    x: int
    y: int
    width: int
    height: int

    def describe(self, frame_w: int, frame_h: int) -> str:
        return (
            f"Dark borders trimmed: the detector ran on the {self.width}x{self.height} scan area at "
            f"({self.x}, {self.y}) of the {frame_w}x{frame_h} frame; boxes are in the full frame."
        )


def _image_span(dark_share: np.ndarray) -> tuple[int, int]:
    """First and one-past-last index of the image along one axis.

    Lines lit in a tenth of their pixels or more form runs (a line or two of dark inside does not
    split one). Short, sparsely lit runs are text, scales or logos in the margins and are left out
    with the border; the span
    runs from the first long run to the last, so a dark band across the scan (a vessel seen along
    its length) never cuts the image in two. The span then grows over the faintly lit lines next
    to it (an acoustic shadow at the scan's edge), but not across a dark gap.
    """
    n = len(dark_share)
    strong = np.flatnonzero(dark_share < IMAGE_DARK_SHARE)
    if len(strong) == 0:
        return 0, 0
    gap = max(1, int(MERGE_GAP_SHARE * n))
    breaks = np.flatnonzero(np.diff(strong) > gap + 1)
    starts = np.concatenate(([strong[0]], strong[breaks + 1]))
    ends = np.concatenate((strong[breaks], [strong[-1]])) + 1
    # A short run is image too when its lines are mostly lit (skin lines above a dark fat layer);
    # text, even in a banner, lights far fewer of a line's pixels.
    solid = np.array([dark_share[s:e].mean() < SOLID_DARK_SHARE for s, e in zip(starts, ends, strict=True)])
    long_runs = np.flatnonzero((ends - starts >= MIN_RUN_SHARE * n) | solid)
    if len(long_runs) == 0:
        return 0, 0
    lo, hi = int(starts[long_runs[0]]), int(ends[long_runs[-1]])
    lit = dark_share < BORDER_DARK_SHARE
    while lo > 0 and lit[lo - 1]:
        lo -= 1
    while hi < n and lit[hi]:
        hi += 1
    return lo, hi


def scan_area(gray_frames: Iterable[np.ndarray]) -> ScanArea | None:
    """The area inside dark borders shared by all frames (grayscale, same size), or None when the
    frames have no border worth trimming."""
    brightest = None
    for g in gray_frames:
        brightest = g.copy() if brightest is None else np.maximum(brightest, g, out=brightest)
    if brightest is None:
        return None
    h, w = brightest.shape[:2]
    dark = brightest <= DARK_LEVEL
    # Each axis is judged within the other's span, twice: a line of text across the top margin
    # otherwise makes every column under it look like image.
    x0, x1, y0, y1 = 0, w, 0, h
    for _ in range(2):
        y0, y1 = _image_span(dark[:, x0:x1].mean(axis=1)) if x1 > x0 else (0, 0)
        x0, x1 = _image_span(dark[y0:y1].mean(axis=0)) if y1 > y0 else (0, 0)
    aw, ah = x1 - x0, y1 - y0
    if aw < MIN_AREA_SHARE * w or ah < MIN_AREA_SHARE * h:
        return None  # mostly dark frames: nothing to tell image from border
    if w - aw < MIN_TRIM_SHARE * w and h - ah < MIN_TRIM_SHARE * h:
        return None
    return ScanArea(x0, y0, aw, ah)


def image_scan_area(image: np.ndarray) -> ScanArea | None:
    """`scan_area` of one still image (grayscale or BGR): a screenshot's or an export's dark margins,
    with the scanner's text, logo and scales in them, are left out as for a video."""
    if image.ndim == 2:
        return scan_area([image])
    # The brightest channel (cv2: ~20x faster than numpy's max over the last axis).
    return scan_area([cv2.max(cv2.max(image[:, :, 0], image[:, :, 1]), image[:, :, 2])])


def sample_gray(path: str | Path, size: tuple[int, int], rotation_deg: int, n: int = SAMPLE_FRAMES):
    """Up to `n` first frames of a video as upright grayscale arrays of `size` (width, height).

    Stops quietly at the first decoding error: the pipeline reports bad files itself.
    """
    w, h = size
    sw, sh = (h, w) if rotation_deg in (90, 270) else (w, h)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for i, frame in enumerate(container.decode(stream)):
                if i >= n:
                    break
                g = frame.to_ndarray(format="gray", width=sw, height=sh)
                yield np.ascontiguousarray(np.rot90(g, k=-(rotation_deg // 90))) if rotation_deg else g
    except (av.error.FFmpegError, OSError, IndexError):
        return
