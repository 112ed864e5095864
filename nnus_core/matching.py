"""Match a model's detections to one image's ground truth: true positives, misses and false alarms.

The convention is the evaluation's (see `nnus_core.detector.metrics.image_outcome`): detections
with confidence >= the threshold are paired one-to-one with ground-truth boxes of the SAME organ,
greedily by descending IoU, among pairs with IoU >= the IoU threshold. Unpaired ground truth is a
miss (false negative), an unpaired detection a false positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from nnus_core.dataset.model import Annotation
from nnus_core.detection import Detection
from nnus_core.geometry import BoxPx, iou_matrix
from nnus_core.organs import ORGANS
from nnus_core.render import Overlay


class Outcome(StrEnum):
    """What happened to one box when the model's answer was compared with the ground truth."""

    TP = "tp"  # found: a detection paired with a ground-truth box of the same organ
    FN = "fn"  # missed: a ground-truth box no detection was paired with
    FP = "fp"  # false alarm: a detection paired with no ground-truth box

    @property
    def label(self) -> str:
        return {"tp": "found", "fn": "missed", "fp": "false positive"}[self.value]

    @property
    def tag(self) -> str:
        """Short ASCII tag drawn on the image (OpenCV fonts have no check marks)."""
        return {"tp": "OK", "fn": "MISS", "fp": "FP"}[self.value]


# Okabe-Ito colours (colour-blind safe) for the outcome view; the tag text repeats the meaning so
# colour is never the only cue.
OUTCOME_COLORS: dict[Outcome, str] = {
    Outcome.TP: "#009E73",  # bluish green
    Outcome.FN: "#D55E00",  # vermillion
    Outcome.FP: "#F0E442",  # yellow
}


def outcome_rgb(outcome: Outcome) -> tuple[int, int, int]:
    """The outcome's colour as an (R, G, B) tuple."""
    h = OUTCOME_COLORS[outcome].lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


@dataclass(frozen=True)
class BoxMatch:
    """One row of a comparison.

    `iou` is the pair's IoU for a true positive; for a false positive the best IoU with any
    ground-truth box (with that box's organ in `overlaps_organ_id`, telling a wrong label from a box
    in the wrong place); for a miss the best IoU with any kept detection of the same organ (a poorly
    placed box rather than nothing at all).
    """

    outcome: Outcome
    organ_id: int  # ground-truth organ for TP/FN, predicted organ for FP
    gt_box: BoxPx | None
    pred_box: BoxPx | None
    iou: float
    confidence: float | None  # the detection's confidence (TP/FP), None for a miss
    overlaps_organ_id: int | None = None  # FP only: organ of the ground truth it overlaps most

    @property
    def organ_name(self) -> str:
        return ORGANS[self.organ_id].name


@dataclass(frozen=True)
class ImageMatch:
    """Every ground-truth box and kept detection of one image, classified."""

    matches: tuple[BoxMatch, ...]
    iou_threshold: float
    min_confidence: float

    def _of(self, outcome: Outcome) -> tuple[BoxMatch, ...]:
        return tuple(m for m in self.matches if m.outcome is outcome)

    @property
    def tp(self) -> tuple[BoxMatch, ...]:
        return self._of(Outcome.TP)

    @property
    def fp(self) -> tuple[BoxMatch, ...]:
        return self._of(Outcome.FP)

    @property
    def fn(self) -> tuple[BoxMatch, ...]:
        return self._of(Outcome.FN)

    @property
    def precision(self) -> float | None:
        """TP / (TP + FP); None when the model kept no detection."""
        n = len(self.tp) + len(self.fp)
        return len(self.tp) / n if n else None

    @property
    def recall(self) -> float | None:
        """TP / (TP + FN); None when the image has no ground truth."""
        n = len(self.tp) + len(self.fn)
        return len(self.tp) / n if n else None


