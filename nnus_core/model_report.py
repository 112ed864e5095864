"""Read a detector evaluation JSON into tables for the model report, beside the authors' published figures.

The evaluation file is written by `python -m nnus_core.detector evaluate` (data/models/<name>/eval_<split>.json).
Its sections follow `nnus_core.detector.metrics.DetectionMetrics.to_dict` ("overall", "per_class",
"confusion_matrix", "pr_curves") plus per-image outcomes (`ImageOutcome.to_dict`). Reading is
tolerant: a missing section gives an empty table, so the page shows what there is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nnus_core.detector.evaluation import PUBLISHED
from nnus_core.errors import ModelError
from nnus_core.geometry import BoxPx
from nnus_core.matching import Outcome, outcome_rgb
from nnus_core.organs import ORGAN_NAMES, ORGANS, organ_id_for
from nnus_core.render import Overlay

PER_CLASS_COLUMNS = ["organ_id", "organ", "n_gt", "n_pred", "ap50", "ap50_95", "precision", "recall", "f1"]
_IMAGES_KEYS = ("images", "per_image", "image_outcomes", "outcomes")


@dataclass(frozen=True)
class ImageOutcomes:
    """One evaluated image: found, false-positive and missed boxes as the evaluation recorded them."""

    image: str  # as written in the file (a stem, a file name or a path)
    tp: tuple[dict[str, Any], ...]
    fp: tuple[dict[str, Any], ...]
    fn: tuple[dict[str, Any], ...]

    @property
    def stem(self) -> str:
        return Path(self.image).stem


@dataclass(frozen=True)
class EvalReport:
    """An evaluation file, parsed."""

    path: Path
    split: str
    data: dict[str, Any]  # what the evaluation says about its data (kind, synthetic, generator_version)
    overall: dict[str, Any]
    per_class: pd.DataFrame  # PER_CLASS_COLUMNS
    confusion_labels: tuple[str, ...]
    confusion_counts: np.ndarray  # rows predicted, columns true; the last label is "background"
    confusion_conf: float | None
    pr_recall: np.ndarray
    pr_precision: dict[int, np.ndarray]  # organ id -> precision at each recall point (IoU 0.5)
    images: tuple[ImageOutcomes, ...] = field(default=())
    published: dict[str, Any] = field(default_factory=lambda: dict(PUBLISHED))

    @property
    def synthetic(self) -> bool | None:
        """True/False when the file says what it was measured on, None when it does not."""
        v = self.data.get("synthetic")
        if v is None and "kind" in self.data:
            return "synthetic" in str(self.data["kind"]).lower() or "phantom" in str(self.data["kind"]).lower()
        return None if v is None else bool(v)


def _organ_id(entry: Mapping[str, Any], fallback: int | None = None) -> int | None:
    name = entry.get("name") or entry.get("organ")
    if isinstance(name, str):
        oid = organ_id_for(name)
        if oid is not None:
            return oid
    cid = entry.get("class_id", entry.get("organ_id", fallback))
    return int(cid) if isinstance(cid, int | np.integer) and 0 <= int(cid) < len(ORGANS) else None


def _per_class(items: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    rows = []
    for i, c in enumerate(items):
        oid = _organ_id(c, i)
        if oid is None:
            continue
        rows.append({"organ_id": oid, "organ": ORGAN_NAMES[oid], **{k: c.get(k) for k in PER_CLASS_COLUMNS[2:]}})
    df = pd.DataFrame(rows, columns=PER_CLASS_COLUMNS)
    return df.sort_values("organ_id").reset_index(drop=True)


def _images(d: Mapping[str, Any]) -> tuple[ImageOutcomes, ...]:
    raw: Any = None
    for k in _IMAGES_KEYS:
        if k in d:
            raw = d[k]
            break
    if isinstance(raw, Mapping):  # {image: {"tp": [...], ...}}
        raw = [{"image": k, **v} for k, v in raw.items()]
    out = []
    for e in raw or []:
        if isinstance(e, Mapping) and "image" in e:
            out.append(ImageOutcomes(str(e["image"]), tuple(e.get("tp") or ()), tuple(e.get("fp") or ()),
                                     tuple(e.get("fn") or ())))
    return tuple(out)


def parse_eval(d: Mapping[str, Any], path: Path = Path("<memory>")) -> EvalReport:
    """Parse an evaluation dict (see the module docstring); absent sections become empty.

    Raises:
        ModelError: when `d` is not a mapping or a present section has the wrong shape.
    """
    if not isinstance(d, Mapping):
        raise ModelError(f"{path}: expected a JSON object, got {type(d).__name__}")
    try:
        metrics = d.get("metrics") if isinstance(d.get("metrics"), Mapping) else d
        cm = metrics.get("confusion_matrix") or {}
        counts = np.asarray(cm.get("counts") or np.zeros((0, 0)), dtype=float)
        labels = tuple(cm.get("labels") or ())
        if counts.size and counts.shape != (len(labels), len(labels)):
            raise ModelError(f"{path}: confusion_matrix: expected {len(labels)}x{len(labels)} counts, got {counts.shape}")
        pr = metrics.get("pr_curves") or {}
        pr_prec: dict[int, np.ndarray] = {}
        for name, values in (pr.get("precision") or {}).items():
            oid = organ_id_for(name)
            if oid is not None:
                pr_prec[oid] = np.asarray(values, dtype=float)
        data = d.get("data") or d.get("dataset") or {}
        return EvalReport(
            path=Path(path),
            split=str(d.get("split") or metrics.get("split") or data.get("split") or "test"),
            data=dict(data) if isinstance(data, Mapping) else {},
            overall=dict(metrics.get("overall") or {}),
            per_class=_per_class(metrics.get("per_class") or []),
            confusion_labels=labels,
            confusion_counts=counts,
            confusion_conf=cm.get("conf"),
            pr_recall=np.asarray(pr.get("recall") or [], dtype=float),
            pr_precision=pr_prec,
            images=_images(d) or _images(metrics),
            published=dict(d["published"]) if isinstance(d.get("published"), Mapping) else dict(PUBLISHED),
        )
    except (TypeError, ValueError, AttributeError) as exc:
        raise ModelError(f"{path}: unexpected evaluation format: {exc}") from exc


def read_eval(path: Path | str) -> EvalReport:
    """Read and parse an evaluation JSON file.

    Raises:
        ModelError: when the file cannot be read or parsed.
    """
    p = Path(path)
    try:
        d = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{p}: cannot read the evaluation JSON: {exc}") from exc
    return parse_eval(d, p)


def find_eval_file(model_dir: Path | None, split: str = "test") -> Path | None:
    """The evaluation file of a model folder: eval_<split>.json, else the newest eval_*.json."""
    if model_dir is None or not model_dir.is_dir():
        return None
    preferred = model_dir / f"eval_{split}.json"
    if preferred.is_file():
        return preferred
    found = sorted(model_dir.glob("eval_*.json"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def overall_comparison(report: EvalReport | None) -> pd.DataFrame:
    """Overall metrics: this project's evaluation beside the authors' published result."""
    names = [("mAP@0.5", "map50"), ("mAP@0.5:0.95", "map50_95"), ("precision", "precision"), ("recall", "recall")]
    ours = report.overall if report else {}
    pub = report.published if report else PUBLISHED
    return pd.DataFrame({
        "metric": [n for n, _ in names],
        "this model": [ours.get(k) for _, k in names],
        "authors (published)": [pub.get(k) for _, k in names],
    })


def confusion_diagonal(report: EvalReport) -> dict[int, float | None]:
    """Share of each organ's true boxes detected as that organ (column-normalised diagonal)."""
    out: dict[int, float | None] = {}
    c = report.confusion_counts
    for j, name in enumerate(report.confusion_labels):
        oid = organ_id_for(name)
        if oid is None or j >= c.shape[1]:
            continue
        col = c[:, j].sum()
        out[oid] = float(c[j, j] / col) if col else None
    return out


