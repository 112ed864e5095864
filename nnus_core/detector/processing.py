"""Torch-free pre- and post-processing of YOLO detectors: image decoding, letterbox, decoding, NMS."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from nnus_core.dataset.images import read_image
from nnus_core.errors import ModelError

PAD_VALUE = 114  # ultralytics' letterbox grey: keeps the exported model on its training distribution
MAX_NMS_CANDIDATES = 30000
MAX_WH = 7680.0  # offset per class so that one NMS call keeps classes apart (as ultralytics does)
MAX_SHRINK = 0.03  # an image may be scaled down this much more to drop a row of padding blocks
NNUS_IMAGE_WH = (494, 447)  # every image of the NNUS dataset (and of the phantom)


def as_bgr(image: np.ndarray | str | Path) -> np.ndarray:
    """A 3-channel uint8 BGR image from a path or a grayscale / BGR / BGRA uint8 array.

    Raises:
        ImageReadError: for a missing or undecodable file.
        ModelError: for an array of another shape or type.
    """
    if isinstance(image, (str, Path)):
        image = read_image(image, unchanged=True)  # keeps 16-bit depth and alpha for the branches below
    if not isinstance(image, np.ndarray):
        raise ModelError(f"expected an image path or a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            # 16-bit PNGs: keep the high byte, as a viewer would show them.
            image = (image >> 8).astype(np.uint8)
        else:
            raise ModelError(f"expected a uint8 image array, got dtype {image.dtype}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image.reshape(image.shape[:2]), cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise ModelError(f"expected an image of shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the model's input: scale, then padding on the left/top."""

    width: int  # original image size
    height: int
    gain: float
    pad_x: int
    pad_y: int


