"""The one box matcher: pairs a model's boxes with one image's ground truth (found, missed, false).

Every comparison of boxes goes through `greedy_match` / `pair_boxes`: the evaluation's AP, its
confusion matrix and per-image lists (`nnus_core.detector.metrics`), the Compare page and the model
report (`match_image`), the quiz's Label all score and the runtime agreement check. The convention:
detections with confidence >= the threshold are paired one-to-one with ground-truth boxes of the
SAME organ, greedily by descending IoU, among pairs with IoU >= the IoU threshold. Unpaired ground
truth is a miss (false negative), an unpaired detection a false positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from nnus_core.dataset.model import Annotation
from nnus_core.detection import Detection, Detections
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


def greedy_match(
    iou: np.ndarray, allowed: np.ndarray | None = None, threshold: float = 0.5, strict: bool = False
) -> list[tuple[int, int]]:
    """Pair rows (ground truth) with columns (predictions) one-to-one, highest IoU first.

    Ties keep row-major order (the lower row, then the lower column, pairs first).

    Args:
        iou: (N, M) IoU matrix.
        allowed: optional (N, M) bool mask of pairs that may match (e.g. same class).
        threshold: minimum IoU of a pair.
        strict: require IoU > threshold instead of >=.

    Returns:
        (row, column) pairs in the order they were made.
    """
    if iou.size == 0:
        return []
    ok = iou > threshold if strict else iou >= threshold
    if allowed is not None:
        ok &= allowed
    gi, pi = np.nonzero(ok)
    order = np.argsort(-iou[gi, pi], kind="stable")
    used_g: set[int] = set()
    used_p: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for k in order:
        g, p = int(gi[k]), int(pi[k])
        if g in used_g or p in used_p:
            continue
        used_g.add(g)
        used_p.add(p)
        pairs.append((g, p))
    return pairs


@dataclass(frozen=True)
class Pairing:
    """How one image's ground truth (rows) and predictions (columns) were paired."""

    iou: np.ndarray  # (G, P) IoU of every ground-truth box with every prediction
    same_class: np.ndarray  # (G, P) bool: the pair has the same class
    pairs: tuple[tuple[int, int], ...]  # (gt, prediction), highest IoU first
    missed: tuple[int, ...]  # ground truth paired with nothing, in input order
    unpaired: tuple[int, ...]  # predictions paired with nothing (false positives), in input order

    def best_truth(self, p: int) -> tuple[int | None, float]:
        """The ground-truth box (of any class) prediction `p` overlaps most, and that IoU; (None, 0.0)
        when it overlaps none."""
        if not self.iou.shape[0]:
            return None, 0.0
        g = int(np.argmax(self.iou[:, p]))
        return (g, float(self.iou[g, p])) if self.iou[g, p] > 0 else (None, 0.0)

    def best_same_class(self, g: int) -> float:
        """The best IoU of ground-truth box `g` with any prediction of its class (0.0 when none)."""
        cand = self.iou[g][self.same_class[g]]
        return float(cand.max()) if cand.size else 0.0


def pair_boxes(
    truth: Detections,
    predicted: Detections,
    iou_threshold: float,
    *,
    any_class: bool = False,
    strict: bool = False,
) -> Pairing:
    """Pair one image's predictions with its ground truth (see the module docstring).

    Args:
        truth: the ground-truth boxes (rows of the result).
        predicted: the predictions (columns), already filtered by confidence.
        iou_threshold: minimum IoU of a pair.
        any_class: pair boxes of different classes too (the confusion matrix), else same class only.
        strict: require IoU > threshold instead of >=.
    """
    iou = iou_matrix(truth.xyxy, predicted.xyxy)
    same = truth.class_id[:, None] == predicted.class_id[None, :]
    pairs = greedy_match(iou, None if any_class else same, iou_threshold, strict)
    paired_g = {g for g, _ in pairs}
    paired_p = {p for _, p in pairs}
    return Pairing(
        iou,
        same,
        tuple(pairs),
        tuple(g for g in range(len(truth)) if g not in paired_g),
        tuple(p for p in range(len(predicted)) if p not in paired_p),
    )


def match_image(
    ground_truth: Sequence[Annotation],
    detections: Sequence[Detection] | Detections,
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
    pairing = pair_boxes(
        Detections.from_boxes((a.organ_id, a.box) for a in ground_truth),
        Detections.from_detections(dets),
        iou_threshold,
    )
    found = [
        BoxMatch(
            Outcome.TP,
            ground_truth[g].organ_id,
            ground_truth[g].box,
            dets[p].box,
            float(pairing.iou[g, p]),
            dets[p].confidence,
        )
        for g, p in pairing.pairs
    ]
    missed = [
        BoxMatch(
            Outcome.FN, ground_truth[g].organ_id, ground_truth[g].box, None, pairing.best_same_class(g), None
        )
        for g in pairing.missed
    ]
    false_pos = []
    for p in pairing.unpaired:
        g, best_iou = pairing.best_truth(p)
        d = dets[p]
        false_pos.append(
            BoxMatch(
                Outcome.FP,
                d.organ_id,
                None,
                d.box,
                best_iou,
                d.confidence,
                None if g is None else ground_truth[g].organ_id,
            )
        )

    def by_organ(ms: list[BoxMatch]) -> list[BoxMatch]:
        return sorted(ms, key=lambda m: (m.organ_id, -(m.confidence or 0.0)))

    return ImageMatch(
        tuple(by_organ(found) + by_organ(missed) + by_organ(false_pos)), iou_threshold, min_confidence
    )


def match_overlays(
    match: ImageMatch, *, color_by: str = "outcome", show_gt_of_found: bool = True
) -> list[Overlay]:
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
            out.append(
                Overlay(
                    m.organ_id, m.pred_box, f"OK {short} {m.confidence:.2f} IoU {m.iou:.2f}", "dashed", color
                )
            )
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
        rows.append(
            {
                "outcome": m.outcome.label,
                "organ": m.organ_name,
                "confidence": None if m.confidence is None else round(m.confidence, 3),
                "IoU": round(m.iou, 3) if (m.outcome is not Outcome.FN or m.iou > 0) else None,
                "note": note,
            }
        )
    return rows
