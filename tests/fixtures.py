"""Builders of small NNUS-format datasets for tests (no real images are ever needed)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

# The authors' classes.txt spellings, in their order.
AUTHORS_CLASSES = [
    "Trachea",
    "Thyroid",
    "Common carotid artery",
    "Internal juglar vein",
    "Esophagus",
    "Logus coli muscle",
    "Strap muscle",
    "Sternocleidomastoid muscle",
]

# A plausible transverse right-lobe frame: (class, cx, cy, w, h) normalised.
DEFAULT_BOXES = [
    (1, 0.412348, 0.404922, 0.323887, 0.246085),
    (2, 0.753036, 0.483221, 0.161943, 0.172260),
    (6, 0.396761, 0.163311, 0.392713, 0.087248),
    (7, 0.744939, 0.214765, 0.348178, 0.147651),
]


def write_image(path: Path, width: int = 494, height: int = 447, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    img = (rng.rayleigh(40, (height, width))).clip(0, 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix or ".jpg", img)
    assert ok
    path.write_bytes(buf.tobytes())


def yolo_lines(boxes, crlf: bool = True) -> bytes:
    eol = "\r\n" if crlf else "\n"
    return "".join(f"{c} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}{eol}" for c, cx, cy, w, h in boxes).encode()


def make_nnus_folder(root: Path, n: int = 10, *, boxes=DEFAULT_BOXES, crlf: bool = True) -> Path:
    """An NNUS folder exactly as the authors publish it: images/NNNN.jpg, labels/NNNN.txt, classes."""
    (root / "labels").mkdir(parents=True, exist_ok=True)
    eol = "\r\n" if crlf else "\n"
    (root / "labels" / "classes.txt").write_bytes(eol.join(AUTHORS_CLASSES).encode() + eol.encode())
    for i in range(1, n + 1):
        write_image(root / "images" / f"{i:04d}.jpg", seed=i)
        (root / "labels" / f"{i:04d}.txt").write_bytes(yolo_lines(boxes, crlf))
    return root
