"""Draw ground-truth, model and student boxes on an image in the organ colours (OpenCV, no UI)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from nnus_core.geometry import BoxPx
from nnus_core.organs import ORGANS


@dataclass(frozen=True)
class Overlay:
    """One box to draw. `style`: "solid" (ground truth), "dashed" (model), "student"."""

    organ_id: int | None
    box: BoxPx
    label: str = ""
    style: str = "solid"
    color: tuple[int, int, int] | None = None  # RGB; default: the organ colour


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Any grayscale/BGR/BGRA uint8 array as an RGB uint8 array."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def adjust(image_rgb: np.ndarray, brightness: float = 0.0, contrast: float = 1.0) -> np.ndarray:
    """Brightness (added gray levels) and contrast (gain around mid-gray) of an RGB image."""
    if brightness == 0.0 and contrast == 1.0:
        return image_rgb
    out = (image_rgb.astype(np.float32) - 128.0) * contrast + 128.0 + brightness
    return np.clip(out, 0, 255).astype(np.uint8)


def _dashed_rect(img: np.ndarray, p1, p2, color, thickness: int, dash: int = 8) -> None:
    x1, y1 = p1
    x2, y2 = p2
    for x in range(x1, x2, dash * 2):
        cv2.line(img, (x, y1), (min(x + dash, x2), y1), color, thickness, cv2.LINE_AA)
        cv2.line(img, (x, y2), (min(x + dash, x2), y2), color, thickness, cv2.LINE_AA)
    for y in range(y1, y2, dash * 2):
        cv2.line(img, (x1, y), (x1, min(y + dash, y2)), color, thickness, cv2.LINE_AA)
        cv2.line(img, (x2, y), (x2, min(y + dash, y2)), color, thickness, cv2.LINE_AA)


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_label(
    box: tuple[int, int, int, int],
    size: tuple[int, int],
    image_wh: tuple[int, int],
    taken: list[tuple[int, int, int, int]],
) -> tuple[int, int, int, int]:
    """Rectangle (x1, y1, x2, y2) for a box's label tag that avoids the tags already placed.

    Tries above the box's top-left corner, inside it, below it, then right-aligned variants; keeps
    the first that fits in the image without covering another tag (labels of touching organs, such
    as the CCA and IJV, otherwise print over each other).
    """
    x1, y1, x2, y2 = box
    tw, th = size
    w, h = image_wh
    left, right = x1, x2 - tw
    candidates = []
    for x in (left, right):
        candidates += [(x, y1 - th), (x, y1 + 1), (x, y2 + 1), (x, y2 - th)]
    rects = []
    for x, y in candidates:
        x = min(max(x, 0), max(w - tw, 0))
        y = min(max(y, 0), max(h - th, 0))
        rects.append((x, y, x + tw, y + th))
    for r in rects:
        if not any(_overlaps(r, t) for t in taken):
            return r
    # Crowded: slide the tag down the box's edges, one tag height at a time, before giving up.
    for x in (left, right):
        for y in range(y1 + th, max(y2, y1 + th) + 1, th):
            x = min(max(x, 0), max(w - tw, 0))
            yy = min(max(y, 0), max(h - th, 0))
            r = (x, yy, x + tw, yy + th)
            if not any(_overlaps(r, t) for t in taken):
                return r
    return rects[0]


def draw_overlays(
    image_rgb: np.ndarray,
    overlays: Iterable[Overlay],
    *,
    thickness: int = 2,
    show_labels: bool = True,
    font_scale: float = 0.45,
    bgr: bool = False,
    inplace: bool = False,
) -> np.ndarray:
    """Return a copy of an RGB image with the overlays drawn (labels on a filled tag).

    Boxes are drawn first and labels last, so that no box line crosses a label, and each label is
    placed where it does not cover another one. With `bgr=True` the image is BGR (as OpenCV and
    the video pipeline hold frames) and the colours are swapped to match. With `inplace=True` a
    contiguous image is drawn on and returned instead of a copy (a video frame nobody reads again).
    """
    img = image_rgb if inplace and image_rgb.flags.c_contiguous else np.ascontiguousarray(image_rgb.copy())
    h, w = img.shape[:2]
    labels: list[tuple[str, tuple[int, int, int, int], tuple[int, int, int]]] = []
    for ov in overlays:
        color = ov.color or (ORGANS[ov.organ_id].rgb if ov.organ_id is not None else (255, 255, 255))
        if bgr:
            color = color[::-1]
        b = ov.box.clamp(w - 1, h - 1)
        p1, p2 = (int(round(b.x1)), int(round(b.y1))), (int(round(b.x2)), int(round(b.y2)))
        if ov.style == "dashed":
            _dashed_rect(img, p1, p2, color, thickness)
        elif ov.style == "student":
            cv2.rectangle(img, p1, p2, (0, 0, 0), thickness + 2, cv2.LINE_AA)
            cv2.rectangle(img, p1, p2, color, thickness, cv2.LINE_AA)
        else:  # axis-aligned on whole pixels: anti-aliasing only blurs it, at 4x the drawing time
            cv2.rectangle(img, p1, p2, color, thickness, cv2.LINE_8)
        if show_labels and ov.label:
            labels.append((ov.label, (*p1, *p2), color))
    taken: list[tuple[int, int, int, int]] = []
    for text, box, color in labels:
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        r = place_label(box, (tw + 2, th + base + 2), (w, h), taken)
        taken.append(r)
        cv2.rectangle(img, (r[0], r[1]), (r[2] - 1, r[3] - 1), color, -1)
        red, green, blue = color[::-1] if bgr else color
        lum = 0.299 * red + 0.587 * green + 0.114 * blue
        text_color = (0, 0, 0) if lum > 120 else (255, 255, 255)
        cv2.putText(
            img,
            text,
            (r[0] + 1, r[1] + th + 1),
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            text_color,
            1,
            cv2.LINE_AA,
        )
    return img
