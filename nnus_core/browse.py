"""Browsing logic without UI: filters, paging, thumbnails, box overlays and the zoomed viewer image."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from nnus_core.dataset.images import read_image
from nnus_core.dataset.model import Annotation, Sample
from nnus_core.detection import Detection, Detections
from nnus_core.geometry import BoxPx
from nnus_core.matching import pair_boxes
from nnus_core.organs import N_ORGANS, ORGANS
from nnus_core.render import Overlay, adjust, draw_overlays, to_rgb

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class BrowseFilter:
    """Which images to show; an empty set means "any"."""

    present: frozenset[int] = frozenset()  # every one of these organs is labelled in the image
    absent: frozenset[int] = frozenset()  # none of these organs is labelled
    subjects: frozenset[str] = frozenset()
    splits: frozenset[str] = frozenset()
    min_organs: int = 0  # number of distinct organs labelled, inclusive range
    max_organs: int = N_ORGANS
    text: str = ""  # case-insensitive substring of the file name

    def matches(self, sample: Sample) -> bool:
        ids = sample.organ_ids
        if not self.present <= ids or self.absent & ids:
            return False
        if self.subjects and sample.subject not in self.subjects:
            return False
        if self.splits and sample.split not in self.splits:
            return False
        if not self.min_organs <= len(ids) <= self.max_organs:
            return False
        return not self.text or self.text.strip().lower() in sample.name.lower()

    @property
    def active(self) -> bool:
        """True when the filter excludes anything at all."""
        return self != BrowseFilter()


def filter_samples(samples: Iterable[Sample], flt: BrowseFilter) -> tuple[Sample, ...]:
    """The samples that pass the filter, in dataset order."""
    if not flt.active:
        return tuple(samples)
    return tuple(s for s in samples if flt.matches(s))


@dataclass(frozen=True)
class PageSlice:
    """One page of a list: 0-based page number (clamped), page count, and the [start, stop) range."""

    page: int
    n_pages: int
    start: int
    stop: int


def paginate(n_items: int, page_size: int, page: int) -> PageSlice:
    """The slice of page `page` (clamped into range; an empty list has one empty page).

    Raises:
        ValueError: for a page size below 1.
    """
    if page_size < 1:
        raise ValueError(f"page_size must be >= 1, got {page_size}")
    n_pages = max(1, math.ceil(n_items / page_size))
    page = min(max(page, 0), n_pages - 1)
    start = page * page_size
    return PageSlice(page, n_pages, start, min(start + page_size, n_items))


def page_of(index: int, page_size: int) -> int:
    """The 0-based page holding item `index`."""
    return max(index, 0) // max(page_size, 1)


def neighbours(stems: Sequence[str], current: str) -> tuple[str | None, str | None]:
    """The previous and next stems around `current` (None at the ends or when it is not listed)."""
    try:
        i = list(stems).index(current)
    except ValueError:
        return None, None
    return (stems[i - 1] if i > 0 else None), (stems[i + 1] if i + 1 < len(stems) else None)


def load_rgb(path: Path | str) -> np.ndarray:
    """Decode an image file as an RGB uint8 array.

    Raises:
        ImageReadError: (a ValueError) when the file is missing or cannot be decoded.
    """
    return to_rgb(read_image(path))


def thumbnail_jpeg(
    image_path: Path | str,
    annotations: Sequence[Annotation] = (),
    *,
    width_px: int = 240,
    quality: int = 80,
) -> bytes:
    """A small JPEG of an image with its ground-truth boxes (if given) drawn in the organ colours.

    Boxes are drawn after downscaling, two pixels wide, so they survive the browser's further scaling.

    Raises:
        ValueError: when the image cannot be decoded.
    """
    img = load_rgb(image_path)
    h, w = img.shape[:2]
    scale = width_px / w
    small = cv2.resize(img, (width_px, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    if annotations:
        small = draw_overlays(
            small,
            [Overlay(a.organ_id, a.box.scale(scale, scale)) for a in annotations],
            thickness=2,
            show_labels=False,
        )
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError(f"{image_path}: cannot encode thumbnail")
    return buf.tobytes()


def gt_overlays(annotations: Sequence[Annotation], organs: Iterable[int] | None = None) -> list[Overlay]:
    """Ground-truth boxes (solid), labelled with the organ's short name."""
    keep = set(range(N_ORGANS)) if organs is None else set(organs)
    return [Overlay(a.organ_id, a.box, ORGANS[a.organ_id].short) for a in annotations if a.organ_id in keep]


