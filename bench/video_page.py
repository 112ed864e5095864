"""The Video page against the command line on the same uploaded clip: wall time and the pipeline's fps.

Usage: python bench/video_page.py [--seconds 12] [--pairs 2] [--clip PATH]

Starts the app (`streamlit run`, as the browser tests do) and drives Debian's Chromium with
Playwright: each page run is a fresh session that uploads the clip, presses "Process video" and
waits for the player; its time runs from the click to the player. Each CLI run is
`python -m nnus_core.video CLIP OUT.mp4` in a fresh process, timed from start to exit (imports
and model loading included). Page and CLI runs alternate, after one untimed page run that prepares
the detector for the clip's size. Headline: `page_over_cli: X` (median of pairs; goal <= 1.2).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")


def process_cpu_s(pattern: str) -> float:
    """CPU seconds used so far by every process whose command line contains `pattern` (Linux)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if pattern in cmd:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


def page_run(browser, url: str, clip: Path) -> tuple[float, float]:
    """(seconds from the click to the player, the fps the page reports); prints the CPU seconds the
    browser and the server used from the click to the player."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{url}/video")
        page.get_by_text("Video demo").first.wait_for(timeout=60_000)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(clip))
        button = page.get_by_role("button", name="Process video")
        button.wait_for(timeout=60_000)
        t0, browser0, server0 = time.perf_counter(), process_cpu_s("chrom"), process_cpu_s("streamlit run")
        button.click()
        page.locator("video").first.wait_for(state="attached", timeout=600_000)
        elapsed = time.perf_counter() - t0
        print(
            f"  click to player: browser CPU {process_cpu_s('chrom') - browser0:.1f} s, "
            f"server CPU {process_cpu_s('streamlit run') - server0:.1f} s, wall {elapsed:.1f} s"
        )
        text = page.locator('[data-testid="stMetric"]').all_inner_texts()
        fps = next((float(m.group(1)) for t in text if (m := re.search(r"([\d.]+)\s*fps", t))), float("nan"))
        return elapsed, fps
    finally:
        context.close()


def cli_run(clip: Path, out: Path) -> tuple[float, float]:
    """(seconds from process start to exit, the fps the CLI prints)."""
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-m", "nnus_core.video", str(clip), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"the CLI failed: {res.stderr[-2000:]}")
    m = re.search(r"([\d.]+)\s*fps", res.stdout + res.stderr)
    return elapsed, float(m.group(1)) if m else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=12.0, help="phantom sweep length at 25 fps (300 frames)")
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--clip", help="an existing video instead of a phantom sweep")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from nnus_core.detector.cpu import read_cpu
    from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, start_server

    cpu = read_cpu()
    print(f"cpu: {cpu.describe()}")
    with tempfile.TemporaryDirectory(prefix="bench-video-page-") as tmp:
        work = Path(tmp)
        if args.clip:
            clip = Path(args.clip)
        else:
            from nnus_core.phantom import write_sweep

            clip = write_sweep(work, "transverse", args.seconds, 25.0, seed=0)
        from nnus_core.phantom import generate_dataset

        data = generate_dataset(work / "data", n=20, seed=0, jobs=1)
        ARTIFACTS.mkdir(exist_ok=True)
        env = {"NNUS_VIDEO_TMP": str(work / "sessions"), "NNUS_DB_URL": f"sqlite:///{work / 'tutor.db'}"}
        proc, url = start_server(data, env)
        pages: list[float] = []
        clis: list[float] = []
        page_fps: list[float] = []
        cli_fps: list[float] = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                s, fps = page_run(browser, url, clip)  # prepares the detector for this size
                print(f"page_first_run_s: {s:.1f}   (page fps {fps:.0f}; includes preparing the detector)")
                for i in range(args.pairs):
                    s, fps = cli_run(clip, work / f"cli{i}.mp4")
                    clis.append(s)
                    cli_fps.append(fps)
                    print(f"cli_s: {s:.1f}   (CLI fps {fps:.0f}; process start to exit)")
                    s, fps = page_run(browser, url, clip)
                    pages.append(s)
                    page_fps.append(fps)
                    print(f"page_s: {s:.1f}   (page fps {fps:.0f}; click to player)")
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    ratios = [p / c for p, c in zip(pages, clis, strict=True)]
    fps_ratios = [c / p for p, c in zip(page_fps, cli_fps, strict=True)]
    print(f"pipeline_fps_cli_over_page: {', '.join(f'{r:.2f}' for r in fps_ratios)}")
    print(f"cli_median_s: {statistics.median(clis):.1f}")
    print(f"page_median_s: {statistics.median(pages):.1f}")
    print(f"paired_ratios: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"page_over_cli: {statistics.median(ratios):.2f}   (goal <= 1.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
