"""Evaluate a detector on a dataset split and compare with the dataset authors' published figures."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nnus_core.dataset import Dataset, Sample
from nnus_core.detection import Detections
from nnus_core.detector.metrics import ImagePredictions, compute_metrics, confusion_diagonal, image_outcome
from nnus_core.detector.report_schema import DataInfo, Evaluation, Settings
from nnus_core.errors import DatasetError
from nnus_core.organs import ORGAN_NAMES
from nnus_core.settings import get_settings

AP_DEFINITION = (
    "ultralytics ap_per_class (COCO 101-point interpolation, trapezoid), mean over organs with ground truth"
)
EVAL_CONF = 0.001  # keep nearly everything: AP needs the whole precision-recall curve
EVAL_NMS_IOU = 0.7
REPORT_CONF = 0.25  # per-image lists and the confusion matrix use the app's default threshold

# The authors' figures (YOLOv5s, real NNUS images, their own split); see
# shared/reference/nnus-published/README.md. Confusion diagonal in catalogue order.
PUBLISHED: dict[str, Any] = {
    "source": "github.com/joo053/Neck-Ultrasound-Dataset (README figures)",
    "data": "real NNUS",
    "model": "YOLOv5s pretrained, 100 epochs, imgsz 640, batch 32",
    "map50": 0.8044,
    "map50_95": 0.4717,
    "precision": 0.7952,
    "recall": 0.8082,
    "confusion_diagonal": dict(
        zip(ORGAN_NAMES, (0.91, 0.89, 0.97, 0.40, 0.89, 0.68, 0.67, 0.92), strict=True)
    ),
}


class _Predictor(Protocol):
    def predict_arrays(
        self, image: Any, conf: float = ..., iou: float = ..., max_det: int = ...
    ) -> Detections: ...

    def describe(self) -> dict[str, object]: ...


def select_split(dataset: Dataset, split: str) -> tuple[Sample, ...]:
    """Samples of a split ("train", "val", "test" or "all").

    Raises:
        DatasetError: for an unknown or empty split.
    """
    if split == "all":
        return dataset.samples
    if split not in ("train", "val", "test"):
        raise DatasetError(f"split must be train, val, test or all, got {split!r}")
    samples = dataset.split(split)
    if not samples:
        counts = {s: len(dataset.split(s)) for s in ("train", "val", "test")}
        raise DatasetError(f"{dataset.root}: split {split!r} has no images (sizes: {counts})")
    return samples


def build_evaluation(
    images: Sequence[ImagePredictions],
    *,
    meta: dict[str, Any] | None = None,
    report_conf: float = REPORT_CONF,
) -> Evaluation:
    """The typed evaluation of predictions already made (canonical organ ids).

    Args:
        images: ground truth and predictions per image.
        meta: "split", "data" (see `DataInfo`), "model" and "created_utc" of the run.
        report_conf: confidence of the confusion matrix and the per-image lists.
    """
    meta = meta or {}
    m = compute_metrics(images, ORGAN_NAMES, confusion_conf=report_conf)
    return Evaluation.from_metrics(
        m,
        [image_outcome(im, ORGAN_NAMES, report_conf) for im in images],
        split=str(meta.get("split", "?")),
        data=DataInfo.from_mapping(meta.get("data") or {}),
        settings=Settings(EVAL_CONF, EVAL_NMS_IOU, report_conf, 0.5, AP_DEFINITION),
        published=PUBLISHED,
        created_utc=str(meta.get("created_utc", "")),
        model=meta.get("model"),
    )


def evaluate_predictions(
    images: Sequence[ImagePredictions],
    *,
    meta: dict[str, Any] | None = None,
    report_conf: float = REPORT_CONF,
) -> dict[str, Any]:
    """The JSON-ready evaluation report (schema version 2) of predictions already made."""
    return build_evaluation(images, meta=meta, report_conf=report_conf).to_json()


def evaluate_detector(
    detector: _Predictor,
    dataset: Dataset,
    split: str = "test",
    *,
    report_conf: float = REPORT_CONF,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Run a detector over a split and return the evaluation report (see `evaluate_predictions`).

    Raises:
        DatasetError: for an unknown or empty split.
    """
    samples = select_split(dataset, split)
    images = []
    for i, s in enumerate(samples):
        truth = Detections.from_boxes((a.organ_id, a.box) for a in s.annotations)
        predicted = detector.predict_arrays(s.image_path, conf=EVAL_CONF, iou=EVAL_NMS_IOU, max_det=300)
        images.append(ImagePredictions(s.name, truth, predicted))
        if progress:
            progress(i + 1, len(samples))
    meta = {
        "created_utc": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "split": split,
        "data": {
            "root": str(dataset.root),
            "kind": dataset.kind,
            "synthetic": dataset.synthetic,
            "generator_version": dataset.generator_version,
            "n_images": len(samples),
            "subjects": sorted({s.subject for s in samples}),
        },
        "model": detector.describe(),
    }
    return evaluate_predictions(images, meta=meta, report_conf=report_conf)


