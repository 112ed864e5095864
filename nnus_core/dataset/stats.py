"""Dataset statistics as pandas frames for the pages to plot and the CLI to print."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nnus_core.dataset.model import Dataset
from nnus_core.organs import ORGAN_NAMES, ORGANS

# Box instances per class read off the authors' label_instances figure (real NNUS, 790 images).
PUBLISHED_INSTANCES: dict[str, int] = {
    "Trachea": 242,
    "Thyroid": 552,
    "Common carotid artery": 622,
    "Internal jugular vein": 32,
    "Esophagus": 76,
    "Longus colli": 311,
    "Strap muscles": 548,
    "Sternocleidomastoid": 585,
}
PUBLISHED_N_IMAGES = 790

BOX_COLUMNS = [
    "stem",
    "subject",
    "split",
    "organ_id",
    "organ",
    "x1",
    "y1",
    "x2",
    "y2",
    "cx",
    "cy",
    "w",
    "h",
    "width_px",
    "height_px",
    "area_frac",
]


def boxes_frame(ds: Dataset) -> pd.DataFrame:
    """One row per ground-truth box; cx/cy/w/h normalised to the image, width/height in pixels."""
    rows = []
    for s in ds.samples:
        for a in s.annotations:
            b = a.box
            rows.append(
                (
                    s.stem,
                    s.subject,
                    s.split,
                    a.organ_id,
                    ORGAN_NAMES[a.organ_id],
                    b.x1,
                    b.y1,
                    b.x2,
                    b.y2,
                    (b.x1 + b.x2) / 2 / s.width,
                    (b.y1 + b.y2) / 2 / s.height,
                    b.width / s.width,
                    b.height / s.height,
                    b.width,
                    b.height,
                    b.area / (s.width * s.height),
                )
            )
    return pd.DataFrame(rows, columns=BOX_COLUMNS)


def images_frame(ds: Dataset) -> pd.DataFrame:
    """One row per image: size, subject, split, number of boxes and one 0/1 column per organ."""
    rows = []
    for s in ds.samples:
        present = s.organ_ids
        rows.append(
            {
                "stem": s.stem,
                "file": s.name,
                "subject": s.subject,
                "split": s.split,
                "width": s.width,
                "height": s.height,
                "n_boxes": len(s.annotations),
                "n_organs": len(present),
                **{o.short: int(o.id in present) for o in ORGANS},
            }
        )
    return pd.DataFrame(rows)


def instances_per_organ(ds: Dataset) -> pd.DataFrame:
    """Instances and images per organ, beside the published NNUS counts scaled to this dataset's size."""
    boxes = boxes_frame(ds)
    n = max(len(ds), 1)
    counts = boxes.groupby("organ_id").size().reindex(range(len(ORGANS)), fill_value=0)
    images = boxes.groupby("organ_id")["stem"].nunique().reindex(range(len(ORGANS)), fill_value=0)
    df = pd.DataFrame(
        {
            "organ": list(ORGAN_NAMES),
            "instances": counts.to_numpy(),
            "images_with_organ": images.to_numpy(),
            "fraction_of_images": images.to_numpy() / n,
            "published_instances": [PUBLISHED_INSTANCES[o] for o in ORGAN_NAMES],
        }
    )
    df["published_per_image"] = df["published_instances"] / PUBLISHED_N_IMAGES
    df["instances_per_image"] = df["instances"] / n
    return df


def boxes_per_image(ds: Dataset) -> pd.DataFrame:
    """Histogram of the number of boxes per image."""
    counts = pd.Series([len(s.annotations) for s in ds.samples], dtype=int)
    return counts.value_counts().sort_index().rename_axis("boxes").reset_index(name="images")


def box_size_summary(ds: Dataset) -> pd.DataFrame:
    """Per-organ box width/height in pixels: median and quartiles."""
    b = boxes_frame(ds)
    if b.empty:
        return pd.DataFrame(columns=["organ", "n", "w_median_px", "h_median_px"])
    g = b.groupby("organ", sort=False)
    out = pd.DataFrame(
        {
            "n": g.size(),
            "w_median_px": g["width_px"].median(),
            "w_q1_px": g["width_px"].quantile(0.25),
            "w_q3_px": g["width_px"].quantile(0.75),
            "h_median_px": g["height_px"].median(),
            "h_q1_px": g["height_px"].quantile(0.25),
            "h_q3_px": g["height_px"].quantile(0.75),
            "cx_median": g["cx"].median(),
            "cy_median": g["cy"].median(),
        }
    )
    return out.reindex([o for o in ORGAN_NAMES if o in out.index]).reset_index()


def cooccurrence(ds: Dataset) -> pd.DataFrame:
    """8x8 matrix: number of images in which organ i and organ j both appear (diagonal: organ i)."""
    m = np.zeros((len(ORGANS), len(ORGANS)), dtype=int)
    for s in ds.samples:
        ids = sorted(s.organ_ids)
        for i in ids:
            for j in ids:
                m[i, j] += 1
    return pd.DataFrame(m, index=list(ORGAN_NAMES), columns=list(ORGAN_NAMES))


def position_heatmap(ds: Dataset, organ_id: int, bins: int = 24) -> np.ndarray:
    """Fraction of the organ's boxes covering each cell of a bins x bins grid over the image."""
    grid = np.zeros((bins, bins), dtype=np.float64)
    n = 0
    for s in ds.samples:
        for a in s.annotations:
            if a.organ_id != organ_id:
                continue
            b = a.box
            c0, c1 = int(b.x1 / s.width * bins), int(np.ceil(b.x2 / s.width * bins))
            r0, r1 = int(b.y1 / s.height * bins), int(np.ceil(b.y2 / s.height * bins))
            grid[max(r0, 0) : min(r1, bins), max(c0, 0) : min(c1, bins)] += 1
            n += 1
    return grid / n if n else grid
