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


def draw_overlays(
    image_rgb: np.ndarray,
    overlays: Iterable[Overlay],
    *,
    thickness: int = 2,
    show_labels: bool = True,
    font_scale: float = 0.45,
) -> np.ndarray:
    """Return a copy of an RGB image with the overlays drawn (labels on a filled tag)."""
    img = np.ascontiguousarray(image_rgb.copy())
    h, w = img.shape[:2]
    for ov in overlays:
        color = ov.color or (ORGANS[ov.organ_id].rgb if ov.organ_id is not None else (255, 255, 255))
        b = ov.box.clamp(w - 1, h - 1)
        p1, p2 = (int(round(b.x1)), int(round(b.y1))), (int(round(b.x2)), int(round(b.y2)))
        if ov.style == "dashed":
            _dashed_rect(img, p1, p2, color, thickness)
        elif ov.style == "student":
            cv2.rectangle(img, p1, p2, (0, 0, 0), thickness + 2, cv2.LINE_AA)
            cv2.rectangle(img, p1, p2, color, thickness, cv2.LINE_AA)
        else:
            cv2.rectangle(img, p1, p2, color, thickness, cv2.LINE_AA)
        if show_labels and ov.label:
            (tw, th), base = cv2.getTextSize(ov.label, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
            ty = p1[1] - 3 if p1[1] - th - base - 3 >= 0 else p2[1] + th + 3
            tx = min(max(p1[0], 0), max(w - tw - 2, 0))
            cv2.rectangle(img, (tx, ty - th - 2), (tx + tw + 2, ty + base - 1), color, -1)
            lum = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
            text_color = (0, 0, 0) if lum > 120 else (255, 255, 255)
            cv2.putText(
                img, ov.label, (tx + 1, ty - 1), cv2.FONT_HERSHEY_SIMPLEX, font_scale, text_color, 1,
                cv2.LINE_AA,
            )
    return img