def letterbox(bgr: np.ndarray, imgsz: int | tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Resize keeping the aspect ratio and pad to the model input, centred (ultralytics' LetterBox).

    Args:
        bgr: the image.
        imgsz: a square side, or the (height, width) of a rectangular input.

    Returns:
        (uint8 BGR array of the input's shape, the transform to undo on boxes)
    """
    out_h, out_w = (imgsz, imgsz) if isinstance(imgsz, int) else imgsz
    h, w = bgr.shape[:2]
    if h < 1 or w < 1:
        raise ModelError(f"expected an image of at least 1x1 pixels, got {w}x{h}")
    gain = min(out_h / h, out_w / w)
    new_w, new_h = int(round(w * gain)), int(round(h * gain))
    dw, dh = (out_w - new_w) / 2, (out_h - new_h) / 2
    resized = (
        bgr if (new_w, new_h) == (w, h) else cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    )
    # The -0.1/+0.1 rounding puts an odd pixel of padding at the bottom/right, exactly as ultralytics.
    top, left = int(round(dh - 0.1)), int(round(dw - 0.1))
    out = np.full((out_h, out_w, 3), PAD_VALUE, dtype=np.uint8)
    out[top : top + new_h, left : left + new_w] = resized
    # Boxes are mapped back with the padding ultralytics' scale_boxes assumes, which is the same.
    return out, Letterbox(w, h, gain, left, top)


def to_tensor(letterboxed: np.ndarray) -> np.ndarray:
    """(1, 3, S, S) float32 RGB in [0, 1] from a letterboxed BGR uint8 image."""
    h, w = letterboxed.shape[:2]
    out = np.empty((1, 3, h, w), dtype=np.float32)
    # One pass per channel into preallocated memory: 3x faster than transpose + astype + scale.
    for c in range(3):
        np.multiply(letterboxed[:, :, 2 - c], np.float32(1.0 / 255.0), out=out[0, c], casting="unsafe")
    return out


def preprocess(image: np.ndarray | str | Path, imgsz: int | tuple[int, int]) -> tuple[np.ndarray, Letterbox]:
    """Decode and letterbox one image: (the input-shaped uint8 BGR array, the transform to undo)."""
    return letterbox(as_bgr(image), imgsz)


def _nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float) -> np.ndarray:
    """Class-aware NMS; indices of kept boxes, highest score first."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    # Offsetting each class far apart lets one pass suppress only within a class.
    off = boxes + (classes.astype(np.float64) * MAX_WH)[:, None]
    rects = np.column_stack([off[:, 0], off[:, 1], off[:, 2] - off[:, 0], off[:, 3] - off[:, 1]])
    keep = cv2.dnn.NMSBoxes(rects.tolist(), scores.astype(float).tolist(), 0.0, float(iou))
    keep = np.asarray(keep, dtype=np.int64).reshape(-1)
    return keep[np.argsort(-scores[keep], kind="stable")]


def decode(
    raw: np.ndarray, lb: Letterbox, conf: float = 0.25, iou: float = 0.7, max_det: int = 300
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn one image's raw YOLO output into boxes in the original image's pixels.

    Args:
        raw: (4 + nc, A) or (1, 4 + nc, A): centre-x, centre-y, width, height in letterboxed pixels,
            then one sigmoid score per class, for A anchors.
        lb: the letterbox applied to the image.
        conf: minimum class score.
        iou: NMS IoU threshold (within a class).
        max_det: most detections kept.

    Returns:
        (boxes (N, 4) xyxy float, confidences (N,), model class ids (N,)), by descending confidence.
    """
    out = np.asarray(raw, dtype=np.float32)
    if out.ndim == 3:
        out = out[0]
    scores_all = out[4:]
    cls = scores_all.argmax(0)
    score = scores_all[cls, np.arange(out.shape[1])]
    cand = np.nonzero(score > conf)[0]
    if len(cand) > MAX_NMS_CANDIDATES:
        cand = cand[np.argsort(-score[cand])[:MAX_NMS_CANDIDATES]]
    xywh = out[:4, cand].T.astype(np.float64)
    boxes = np.empty_like(xywh)
    boxes[:, 0] = xywh[:, 0] - xywh[:, 2] / 2
    boxes[:, 1] = xywh[:, 1] - xywh[:, 3] / 2
    boxes[:, 2] = xywh[:, 0] + xywh[:, 2] / 2
    boxes[:, 3] = xywh[:, 1] + xywh[:, 3] / 2
    s, c = score[cand].astype(np.float64), cls[cand]
    keep = _nms(boxes, s, c, iou)[:max_det]
    boxes, s, c = boxes[keep], s[keep], c[keep]
    # Undo the letterbox, then clip to the image.
    boxes[:, [0, 2]] = (boxes[:, [0, 2]] - lb.pad_x) / lb.gain
    boxes[:, [1, 3]] = (boxes[:, [1, 3]] - lb.pad_y) / lb.gain
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, lb.width)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, lb.height)
    return boxes, s, c.astype(np.int64)


def tight_input_hw(width: int, height: int, imgsz: int, stride: int = 32) -> tuple[int, int]:
    """The detector input (height, width) for images or frames of one size: the tightest stride-multiple
    rectangle around the frame scaled to `imgsz` on its longer side.

    A square input wastes the padding: a 494x448 frame at 320 px fills 320x290 of 320x320. Like
    ultralytics' rectangular inference, the shorter side is cut to a multiple of the stride; unlike
    it, that side is rounded down when the frame then shrinks by at most 3 %: 494x448 runs at
    288x320 (10 % less work than 320x320, the organs 0.7 % smaller), 1280x720 at 192x320.
    """
    if width < 1 or height < 1:
        raise ValueError(f"expected a frame size of at least 1x1, got {width}x{height}")
    exact = min(width, height) * imgsz / max(width, height)  # the shorter side, scaled
    side = math.floor(exact / stride) * stride
    if side < stride or side < exact * (1 - MAX_SHRINK):
        side = math.ceil(exact / stride) * stride
    side = max(stride, min(imgsz, side))
    return (side, imgsz) if width >= height else (imgsz, side)


SKIN_SHARE = 0.04  # the top 4 % of a scan (~1.6 mm of 40): skin and probe contact, no organ's centre


def in_scan_area(boxes: np.ndarray, bgr: np.ndarray) -> np.ndarray:
    """Which xyxy boxes (N, 4) lie where an organ can be: centred between the side margins and
    below the top margin of the image's scan area (`video.borders.image_scan_area`: not on dark
    margins, scanner text, logos or scales) and below its skin line. A phantom or NNUS image is
    its own scan area.

    The detector ran on the whole image (cropping to the scan area rescales the organs away from
    the sizes it was trained on: on the 104 real carotid views of bench/sim2real.py its CCA AP
    halved); here only its boxes outside are dropped.
    """
    from nnus_core.video.borders import DARK_LEVEL, image_scan_area

    h, w = bgr.shape[:2]
    # Fast path (the NNUS and phantom images): a top, left or right margin starts with a dark
    # edge line; without one the whole width is the scan (the bottom is not used, see below).
    edges = (bgr[0], bgr[:, 0], bgr[:, w - 1])
    margin = any(np.count_nonzero(e.max(axis=-1) > DARK_LEVEL) <= 0.02 * len(e) for e in edges)
    area = image_scan_area(bgr) if margin else None
    x0, y0, x1 = (0, 0, w) if area is None else (area.x, area.y, area.x + area.width)
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    skin = y0 + SKIN_SHARE * (h - y0)
    # Not the area's bottom: deep, hypoechoic muscle over a bone shadow darkens whole rows of a
    # phantom frame (the longus colli's AP fell from 0.986 to 0.930 with it), and below the
    # echoes of a real scan there is nothing a model would box anyway.
    return (cx >= x0) & (cx <= x1) & (cy >= skin)
