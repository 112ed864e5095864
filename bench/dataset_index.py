"""Bench: index a 790-image NNUS-format folder (labels + image sizes + validation), cold and warm.

Targets (issue 2): < 1 s warm, < 3 s cold on a 2-core machine. "Cold" is a fresh process after the
OS page cache was dropped (when permitted; otherwise it says so). Compared with a naive peer that
decodes every image with OpenCV to learn its size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fixtures import make_nnus_folder  # noqa: E402


def build(path: Path) -> Path:
    try:
        from nnus_core.phantom import generate_dataset

        generate_dataset(path, n=790, seed=0)
        return path
    except ImportError:
        return make_nnus_folder(path, n=790)


def drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = build(Path(tmp) / "NNUS")
        dropped = drop_caches()
        code = (
            f"import time,sys; sys.path.insert(0, {str(ROOT)!r}); t=time.perf_counter();"
            f"from nnus_core.dataset import index_folder; ds=index_folder({str(data)!r});"
            "print(time.perf_counter()-t, len(ds), ds.n_boxes, len(ds.report.errors))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        cold_s = float(out[0])
        print(f"images: {out[1]}  boxes: {out[2]}  errors: {out[3]}")
        print(
            f"cold index incl. imports (fresh process{', page cache dropped' if dropped else ', page cache NOT dropped'}): {cold_s:.3f} s"
        )

        from nnus_core.dataset import index_folder

        index_folder(data)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            index_folder(data)
            times.append(time.perf_counter() - t)
        warm_s = sorted(times)[len(times) // 2]

        import cv2

        t = time.perf_counter()
        for p in sorted((data / "images").iterdir()):
            cv2.imread(str(p)).shape  # noqa: B018
        naive_s = time.perf_counter() - t
        print(f"peer: decoding every image with cv2.imread to read its size: {naive_s:.3f} s")
        print(f"warm index (median of 5): {warm_s:.3f} s  ({naive_s / warm_s:.1f}x faster than the peer)")
        print(f"index_790_cold_s: {cold_s:.3f}")
        print(f"index_790_warm_s: {warm_s:.3f}")


if __name__ == "__main__":
    os.environ.setdefault("YOLO_OFFLINE", "1")
    main()