def per_organ_comparison(report: EvalReport | None) -> pd.DataFrame:
    """Per organ: our AP/P/R and confusion diagonal beside the authors' published diagonal."""
    diag = confusion_diagonal(report) if report else {}
    pub_diag = (report.published if report else PUBLISHED).get("confusion_diagonal") or {}
    pc = report.per_class.set_index("organ_id") if report is not None and len(report.per_class) else None
    rows = []
    for o in ORGANS:
        r = pc.loc[o.id] if pc is not None and o.id in pc.index else None
        rows.append({
            "organ": o.name,
            "boxes": None if r is None else r["n_gt"],
            "AP@0.5": None if r is None else r["ap50"],
            "AP@0.5:0.95": None if r is None else r["ap50_95"],
            "precision": None if r is None else r["precision"],
            "recall": None if r is None else r["recall"],
            "detected as itself (ours)": diag.get(o.id),
            "detected as itself (authors)": pub_diag.get(o.name),
        })
    return pd.DataFrame(rows)


def failure_table(report: EvalReport) -> pd.DataFrame:
    """One row per image with at least one miss or false positive, worst first."""
    rows = []
    for im in report.images:
        if not im.fn and not im.fp:
            continue
        rows.append({
            "stem": im.stem,
            "misses": len(im.fn),
            "false_positives": len(im.fp),
            "found": len(im.tp),
            "missed_organs": sorted({oid for e in im.fn if (oid := _organ_id(e)) is not None}),
            "fp_organs": sorted({oid for e in im.fp if (oid := _organ_id(e)) is not None}),
        })
    df = pd.DataFrame(rows, columns=["stem", "misses", "false_positives", "found", "missed_organs", "fp_organs"])
    if df.empty:
        return df
    df["errors"] = df["misses"] + df["false_positives"]
    return df.sort_values(["errors", "stem"], ascending=[False, True]).reset_index(drop=True)


