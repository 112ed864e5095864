"""Cold start: from `streamlit run` to the first rendered Home page and the first detection; warm page loads.

Usage: python bench/cold_start.py [--runs 2]

A Chromium (Debian's, driven by Playwright) is started first; then the clock starts with the
server process. "Home" is the Home page rendered (script run finished); "first detection" is
the Compare page showing the model's found/missed counts, i.e. the detector loaded and run once.
Two starts are timed: a first one with an empty model cache (every export, the INT8 quantisation
and the runtime measurement happen in it) and a restart with that cache. Then every page is
loaded twice more in fresh sessions and the second, warm, load is reported (goal <= 3 s each).
Headline: `restart_first_detection_s: X`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

PAGES = [
    ("", "NNUS Tutor"),
    ("browse", "Filter images"),
    ("compare", "False positives"),
    ("atlas", "Where does each organ usually sit?"),
    ("quiz", "Quiz"),
    ("progress", "progress"),
    ("model_report", "Model report"),
    ("video", "Video demo"),
]
SETTLED_JS = """() => !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
    && !document.querySelector('[data-testid="stSkeleton"]')"""


def _open(page, url: str, marker: str, timeout_ms: int = 300_000) -> None:
    page.goto(url)
    page.get_by_text(marker, exact=False).first.wait_for(timeout=timeout_ms)
    page.wait_for_timeout(100)
    page.wait_for_function(SETTLED_JS, timeout=timeout_ms)


def one_start(browser, data: Path, env: dict[str, str]) -> tuple:
    """(server up, Home rendered, first detection) in seconds from the server's start, the process, its URL."""
    from tests.browser.conftest import start_server

    t0 = time.perf_counter()
    proc, url = start_server(data, env)
    t_up = time.perf_counter() - t0
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    try:
        _open(page, url, "NNUS Tutor")
        t_home = time.perf_counter() - t0
        _open(page, f"{url}/compare", "False positives")
        t_det = time.perf_counter() - t0
    finally:
        ctx.close()
    return t_up, t_home, t_det, proc, url


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2, help="warm loads of each page (the last is reported)")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from nnus_core.detector.cpu import read_cpu
    from nnus_core.phantom import generate_dataset
    from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

    print(f"cpu: {read_cpu().describe()}  load_avg_1min: {os.getloadavg()[0]:.2f}")
    ARTIFACTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-cold-") as tmp:
        work = Path(tmp)
        data = generate_dataset(work / "data", n=40, seed=0, jobs=1)
        env = {
            "NNUS_DB_URL": f"sqlite:///{work / 'tutor.db'}",
            "NNUS_MODEL_CACHE": str(work / "model-cache"),  # empty: the first start exports everything
            "NNUS_VIDEO_TMP": str(work / "sessions"),
        }
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            procs = []
            try:
                for label in ("first_start", "restart"):
                    up, home, det, proc, url = one_start(browser, data, env)
                    procs.append(proc)
                    print(f"{label}_server_up_s: {up:.1f}")
                    print(f"{label}_home_s: {home:.1f}")
                    print(f"{label}_first_detection_s: {det:.1f}")
                    if label == "first_start":
                        proc.terminate()
                        proc.wait(20)
                worst = 0.0
                for path, marker in PAGES:
                    times = []
                    for _ in range(args.runs):
                        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                        page = ctx.new_page()
                        t = time.perf_counter()
                        _open(page, f"{url}/{path}", marker, 60_000)
                        times.append(time.perf_counter() - t)
                        ctx.close()
                    worst = max(worst, times[-1])
                    print(
                        f"warm_load_{path or 'home'}_s: {times[-1]:.2f}   (loads: {', '.join(f'{x:.2f}' for x in times)})"
                    )
                print(f"warm_load_worst_s: {worst:.2f}   (goal <= 3 s)")
            finally:
                for proc in procs:
                    if proc.poll() is None:
                        proc.terminate()
                        try:
                            proc.wait(10)
                        except subprocess.TimeoutExpired:
                            proc.kill()
                browser.close()
        print(f"load_avg_1min_after: {os.getloadavg()[0]:.2f}")
        print(f"restart_first_detection_s: {det:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
