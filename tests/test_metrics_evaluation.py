"""Evaluation of a (stand-in) detector on a tiny dataset split: the JSON report, hand-checked."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnus_core.dataset import load_dataset
from nnus_core.detection import Detections
from nnus_core.detector.evaluation import PUBLISHED, evaluate_detector, format_comparison
from tests.fixtures import make_learnable_folder as make_nnus_folder


class ScriptedDetector:
    """Returns the ground truth, except: misses one Trachea and adds one false Thyroid."""

    def __init__(self, dataset, miss_stem, fp_stem):
        self.by_path = {s.image_path: s for s in dataset}
        self.miss_stem, self.fp_stem = miss_stem, fp_stem

    def predict_arrays(self, image, conf=0.25, iou=0.7, max_det=300):
        s = self.by_path[image]
        anns = [a for a in s.annotations if not (s.stem == self.miss_stem and a.organ_id == 0)]
        boxes = [a.box.as_tuple() for a in anns]
        confs = [0.9] * len(anns)
        ids = [a.organ_id for a in anns]
        if s.stem == self.fp_stem:
            boxes.append((400.0, 400.0, 420.0, 420.0))  # empty corner
            confs.append(0.95)
            ids.append(1)
        return Detections(np.array(boxes, float).reshape(-1, 4), np.array(confs), np.array(ids, int))

    def describe(self):
        return {"weights": "scripted", "backend": "none"}


def test_evaluation_json_on_a_tiny_split(tmp_path):
    ds = load_dataset(make_nnus_folder(tmp_path / "d", all_organs=True))
    test = ds.split("test")
    assert len(test) == 4
    det = ScriptedDetector(ds, miss_stem=test[0].stem, fp_stem=test[1].stem)
    report = evaluate_detector(det, ds, "test")
    json.dumps(report, allow_nan=False)
    ap = {c["name"]: c["ap50"] for c in report["per_class"]}
    # ultralytics' AP (trapezoid over the 101 recall points of the envelope; a perfect organ 0.995).
    # Trachea: 3 of 4 found at precision 1 -> 1 up to recall 0.74, a half-step to 0 at 0.75 -> 0.745.
    assert ap["Trachea"] == pytest.approx(0.745, abs=1e-4)
    # Thyroid: the false box (0.95) ranks first, then 4 hits: precision 0, 1/2, 2/3, 3/4, 4/5 at
    # recall 0, 1/4 .. 1 -> envelope 0.8 up to recall 1, less half a step at each end -> 0.796.
    assert ap["Thyroid"] == pytest.approx(0.796, abs=1e-4)
    assert all(ap[n] == pytest.approx(0.995) for n in list(ap)[2:])
    assert report["overall"]["map50"] == pytest.approx((0.745 + 0.796 + 6 * 0.995) / 8, abs=1e-4)
    # per-image lists
    first = next(p for p in report["per_image"] if p["image"] == test[0].name)
    assert [f["name"] for f in first["fn"]] == ["Trachea"] and len(first["tp"]) == 7
    second = next(p for p in report["per_image"] if p["image"] == test[1].name)
    assert [(f["name"], f["best_gt_class"]) for f in second["fp"]] == [("Thyroid", None)]
    # confusion matrix: the missed trachea lands in the background row, the false thyroid in
    # the background column
    cm = np.array(report["confusion_matrix"]["counts"])
    assert cm[8, 0] == 1 and cm[1, 8] == 1 and cm[0, 0] == 3
    assert report["split"] == "test" and report["data"]["kind"] == "real NNUS"
    assert report["published"]["map50"] == PUBLISHED["map50"]
    assert "AP as computed by ultralytics ap_per_class" in format_comparison(report)  # one definition, named


def test_comparison_table_labels_differing_data(tmp_path):
    report = {
        "data": {"kind": "synthetic phantom"},
        "overall": {"map50": 0.9, "map50_95": 0.6, "precision": 0.8, "recall": 0.85},
        "per_class": [{"name": "Trachea", "ap50": 0.95}],
        "confusion_matrix": {"recall_diagonal": {"Trachea": 0.9}},
    }
    table = format_comparison(report)
    assert "ours: synthetic phantom" in table and "published: real NNUS" in table
    assert "not comparable" in table and "0.804" in table


def test_unknown_or_empty_split_is_refused(tmp_path):
    from nnus_core.errors import DatasetError

    ds = load_dataset(make_nnus_folder(tmp_path / "d", n_images=4, n_subjects=1))
    with pytest.raises(DatasetError, match="split 'test' has no images"):
        evaluate_detector(ScriptedDetector(ds, "", ""), ds, "test")
    with pytest.raises(DatasetError, match="split must be"):
        evaluate_detector(ScriptedDetector(ds, "", ""), ds, "holdout")


def test_comparison_table_prints_n_beside_every_ap_and_flags_small_counts():
    """16 images beside the authors' 0.804: every AP carries its n, and a small n says so."""
    names = [
        "Trachea",
        "Thyroid",
        "Common carotid artery",
        "Internal jugular vein",
        "Esophagus",
        "Longus colli",
        "Strap muscles",
        "Sternocleidomastoid",
    ]
    report = {
        "data": {"kind": "real NNUS", "n_images": 16},
        "overall": {"map50": 0.71, "map50_95": 0.4, "precision": 0.7, "recall": 0.7, "n_images": 16},
        "per_class": [{"name": n, "ap50": 0.7, "n_gt": 100 if n == "Thyroid" else 5} for n in names],
        "confusion_matrix": {"recall_diagonal": {"Trachea": 0.9}},
    }
    table = format_comparison(report)
    lines = table.splitlines()
    mAP = next(line for line in lines if line.startswith("mAP@0.5 "))
    assert "0.710" in mAP and "n=16 img" in mAP and "0.804" in mAP
    thyroid = next(line for line in lines if line.strip().startswith("Thyroid"))
    trachea = next(line for line in lines if line.strip().startswith("Trachea"))
    assert " 100 " in f"{thyroid} " and "*" not in thyroid
    assert " 5 *" in trachea
    assert "CAUTION" in table and "too few to compare" in table
    # A large evaluation has no caution line.
    big = {
        **report,
        "overall": {**report["overall"], "n_images": 790},
        "per_class": [{"name": n, "ap50": 0.7, "n_gt": 300} for n in names],
    }
    assert "CAUTION" not in format_comparison(big) and "*" not in format_comparison(big)
