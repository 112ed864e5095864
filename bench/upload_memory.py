"""Server memory while a large dataset zip is uploaded on Home and imported (real browser).

Usage: python bench/upload_memory.py [--mb 400] [--app DIR]

Builds a small NNUS-format folder plus one incompressible file of --mb MB into a zip, starts
`streamlit run app.py` (from --app, default this checkout; another checkout measures older code),
uploads the zip through Chromium and samples the server's resident memory (RSS) every 0.1 s:
before, peak during upload and import, after the import, and 10 s later. Prints the figures,
headline last. The data is synthetic noise: this measures the server, not a dataset.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

MB = 1024 * 1024


def build_zip(tmp: Path, mb: int) -> Path:
    from tests.fixtures import make_nnus_folder

    src = make_nnus_folder(tmp / "NNUS", n=8)
    out = tmp / "NNUS.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for p in sorted(src.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(tmp))
        with z.open("NNUS/extra/noise.bin", "w", force_zip64=True) as f:
            block = os.urandom(MB)
            for _ in range(mb):
                f.write(block)
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    import psutil
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=400)
    ap.add_argument("--app", type=Path, default=ROOT)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nnus-upload-bench-") as t:
        tmp = Path(t)
        zpath = build_zip(tmp, args.mb)
        port = free_port()
        env = {
            **os.environ,
            "NNUS_DATA": str(tmp / "NNUS"),
            "NNUS_IMPORTS_DIR": str(tmp / "imports"),
            "NNUS_DB_URL": f"sqlite:///{tmp / 'tutor.db'}",
            "NNUS_ZIP_MAX_MB": "1024",
            "PYTHONPATH": str(args.app),
        }
        log = open(tmp / "server.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(args.app / "app.py"),
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
                "--server.maxUploadSize",
                "1024",
            ],
            cwd=args.app,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        server = psutil.Process(proc.pid)
        samples: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append((time.perf_counter(), server.memory_info().rss / MB))
                time.sleep(0.1)

        try:
            with sync_playwright() as p:
                b = p.chromium.launch(
                    executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
                )
                page = b.new_page()
                page.set_default_timeout(300_000)
                page.goto(url)
                page.get_by_text("Use the real NNUS dataset").first.click()
                page.wait_for_timeout(2000)
                before = server.memory_info().rss / MB
                threading.Thread(target=sample, daemon=True).start()
                t0 = time.perf_counter()
                page.locator('input[type="file"]').set_input_files(str(zpath))
                page.get_by_text("Make this the active dataset", exact=False).or_(
                    page.locator('[data-testid="stAlertContentError"]')
                ).first.wait_for()
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')"
                )
                done_s = time.perf_counter() - t0
                page.wait_for_timeout(1000)
                after = server.memory_info().rss / MB
                page.wait_for_timeout(10_000)
                later = server.memory_info().rss / MB
                stop.set()
                b.close()
        finally:
            proc.terminate()
            proc.wait(10)
            log.close()
            if os.environ.get("BENCH_SHOW_LOG"):
                print((tmp / "server.log").read_text()[-3000:])
        peak = max(m for _, m in samples)
        cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": ")
        print(f"cpu: {cpu}; zip: {zpath.stat().st_size / MB:.0f} MB of noise (synthetic); app: {args.app}")
        print(f"upload + import took {done_s:.1f} s")
        print(f"server RSS before: {before:.0f} MB")
        print(f"server RSS peak during upload/import: {peak:.0f} MB (+{peak - before:.0f})")
        print(f"server RSS after import: {after:.0f} MB (+{after - before:.0f})")
        print(f"server RSS 10 s later: {later:.0f} MB (+{later - before:.0f})")
        print(f"upload_memory_retained_mb: {later - before:.0f}")


if __name__ == "__main__":
    main()
