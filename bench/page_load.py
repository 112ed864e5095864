"""Page-load bench: cold and warm first load of every page in headless Chromium against `streamlit run`.

Cold: the page is the first one a freshly started server renders (nothing imported, no cache filled;
the detector's exported runtime files under data/cache/ are kept, as on a server that ran before).
Warm: the same page opened again in a new browser session (a new visitor) on that server; the median
of --warm-runs loads. A load counts from `goto` until the page's marker text is on screen, the script
run has ended and every image has loaded.

    python bench/page_load.py [--data DIR] [--warm-runs 3] [--pages home,browse,...] [--baseline DIR]

With --baseline (another checkout of the app, e.g. `git archive` of an older commit), each page is
measured on both, interleaved (baseline, this tree, for every page), and the ratio is printed: on a
shared host only a ratio to a peer measured in the same run means anything.
Each line also gives the script a fresh session fetched for the page (MB): unlike the seconds, it
does not depend on how busy the host is. Prints one line per page, then the headline (the slowest
warm load) last.
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

# The browser tests' Chromium, flags and "settled" test: one definition of each.
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, SETTLED_JS  # noqa: E402

WARM_TARGET_S = 2.0


def pages(data: Path) -> list[tuple[str, str, str]]:
    """(name, URL path, marker text) of every page; the detail view opens the most crowded image."""
    from nnus_core.browse import first_image
    from nnus_core.dataset import load_dataset

    ds = load_dataset(data)
    stem = first_image(ds.samples).stem
    return [
        ("home", "", "NNUS Tutor"),
        ("browse", "browse", "images match"),
        ("browse-detail", f"browse?image={stem}", "Teaching card"),
        ("compare", "compare", "Found"),
        ("atlas", "atlas", "Where does each organ usually sit?"),
        ("quiz", "quiz", "Practising as a"),
        ("progress", "progress", "No answers stored yet"),
        ("model_report", "model_report", "Where the model fails"),
        ("video", "video", "Video demo"),
    ]


def start_server(data: Path, db: Path, root: Path = ROOT) -> tuple[subprocess.Popen, str]:
    """The browser tests' server start (`tests.browser.conftest.start_server`) on a database of its own."""
    from tests.browser.conftest import start_server as start

    return start(data, {"NNUS_DB_URL": f"sqlite:///{db}"}, root=root)


SCRIPT_BYTES: dict[str, int] = {}  # URL of the last load -> bytes of script it fetched (a fresh session)


def load_s(browser, url: str, path: str, marker: str) -> float:
    """Seconds from navigation until the page has settled, in a new browser session."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    fetched: list[int] = []
    page.on(
        "response",
        lambda r: (
            fetched.append(int(r.headers.get("content-length") or 0))
            if r.request.resource_type == "script"
            else None
        ),
    )
    SCRIPT_BYTES[f"{url}/{path}"] = 0
    try:
        t0 = time.perf_counter()
        page.goto(f"{url}/{path}")
        page.get_by_text(marker, exact=False).first.wait_for(timeout=120_000)
        page.wait_for_function(SETTLED_JS, timeout=120_000)
        elapsed = time.perf_counter() - t0
        SCRIPT_BYTES[f"{url}/{path}"] = sum(fetched)
        return elapsed
    finally:
        ctx.close()


def cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    model = re.search(r"model name\s*:\s*(.+)", text)
    flags = sorted(set(re.findall(r"\b(avx512[a-z_0-9]*|amx[a-z_0-9]*|avx_vnni|avx2|fma)\b", text)))
    return f"{model.group(1) if model else '?'}; {os.cpu_count()} cores; {' '.join(flags)}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data", type=Path, default=ROOT / "data" / "phantom", help="dataset (default: the phantom)"
    )
    ap.add_argument("--warm-runs", type=int, default=3)
    ap.add_argument("--pages", help="comma-separated page names (default: all)")
    ap.add_argument("--baseline", type=Path, help="another checkout of the app to measure beside this one")
    args = ap.parse_args(argv)
    args.data = args.data.resolve()  # the servers run in their own checkout's folder
    if not (args.data / "images").is_dir():
        print(f"no dataset at {args.data}: generate it with python -m nnus_core.phantom --out {args.data}")
        return 2
    from playwright.sync_api import sync_playwright

    todo = pages(args.data)
    if args.pages:
        want = set(args.pages.split(","))
        todo = [p for p in todo if p[0] in want]
    print(f"CPU: {cpu_flags()}")
    print(
        f"data: {args.data} (synthetic phantom when generated); load = goto until marker shown, run ended, "
        "images loaded"
    )
    results = []
    roots = [ROOT] if args.baseline is None else [args.baseline, ROOT]

    def stop(proc: subprocess.Popen) -> None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()

    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for k, (name, path, marker) in enumerate(todo):
            # Every checkout's server is up before any is measured, and the loads alternate between
            # them (the order flipped every page): a busy neighbour slows both alike.
            servers = {
                root: start_server(args.data, Path(tmp) / f"{name}-{i}.db", root)
                for i, root in enumerate(roots)
            }
            order = roots if k % 2 == 0 else roots[::-1]
            try:
                cold = {root: load_s(browser, servers[root][1], path, marker) for root in order}
                warm: dict[Path, list[float]] = {root: [] for root in roots}
                for r in range(args.warm_runs):
                    for root in order if r % 2 == 0 else order[::-1]:
                        warm[root].append(load_s(browser, servers[root][1], path, marker))
            finally:
                for proc, _ in servers.values():
                    stop(proc)
            med = statistics.median(warm[ROOT])
            results.append((name, cold[ROOT], med))
            flag = "" if med <= WARM_TARGET_S else f"  (over the {WARM_TARGET_S:.0f} s target)"
            print(
                f"{name:<14} cold {cold[ROOT]:5.2f} s   warm median {med:5.2f} s "
                f"(runs {', '.join(f'{w:.2f}' for w in warm[ROOT])}); script "
                f"{SCRIPT_BYTES.get(f'{servers[ROOT][1]}/{path}', 0) / 1e6:.2f} MB{flag}",
                flush=True,
            )
            if args.baseline is not None:
                b = args.baseline
                b_med = statistics.median(warm[b])
                print(
                    f"{'  baseline':<14} cold {cold[b]:5.2f} s   warm median {b_med:5.2f} s "
                    f"(runs {', '.join(f'{w:.2f}' for w in warm[b])}); script "
                    f"{SCRIPT_BYTES.get(f'{servers[b][1]}/{path}', 0) / 1e6:.2f} MB   warm ratio this/baseline "
                    f"{med / b_med:.2f}, cold ratio {cold[ROOT] / cold[b]:.2f}",
                    flush=True,
                )
        browser.close()
    worst = max(results, key=lambda r: r[2])
    print(
        f"slowest cold: {max(r[1] for r in results):.2f} s; pages over {WARM_TARGET_S:.0f} s warm: "
        f"{', '.join(r[0] for r in results if r[2] > WARM_TARGET_S) or 'none'}"
    )
    print(f"page_load_warm_max_s: {worst[2]:.2f} ({worst[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