def eval_cache_dir() -> Path:
    """Where evaluations run from the app are kept: $NNUS_EVAL_CACHE, else data/cache/eval."""
    return get_settings().eval_cache_dir


def cached_evaluation_file(
    dataset_key: str, model_id: str, split: str, cache_dir: Path | None = None
) -> Path:
    """The file an evaluation of this dataset version, model and split is kept in (may not exist yet)."""
    digest = hashlib.sha256(json.dumps([dataset_key, model_id, split]).encode()).hexdigest()[:20]
    return (cache_dir or eval_cache_dir()) / f"eval_{split}_{digest}.json"


def evaluate_cached(
    detector: _Predictor,
    dataset: Dataset,
    split: str,
    *,
    dataset_key: str,
    model_id: str,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Evaluate once per (dataset version, model, split) and return the report file.

    The same evaluation as `python -m nnus_core.detector evaluate`; a second call with the same keys reads
    the file instead of running the model again.

    Raises:
        DatasetError: for an unknown or empty split.
        OSError: when the cache folder cannot be written.
    """
    path = cached_evaluation_file(dataset_key, model_id, split, cache_dir)
    if path.is_file():
        return path
    report = evaluate_detector(detector, dataset, split, progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    tmp.replace(path)  # a half-written file never passes for a finished evaluation
    return path


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


# Below this many ground-truth boxes one box moves an organ's AP by several points (7 boxes: 0.1-0.3),
# so a figure is shown with its n and called too small to set beside the authors'.
MIN_BOXES_TO_COMPARE = 30


def too_few(n_boxes: int | None) -> bool:
    """True when a figure rests on too few boxes to compare (see MIN_BOXES_TO_COMPARE)."""
    return n_boxes is not None and n_boxes < MIN_BOXES_TO_COMPARE


def format_comparison(report: dict[str, Any]) -> str:
    """A plain-text table: our figures beside the authors', labelled with each one's data.

    Every AP carries its n (ground-truth boxes; images for the overall figures), and a figure on
    fewer than MIN_BOXES_TO_COMPARE boxes is marked: 16 images do not stand beside 790.
    """
    kind = (report.get("data") or {}).get("kind", "?")
    ours_label = f"ours: {kind}"
    pub_label = f"published: {PUBLISHED['data']}"
    ov = report["overall"]
    per = {c["name"]: c for c in report["per_class"]}
    n_images = ov.get("n_images", (report.get("data") or {}).get("n_images"))
    counts = [c.get("n_gt") for c in report["per_class"] if c.get("n_gt") is not None]
    n_boxes = sum(counts) if counts else None
    n_all = (f"n={n_images} img" if n_images is not None else "") + (
        f", {n_boxes} boxes" if n_boxes is not None else ""
    )
    rows = [
        ("mAP@0.5", ov["map50"], PUBLISHED["map50"]),
        ("mAP@0.5:0.95", ov["map50_95"], PUBLISHED["map50_95"]),
        ("precision", ov["precision"], PUBLISHED["precision"]),
        ("recall", ov["recall"], PUBLISHED["recall"]),
    ]
    diag = report["confusion_matrix"].get("recall_diagonal") or dict(
        zip(ORGAN_NAMES, confusion_diagonal(np.array(report["confusion_matrix"]["counts"])), strict=True)
    )
    w = max(len(ours_label), len(pub_label), 10)
    nw = max(len(n_all), 6)
    lines = []
    if kind != PUBLISHED["data"]:
        lines.append(
            f"NOTE: the data differ ({kind} vs {PUBLISHED['data']}); the figures are not comparable "
            "as a measure of the same model quality."
        )
    lines.append(f"{'metric':<34} {ours_label:>{w}} {'n':>{nw}} {pub_label:>{w}}")
    for label, a, b in rows:
        lines.append(f"{label:<34} {_fmt(a):>{w}} {n_all:>{nw}} {_fmt(b):>{w}}")
    lines.append(f"{'per organ (AP@0.5 | CM diagonal)':<34} {'':>{w}} {'n boxes':>{nw}}")
    small = []
    for name in ORGAN_NAMES:
        c = per.get(name, {})
        n = c.get("n_gt")
        ours = f"{_fmt(c.get('ap50'))} | {_fmt(diag.get(name))}"
        pub = f"- | {_fmt(PUBLISHED['confusion_diagonal'][name])}"
        flag = " *" if too_few(n) else ""
        if flag:
            small.append(name)
        lines.append(f"  {name:<32} {ours:>{w}} {('-' if n is None else str(n)) + flag:>{nw}} {pub:>{w}}")
    if too_few(n_boxes) or (n_images is not None and n_images < MIN_BOXES_TO_COMPARE):
        lines.append(
            f"CAUTION: the overall figures rest on {n_all}: too few to set beside the authors' "
            f"(790 images); one image moves them."
        )
    ap_definition = (report.get("settings") or {}).get("ap")
    if ap_definition:
        lines.append(f"AP as computed by {ap_definition}.")
    if small:
        lines.append(
            f"* fewer than {MIN_BOXES_TO_COMPARE} boxes ({', '.join(small)}): one box moves that AP by "
            "several points; too few to compare."
        )
    return "\n".join(lines)
