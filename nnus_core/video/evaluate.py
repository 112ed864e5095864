"""Score a processed clip against per-frame ground truth (phantom sweeps): detection rate and IoU per organ."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nnus_core.geometry import iou_matrix
from nnus_core.organs import N_ORGANS, ORGANS
from nnus_core.video.detections_csv import GT_COLUMNS, read_csv_checked

MATCH_IOU = 0.5


@dataclass(frozen=True)
class OrganClipScore:
    """How well one organ was found over a clip."""

    organ_id: int
    gt_frames: int  # frames where the organ is in the ground truth
    found_frames: int  # of those, frames with a shown box of that organ at IoU >= 0.5
    mean_iou: float | None  # mean best IoU over the ground-truth frames where any box of it was shown
    false_frames: int  # frames with a box of the organ but none in the ground truth

    @property
    def detection_rate(self) -> float | None:
        return self.found_frames / self.gt_frames if self.gt_frames else None

    def as_row(self) -> dict[str, object]:
        rate = self.detection_rate
        return {
            "organ": ORGANS[self.organ_id].name,
            "frames in ground truth": self.gt_frames,
            "detection rate": None if rate is None else round(rate, 3),
            "mean IoU": None if self.mean_iou is None else round(self.mean_iou, 3),
            "frames with a false box": self.false_frames,
        }


def score_clip(
    detections_csv: str | Path, gt_csv: str | Path, organs: tuple[int, ...] | None = None
) -> list[OrganClipScore]:
    """Per-organ detection rate and mean IoU of a processed clip against its ground truth.

    Both CSVs index frames the same way (0-based decode order) and hold boxes in original pixels.

    Raises:
        VideoError: when either CSV cannot be read.
    """
    det = read_csv_checked(detections_csv, GT_COLUMNS)
    gt = read_csv_checked(gt_csv, GT_COLUMNS)
    wanted = organs if organs is not None else tuple(range(N_ORGANS))
    det_by = {k: g for k, g in det.groupby(["organ_id", "frame"])}
    out = []
    for oid in wanted:
        g_o = gt[gt.organ_id == oid]
        gt_frames = set(g_o.frame.unique())
        det_frames = set(det[det.organ_id == oid].frame.unique())
        found = 0
        ious = []
        for frame, g in g_o.groupby("frame"):
            d = det_by.get((oid, frame))
            if d is None:
                continue
            m = iou_matrix(g[["x1", "y1", "x2", "y2"]].to_numpy(), d[["x1", "y1", "x2", "y2"]].to_numpy())
            best = float(m.max(axis=1).mean()) if m.size else 0.0
            ious.append(best)
            if m.size and (m.max(axis=1) >= MATCH_IOU).all():
                found += 1
        out.append(
            OrganClipScore(
                oid,
                len(gt_frames),
                found,
                float(np.mean(ious)) if ious else None,
                len(det_frames - gt_frames),
            )
        )
    return out


def scores_table(scores: list[OrganClipScore]) -> pd.DataFrame:
    """The scores as a table for a page or a report (organs never in the ground truth omitted)."""
    return pd.DataFrame([s.as_row() for s in scores if s.gt_frames or s.false_frames])
