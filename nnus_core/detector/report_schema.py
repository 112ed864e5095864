"""The evaluation report's one versioned schema: typed values, their JSON, and the one reader.

`python -m nnus_core.detector evaluate`, training and the Model report page's "Evaluate on this dataset"
write `Evaluation.to_json()`; the Model report and the quiz's model bars read files back with
`read_evaluation` (a model card's per-organ figures with `class_results`). Version 2 has the
layout of version 1 ("schema": "nnus-eval/1", written before the version number) plus
`schema_version` and the AP definition in `settings.ap`; a version-1 file reads as it is. Anything
else is refused with the command that writes a current file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnus_core.detector.metrics import (
    RECALL_POINTS,
    ClassResult,
    DetectionMetrics,
    ImageOutcome,
    Overall,
    confusion_diagonal,
)
from nnus_core.errors import ModelError
from nnus_core.organs import organ_id_for

SCHEMA_VERSION = 2
LEGACY_SCHEMA = "nnus-eval/1"  # version 1 named itself this way; same layout
REWRITE_HINT = "write a current one with `python -m nnus_core.detector evaluate --data DIR --out FILE`"


class _Field:
    """Reads fields of one JSON object, naming the object and field in every complaint."""

    def __init__(self, d: Any, where: str) -> None:
        if not isinstance(d, Mapping):
            raise ModelError(f"{where}: expected a JSON object, got {type(d).__name__}")
        self.d, self.where = d, where

    def get(self, key: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
        if key not in self.d or self.d[key] is None:
            if optional:
                return None
            raise ModelError(f"{self.where}: expected field {key!r}, it is missing")
        v = self.d[key]
        if kind is float and isinstance(v, int) and not isinstance(v, bool):
            return float(v)
        if not isinstance(v, kind) or (isinstance(v, bool) and kind is not bool):
            want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise ModelError(f"{self.where}.{key}: expected {want}, got {type(v).__name__}")
        return v

    def sub(self, key: str) -> _Field:
        return _Field(self.get(key, Mapping), f"{self.where}.{key}")


def _overall(f: _Field) -> Overall:
    return Overall(
        *(f.get(k, float) for k in ("map50", "map50_95", "precision", "recall", "f1", "f1_conf")),
        f.get("n_images", int),
    )


def _class_result(f: _Field) -> ClassResult:
    return ClassResult(
        name=f.get("name", str),
        n_gt=f.get("n_gt", int, optional=True),
        ap50=f.get("ap50", float, optional=True),
        ap50_95=f.get("ap50_95", float, optional=True),
        precision=f.get("precision", float, optional=True),
        recall=f.get("recall", float, optional=True),
        class_id=f.get("class_id", int, optional=True),
        n_pred=f.get("n_pred", int, optional=True),
        f1=f.get("f1", float, optional=True),
    )


def class_results(items: Any, where: str = "per_class") -> tuple[ClassResult, ...]:
    """Per-organ figures of an evaluation or of a model card's `metrics` / `evaluations` entry.

    Raises:
        ModelError: naming the entry and field that is missing or of the wrong type.
    """
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise ModelError(f"{where}: expected a list, got {type(items).__name__}")
    return tuple(_class_result(_Field(c, f"{where}[{i}]")) for i, c in enumerate(items))


def card_class_results(entry: Any, name: str = "metrics") -> tuple[ClassResult, ...]:
    """Per-organ figures of a model card's `metrics` or `evaluations` entry; () when it has none.

    Raises:
        ModelError: for an entry whose per-organ figures are malformed.
    """
    items = entry.get("per_class") if isinstance(entry, Mapping) else None
    return class_results(items, f"model card {name}.per_class") if items else ()


def ap50_by_organ(results: Sequence[ClassResult]) -> dict[int, float]:
    """AP@0.5 by canonical organ id, for the organs that have one."""
    out: dict[int, float] = {}
    for c in results:
        oid = organ_id_for(c.name)
        if oid is not None and c.ap50 is not None:
            out[oid] = c.ap50
    return out


@dataclass(frozen=True)
class Confusion:
    """Counts with rows = predicted class, columns = true class; the last label is "background"."""

    labels: tuple[str, ...]
    counts: np.ndarray  # (n + 1, n + 1) int
    conf: float
    iou: float

    def recall_diagonal(self) -> dict[str, float | None]:
        """Share of each class's true boxes detected as itself, by class name."""
        return dict(zip(self.labels[:-1], confusion_diagonal(self.counts), strict=True))

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "rows": "predicted",
            "columns": "true",
            "conf": self.conf,
            "iou": self.iou,
            "counts": self.counts.tolist(),
            "recall_diagonal": {
                k: None if v is None else round(v, 4) for k, v in self.recall_diagonal().items()
            },
        }

    @classmethod
    def from_json(cls, f: _Field) -> Confusion:
        labels = tuple(str(x) for x in f.get("labels", list))
        try:
            counts = np.asarray(f.get("counts", list), dtype=np.int64)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"{f.where}.counts: expected a matrix of counts: {exc}") from exc
        if counts.shape != (len(labels), len(labels)):
            raise ModelError(
                f"{f.where}.counts: expected {len(labels)}x{len(labels)} counts, got {counts.shape}"
            )
        return cls(labels, counts, f.get("conf", float), f.get("iou", float))


