"""Server-side render time of Browse (grid) and its detail view, measured with AppTest on 790 images.

Usage: python bench/page_render.py [--data DIR] [--runs N]

Without --data it uses data/phantom when that holds >= 790 images, else builds a 790-image NNUS-format
folder of noise frames (organ sets vary per image) in a temporary directory. Targets from the issue:
warm Browse <= 300 ms, warm detail <= 150 ms plus inference. Prints the figures, headline last.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

BROWSE_TARGET_MS = 300.0
DETAIL_TARGET_MS = 150.0


def build_dataset(root: Path, n: int = 790) -> Path:
    from tests.fixtures import make_study_dataset

    return make_study_dataset(root, n=n, synthetic=False)


def pick_dataset(arg: str | None, tmp: Path) -> Path:
    if arg:
        return Path(arg)
    phantom = ROOT / "data" / "phantom"
    if len(list((phantom / "images").glob("*.jpg"))) >= 790:
        return phantom
    t0 = time.perf_counter()
    out = build_dataset(tmp / "NNUS")
    print(f"built a 790-image noise dataset in {time.perf_counter() - t0:.1f} s")
    return out


def timed_ms(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="dataset folder (default: see the module docstring)")
    ap.add_argument("--runs", type=int, default=15, help="warm reruns per measurement")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = pick_dataset(args.data, Path(tmp))
        os.environ["NNUS_DATA"] = str(data)
        from streamlit.testing.v1 import AppTest

        import pages._shared as shared

        det = shared.get_detector()
        print(f"dataset: {data}")
        print(f"model: {'none (ground truth only)' if det is None else getattr(det, 'weights_path', det)}")

        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.run()
        at.switch_page("pages/browse.py")
        cold_ms = timed_ms(at.run)
        assert not at.exception, at.exception
        n_thumbs = sum(1 for b in at.button if b.label.startswith("Open "))
        warm = [timed_ms(at.run) for _ in range(args.runs)]
        at.button(key="pg_next_top").click()
        next_cold_ms = timed_ms(at.run)
        assert not at.exception, at.exception

        stem = sorted(s.stem for s in shared._load_cached(str(data), shared._signature(data)).samples)[5]
        at.query_params["image"] = stem
        detail_cold_ms = timed_ms(at.run)
        assert not at.exception, at.exception
        assert at.subheader and at.subheader[0].value.startswith(stem), "detail view did not open"
        detail_warm = [timed_ms(at.run) for _ in range(args.runs)]
        at.slider(key="browse_viewer_contrast").set_value(1.5)
        adjust_ms = timed_ms(at.run)

        infer_ms = None
        if det is not None:
            sample = shared._load_cached(str(data), shared._signature(data)).get(stem)
            det.predict(str(sample.image_path))
            infer_ms = statistics.median(
                timed_ms(lambda: det.predict(str(sample.image_path))) for _ in range(10)
            )

    browse_ms = statistics.median(warm)
    detail_ms = statistics.median(detail_warm)
    print(f"browse grid cold (index + {n_thumbs} thumbnails): {cold_ms:.0f} ms")
    print(f"browse grid next page (cold thumbnails): {next_cold_ms:.0f} ms")
    print(
        f"browse grid warm: median {browse_ms:.0f} ms, p90 {sorted(warm)[int(0.9 * len(warm))]:.0f} ms "
        f"(target <= {BROWSE_TARGET_MS:.0f})"
    )
    print(f"detail cold (image decode{', inference' if det else ''}): {detail_cold_ms:.0f} ms")
    print(
        f"detail warm: median {detail_ms:.0f} ms, p90 {sorted(detail_warm)[int(0.9 * len(detail_warm))]:.0f} ms "
        f"(target <= {DETAIL_TARGET_MS:.0f} plus inference)"
    )
    print(f"detail after a contrast change: {adjust_ms:.0f} ms")
    if infer_ms is not None:
        print(f"inference per image (uncached, median of 10): {infer_ms:.1f} ms")
    print(f"detail_warm_render_ms: {detail_ms:.0f}")
    print(f"browse_warm_render_ms: {browse_ms:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