def model_overlays(
    detections: Sequence[Detection], organs: Iterable[int] | None = None, min_confidence: float = 0.0
) -> list[Overlay]:
    """Model boxes (dashed) at or above `min_confidence`, labelled with short name and confidence."""
    keep = set(range(N_ORGANS)) if organs is None else set(organs)
    return [
        Overlay(d.organ_id, d.box, f"{ORGANS[d.organ_id].short} {d.confidence:.2f}", "dashed")
        for d in detections
        if d.organ_id in keep and d.confidence >= min_confidence
    ]


SAME_BOX_IOU = 0.5  # a model box this close to a labelled box of its organ shares that box's tag


def study_overlays(annotations: Sequence[Annotation], detections: Sequence[Detection]) -> list[Overlay]:
    """Ground truth and model boxes on one image, with one tag per organ box instead of two.

    A model box that overlaps a labelled box of the same organ (IoU >= SAME_BOX_IOU) gives its
    confidence to that box's tag ("STR + model 0.88") and draws untagged; only the model's other
    boxes carry their own tag. Without this, "STR", "STR 0.88" and "STR 0.51" pile up on a crowded image.
    """
    pairs = pair_boxes(
        Detections.from_boxes((a.organ_id, a.box) for a in annotations),
        Detections.from_detections(detections),
        SAME_BOX_IOU,
    ).pairs
    gt_conf = {gi: detections[di].confidence for gi, di in pairs}
    merged = {di for _, di in pairs}
    # ASCII only: OpenCV's font has no "·".
    out = [
        Overlay(
            a.organ_id,
            a.box,
            ORGANS[a.organ_id].short + (f" + model {gt_conf[gi]:.2f}" if gi in gt_conf else ""),
        )
        for gi, a in enumerate(annotations)
    ]
    out += [
        Overlay(
            d.organ_id,
            d.box,
            "" if di in merged else f"{ORGANS[d.organ_id].short} {d.confidence:.2f}",
            "dashed",
        )
        for di, d in enumerate(detections)
    ]
    return out


def first_image(samples: Sequence[Sample]) -> Sample | None:
    """The image a first-time student opens: the one showing the most different organs (first wins).

    Many organs in one view make the first look worth it: every colour of the legend at once.
    """
    return max(samples, key=lambda s: len(s.organ_ids), default=None)


def organ_at(x_px: float, y_px: float, boxes: Iterable[tuple[int, BoxPx]]) -> int | None:
    """The organ whose box contains the point; the smallest such box wins (nested structures)."""
    best: tuple[float, int] | None = None
    for organ_id, b in boxes:
        if b.x1 <= x_px <= b.x2 and b.y1 <= y_px <= b.y2 and (best is None or b.area < best[0]):
            best = (b.area, organ_id)
    return None if best is None else best[1]


def box_rows(
    annotations: Sequence[Annotation], detections: Sequence[Detection] = ()
) -> list[dict[str, object]]:
    """Rows for a box table: ground truth first, then detections; pixel corners and sizes."""
    rows = []
    for a in annotations:
        b = a.box
        rows.append(
            {
                "source": "ground truth",
                "organ": a.organ.name,
                "organ_id": a.organ_id,
                "confidence": None,
                "x1": round(b.x1),
                "y1": round(b.y1),
                "width_px": round(b.width),
                "height_px": round(b.height),
            }
        )
    for d in detections:
        b = d.box
        rows.append(
            {
                "source": "model",
                "organ": d.organ_name,
                "organ_id": d.organ_id,
                "confidence": round(d.confidence, 3),
                "x1": round(b.x1),
                "y1": round(b.y1),
                "width_px": round(b.width),
                "height_px": round(b.height),
            }
        )
    return rows


