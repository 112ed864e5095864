"""Drawing on frames: box labels, organ boxes, the corner caption and the output canvas."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from nnus_core.detection import Detection
from nnus_core.render import Overlay, draw_overlays


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
        cv2.putText(
            image,
            line,
            (x0 + pad, pad + th + i * step),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            color,
            thick,
            cv2.LINE_AA,
        )
    return image


def compose(
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
