"""Real-world inputs: boxes only inside an image's scan area, fewer boxes on unfamiliar frames, the sim2real bench."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from nnus_core.detection import Detections
from nnus_core.detector.familiar import (
    FAMILIAR_SECOND_CONF,
    FAMILIAR_TOP_CONF,
    GATED_CONF,
    gate,
    is_familiar,
    one_per_view,
    unfamiliar_note,
)
from nnus_core.detector.processing import in_scan_area
from nnus_core.organs import ONE_PER_VIEW
from nnus_core.video.borders import ScanArea, image_scan_area
from tests.test_video_borders import screen, speckle

ROOT = Path(__file__).resolve().parents[1]


def dets(rows: list[tuple[int, float, tuple[float, float, float, float]]]) -> Detections:
    return Detections(
        np.array([b for _, _, b in rows], float).reshape(-1, 4),
        np.array([c for _, c, _ in rows], float),
        np.array([o for o, _, _ in rows], int),
    )


def test_a_screenshot_has_the_scan_area_of_its_video():
    shot = screen(speckle(200, 240), (400, 240), (80, 30))
    assert image_scan_area(shot) == ScanArea(80, 30, 240, 200)
    coloured = cv2.cvtColor(shot, cv2.COLOR_GRAY2BGR)
    coloured[5:20, 340:390] = (200, 0, 0)  # a blue vendor logo in the margin: lit, not image
    assert image_scan_area(coloured) == ScanArea(80, 30, 240, 200)
    assert image_scan_area(speckle(447, 494)) is None  # an NNUS image is its own scan area


def test_boxes_on_margins_text_and_the_skin_line_are_dropped():
    shot = cv2.cvtColor(screen(speckle(200, 240), (400, 240), (80, 30)), cv2.COLOR_GRAY2BGR)
    boxes = np.array(
        [
            [150, 80, 210, 140],  # inside the scan
            [0, 0, 60, 20],  # on the status text
            [330, 100, 400, 140],  # on the black right margin (the depth scale)
            [100, 28, 200, 36],  # centred on the skin line at the scan's top
        ],
        float,
    )
    assert in_scan_area(boxes, shot).tolist() == [True, False, False, False]
    whole = cv2.cvtColor(speckle(447, 494), cv2.COLOR_GRAY2BGR)  # no margins: only the skin rule
    assert in_scan_area(np.array([[0, 40, 60, 80], [0, 0, 494, 10]], float), whole).tolist() == [True, False]


def test_a_familiar_frame_keeps_every_box_but_a_second_of_an_organ_seen_once():
    d = dets(
        [
            (2, 0.93, (0, 0, 10, 10)),
            (7, 0.6, (40, 40, 60, 60)),
            (2, 0.3, (20, 20, 30, 30)),  # a second carotid in one view: never a real one
            (7, 0.1, (5, 5, 9, 9)),  # a second SCM box may be (a muscle shows in two parts)
            (1, 0.2, (1, 1, 3, 3)),
            (1, 0.2, (4, 4, 8, 8)),  # two thyroid lobes across the midline
        ]
    )
    assert is_familiar(d) and unfamiliar_note(d) is None
    kept = gate(d)
    assert kept.class_id.tolist() == [2, 7, 7, 1, 1]  # the order is kept
    assert kept.confidence.tolist() == [0.93, 0.6, 0.1, 0.2, 0.2]
    assert gate(kept) == kept and one_per_view(kept) == kept
    assert sorted(ONE_PER_VIEW) == [0, 2, 3, 4]  # trachea, CCA, IJV, oesophagus


def test_an_unfamiliar_frame_gets_fewer_boxes_and_a_note():
    d = dets(
        [
            (2, 0.7, (0, 0, 10, 10)),
            (2, 0.65, (20, 20, 30, 30)),  # a second CCA: only the best per organ stays
            (0, 0.6, (5, 5, 9, 9)),
            (7, GATED_CONF - 0.01, (1, 1, 4, 4)),  # too unsure to draw
        ]
    )
    assert d.confidence.max() < FAMILIAR_TOP_CONF and not is_familiar(d)
    kept = gate(d)
    assert kept.class_id.tolist() == [2, 0] and kept.confidence.tolist() == [0.7, 0.6]
    assert len(gate(kept)) == len(kept), "gating twice changes nothing"
    assert "unlike the images the model was trained on" in unfamiliar_note(list(d))
    assert len(gate(Detections.empty())) == 0 and unfamiliar_note([])


def test_one_sure_organ_alone_is_not_a_familiar_frame():
    """On its phantom test images the model also finds a second organ at FAMILIAR_SECOND_CONF or
    more in 99 % of them: one sure box with nothing else recognised is a guess on an unknown image."""
    alone = dets([(2, 0.95, (0, 0, 10, 10)), (7, FAMILIAR_SECOND_CONF - 0.01, (20, 20, 40, 40))])
    assert not is_familiar(alone) and unfamiliar_note(alone)
    # the unfamiliar frame keeps each organ's best box only where it scores GATED_CONF or more
    kept = [2, 7] if FAMILIAR_SECOND_CONF - 0.01 >= GATED_CONF else [2]
    assert gate(alone).class_id.tolist() == kept
    faint = dets([(2, 0.95, (0, 0, 10, 10)), (7, GATED_CONF - 0.01, (20, 20, 40, 40))])
    assert not is_familiar(faint) and gate(faint).class_id.tolist() == [2]
    pair = dets([(2, 0.95, (0, 0, 10, 10)), (7, FAMILIAR_SECOND_CONF, (20, 20, 40, 40))])
    assert is_familiar(pair) and len(gate(pair)) == 2
    # two boxes of one organ are one organ
    assert not is_familiar(dets([(1, 0.95, (0, 0, 10, 10)), (1, 0.9, (20, 20, 40, 40))]))


def test_sim2real_bench_skips_cleanly_without_the_real_images(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sim2real.py"), "--real", str(tmp_path / "absent")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and "skipped" in out.stdout


# --- Pages: the note beside the model's boxes -----------------------------------------------------


class UnsureDetector:
    """A model that recognises nothing it was trained on: only weak guesses (as on a real scan)."""

    weights_sha256 = "unsure-weights"
    weights_path = Path("unsure.pt")

    def __init__(self, sure: float) -> None:
        self.sure = sure

    def predict(self, image, conf: float = 0.25, **_):
        from nnus_core.detection import Detection
        from nnus_core.geometry import BoxPx

        out = [Detection(2, self.sure, BoxPx(100, 100, 180, 170)), Detection(0, 0.6, BoxPx(0, 0, 40, 40))]
        return [d for d in out if d.confidence >= conf]


@pytest.mark.usefixtures("streamlit_caches_cleared")
@pytest.mark.parametrize("page", ["pages/browse.py", "pages/compare.py"])
@pytest.mark.parametrize("sure", [0.45, 0.95])
def test_pages_say_when_the_image_looks_unlike_the_training_images(tmp_path, monkeypatch, page, sure):
    import pages._shared as shared
    from tests.test_pages_app import goto, make_study_dataset

    data = make_study_dataset(tmp_path / "NNUS")  # the phantom: no note about real scans
    monkeypatch.setenv("NNUS_DATA", str(data))
    monkeypatch.setenv("NNUS_DB_URL", f"sqlite:///{tmp_path / 'tutor.db'}")
    monkeypatch.setattr(shared, "get_detector", lambda: UnsureDetector(sure))
    monkeypatch.setattr(shared, "model_folder", lambda: None)
    monkeypatch.setattr(shared, "get_model_card", lambda: None)
    at = goto(page, image="0001")
    assert not at.exception, at.exception
    said = any("unlike the images the model was trained on" in w.value for w in at.warning)
    assert said == (sure < FAMILIAR_TOP_CONF), page
