"""Synthetic clips with known boxes (moving ellipses on speckle) to test the video path in isolation."""

# Not anatomy: the phantom's sweep clips are the realistic synthetic input. These exercise what the
# phantom never produces: odd sizes, 4K, portrait, variable rate, audio, 10-bit and grey video.

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from nnus_core.detection import Detection
from nnus_core.geometry import BoxPx
from nnus_core.settings import ultralytics_offline

BRIGHT_ORGAN_ID = 1  # drawn as a bright ellipse ("thyroid")
DARK_ORGAN_ID = 2  # drawn as a dark ellipse ("carotid")


@dataclass(frozen=True)
class ClipFrameTruth:
    """Where the two ellipses are in one frame (original pixels) and when the frame is shown."""

    index: int
    time_s: float
    boxes: dict[int, BoxPx]


def _ellipse_boxes(i: int, n: int, w: int, h: int) -> dict[int, tuple[int, int, int, int]]:
    """Centre and semi-axes of each ellipse at frame i of n, as (cx, cy, ax, ay)."""
    t = i / max(n - 1, 1)
    ax, ay = max(4, w // 10), max(3, h // 12)
    bright = (int(ax + 2 + t * (w - 2 * ax - 4)), int(h * 0.35), ax, ay)
    dark = (int(w - ax - 2 - t * (w - 2 * ax - 4)), int(h * 0.7), ax, ay)
    return {BRIGHT_ORGAN_ID: bright, DARK_ORGAN_ID: dark}


def iter_clip_frames(
    width: int, height: int, n_frames: int, seed: int = 0
) -> Iterator[tuple[np.ndarray, dict[int, BoxPx]]]:
    """Frames (H, W, 3) BGR uint8 and the boxes of the ellipses in them."""
    rng = np.random.default_rng(seed)
    # Speckle texture at a quarter size, upscaled: cheap for 4K and still "ultrasound-like" grain.
    small = rng.integers(50, 110, (max(height // 4, 1), max(width // 4, 1)), dtype=np.uint8)
    base = cv2.resize(small, (width, height), interpolation=cv2.INTER_NEAREST)
    for i in range(n_frames):
        img = base.copy()
        boxes = {}
        for oid, (cx, cy, ax, ay) in _ellipse_boxes(i, n_frames, width, height).items():
            cv2.ellipse(img, (cx, cy), (ax, ay), 0, 0, 360, 230 if oid == BRIGHT_ORGAN_ID else 8, -1)
            boxes[oid] = BoxPx(cx - ax, cy - ay, cx + ax + 1, cy + ay + 1)
        yield cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), boxes


def write_test_clip(
    path: str | Path,
    *,
    width: int = 494,
    height: int = 447,
    n_frames: int = 30,
    fps: float = 30.0,
    seed: int = 0,
    codec: str = "libx264",
    pix_fmt: str | None = None,
    frame_times_s: list[float] | None = None,
    audio: bool = False,
    rotation_ccw_deg: int = 0,
    faststart: bool = True,
) -> list[ClipFrameTruth]:
    """Write a clip of two moving ellipses and return each frame's time and boxes.

    Args:
        path: output file (.mp4, .mkv, .avi, .mov, .webm).
        width, height: frame size; odd sizes use yuv444p with libx264 (4:2:0 needs even sizes).
        n_frames: number of frames; 0 writes a file with a video track and no frames.
        fps: nominal frame rate.
        seed: speckle pattern.
        codec: FFmpeg encoder name.
        pix_fmt: encoder pixel format (e.g. "gray", "yuv420p10le"); default yuv420p or yuv444p.
        frame_times_s: explicit presentation times (variable frame rate); default i / fps.
        audio: add a silent AAC track.
        rotation_ccw_deg: display-matrix rotation, as a phone writes for portrait recordings.
        faststart: put the index first (MP4/MOV only).
    """
    path = Path(path)
    if pix_fmt is None:
        pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
    options = {"movflags": "+faststart"} if faststart and path.suffix.lower() in (".mp4", ".mov") else {}
    times = frame_times_s if frame_times_s is not None else [i / fps for i in range(n_frames)]
    n_frames = len(times)
    tb = Fraction(1, 1000) if frame_times_s is not None else Fraction(1, 90000)
    truth = []
    with av.open(str(path), "w", options=options) as out:
        vs = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        vs.width, vs.height, vs.pix_fmt = width, height, pix_fmt
        vs.codec_context.time_base = tb
        if codec == "libx264":
            vs.options = {"preset": "ultrafast"}
        if rotation_ccw_deg:
            vs.set_display_rotation(rotation_ccw_deg)
        aus = out.add_stream("aac", rate=48000) if audio else None
        for i, (img, boxes) in enumerate(iter_clip_frames(width, height, n_frames, seed)):
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = int(round(times[i] / tb))
            frame.time_base = tb
            out.mux(vs.encode(frame))
            truth.append(ClipFrameTruth(i, times[i], boxes))
        out.mux(vs.encode(None))
        if aus is not None:
            samples = max(1024, int(48000 * (times[-1] if times else 0.1)))
            for start in range(0, samples, 1024):
                af = av.AudioFrame.from_ndarray(
                    np.zeros((1, 1024), dtype=np.float32), format="fltp", layout="mono"
                )
                af.sample_rate, af.pts = 48000, start
                out.mux(aus.encode(af))
            out.mux(aus.encode(None))
    return truth


class BlobDetector:
    """A model-free detector for the synthetic clips: the bright and the dark ellipse by threshold.

    Returns boxes in the pixels of the frame it is given, like the real detector, so a test can
    prove the pipeline maps them back to the original resolution.
    """

    def __init__(self, confidence: float = 0.9) -> None:
        self.confidence = confidence
        self.calls = 0

    def predict(self, image: np.ndarray, conf: float = 0.25, iou: float = 0.7) -> list[Detection]:
        self.calls += 1
        gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        out = []
        for oid, mask in ((BRIGHT_ORGAN_ID, gray > 180), (DARK_ORGAN_ID, gray < 30)):
            ys, xs = np.nonzero(mask)
            if len(xs) and self.confidence >= conf:
                box = BoxPx(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
                out.append(Detection(oid, self.confidence, box))
        return out


def write_random_model(path: str | Path, arch: str = "yolov8n.yaml", imgsz: int = 480, seed: int = 0) -> Path:
    """Save an untrained 8-organ YOLO checkpoint (random weights, built from a yaml, no download).

    Its boxes are meaningless: it exists to time the detection path and to exercise the app when no
    trained model is shipped.
    """
    ultralytics_offline()
    import torch
    from ultralytics.nn.tasks import DetectionModel

    from nnus_core.organs import ORGAN_NAMES

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = DetectionModel(arch, nc=len(ORGAN_NAMES), verbose=False)
    model.names = dict(enumerate(ORGAN_NAMES))  # catalogue names, so the detector maps the classes
    # The checkpoint layout ultralytics writes after training; train_args carries the input size.
    ckpt = {"model": model.half(), "train_args": {"imgsz": imgsz, "task": "detect"}, "epoch": -1}
    torch.save(ckpt, path)
    return path


def noisy_detections(
    n_frames: int = 300,
    seed: int = 0,
    sigma_px: float = 4.0,
    drop: float = 0.12,
    conf_mean: float = 0.4,
    conf_sd: float = 0.12,
) -> tuple[list[list[Detection]], list[dict[int, BoxPx]]]:
    """A detector's typical output on a steady sweep: two organs moving smoothly, boxes with pixel
    noise, missed frames and confidences scattered around the threshold.

    Returns:
        (detections per frame, true boxes per frame) for measuring flicker and smoothing.
    """
    rng = np.random.default_rng(seed)
    frames: list[list[Detection]] = []
    truth: list[dict[int, BoxPx]] = []
    paths = {BRIGHT_ORGAN_ID: (50, 100, 0.8, 0.2, 120, 70), DARK_ORGAN_ID: (350, 250, -0.6, 0.1, 50, 50)}
    for i in range(n_frames):
        found, true = [], {}
        for oid, (x0, y0, vx, vy, w, h) in paths.items():
            cx, cy = x0 + vx * i, y0 + vy * i + 10 * np.sin(i / 20)
            true[oid] = BoxPx(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
            if rng.random() < drop:
                continue
            c = float(np.clip(rng.normal(conf_mean, conf_sd), 0.01, 1.0))
            xy = np.array(true[oid].as_tuple()) + rng.normal(0, sigma_px, 4)
            found.append(Detection(oid, c, BoxPx.from_corners(*xy)))
        frames.append(found)
        truth.append(true)
    return frames, truth
