"""Sim-to-real: the default (phantom-trained) model on real transverse carotid scans.

Usage: python bench/sim2real.py [--real DIR] [--model PATH] [--modes plain,scan_area]

Reads the real reference images in place (never copies them): DIR/cca_momot/images/*.png with the
expert CCA boxes in DIR/cca_momot/masks/boxes_from_masks.csv (104 views), and the full scanner
screens in DIR/carotids_kostelansky/images. DIR defaults to $NNUS_REFERENCE_DIR, else
../shared/reference/real-ultrasound beside the repository; without it the bench prints why and
exits 0.

Each image runs on the detector the app's upload path loads for its size (a smaller input only
where the model card's accuracy check covers that shape). Figures per mode (peers in the same run; `plain` = the image as it is, `scan_area` = the
detector's own scan-area step, `gate` = that plus the out-of-distribution gate):
  * CCA AP@0.5 over the 104 views (the project's AP definition, predictions at conf 0.001);
  * false boxes per image at the app's confidence 0.25, boxes no expert would draw: centred on the
    black below the deepest echoes or on the skin line (top 4 %); a CCA box that is not the
    expert's CCA (IoU < 0.5; one CCA per view); a trachea or oesophagus box (medial organs, out of
    a lateral carotid view); another organ's name on the CCA (IoU >= 0.3). Other boxes (SCM, IJV,
    straps, longus colli) cannot be checked, only the CCA is labelled: counted apart;
  * on the 7 scanner screens: boxes centred outside the B-mode image (text, logo, scales, black)
    per image, the B-mode image found independently of the detector (largest lit blob).
  * CCA found: the share of views whose expert CCA box is matched (IoU >= 0.5) by a drawn CCA box.
The views come from 15 patients (the file name's prefix). The gate's GATED_CONF was chosen on the
validation half (every other patient, sorted by id, starting with the first) and the last mode is
also printed on each half: the held-out half is the figure not tuned on.
The headline, last: `sim2real_false_boxes_per_image: X` of the last mode on all views.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("YOLO_OFFLINE", "1")

CCA = 2
CONF = 0.25
NOT_IN_VIEW = (0, 4)  # trachea, oesophagus: medial, out of a lateral carotid view


def _real_dir(arg: str | None) -> Path | None:
    if arg:
        return Path(arg)
    from nnus_core.settings import get_settings

    env = get_settings().reference_dir
    if env is not None:
        return env
    return Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "real-ultrasound"


def echo_rows(gray: np.ndarray) -> int:
    """One past the deepest row with echoes (5 % of its pixels above gray 16): below is no anatomy."""
    lit = np.flatnonzero((gray > 16).mean(axis=1) >= 0.05)
    return int(lit[-1]) + 1 if lit.size else gray.shape[0]


def bmode_rect(gray: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the B-mode image on a scanner screen: the largest blob of gray > 6 once
    text and scales are opened away (independent of the detector's scan-area step)."""
    import cv2

    on = (gray > 6).astype(np.uint8)
    on = cv2.morphologyEx(on, cv2.MORPH_OPEN, np.ones((25, 25), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(on)
    if n < 2:
        return 0, 0, gray.shape[1], gray.shape[0]
    i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h = (int(v) for v in stats[i, :4])
    return x, y, x + w, y + h


def outside(box: np.ndarray, rect: tuple[int, int, int, int]) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0, y0, x1, y1 = rect
    return not (x0 <= cx <= x1 and y0 <= cy <= y1)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def patient(path: Path) -> str:
    """The patient of a view: its file name before `_slice` (202201121748100022VAS_slice_1069.png)."""
    return path.name.split("_slice")[0]


def patient_halves(cca: list) -> tuple[list, list]:
    """(validation half, held-out half) of the views: every other patient, sorted by id."""
    ids = sorted({patient(p) for p, _ in cca})
    val = set(ids[0::2])
    return [v for v in cca if patient(v[0]) in val], [v for v in cca if patient(v[0]) not in val]


def load_cca(real: Path):
    rows = list(csv.DictReader(open(real / "cca_momot" / "masks" / "boxes_from_masks.csv")))
    for r in rows:
        box = np.array([float(r["xmin"]), float(r["ymin"]), float(r["xmax"]), float(r["ymax"])])
        yield real / "cca_momot" / "images" / r["image"], box


def run_mode(det, mode: str, cca, screens):
    import cv2

    from nnus_core.detector.familiar import is_familiar
    from nnus_core.detector.metrics import ImagePredictions, compute_metrics
    from nnus_core.organs import ORGAN_NAMES

    images, false_margin, false_cca, other, t_ms, gated, found = [], 0, 0, 0, [], 0, 0
    for path, gt in cca:
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        t0 = time.perf_counter()
        d = _predict(det, bgr, 0.001, mode)
        t_ms.append((time.perf_counter() - t0) * 1000)
        gated += not is_familiar(d)  # less sure than on 99 % of its phantom test images
        images.append(
            ImagePredictions.from_arrays(path.name, gt[None], [CCA], d.xyxy, d.confidence, d.class_id)
        )
        h, w = gray.shape
        deepest, skin = echo_rows(gray), 0.04 * h
        keep = d.confidence >= CONF
        found += any(iou(b, gt) >= 0.5 for b in d.xyxy[keep & (d.class_id == CCA)])
        for box, c in zip(d.xyxy[keep], d.class_id[keep], strict=True):
            cy = (box[1] + box[3]) / 2
            if cy > deepest or cy < skin:  # on the black below the echoes, or on the skin line
                false_margin += 1
            elif c == CCA:
                false_cca += iou(box, gt) < 0.5
            elif c in NOT_IN_VIEW or iou(box, gt) >= 0.3:  # trachea/oesophagus, or another name on the CCA
                false_cca += 1
            else:
                other += 1
    m = compute_metrics(images, ORGAN_NAMES)
    ap = m.classes[CCA].ap50
    n = len(images)
    screen_margin = 0
    for path in screens or ():
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        d = _predict(det, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), CONF, mode)
        rect = bmode_rect(gray)
        screen_margin += sum(outside(b, rect) for b in d.xyxy)
    return {
        "ap": ap,
        "fb": (false_margin + false_cca) / max(1, n),
        "margin": false_margin / max(1, n),
        "cca_wrong": false_cca / max(1, n),
        "other": other / max(1, n),
        "screen_margin": screen_margin / max(1, len(screens)),
        "ms": float(np.median(t_ms)) if t_ms else 0.0,
        "gated": gated / max(1, n),
        "found": found / max(1, n),
        "n": n,
    }


class SizedDetectors:
    """The detector the app runs on an uploaded image, per image size (`Detector.load(frame_size=)`,
    as the Video page's image input does): a smaller input only where the model card's check covers
    that shape, else the model's own size. `describe` says which inputs ran."""

    def __init__(self, weights: Path | None) -> None:
        self.weights = weights
        self._by_size: dict[tuple[int, int], object] = {}

    def for_image(self, bgr: np.ndarray):
        from nnus_core.detector import Detector

        size = (bgr.shape[1], bgr.shape[0])
        if size not in self._by_size:
            self._by_size[size] = Detector.load(self.weights, frame_size=size)
        return self._by_size[size]

    def describe(self) -> str:
        return ", ".join(
            f"{w}x{h} images -> {d.backend} {d.precision} {d.input_hw[0]}x{d.input_hw[1]}"
            for (w, h), d in self._by_size.items()
        )

    def predict_arrays(self, bgr: np.ndarray, **kw):
        return self.for_image(bgr).predict_arrays(bgr, **kw)


def _predict(det, bgr: np.ndarray, conf: float, mode: str):
    return det.predict_arrays(bgr, conf=conf, **_kw(mode))


def _kw(mode: str) -> dict:
    if mode == "plain":
        return {"scan_area": False, "gate": False}
    if mode == "scan_area":
        return {"scan_area": True, "gate": False}
    return {"scan_area": True, "gate": True}


def _record(weights: Path, card, modes: dict, n_views: int, n_screens: int, cpu: str, inputs: str) -> None:
    """The figures into the card beside `weights` (`real_scans`), its Markdown rewritten."""
    import dataclasses
    import datetime as dt

    from nnus_core.detector.card import write_model_card

    entry = {
        "data": f"{n_views} real transverse carotid views with expert CCA boxes and {n_screens} scanner "
        "screens (public sets, read in place, never copied or trained on)",
        "command": "python bench/sim2real.py --record",
        "created_utc": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "cpu": cpu,
        "inputs": inputs,
        "conf": CONF,
        "modes": modes,
    }
    write_model_card(dataclasses.replace(card, real_scans=entry), weights.parent)
    print(f"recorded in {weights.parent / 'model_card.json'} (real_scans)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--real", default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--modes", default="plain,scan_area,gate")
    p.add_argument(
        "--record",
        action="store_true",
        help="also write the figures into the measured model's card (real_scans)",
    )
    a = p.parse_args(argv)
    real = _real_dir(a.real)
    if real is None or not (real / "cca_momot" / "masks" / "boxes_from_masks.csv").is_file():
        print(f"sim2real: skipped (no real reference images at {real})")
        return 0
    from nnus_core.detector import Detector
    from nnus_core.detector.cpu import read_cpu

    cpu = read_cpu()
    print(f"cpu: {cpu.describe()}")
    print(f"cpu_flags: {' '.join(cpu.flags)}")
    first = Detector.load(a.model)
    det = SizedDetectors(first.weights_path)
    card = first.model_card
    print(f"model: {first.weights_path}")
    if card is not None:
        print(f"trained on: {card.trained_on} (generator {card.generator_version or '-'})")
    cca = list(load_cca(real))
    screens = sorted(
        p
        for p in (real / "carotids_kostelansky" / "images").glob("*")
        if p.suffix.lower() in (".png", ".jpg")
    )
    print(f"real: {len(cca)} CCA views with expert boxes, {len(screens)} scanner screens ({real})")
    print(
        f"{'mode':10s} {'CCA AP@0.5':>10s} {'false/img':>9s} {'margin':>7s} {'CCA wrong':>9s} "
        f"{'other/img':>9s} {'screens margin/img':>18s} {'unfamiliar':>10s} {'CCA found':>9s} {'ms/img':>7s}"
    )

    def show(label: str, r: dict) -> None:
        print(
            f"{label:10s} {r['ap']:10.3f} {r['fb']:9.2f} {r['margin']:7.2f} {r['cca_wrong']:9.2f} "
            f"{r['other']:9.2f} {r['screen_margin']:18.2f} {r['gated']:10.2f} {r['found']:9.2f} {r['ms']:7.1f}"
        )

    last = None
    modes: dict[str, dict] = {}
    for mode in a.modes.split(","):
        r = run_mode(det, mode, cca, screens)
        modes[mode] = {
            "cca_ap50": float(r["ap"]),
            "false_boxes_per_image": float(r["fb"]),
            "screen_margin_per_image": float(r["screen_margin"]),
            "unfamiliar_share": float(r["gated"]),
            "cca_found": float(r["found"]),
        }
        show(mode, r)
        last = (mode, r)
    assert last is not None
    val, held = patient_halves(cca)
    n_val, n_held = len({patient(p) for p, _ in val}), len({patient(p) for p, _ in held})
    print(f"{last[0]} on each half of the patients (chosen on the first, the second never tuned on):")
    for label, part, n_pat in (("validation", val, n_val), ("held-out", held, n_held)):
        r = run_mode(det, last[0], part, [])
        show(label, r)
        modes[f"{last[0]}, {label} half ({len(part)} views, {n_pat} patients)"] = {
            "cca_ap50": float(r["ap"]),
            "false_boxes_per_image": float(r["fb"]),
            "cca_found": float(r["found"]),
        }
    print(f"inputs (as the app's upload path sizes them): {det.describe()}")
    if a.record and card is not None:
        _record(first.weights_path, card, modes, len(cca), len(screens), cpu.describe(), det.describe())
    print(f"sim2real_cca_ap50 ({last[0]}): {last[1]['ap']:.3f}")
    print(f"sim2real_false_boxes_per_image: {last[1]['fb']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
