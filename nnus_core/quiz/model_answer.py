"""How the detector would have answered the same question, scored the same way as the student."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnus_core.detection import Detection
from nnus_core.detector.report_schema import ap50_by_organ, card_class_results, read_evaluation
from nnus_core.errors import ModelError
from nnus_core.geometry import BoxPx, iou
from nnus_core.organs import ORGANS
from nnus_core.quiz.scoring import credit_for_iou, score_label_all

MODEL_CONF_MIN = 0.25  # the detector's usual display threshold: what it would "say"


@dataclass(frozen=True)
class ModelAnswer:
    """The model's answer to one question; `available` is False when no model is loaded."""

    available: bool
    detection: Detection | None = None  # the detection it answers with
    iou: float | None = None  # Locate: IoU of that detection with the best ground-truth instance
    credit: float | None = None
    passed: bool | None = None
    choice: int | None = None  # Identify: organ the model gives the outlined structure
    present: bool | None = None  # Present?: does it detect the organ
    detections: tuple[Detection, ...] = ()  # Label all: every detection above the threshold
    unlabelled: tuple[int, ...] = ()  # Label all: organs the model boxed that nobody labelled here

    @property
    def caveat(self) -> str:
        """Why the model's "wrong" may be right: it boxed organs the labels leave out; "" if none."""
        if not self.unlabelled:
            return ""
        names = " and ".join(ORGANS[o].name.lower() for o in self.unlabelled)
        return (
            f"The model also boxed the {names}, which is not labelled in this image, and was marked "
            "wrong for it. Labels can leave out an organ that is only partly in view (at the image "
            "edge, say): look for yourself; the model's extra box may be right."
        )

    @property
    def summary(self) -> str:
        """A short phrase: "model 0.81 (confidence 0.92)", "model found none", "no model available"."""
        if not self.available:
            return "no model available"
        if self.iou is not None and self.detection is not None:
            return f"model {self.iou:.2f} (confidence {self.detection.confidence:.2f})"
        if self.choice is not None and self.detection is not None:
            return f"model says {ORGANS[self.choice].name} (confidence {self.detection.confidence:.2f})"
        if self.present is not None:
            return "model detects it" if self.present else "model detects nothing"
        if self.credit is not None:
            return f"model credit {self.credit:.2f}"
        return "model found none"


NO_MODEL = ModelAnswer(False)


def _confident(dets: Sequence[Detection], conf_min: float) -> list[Detection]:
    return sorted((d for d in dets if d.confidence >= conf_min), key=lambda d: -d.confidence)


def model_locate(
    dets: Sequence[Detection],
    organ_id: int,
    gt: Sequence[BoxPx],
    pass_iou: float,
    conf_min: float = MODEL_CONF_MIN,
) -> ModelAnswer:
    """The model's most confident detection of the organ, and its IoU with the best ground truth."""
    mine = [d for d in _confident(dets, conf_min) if d.organ_id == organ_id]
    if not mine:
        # Saying nothing is right when the organ is absent.
        return ModelAnswer(True, None, None, 1.0 if not gt else 0.0, not gt, present=False)
    d = mine[0]
    if not gt:
        return ModelAnswer(True, d, 0.0, 0.0, False, present=True)
    value = max(iou(d.box, g) for g in gt)
    return ModelAnswer(True, d, value, credit_for_iou(value, pass_iou), value >= pass_iou, present=True)


def model_identify(
    dets: Sequence[Detection], target: BoxPx, correct: int, conf_min: float = MODEL_CONF_MIN
) -> ModelAnswer:
    """The organ of the model's confident detection that overlaps the outlined box most."""
    best = max(
        ((iou(d.box, target), d) for d in _confident(dets, conf_min)), key=lambda t: t[0], default=(0.0, None)
    )
    if best[1] is None or best[0] < 0.3:
        return ModelAnswer(True, None, None, 0.0, False)
    d = best[1]
    return ModelAnswer(True, d, None, float(d.organ_id == correct), d.organ_id == correct, choice=d.organ_id)


def model_present(
    dets: Sequence[Detection], organ_id: int, truth: bool, conf_min: float = MODEL_CONF_MIN
) -> ModelAnswer:
    """Whether the model detects the organ at all."""
    mine = [d for d in _confident(dets, conf_min) if d.organ_id == organ_id]
    said = bool(mine)
    return ModelAnswer(
        True, mine[0] if mine else None, None, float(said == truth), said == truth, present=said
    )


def model_label_all(
    dets: Sequence[Detection],
    gt: Sequence[tuple[int, BoxPx]],
    pass_iou: float,
    conf_min: float = MODEL_CONF_MIN,
) -> ModelAnswer:
    """Every confident detection, scored by the same matching as the student's labels."""
    mine = _confident(dets, conf_min)
    if not mine:
        return ModelAnswer(True, None, None, 0.0, not gt)
    s = score_label_all([(d.organ_id, d.box) for d in mine], gt, pass_iou=pass_iou).score
    labelled = {o for o, _ in gt}
    unlabelled = tuple(sorted({d.organ_id for d in mine} - labelled))
    return ModelAnswer(True, None, None, s.credit, s.passed, detections=tuple(mine), unlabelled=unlabelled)


def model_ap_by_organ(metrics: dict[str, Any] | None) -> dict[int, float]:
    """Per-organ AP@0.5 from a model card's `metrics` entry; {} when it has none or is malformed."""
    try:
        return ap50_by_organ(card_class_results(metrics or {}))
    except ModelError:
        return {}


def read_eval_ap(path: Path) -> tuple[dict[int, float], bool | None]:
    """Per-organ AP@0.5 from an evaluation file, and whether it was measured on synthetic data.

    Returns ({}, None) for a missing or unreadable file: the summary then shows no model bars.
    """
    try:
        ev = read_evaluation(path)
    except ModelError:
        return {}, None
    return ap50_by_organ(ev.per_class), ev.data.synthetic