@dataclass(frozen=True)
class PrCurves:
    """Precision at each recall point, per class, at one IoU."""

    iou: float
    recall: np.ndarray  # (R,)
    precision: dict[str, np.ndarray]  # class name -> (R,)

    def to_json(self) -> dict[str, Any]:
        return {
            "iou": self.iou,
            "recall": [round(float(r), 2) for r in self.recall],
            "precision": {k: [round(float(p), 4) for p in v] for k, v in self.precision.items()},
        }

    @classmethod
    def from_json(cls, f: _Field) -> PrCurves:
        recall = np.asarray(f.get("recall", list), dtype=float)
        precision = {}
        for name, values in f.get("precision", Mapping).items():
            arr = np.asarray(values, dtype=float)
            if arr.shape != recall.shape:
                raise ModelError(
                    f"{f.where}.precision[{name!r}]: expected {len(recall)} values, got {arr.shape}"
                )
            precision[str(name)] = arr
        return cls(f.get("iou", float), recall, precision)


@dataclass(frozen=True)
class DataInfo:
    """What an evaluation was measured on."""

    kind: str = "?"
    synthetic: bool | None = None
    root: str = ""
    generator_version: str = ""
    n_images: int | None = None
    subjects: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "kind": self.kind,
            "synthetic": self.synthetic,
            "generator_version": self.generator_version,
            "n_images": self.n_images,
            "subjects": list(self.subjects),
        }

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any]) -> DataInfo:
        """From a run's description (every field optional).

        Raises:
            ModelError: for a field of the wrong type.
        """
        return cls.from_json(_Field(d, "data"))

    @classmethod
    def from_json(cls, f: _Field) -> DataInfo:
        return cls(
            kind=f.get("kind", str, optional=True) or "?",
            synthetic=f.get("synthetic", bool, optional=True),
            root=f.get("root", str, optional=True) or "",
            generator_version=f.get("generator_version", str, optional=True) or "",
            n_images=f.get("n_images", int, optional=True),
            subjects=tuple(str(s) for s in f.get("subjects", list, optional=True) or ()),
        )


