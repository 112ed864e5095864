"""Where the out-of-distribution gate's thresholds come from: the model's own held-out phantom.

Usage: python bench/familiar_thresholds.py --data DIR [--model PATH] [--q 0.01]

Runs the model (as the app loads it, gate off, boxes from confidence 0.001) on every image of a
phantom folder of volunteers it never saw (e.g. `python -m nnus_core.phantom --out DIR --n 790
--seed 1`) and prints, per image, the quantile `q` of
  * the best box's score (the gate's FAMILIAR_TOP_CONF should sit just below it), and
  * the surest box of a second organ (FAMILIAR_SECOND_CONF, likewise),
then the share of those images the current constants call unfamiliar. Only phantom images are
read: the thresholds never see a real scan. The headline, last:
`familiar_unfamiliar_share_on_phantom: X`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a phantom folder of held-out volunteers")
    p.add_argument("--model", default=None, help="weights or model folder (default: the shipped one)")
    p.add_argument("--q", type=float, default=0.01, help="quantile (default 0.01: 99 %% of images above)")
    a = p.parse_args(argv)

    from nnus_core.dataset import load_dataset
    from nnus_core.detector import Detector, familiar

    det = Detector.load(a.model)
    ds = load_dataset(a.data)
    if not ds.synthetic:
        print("familiar_thresholds: refused (the thresholds are read off phantom images only)")
        return 2
    top, second, unfamiliar = [], [], 0
    for s in ds.samples:
        d = det.predict_arrays(s.image_path, conf=0.001, gate=False)
        scores = familiar.organ_confidences(d) + [0.0, 0.0]
        top.append(scores[0])
        second.append(scores[1])
        unfamiliar += not familiar.is_familiar(d)
    n = len(top)
    print(f"model: {det.weights_path}")
    print(f"data: {a.data} ({n} images, generator {ds.generator_version or '-'})")
    print(
        f"best box, quantile {a.q:g}: {np.quantile(top, a.q):.3f} (FAMILIAR_TOP_CONF {familiar.FAMILIAR_TOP_CONF})"
    )
    print(
        f"second organ, quantile {a.q:g}: {np.quantile(second, a.q):.3f} "
        f"(FAMILIAR_SECOND_CONF {familiar.FAMILIAR_SECOND_CONF})"
    )
    print(f"familiar_unfamiliar_share_on_phantom: {unfamiliar / max(n, 1):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
