"""The one builder of small NNUS-format dataset folders for tests and benches (no real images needed).

`make_nnus_folder` writes the layout (images/, labels/, classes.txt, optionally subjects.csv); a
frame painter decides what each image shows and which boxes it carries: `fixed_frame` (the same
plausible boxes on speckle-like noise, the default) or `ellipse_frame` (one ellipse per organ, in
its own place and brightness, so a detector learns it in an epoch: `make_learnable_folder`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from nnus_core.dataset.model import PHANTOM_MARKER
from nnus_core.organs import ORGAN_NAMES

Box = tuple[int, float, float, float, float]  # class, cx, cy, w, h (normalised)
# Paints image i (1-based) with the builder's random generator: (grayscale image, its boxes).
FramePainter = Callable[[int, np.random.Generator], tuple[np.ndarray, Sequence[Box]]]

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


def noise_image(width: int = 494, height: int = 447, seed: int = 0) -> np.ndarray:
    """Rayleigh noise, a stand-in for speckle."""
    rng = np.random.default_rng(seed)
    return (rng.rayleigh(40, (height, width))).clip(0, 255).astype(np.uint8)


def write_image(
    path: Path, width: int = 494, height: int = 447, seed: int = 0, img: np.ndarray | None = None
) -> None:
    img = noise_image(width, height, seed) if img is None else img
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix or ".jpg", img)
    assert ok
    path.write_bytes(buf.tobytes())


def yolo_lines(boxes, crlf: bool = True) -> bytes:
    eol = "\r\n" if crlf else "\n"
    return "".join(f"{c} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}{eol}" for c, cx, cy, w, h in boxes).encode()


def fixed_frame(boxes: Sequence[Box] = DEFAULT_BOXES) -> FramePainter:
    """Every image: noise seeded by its number, carrying `boxes`."""
    return lambda i, _rng: (noise_image(seed=i), boxes)


def ellipse_frame(size: tuple[int, int] = (494, 447), all_organs: bool = False) -> FramePainter:
    """One bright ellipse per organ at its own place and size; each organ is left out 1 time in 5
    unless `all_organs`."""
    w, h = size

    def paint(_i: int, rng: np.random.Generator) -> tuple[np.ndarray, list[Box]]:
        img = rng.normal(40, 12, (h, w)).clip(0, 255).astype(np.uint8)
        boxes: list[Box] = []
        for c in range(8):
            if not all_organs and rng.random() < 0.2:
                continue
            cx = (0.1 + 0.11 * c) * w + rng.uniform(-8, 8)
            cy = (0.25 + 0.15 * (c % 4)) * h + rng.uniform(-8, 8)
            ax, ay = 14 + 3 * c, 12 + 2 * (c % 3)
            cv2.ellipse(img, (int(cx), int(cy)), (ax, ay), 0, 0, 360, int(110 + 18 * c), -1)
            boxes.append((c, cx / w, cy / h, 2 * ax / w, 2 * ay / h))
        return img, boxes

    return paint


def make_nnus_folder(
    root: Path,
    n: int = 10,
    *,
    boxes: Sequence[Box] = DEFAULT_BOXES,
    crlf: bool = True,
    frame: FramePainter | None = None,
    classes: Sequence[str] = AUTHORS_CLASSES,
    n_subjects: int | None = None,
    seed: int = 0,
) -> Path:
    """An NNUS folder as the authors publish it: images/NNNN.jpg, labels/NNNN.txt, labels/classes.txt.

    Args:
        boxes: the boxes of every image when no `frame` is given.
        crlf: the authors' Windows line ends.
        frame: paints each image and gives its boxes (default `fixed_frame(boxes)`).
        classes: classes.txt, in id order (default the authors' spellings).
        n_subjects: also write subjects.csv with this many volunteers in consecutive blocks.
        seed: of the generator handed to `frame`.
    """
    (root / "labels").mkdir(parents=True, exist_ok=True)
    eol = "\r\n" if crlf else "\n"
    (root / "labels" / "classes.txt").write_bytes(eol.join(classes).encode() + eol.encode())
    paint = frame or fixed_frame(boxes)
    rng = np.random.default_rng(seed)
    rows = ["image,subject"]
    for i in range(1, n + 1):
        img, its_boxes = paint(i, rng)
        write_image(root / "images" / f"{i:04d}.jpg", img=img)
        (root / "labels" / f"{i:04d}.txt").write_bytes(yolo_lines(its_boxes, crlf))
        if n_subjects:
            rows.append(f"{i:04d}.jpg,V{(i - 1) * n_subjects // n + 1}")
    if n_subjects:
        (root / "subjects.csv").write_text("\n".join(rows) + "\n")
    return root


def make_learnable_folder(
    root: Path,
    n_images: int = 16,
    n_subjects: int = 4,
    *,
    size: tuple[int, int] = (494, 447),
    all_organs: bool = False,
    seed: int = 0,
) -> Path:
    """Images a detector learns quickly (`ellipse_frame`), the catalogue's class names, subjects.csv.

    Subjects are consecutive blocks, so 4 subjects give a train/val/test split of 2/1/1.
    """
    return make_nnus_folder(
        root,
        n_images,
        crlf=False,
        frame=ellipse_frame(size, all_organs),
        classes=ORGAN_NAMES,
        n_subjects=n_subjects,
        seed=seed,
    )


# Plausible boxes for all 8 organs (class id in the authors' order, cx, cy, w, h normalised).
ALL_BOXES = {
    0: (0, 0.10, 0.35, 0.18, 0.20),
    1: (1, 0.41, 0.40, 0.32, 0.25),
    2: (2, 0.75, 0.48, 0.16, 0.17),
    3: (3, 0.88, 0.40, 0.12, 0.08),
    4: (4, 0.20, 0.62, 0.14, 0.10),
    5: (5, 0.45, 0.75, 0.30, 0.12),
    6: (6, 0.40, 0.16, 0.39, 0.09),
    7: (7, 0.74, 0.21, 0.35, 0.15),
}


def organs_of(i: int) -> list[int]:
    """Image i's organs: a fixed core (thyroid, CCA, straps, SCM) plus a rotating extra organ."""
    core = [1, 2, 6, 7]
    extra = [0, 3, 4, 5][i % 4]
    return sorted([*core, extra]) if i % 3 else core


def make_study_dataset(root: Path, n: int = 16, synthetic: bool = True) -> Path:
    """An NNUS folder whose images carry different organ sets (so filters have something to do)."""
    make_nnus_folder(root, n=n)
    for i in range(1, n + 1):
        (root / "labels" / f"{i:04d}.txt").write_bytes(yolo_lines([ALL_BOXES[o] for o in organs_of(i)]))
    if synthetic:
        (root / PHANTOM_MARKER).write_text(json.dumps({"version": "test-1"}))
    return root


class Clock:
    """A settable clock for services that take `clock=` (seconds since the epoch): tests move `t`."""

    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def prepare_shipped_model() -> None:
    """Export, quantise and time the shipped model once (the exports and the runtime choice are
    cached under data/cache; later loads read them in under a second). On a clean clone this takes
    20-40 s on 2 cores: done before servers or workers start, it is not inside a page's wait or
    done twice at once. Nothing happens without a shipped model or the detector's packages."""
    try:
        from nnus_core.detector import load_default_detector
        from nnus_core.errors import NnusError
    except ImportError:
        return
    try:
        load_default_detector()
    except NnusError:
        pass  # no shipped model: the servers run an untrained one; tests that need one say so