@dataclass(frozen=True)
class ViewTransform:
    """How a rendered view maps to the source image: the crop window and the output scale."""

    window: BoxPx  # the visible part of the source image, in source pixels
    scale: float  # output pixels per source pixel

    def to_source(self, x_out: float, y_out: float) -> tuple[float, float]:
        """Source-image coordinates of a point in the rendered view."""
        return self.window.x1 + x_out / self.scale, self.window.y1 + y_out / self.scale


def zoom_window(width: int, height: int, zoom: float, center_x: float = 0.5, center_y: float = 0.5) -> BoxPx:
    """The crop (in pixels) showing 1/zoom of the image around a centre given as fractions.

    The window is shifted, never shrunk, to stay inside the image.

    Raises:
        ValueError: for a zoom below 1.
    """
    if zoom < 1.0:
        raise ValueError(f"zoom must be >= 1, got {zoom}")
    cw, ch = width / zoom, height / zoom
    x1 = min(max(center_x * width - cw / 2, 0.0), width - cw)
    y1 = min(max(center_y * height - ch / 2, 0.0), height - ch)
    return BoxPx(x1, y1, x1 + cw, y1 + ch)


def render_view(
    image_rgb: np.ndarray,
    overlays: Sequence[Overlay],
    *,
    out_width_px: int = 960,
    zoom: float = 1.0,
    center: tuple[float, float] = (0.5, 0.5),
    brightness: float = 0.0,
    contrast: float = 1.0,
    show_labels: bool = True,
) -> tuple[np.ndarray, ViewTransform]:
    """The viewer's picture: adjusted, cropped, enlarged to `out_width_px`, with boxes drawn on top.

    Boxes are drawn after enlarging so lines and labels stay sharp at any zoom; brightness and
    contrast change only the image, never the box colours.

    Returns:
        The RGB picture and the transform from its pixels back to the source image.
    """
    h, w = image_rgb.shape[:2]
    win = zoom_window(w, h, zoom, *center)
    x1, y1 = int(math.floor(win.x1)), int(math.floor(win.y1))
    x2, y2 = min(w, int(math.ceil(win.x2))), min(h, int(math.ceil(win.y2)))
    crop = adjust(image_rgb[y1:y2, x1:x2], brightness, contrast)
    win = BoxPx(x1, y1, x2, y2)
    scale = out_width_px / (x2 - x1)
    out_h = max(1, round((y2 - y1) * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    view = cv2.resize(crop, (out_width_px, out_h), interpolation=interp)
    moved = []
    for ov in overlays:
        b = ov.box
        if b.x2 < x1 or b.x1 > x2 or b.y2 < y1 or b.y1 > y2:
            continue  # entirely outside the zoomed window
        moved.append(
            Overlay(
                ov.organ_id,
                BoxPx((b.x1 - x1) * scale, (b.y1 - y1) * scale, (b.x2 - x1) * scale, (b.y2 - y1) * scale),
                ov.label,
                ov.style,
                ov.color,
            )
        )
    # Line width and font grow with the output so labels stay readable on a projector.
    unit = out_width_px / 480
    view = draw_overlays(
        view, moved, thickness=max(2, round(1.5 * unit)), show_labels=show_labels, font_scale=0.42 * unit
    )
    return view, ViewTransform(win, scale)


def encode_jpeg(image_rgb: np.ndarray, quality: int = 90) -> bytes:
    """JPEG bytes of an RGB image (smaller and faster to send than PNG for ultrasound frames).

    Raises:
        ValueError: when encoding fails.
    """
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise ValueError("cannot encode image as JPEG")
    return buf.tobytes()