@dataclass(frozen=True)
class Settings:
    """How the evaluation ran and which AP definition its figures use."""

    eval_conf: float
    nms_iou: float
    report_conf: float
    match_iou: float
    ap: str

    def to_json(self) -> dict[str, Any]:
        return {
            "eval_conf": self.eval_conf,
            "nms_iou": self.nms_iou,
            "report_conf": self.report_conf,
            "match_iou": self.match_iou,
            "ap": self.ap,
        }

    @classmethod
    def from_json(cls, f: _Field) -> Settings:
        return cls(
            *(f.get(k, float) for k in ("eval_conf", "nms_iou", "report_conf", "match_iou")), f.get("ap", str)
        )


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a detector on one split of one dataset (schema version 2)."""

    split: str
    data: DataInfo
    settings: Settings
    overall: Overall
    per_class: tuple[ClassResult, ...]
    confusion: Confusion
    pr_curves: PrCurves
    per_image: tuple[ImageOutcome, ...]
    published: dict[str, Any]  # the dataset authors' figures (see evaluation.PUBLISHED)
    created_utc: str = ""
    model: dict[str, Any] = field(default_factory=dict)  # `Detector.describe()`
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def from_metrics(
        cls,
        m: DetectionMetrics,
        per_image: Sequence[ImageOutcome],
        *,
        split: str,
        data: DataInfo,
        settings: Settings,
        published: Mapping[str, Any],
        created_utc: str = "",
        model: Mapping[str, Any] | None = None,
    ) -> Evaluation:
        overall, per_class, confusion, pr_curves = metric_sections(m)
        return cls(
            split=split,
            data=data,
            settings=settings,
            overall=overall,
            per_class=per_class,
            confusion=confusion,
            pr_curves=pr_curves,
            per_image=tuple(per_image),
            published=dict(published),
            created_utc=created_utc,
            model=dict(model or {}),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object of a report file (NaN-free: absent values are null)."""
        return {
            "schema_version": self.schema_version,
            "created_utc": self.created_utc,
            "split": self.split,
            "data": self.data.to_json(),
            "model": self.model,
            "settings": self.settings.to_json(),
            "overall": self.overall.to_json(),
            "per_class": [c.to_json() for c in self.per_class],
            "confusion_matrix": self.confusion.to_json(),
            "pr_curves": self.pr_curves.to_json(),
            "per_image": [im.to_json() for im in self.per_image],
            "published": self.published,
        }

    @classmethod
    def from_json(cls, d: Any, source: str = "<memory>") -> Evaluation:
        """Parse a report (version 2, or version 1 which has the same layout).

        Raises:
            ModelError: for another version, or a missing or mistyped field (named).
        """
        f = _Field(d, source)
        version = d.get("schema_version")
        if version is None and d.get("schema") == LEGACY_SCHEMA:
            version = 1
        if version not in (1, SCHEMA_VERSION):
            found = version if version is not None else d.get("schema", "no schema field")
            raise ModelError(
                f"{source}: expected an evaluation report of schema version {SCHEMA_VERSION} "
                f"(or {LEGACY_SCHEMA!r}), got {found!r}; {REWRITE_HINT}"
            )
        images = f.get("per_image", list)
        return cls(
            split=f.get("split", str),
            data=DataInfo.from_json(f.sub("data")),
            settings=Settings.from_json(f.sub("settings")),
            overall=_overall(f.sub("overall")),
            per_class=class_results(f.get("per_class", list), f"{source}.per_class"),
            confusion=Confusion.from_json(f.sub("confusion_matrix")),
            pr_curves=PrCurves.from_json(f.sub("pr_curves")),
            per_image=tuple(
                _image_outcome(_Field(e, f"{source}.per_image[{i}]")) for i, e in enumerate(images)
            ),
            published=dict(f.get("published", Mapping)),
            created_utc=f.get("created_utc", str, optional=True) or "",
            model=dict(f.get("model", Mapping, optional=True) or {}),
            schema_version=int(version),
        )


def _image_outcome(f: _Field) -> ImageOutcome:
    try:
        return ImageOutcome.from_json(f.d)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{f.where}: expected image, tp, fp and fn with boxes: {exc}") from exc


def metric_sections(m: DetectionMetrics) -> tuple[Overall, tuple[ClassResult, ...], Confusion, PrCurves]:
    """The typed report sections of computed metrics."""
    return (
        m.overall,
        m.classes,
        Confusion((*m.class_names, "background"), m.confusion, m.confusion_conf, m.confusion_iou),
        PrCurves(0.5, RECALL_POINTS, {n: m.pr_precision[i] for i, n in enumerate(m.class_names)}),
    )


def metrics_json(m: DetectionMetrics) -> dict[str, object]:
    """The metric sections of a report file ("overall", "per_class", "confusion_matrix", "pr_curves")."""
    overall, per_class, confusion, pr_curves = metric_sections(m)
    return {
        "overall": overall.to_json(),
        "per_class": [c.to_json() for c in per_class],
        "confusion_matrix": confusion.to_json(),
        "pr_curves": pr_curves.to_json(),
    }


def read_evaluation(path: Path | str) -> Evaluation:
    """The one reader of evaluation report files.

    Raises:
        ModelError: when the file cannot be read, is not JSON, or is not a report of a known version.
    """
    p = Path(path)
    try:
        d = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{p}: cannot read the evaluation JSON: {exc}") from exc
    return Evaluation.from_json(d, str(p))
