"""Tables and overlays for the model report, from an evaluation beside the authors' published figures.

Evaluation files (data/models/<name>/eval_<split>.json, the page's cache) are read by the one
reader, `nnus_core.detector.report_schema.read_evaluation`; this module turns the typed value
into the page's tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nnus_core.detector.evaluation import PUBLISHED
from nnus_core.detector.metrics import ImageOutcome
from nnus_core.detector.report_schema import Evaluation, card_class_results, read_evaluation
from nnus_core.geometry import BoxPx
from nnus_core.matching import Outcome, outcome_rgb
from nnus_core.organs import ORGAN_NAMES, ORGANS, organ_id_for
from nnus_core.render import Overlay

PER_CLASS_COLUMNS = ["organ_id", "organ", "n_gt", "n_pred", "ap50", "ap50_95", "precision", "recall", "f1"]


@dataclass(frozen=True)
class EvalReport:
    """An evaluation as the model report page shows it: the typed evaluation plus its tables."""

    path: Path
    evaluation: Evaluation
    per_class: pd.DataFrame  # PER_CLASS_COLUMNS, one row per organ of the catalogue
    pr_precision: dict[int, np.ndarray]  # organ id -> precision at each recall point (IoU 0.5)

    @property
    def split(self) -> str:
        return self.evaluation.split

    @property
    def data(self) -> dict[str, Any]:
        """What the evaluation says about its data (kind, synthetic, root, generator_version, n_images)."""
        return self.evaluation.data.to_json()

    @property
    def overall(self) -> dict[str, Any]:
        return self.evaluation.overall.to_json()

    @property
    def published(self) -> dict[str, Any]:
        return self.evaluation.published

    @property
    def confusion_labels(self) -> tuple[str, ...]:
        return self.evaluation.confusion.labels

    @property
    def confusion_counts(self) -> np.ndarray:
        """Rows predicted, columns true; the last label is "background"."""
        return self.evaluation.confusion.counts

    @property
    def confusion_conf(self) -> float:
        return self.evaluation.confusion.conf

    @property
    def pr_recall(self) -> np.ndarray:
        return self.evaluation.pr_curves.recall

    @property
    def images(self) -> tuple[ImageOutcome, ...]:
        return self.evaluation.per_image

    @property
    def synthetic(self) -> bool | None:
        """True/False when the file says what it was measured on, None when it does not."""
        d = self.evaluation.data
        if d.synthetic is None and d.kind != "?":
            return "synthetic" in d.kind.lower() or "phantom" in d.kind.lower()
        return d.synthetic


def _per_class(ev: Evaluation) -> pd.DataFrame:
    rows = []
    for c in ev.per_class:
        oid = organ_id_for(c.name)
        if oid is None:
            continue
        rows.append(
            {
                "organ_id": oid,
                "organ": ORGAN_NAMES[oid],
                "n_gt": c.n_gt,
                "n_pred": c.n_pred,
                "ap50": c.ap50,
                "ap50_95": c.ap50_95,
                "precision": c.precision,
                "recall": c.recall,
                "f1": c.f1,
            }
        )
    df = pd.DataFrame(rows, columns=PER_CLASS_COLUMNS)
    return df.sort_values("organ_id").reset_index(drop=True)


def report_view(ev: Evaluation, path: Path | str = "<memory>") -> EvalReport:
    """The page's view of a typed evaluation."""
    pr = {oid: v for name, v in ev.pr_curves.precision.items() if (oid := organ_id_for(name)) is not None}
    return EvalReport(Path(path), ev, _per_class(ev), pr)


def parse_eval(d: Mapping[str, Any], path: Path | str = "<memory>") -> EvalReport:
    """Parse an evaluation report dict (see `report_schema.Evaluation.from_json`).

    Raises:
        ModelError: for an unknown schema version or a missing or malformed field.
    """
    return report_view(Evaluation.from_json(d, str(path)), path)