def _greedy_pairs(iou: np.ndarray, allowed: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(gt, pred) pairs, one-to-one, highest IoU first, among allowed pairs with IoU >= threshold."""
    if iou.size == 0:
        return []
    gi, pi = np.nonzero((iou >= threshold) & allowed)
    order = np.argsort(-iou[gi, pi], kind="stable")
    used_g: set[int] = set()
    used_p: set[int] = set()
    pairs = []
    for k in order:
        g, p = int(gi[k]), int(pi[k])
        if g not in used_g and p not in used_p:
            used_g.add(g)
            used_p.add(p)
            pairs.append((g, p))
    return pairs


def match_image(
    ground_truth: Sequence[Annotation],
    detections: Sequence[Detection],
    *,
    iou_threshold: float = 0.5,
    min_confidence: float = 0.25,
) -> ImageMatch:
    """Classify one image's ground truth and detections as found, missed or false positive.

    Args:
        ground_truth: the image's annotations.
        detections: the model's detections (any confidence; those below `min_confidence` are dropped).
        iou_threshold: minimum IoU of a same-organ pair to count as found.
        min_confidence: detections below it are ignored, as if the model had not reported them.

    Returns:
        The matches: found (by organ), then missed, then false positives; each group by organ id.

    Raises:
        ValueError: for an IoU threshold outside (0, 1].
    """
    if not 0.0 < iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    dets = [d for d in detections if d.confidence >= min_confidence]
    gt_xyxy = np.array([a.box.as_tuple() for a in ground_truth], dtype=float).reshape(-1, 4)
    pr_xyxy = np.array([d.box.as_tuple() for d in dets], dtype=float).reshape(-1, 4)
    gt_cls = np.array([a.organ_id for a in ground_truth], dtype=int)
    pr_cls = np.array([d.organ_id for d in dets], dtype=int)
    iou = iou_matrix(gt_xyxy, pr_xyxy)
    same = gt_cls[:, None] == pr_cls[None, :]
    pairs = _greedy_pairs(iou, same, iou_threshold)
    paired_g = {g for g, _ in pairs}
    paired_p = {p for _, p in pairs}

    found = [
        BoxMatch(Outcome.TP, ground_truth[g].organ_id, ground_truth[g].box, dets[p].box,
                 float(iou[g, p]), dets[p].confidence)
        for g, p in pairs
    ]
    missed = []
    for g, a in enumerate(ground_truth):
        if g in paired_g:
            continue
        cand = iou[g][same[g]] if len(dets) else np.zeros(0)
        missed.append(BoxMatch(Outcome.FN, a.organ_id, a.box, None, float(cand.max()) if cand.size else 0.0, None))
    false_pos = []
    for p, d in enumerate(dets):
        if p in paired_p:
            continue
        best_iou, best_organ = 0.0, None
        if len(ground_truth):
            g = int(np.argmax(iou[:, p]))
            if iou[g, p] > 0:
                best_iou, best_organ = float(iou[g, p]), ground_truth[g].organ_id
        false_pos.append(BoxMatch(Outcome.FP, d.organ_id, None, d.box, best_iou, d.confidence, best_organ))

    def by_organ(ms: list[BoxMatch]) -> list[BoxMatch]:
        return sorted(ms, key=lambda m: (m.organ_id, -(m.confidence or 0.0)))

    return ImageMatch(
        tuple(by_organ(found) + by_organ(missed) + by_organ(false_pos)), iou_threshold, min_confidence
    )


def match_overlays(match: ImageMatch, *, color_by: str = "outcome", show_gt_of_found: bool = True) -> list[Overlay]:
    """Boxes to draw for a comparison: ground truth solid, detections dashed, tagged by outcome.

    Args:
        match: the classified boxes of one image.
        color_by: "outcome" (found/missed/false positive colours) or "organ" (organ colours).
        show_gt_of_found: also draw the ground-truth box of each found organ, so the IoU is visible.

    Raises:
        ValueError: for an unknown `color_by`.
    """
    if color_by not in ("outcome", "organ"):
        raise ValueError(f"color_by must be 'outcome' or 'organ', got {color_by!r}")
    out: list[Overlay] = []
    for m in match.matches:
        color = outcome_rgb(m.outcome) if color_by == "outcome" else None
        short = ORGANS[m.organ_id].short
        if m.outcome is Outcome.TP:
            if show_gt_of_found and m.gt_box is not None:
                out.append(Overlay(m.organ_id, m.gt_box, "", "solid", color))
            out.append(Overlay(m.organ_id, m.pred_box, f"OK {short} {m.confidence:.2f} IoU {m.iou:.2f}", "dashed", color))
        elif m.outcome is Outcome.FN:
            out.append(Overlay(m.organ_id, m.gt_box, f"MISS {short}", "solid", color))
        else:
            out.append(Overlay(m.organ_id, m.pred_box, f"FP {short} {m.confidence:.2f}", "dashed", color))
    return out


def match_rows(match: ImageMatch) -> list[dict[str, object]]:
    """One plain row per match for a table: outcome, organ, confidence, IoU and a note."""
    rows = []
    for m in match.matches:
        note = ""
        if m.outcome is Outcome.FP:
            if m.overlaps_organ_id is None:
                # Labels can miss an organ cut by the image edge: the model may be right.
                note = "nothing labelled there (a missing label, or a false box)"
            elif m.overlaps_organ_id != m.organ_id:
                note = f"overlaps the {ORGANS[m.overlaps_organ_id].name} (wrong organ?)"
            else:
                note = "duplicate or poorly placed box"
        elif m.outcome is Outcome.FN and m.iou > 0:
            note = f"nearest {ORGANS[m.organ_id].short} detection has IoU {m.iou:.2f}"
        rows.append({
            "outcome": m.outcome.label,
            "organ": m.organ_name,
            "confidence": None if m.confidence is None else round(m.confidence, 3),
            "IoU": round(m.iou, 3) if (m.outcome is not Outcome.FN or m.iou > 0) else None,
            "note": note,
        })
    return rows
