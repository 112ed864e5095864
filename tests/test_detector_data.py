"""Tiny NNUS-layout datasets for the detector tests (bright ellipses on noise), and their check."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from nnus_core.organs import ORGAN_NAMES


def make_nnus_folder(
    root: Path,
    n_images: int = 16,
    n_subjects: int = 4,
    *,
    size: tuple[int, int] = (494, 447),
    all_organs: bool = False,
    seed: int = 0,
) -> Path:
    """Write images/, labels/ (with classes.txt) and subjects.csv; every organ is an ellipse.

    Each organ has its own place, size and brightness, so a detector can learn them quickly.
    Subjects are consecutive blocks, so 4 subjects give a train/val/test split of 2/1/1.
    """
    w, h = size
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "labels" / "classes.txt").write_text("\n".join(ORGAN_NAMES) + "\n")
    rows = ["image,subject"]
    for i in range(n_images):
        img = rng.normal(40, 12, (h, w)).clip(0, 255).astype(np.uint8)
        lines = []
        for c in range(8):
            if not all_organs and rng.random() < 0.2:
                continue
            cx = (0.1 + 0.11 * c) * w + rng.uniform(-8, 8)
            cy = (0.25 + 0.15 * (c % 4)) * h + rng.uniform(-8, 8)
            ax, ay = 14 + 3 * c, 12 + 2 * (c % 3)
            cv2.ellipse(img, (int(cx), int(cy)), (ax, ay), 0, 0, 360, int(110 + 18 * c), -1)
            lines.append(f"{c} {cx / w:.6f} {cy / h:.6f} {2 * ax / w:.6f} {2 * ay / h:.6f}")
        name = f"{i + 1:04d}"
        cv2.imwrite(str(root / "images" / f"{name}.jpg"), img)
        (root / "labels" / f"{name}.txt").write_text("\n".join(lines) + "\n")
        rows.append(f"{name}.jpg,V{i * n_subjects // n_images + 1}")
    (root / "subjects.csv").write_text("\n".join(rows) + "\n")
    return root


def test_made_folder_loads_with_a_subject_wise_split(tmp_path):
    from nnus_core.dataset import load_dataset

    ds = load_dataset(make_nnus_folder(tmp_path / "d", all_organs=True))
    assert ds.report.ok and len(ds) == 16 and ds.n_boxes == 16 * 8
    assert {s: len(ds.split(s)) for s in ("train", "val", "test")} == {"train": 8, "val": 4, "test": 4}