def read_eval(path: Path | str) -> EvalReport:
    """Read an evaluation JSON file.

    Raises:
        ModelError: when the file cannot be read or parsed.
    """
    return report_view(read_evaluation(path), path)


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
    names = [
        ("mAP@0.5", "map50"),
        ("mAP@0.5:0.95", "map50_95"),
        ("precision", "precision"),
        ("recall", "recall"),
    ]
    ours = report.overall if report else {}
    pub = report.published if report else PUBLISHED
    return pd.DataFrame(
        {
            "metric": [n for n, _ in names],
            "this model": [ours.get(k) for _, k in names],
            "authors (published)": [pub.get(k) for _, k in names],
        }
    )


def confusion_diagonal(report: EvalReport) -> dict[int, float | None]:
    """Share of each organ's true boxes detected as that organ (column-normalised diagonal)."""
    return {
        oid: v
        for name, v in report.evaluation.confusion.recall_diagonal().items()
        if (oid := organ_id_for(name)) is not None
    }


def per_organ_comparison(report: EvalReport | None) -> pd.DataFrame:
    """Per organ: our AP/P/R and confusion diagonal beside the authors' published diagonal."""
    diag = confusion_diagonal(report) if report else {}
    pub_diag = (report.published if report else PUBLISHED).get("confusion_diagonal") or {}
    pc = report.per_class.set_index("organ_id") if report is not None and len(report.per_class) else None
    rows = []
    for o in ORGANS:
        r = pc.loc[o.id] if pc is not None and o.id in pc.index else None
        rows.append(
            {
                "organ": o.name,
                "boxes": None if r is None else r["n_gt"],
                "AP@0.5": None if r is None else r["ap50"],
                "AP@0.5:0.95": None if r is None else r["ap50_95"],
                "precision": None if r is None else r["precision"],
                "recall": None if r is None else r["recall"],
                "detected as itself (ours)": diag.get(o.id),
                "detected as itself (authors)": pub_diag.get(o.name),
            }
        )
    return pd.DataFrame(rows)


def failure_table(report: EvalReport) -> pd.DataFrame:
    """One row per image with at least one miss or false positive, worst first."""
    rows = []
    for im in report.images:
        if not im.fn and not im.fp:
            continue
        rows.append(
            {
                "stem": im.stem,
                "misses": len(im.fn),
                "false_positives": len(im.fp),
                "found": len(im.tp),
                "missed_organs": sorted({e.class_id for e in im.fn}),
                "fp_organs": sorted({e.class_id for e in im.fp}),
            }
        )
    df = pd.DataFrame(
        rows, columns=["stem", "misses", "false_positives", "found", "missed_organs", "fp_organs"]
    )
    if df.empty:
        return df
    df["errors"] = df["misses"] + df["false_positives"]
    return df.sort_values(["errors", "stem"], ascending=[False, True]).reset_index(drop=True)


def outcome_overlays(im: ImageOutcome) -> list[Overlay]:
    """The evaluation's boxes of one image, drawn like the Compare page (outcome colours and tags)."""
    out: list[Overlay] = []
    for kind, entries in ((Outcome.TP, im.tp), (Outcome.FN, im.fn), (Outcome.FP, im.fp)):
        color = outcome_rgb(kind)
        for e in entries:
            if not 0 <= e.class_id < len(ORGANS):
                continue
            box, short = BoxPx.from_corners(*e.box), ORGANS[e.class_id].short
            conf_s = "" if e.conf is None else f" {e.conf:.2f}"
            if kind is Outcome.TP:
                out.append(Overlay(e.class_id, box, f"OK {short}{conf_s}", "dashed", color))
            elif kind is Outcome.FN:
                out.append(Overlay(e.class_id, box, f"MISS {short}", "solid", color))
            else:
                out.append(Overlay(e.class_id, box, f"FP {short}{conf_s}", "dashed", color))
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
            rows[name].update(
                {f"n ({report.split} split)": c["n_gt"], f"AP@0.5 ({report.split} split)": c["ap50"]}
            )
    for name, ev in evaluations.items():
        for c in card_class_results(ev, name):
            if c.name in rows:
                rows[c.name].update({f"n ({name})": c.n_gt, f"AP@0.5 ({name})": c.ap50})
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
