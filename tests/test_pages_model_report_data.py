"""Reading the evaluation JSON for the model report: tables, failures, overlays, published figures."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from nnus_core.detector.evaluation import PUBLISHED, evaluate_predictions
from nnus_core.detector.metrics import ImagePredictions
from nnus_core.errors import ModelError
from nnus_core.model_report import (
    failure_table,
    find_eval_file,
    held_out_table,
    outcome_overlays,
    overall_comparison,
    parse_eval,
    per_organ_comparison,
    read_eval,
)
from nnus_core.organs import ORGAN_NAMES

ROOT = Path(__file__).resolve().parents[1]

THY = (100, 100, 200, 200)
CCA = (300, 150, 360, 210)


def report_dict() -> dict:
    """Three images: all found; thyroid missed; a false strap muscle next to a found CCA."""
    images = [
        ImagePredictions.from_arrays("0001.jpg", [THY, CCA], [1, 2], [THY, CCA], [0.9, 0.8], [1, 2]),
        ImagePredictions.from_arrays("0002.jpg", [THY, CCA], [1, 2], [CCA], [0.8], [2]),
        ImagePredictions.from_arrays("0003.jpg", [CCA], [2], [CCA, (10, 10, 60, 40)], [0.9, 0.6], [2, 6]),
    ]
    return evaluate_predictions(
        images,
        meta={"split": "test", "data": {"kind": "synthetic phantom", "synthetic": True, "n_images": 3}},
    )


def test_parses_what_the_evaluation_writes(tmp_path):
    path = tmp_path / "eval_test.json"
    path.write_text(json.dumps(report_dict()))
    r = read_eval(path)
    assert r.split == "test" and r.synthetic is True
    assert list(r.per_class["organ"]) == list(ORGAN_NAMES)
    thy = r.per_class.set_index("organ").loc["Thyroid"]
    assert thy["n_gt"] == 2 and thy["ap50"] == pytest.approx(0.5, abs=0.01)
    assert np.isnan(r.per_class.set_index("organ").loc["Trachea"]["ap50"])  # no ground truth: no AP
    assert r.confusion_counts.shape == (9, 9) and r.confusion_labels[-1] == "background"
    assert set(r.pr_precision) == {1, 2} | set(range(8)) and len(r.pr_recall) == 101
    assert [im.stem for im in r.images] == ["0001", "0002", "0003"]
    assert r.published["map50"] == PUBLISHED["map50"]


def test_held_out_table_puts_a_card_evaluation_beside_the_test_split():
    from nnus_core.detector.card import evaluation_entry

    report = parse_eval(report_dict())
    extra = evaluation_entry({**report_dict(), "split": "all"}, "cmd", "new volunteers")
    t = held_out_table(report, {"seed 1": extra}).set_index("organ")
    assert list(t.index) == [*ORGAN_NAMES, "all organs (mAP)"]
    assert t.loc["Thyroid", "n (test split)"] == 2 and t.loc["Thyroid", "n (seed 1)"] == 2
    assert t.loc["Thyroid", "AP@0.5 (seed 1)"] == pytest.approx(t.loc["Thyroid", "AP@0.5 (test split)"])
    assert t.loc["all organs (mAP)", "AP@0.5 (seed 1)"] == pytest.approx(extra["overall"]["map50"], abs=5e-4)
    assert t.loc["all organs (mAP)", "n (seed 1)"] == 5  # every ground-truth box
    assert held_out_table(report, {}).empty


def test_failure_table_lists_worst_images_with_their_organs():
    r = parse_eval(report_dict())
    f = failure_table(r)
    assert list(f["stem"]) == ["0002", "0003"]
    assert f.iloc[0]["missed_organs"] == [1] and f.iloc[1]["fp_organs"] == [6]


def test_outcome_overlays_tag_found_missed_and_false_positive():
    r = parse_eval(report_dict())
    by = {im.stem: im for im in r.images}
    assert [o.label for o in outcome_overlays(by["0002"])] == ["OK CCA 0.80", "MISS THY"]
    assert [o.label for o in outcome_overlays(by["0003"])] == ["OK CCA 0.90", "FP STR 0.60"]


def test_comparison_tables_put_published_figures_beside_ours():
    r = parse_eval(report_dict())
    ov = overall_comparison(r).set_index("metric")
    assert ov.loc["mAP@0.5", "authors (published)"] == 0.8044
    assert ov.loc["mAP@0.5", "this model"] == r.overall["map50"]
    per = per_organ_comparison(r).set_index("organ")
    assert per.loc["Internal jugular vein", "detected as itself (authors)"] == 0.40
    assert per.loc["Thyroid", "detected as itself (ours)"] == pytest.approx(0.5)
    # Without an evaluation only the published column is filled.
    assert overall_comparison(None)["this model"].isna().all()


def test_a_file_of_no_known_schema_is_refused_with_the_command_that_writes_one():
    with pytest.raises(ModelError, match=r"schema version 2.*python -m nnus_core.detector evaluate"):
        parse_eval({"overall": {"map50": 0.5}})
    d = report_dict()
    del d["per_image"]
    with pytest.raises(ModelError, match="expected field 'per_image'"):
        parse_eval(d)


def _broken_counts() -> str:
    d = report_dict()
    d["confusion_matrix"] = {**d["confusion_matrix"], "labels": ["a", "b"], "counts": [[1, 2, 3]]}
    return json.dumps(d)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "cannot read"),
        ("[1, 2]", "expected a JSON object"),
        (_broken_counts, "2x2"),
    ],
)
def test_bad_files_raise_model_error(tmp_path, content, match):
    p = tmp_path / "eval_test.json"
    p.write_text(content if isinstance(content, str) else content())
    with pytest.raises(ModelError, match=match):
        read_eval(p)


def test_the_written_report_reads_back_unchanged():
    d = report_dict()
    assert d["schema_version"] == 2
    assert parse_eval(d).evaluation.to_json() == json.loads(json.dumps(d))


def test_version_1_files_still_read(tmp_path):
    d = report_dict()
    del d["schema_version"]
    d["schema"] = "nnus-eval/1"
    r = parse_eval(d)
    assert r.evaluation.schema_version == 1 and r.overall["map50"] == report_dict()["overall"]["map50"]


@pytest.mark.parametrize(
    "model",
    [
        "phantom-yolov8n-320",
        "phantom-yolov8n-416",
        "phantom21-s2r-yolov8n-320",
        "phantom21-s2r-yolov8n-288",
        "phantom23-s2r-yolov8n-288",
        "phantom25-s2r-yolov8n-288",
    ],
)
def test_the_shipped_evaluations_and_cards_read(model):
    from nnus_core.detector.card import read_model_card
    from nnus_core.quiz.model_answer import model_ap_by_organ, read_eval_ap

    folder = ROOT / "data" / "models" / model
    r = read_eval(folder / "eval_test.json")
    assert r.split == "test" and r.synthetic is True and len(r.images) == r.overall["n_images"]
    ap, synthetic = read_eval_ap(folder / "eval_test.json")
    assert synthetic is True and set(ap) == set(range(8))
    card = read_model_card(folder)
    assert model_ap_by_organ(card.metrics) == ap  # the card carries the same test-split figures
    assert not held_out_table(r, card.evaluations).empty


def test_the_default_cards_real_scan_figures_round_trip_and_read_as_a_sentence(tmp_path):
    """bench/sim2real.py --record writes `real_scans`; the card keeps it, its Markdown shows the
    table, and the model card summary says it in one sentence."""
    import dataclasses

    from nnus_core.detector.card import read_model_card, write_model_card

    default = (ROOT / "data" / "models" / "DEFAULT").read_text().strip()
    card = read_model_card(ROOT / "data" / "models" / default)
    gate = card.real_scans["modes"]["gate"]
    assert 0 <= gate["cca_ap50"] <= 1 and gate["false_boxes_per_image"] >= 0
    line = card.real_scans_line()
    assert f"{gate['cca_ap50']:.2f}" in line and "never trained on" in line and "unmeasured" in line
    write_model_card(card, tmp_path)
    again = read_model_card(tmp_path)
    assert again.real_scans == card.real_scans
    assert "## On real scans (never trained on)" in (tmp_path / "MODEL_CARD.md").read_text()
    assert dataclasses.replace(card, real_scans={}).real_scans_line() is None


def test_find_eval_file_prefers_the_test_split(tmp_path):
    assert find_eval_file(None) is None and find_eval_file(tmp_path) is None
    (tmp_path / "eval_val.json").write_text("{}")
    assert find_eval_file(tmp_path).name == "eval_val.json"
    (tmp_path / "eval_test.json").write_text("{}")
    old = time.time() - 100
    os.utime(tmp_path / "eval_test.json", (old, old))
    assert find_eval_file(tmp_path).name == "eval_test.json"


def test_same_data_by_folder_or_phantom_version(tmp_path):
    from nnus_core.model_report import same_data

    d = report_dict()
    d["data"].update(root=str(tmp_path), generator_version="1.1.0")
    r = parse_eval(d)
    assert same_data(r, tmp_path, True, "1.1.0")
    assert same_data(r, "/elsewhere", True, "1.1.0")  # the same phantom on another checkout
    assert not same_data(r, "/elsewhere", True, "1.2.0")
    assert not same_data(r, "/elsewhere", False, "")
    assert same_data(parse_eval(report_dict()), "/anywhere", False, "")  # no root recorded


def test_a_card_summary_needs_only_names_and_ap():
    from nnus_core.quiz.model_answer import model_ap_by_organ

    assert model_ap_by_organ({"per_class": [{"name": "Thyroid", "ap50": 0.8}]}) == {1: 0.8}
    assert model_ap_by_organ({"per_class": [{"ap50": 0.8}]}) == {}  # no name: malformed, no bars
    assert model_ap_by_organ(None) == {}
