"""Detection metrics: AP at IoU 0.5 and 0.5:0.95, P/R at the best F1, confusion matrix, per-image lists.

One definition, ultralytics' own: the boxes are paired by the project's one matcher
(`nnus_core.matching`), and the resulting true-positive matrix goes to ultralytics'
`ap_per_class`, the function behind its `val`:
  * Matching: predictions and ground truth of the same class are paired one-to-one, greedily by
    descending IoU, among pairs with IoU >= the threshold (0.50, 0.55, ..., 0.95). A prediction is
    a true positive at that threshold when it is paired.
  * AP (ultralytics `compute_ap`): per class, predictions over all images by descending
    confidence; the precision envelope (running max from the right) with sentinels at recall 0
    and past the highest recall, linearly interpolated at the 101 recall points 0.00 ... 1.00 and
    integrated with the trapezoid rule ("COCO 101-point interpolation"). A perfect class scores
    0.995, not 1.0: the last step falls to 0 at recall 1.
  * mAP is the mean over the classes that have ground truth in the evaluated images.
  * Precision/recall: at the one confidence (on a grid of 1000) where the mean F1 over classes
    with ground truth, smoothed with a box filter 0.1 wide, is highest (ultralytics' `mp`, `mr`).
  * PR curves: the interpolated envelope at IoU 0.5, sampled at the 101 recall points.
  * Confusion matrix: rows = predicted class (last row "background" = missed ground truth),
    columns = true class (last column "background" = false detection); detections with
    conf >= 0.25 are paired with ground truth of ANY class at IoU > 0.45, greedily by IoU.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from nnus_core.detection import Detections
from nnus_core.geometry import iou_matrix
from nnus_core.matching import greedy_match, pair_boxes

IOU_THRESHOLDS = np.round(np.linspace(0.5, 0.95, 10), 2)
RECALL_POINTS = np.linspace(0.0, 1.0, 101)


@dataclass(frozen=True)
class ImagePredictions:
    """Ground truth (confidence 1) and predictions of one image."""

    image: str
    truth: Detections
    predicted: Detections

    @classmethod
    def from_arrays(
        cls,
        image: str,
        gt_boxes: ArrayLike,
        gt_classes: ArrayLike,
        pred_boxes: ArrayLike,
        pred_conf: ArrayLike,
        pred_classes: ArrayLike,
    ) -> ImagePredictions:
        """From (N, 4) xyxy pixel boxes and their classes (and confidences for the predictions).

        Raises:
            ValueError: naming the image, when the lengths of the arrays disagree.
        """
        gt = np.asarray(gt_boxes, float).reshape(-1, 4)
        gtc = np.asarray(gt_classes, int).reshape(-1)
        if len(gt) != len(gtc):
            raise ValueError(
                f"{image}: expected one class per ground-truth box, got {len(gt)} boxes and {len(gtc)} classes"
            )
        try:
            predicted = Detections(pred_boxes, pred_conf, pred_classes)
        except ValueError as exc:
            raise ValueError(f"{image}: predictions: {exc}") from exc
        return cls(image, Detections(gt, np.ones(len(gt)), gtc), predicted)


def correct_matrix(img: ImagePredictions, thresholds: np.ndarray = IOU_THRESHOLDS) -> np.ndarray:
    """(M, T) bool: whether each prediction is a true positive at each IoU threshold."""
    gt, pred = img.truth, img.predicted
    correct = np.zeros((len(pred), len(thresholds)), dtype=bool)
    if not len(pred) or not len(gt):
        return correct
    iou = iou_matrix(gt.xyxy, pred.xyxy)
    same = gt.class_id[:, None] == pred.class_id[None, :]
    for t, thr in enumerate(thresholds):
        for _, p in greedy_match(iou, same, float(thr)):
            correct[p, t] = True
    return correct


def confusion_matrix(
    images: Sequence[ImagePredictions], n_classes: int, conf: float = 0.25, iou_threshold: float = 0.45
) -> np.ndarray:
    """(n+1, n+1) counts: rows predicted class, columns true class, index n is background."""
    bg = n_classes
    cm = np.zeros((n_classes + 1, n_classes + 1), dtype=np.int64)
    for img in images:
        gc, kept = img.truth.class_id, img.predicted[img.predicted.confidence >= conf]
        m = pair_boxes(img.truth, kept, iou_threshold, any_class=True, strict=True)
        for g, p in m.pairs:
            cm[kept.class_id[p], gc[g]] += 1
        for g in m.missed:
            cm[bg, gc[g]] += 1
        for p in m.unpaired:
            cm[kept.class_id[p], bg] += 1
    return cm


def _ultralytics_ap(
    tp: np.ndarray, conf: np.ndarray, pred_cls: np.ndarray, gt_cls: np.ndarray, nc: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """ultralytics' `ap_per_class` on our matched boxes, spread over all `nc` classes.

    Returns:
        (AP (nc, T), NaN for classes without ground truth; precision envelope at RECALL_POINTS
        (nc, 101); precision, recall and F1 (nc,) at the best mean-F1 confidence; that confidence)
    """
    # Imported here: it loads torch, which reading a report never needs.
    from ultralytics.utils.metrics import ap_per_class, smooth

    ap = np.full((nc, len(IOU_THRESHOLDS)), np.nan)
    pr = np.zeros((nc, len(RECALL_POINTS)))
    prec, rec, f1 = np.zeros(nc), np.zeros(nc), np.zeros(nc)
    if not len(gt_cls):
        return ap, pr, prec, rec, f1, 0.0
    out = ap_per_class(tp.astype(float), conf, pred_cls, gt_cls)
    p, r, f, ap_u, classes, f1_curve, x, prec_values = (
        out[2],
        out[3],
        out[4],
        out[5],
        out[6],
        out[9],
        out[10],
        out[11],
    )
    best = int(smooth(f1_curve.mean(0), 0.1).argmax())  # the index ap_per_class reports p, r, f1 at
    for k, c in enumerate(classes):
        ap[c], prec[c], rec[c], f1[c] = ap_u[k], p[k], r[k], f[k]
        pr[c] = np.interp(RECALL_POINTS, x, prec_values[k])
    return ap, pr, prec, rec, f1, float(x[best])


@dataclass(frozen=True)
class Overall:
    """Figures over all organs with ground truth (the AP definition: the module docstring)."""

    map50: float
    map50_95: float
    precision: float
    recall: float
    f1: float
    f1_conf: float
    n_images: int

    def to_json(self) -> dict[str, Any]:
        return {
            "map50": round(self.map50, 4),
            "map50_95": round(self.map50_95, 4),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "f1_conf": round(self.f1_conf, 4),
            "n_images": self.n_images,
        }


@dataclass(frozen=True)
class ClassResult:
    """One organ's figures; AP values are None when it has no ground truth in the evaluated images.

    An evaluation fills every field. A model card's summaries keep name, n_gt, AP and P/R (older or
    hand-written ones less): what a summary lacks is None.
    """

    name: str
    n_gt: int | None
    ap50: float | None
    ap50_95: float | None
    precision: float | None
    recall: float | None
    class_id: int | None = None
    n_pred: int | None = None  # predictions at any confidence (after NMS)
    f1: float | None = None

    def to_json(self) -> dict[str, Any]:
        r4 = lambda v: None if v is None else round(v, 4)  # noqa: E731
        return {
            "class_id": self.class_id,
            "name": self.name,
            "n_gt": self.n_gt,
            "n_pred": self.n_pred,
            "ap50": r4(self.ap50),
            "ap50_95": r4(self.ap50_95),
            "precision": r4(self.precision),
            "recall": r4(self.recall),
            "f1": r4(self.f1),
        }


@dataclass(frozen=True)
class DetectionMetrics:
    """Everything computed over a set of images."""

    classes: tuple[ClassResult, ...]
    overall: Overall
    confusion: np.ndarray
    confusion_conf: float
    confusion_iou: float
    pr_precision: np.ndarray  # (n_classes, 101) envelope at IoU 0.5
    class_names: tuple[str, ...] = field(default=())


def confusion_diagonal(cm: np.ndarray) -> list[float | None]:
    """Column-normalised diagonal (share of each true class detected as itself), None for absent."""
    n = cm.shape[0] - 1
    out: list[float | None] = []
    for c in range(n):
        col = cm[:, c].sum()
        out.append(float(cm[c, c] / col) if col else None)
    return out


def compute_metrics(
    images: Sequence[ImagePredictions],
    class_names: Sequence[str],
    confusion_conf: float = 0.25,
    confusion_iou: float = 0.45,
) -> DetectionMetrics:
    """All detection metrics over a set of images.

    Args:
        images: per-image ground truth and predictions (predictions at a low confidence such as
            0.001 give the full PR curve).
        class_names: names of class ids 0..n-1.
        confusion_conf: confidence threshold of the confusion matrix.
        confusion_iou: IoU threshold (strict) of the confusion matrix.

    Returns:
        The metrics; see the module docstring for the definitions.
    """
    nc = len(class_names)
    corrects = [correct_matrix(img) for img in images]
    tp = np.concatenate([c for c in corrects]) if corrects else np.zeros((0, len(IOU_THRESHOLDS)), bool)
    conf = np.concatenate([img.predicted.confidence for img in images]) if images else np.zeros(0)
    pcls = np.concatenate([img.predicted.class_id for img in images]) if images else np.zeros(0, int)
    gcls = np.concatenate([img.truth.class_id for img in images]) if images else np.zeros(0, int)
    n_gt = np.bincount(gcls, minlength=nc)[:nc] if len(gcls) else np.zeros(nc, int)

    ap, pr, prec, rec, f1, f1_conf = _ultralytics_ap(tp, conf, pcls, gcls, nc)
    present = n_gt > 0
    if present.any():
        map50, map50_95 = float(np.mean(ap[present, 0])), float(np.mean(ap[present]))
        mp, mr, mf1 = float(prec[present].mean()), float(rec[present].mean()), float(f1[present].mean())
    else:
        map50, map50_95, mp, mr, mf1 = 0.0, 0.0, 0.0, 0.0, 0.0

    classes = tuple(
        ClassResult(
            name=class_names[c],
            n_gt=int(n_gt[c]),
            ap50=float(ap[c, 0]) if present[c] else None,
            ap50_95=float(np.mean(ap[c])) if present[c] else None,
            precision=float(prec[c]),
            recall=float(rec[c]),
            class_id=c,
            n_pred=int((pcls == c).sum()),
            f1=float(f1[c]),
        )
        for c in range(nc)
    )
    return DetectionMetrics(
        classes=classes,
        overall=Overall(map50, map50_95, mp, mr, mf1, f1_conf, len(images)),
        confusion=confusion_matrix(images, nc, confusion_conf, confusion_iou),
        confusion_conf=confusion_conf,
        confusion_iou=confusion_iou,
        pr_precision=pr,
        class_names=tuple(class_names),
    )


Box4 = tuple[float, float, float, float]


@dataclass(frozen=True)
class OutcomeBox:
    """One box of a per-image list: a found (TP), false (FP) or missed (FN) box, xyxy in pixels."""

    class_id: int
    name: str
    box: Box4
    conf: float | None = None  # TP, FP
    iou: float | None = None  # TP: with its ground truth
    gt_box: Box4 | None = None  # TP
    best_iou: float | None = None  # FP: with the ground truth (any class) it overlaps most
    best_gt_class: int | None = None  # FP: that ground truth's class, None when it overlaps none


_OUTCOME_KEYS = {
    "tp": ("class_id", "name", "conf", "iou", "box", "gt_box"),
    "fp": ("class_id", "name", "conf", "box", "best_iou", "best_gt_class"),
    "fn": ("class_id", "name", "box"),
}


def _box4(v: object) -> Box4:
    b = tuple(float(x) for x in v)  # type: ignore[union-attr]
    if len(b) != 4:
        raise ValueError(f"expected a box of 4 numbers, got {len(b)}")
    return b  # type: ignore[return-value]


@dataclass(frozen=True)
class ImageOutcome:
    """True positives, false positives and misses of one image at one confidence and IoU."""

    image: str
    tp: tuple[OutcomeBox, ...]
    fp: tuple[OutcomeBox, ...]
    fn: tuple[OutcomeBox, ...]

    @property
    def stem(self) -> str:
        return Path(self.image).stem

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"image": self.image}
        for kind, keys in _OUTCOME_KEYS.items():
            out[kind] = [
                {k: (list(v) if isinstance(v, tuple) else v) for k in keys for v in [getattr(b, k)]}
                for b in getattr(self, kind)
            ]
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ImageOutcome:
        """Raises KeyError, TypeError or ValueError for a malformed entry."""

        def one(e: Mapping[str, Any]) -> OutcomeBox:
            gt_box, best = e.get("gt_box"), e.get("best_gt_class")
            return OutcomeBox(
                int(e["class_id"]),
                str(e["name"]),
                _box4(e["box"]),
                *(None if e.get(k) is None else float(e[k]) for k in ("conf", "iou")),
                None if gt_box is None else _box4(gt_box),
                None if e.get("best_iou") is None else float(e["best_iou"]),
                None if best is None else int(best),
            )

        return cls(str(d["image"]), *(tuple(one(e) for e in d[k]) for k in ("tp", "fp", "fn")))


def _box(b: np.ndarray) -> Box4:
    return _box4(round(float(v), 1) for v in b)


def image_outcome(
    img: ImagePredictions, class_names: Sequence[str], conf: float = 0.25, iou_threshold: float = 0.5
) -> ImageOutcome:
    """Classify one image's predictions (conf >= `conf`) as TP/FP and its ground truth as TP/FN.

    Same-class greedy matching at IoU >= `iou_threshold`. FPs carry the best IoU with any ground
    truth and that ground truth's class, which tells a wrong label from a box in the wrong place.
    """
    gt, pred = img.truth, img.predicted[img.predicted.confidence >= conf]
    m = pair_boxes(gt, pred, iou_threshold)

    def box(p: int, **extra: Any) -> OutcomeBox:
        c = int(pred.class_id[p])
        return OutcomeBox(
            c, class_names[c], _box(pred.xyxy[p]), conf=round(float(pred.confidence[p]), 4), **extra
        )

    tp = tuple(
        box(p, iou=round(float(m.iou[g, p]), 4), gt_box=_box(gt.xyxy[g]))
        for g, p in sorted(m.pairs, key=lambda gp: gp[1])
    )
    fp = []
    for p in m.unpaired:
        g, best_iou = m.best_truth(p)
        fp.append(
            box(p, best_iou=round(best_iou, 4), best_gt_class=None if g is None else int(gt.class_id[g]))
        )
    fn = tuple(
        OutcomeBox(int(gt.class_id[g]), class_names[int(gt.class_id[g])], _box(gt.xyxy[g])) for g in m.missed
    )
    return ImageOutcome(img.image, tp, tuple(fp), fn)