def _box(e: Mapping[str, Any], key: str = "box") -> BoxPx | None:
    b = e.get(key)
    if not isinstance(b, Sequence) or len(b) != 4:
        return None
    try:
        return BoxPx.from_corners(*map(float, b))
    except (TypeError, ValueError):
        return None


def outcome_overlays(im: ImageOutcomes) -> list[Overlay]:
    """The evaluation's boxes of one image, drawn like the Compare page (outcome colours and tags)."""
    out: list[Overlay] = []
    for kind, entries in ((Outcome.TP, im.tp), (Outcome.FN, im.fn), (Outcome.FP, im.fp)):
        color = outcome_rgb(kind)
        for e in entries:
            oid, box = _organ_id(e), _box(e)
            if oid is None or box is None:
                continue
            short = ORGANS[oid].short
            conf = e.get("conf", e.get("confidence"))
            conf_s = f" {float(conf):.2f}" if isinstance(conf, int | float) else ""
            if kind is Outcome.TP:
                out.append(Overlay(oid, box, f"OK {short}{conf_s}", "dashed", color))
            elif kind is Outcome.FN:
                out.append(Overlay(oid, box, f"MISS {short}", "solid", color))
            else:
                out.append(Overlay(oid, box, f"FP {short}{conf_s}", "dashed", color))
    return out


def same_data(report: EvalReport, root: Path | str, synthetic: bool, generator_version: str) -> bool:
    """Whether the evaluation's images are the active dataset's (so its file names point at them).

    The same folder, or the same phantom generator version (a phantom regenerates identically on
    another checkout, at another path). Without a recorded root the file names are trusted.
    """
    recorded = report.data.get("root")
    if not recorded:
        return True
    try:
        if Path(str(recorded)).resolve() == Path(root).resolve():
            return True
    except OSError:
        pass
    version = str(report.data.get("generator_version") or "")
    return bool(synthetic and report.synthetic and version and version == generator_version)


def held_out_table(report: EvalReport | None, evaluations: dict[str, Any]) -> pd.DataFrame:
    """Per-organ AP@0.5 of the model card's further held-out sets beside its test split's.

    One row per organ: the test split's box count and AP@0.5 (when a report is given), then for
    each card evaluation `n (<name>)` and `AP@0.5 (<name>)`. Empty when the card has none.
    """
    if not evaluations:
        return pd.DataFrame()
    rows: dict[str, dict[str, Any]] = {o.name: {"organ": o.name} for o in ORGANS}
    if report is not None and len(report.per_class):
        for _, c in report.per_class.iterrows():
            name = ORGAN_NAMES[int(c["organ_id"])]
            rows[name].update({f"n ({report.split} split)": c["n_gt"], f"AP@0.5 ({report.split} split)": c["ap50"]})
    for name, ev in evaluations.items():
        for c in ev.get("per_class") or []:
            if c.get("name") in rows:
                rows[c["name"]].update({f"n ({name})": c.get("n_gt"), f"AP@0.5 ({name})": c.get("ap50")})
        overall = (ev.get("overall") or {}).get("map50")
        rows.setdefault("all organs (mAP)", {"organ": "all organs (mAP)"})[f"AP@0.5 ({name})"] = overall
    if report is not None and "all organs (mAP)" in rows:
        rows["all organs (mAP)"][f"AP@0.5 ({report.split} split)"] = report.overall.get("map50")
    df = pd.DataFrame(list(rows.values()))
    total = df["organ"] == "all organs (mAP)"
    for col in df.columns:
        if col.startswith("n ("):
            df.loc[total, col] = df.loc[~total, col].sum()  # the mAP row counts every box
            df[col] = df[col].astype("Int64")
        elif col.startswith("AP@0.5"):
            df[col] = df[col].astype(float).round(3)
    return df
