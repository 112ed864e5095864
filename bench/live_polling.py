"""What polling students cost a Streamlit server: N headless Chromium phones in a live session's lobby.

A real app server (streamlit run app.py, the repository's config: runner.postScriptGC off) serves
N student pages joined to one session; each page's fragment polls the database every second. The
server process's CPU time (utime + stime from /proc) is read over a window, first with no page open
(the peer: the idle server), then with the N pages. Printed: CPU per poll, share of a core per
student, and whether every page still shows the question the instructor opens at the end (a server
past its limit stops delivering updates without an error).

Usage: python bench/live_polling.py [--students 6] [--window 20]
The headline, printed last, is the server CPU per student poll in ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=6)
    ap.add_argument("--window", type=float, default=20.0)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from nnus_core.accounts import Actor
    from nnus_core.accounts import service as acc
    from nnus_core.dataset import load_dataset
    from nnus_core.dataset.active import resolve_active
    from nnus_core.detector.cpu import read_cpu
    from nnus_core.live import LiveService, LiveSetup
    from nnus_core.store import db as dbm
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, SETTLED_JS, start_server, stop_server

    cpu = read_cpu()
    print(f"cpu: {cpu.describe()}")
    print(f"cpu_flags: {' '.join(cpu.flags)}")
    data = resolve_active().path
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{Path(tmp) / 'tutor.db'}"
        proc, url = start_server(data, {"NNUS_DB_URL": db_url})
        try:
            engine = dbm.make_engine(db_url)
            dbm.migrate(engine)
            t_user = acc.create_instructor(
                engine, None, "t@school.edu", "Dr T", "correct horse battery", first_run=True
            )
            t = Actor(t_user, "bench")
            svc = LiveService(engine, load_dataset(data))
            sess = svc.create(t, LiveSetup(n_questions=1, kinds=("identify",), seed=1))
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                warm = browser.new_page()  # the first page load warms the server (dataset index, imports)
                warm.goto(f"{url}/join?code={sess.join_code}")
                warm.wait_for_function(SETTLED_JS, timeout=120_000)
                warm.close()
                time.sleep(2)
                c0 = cpu_s(proc.pid)
                time.sleep(args.window)
                idle = (cpu_s(proc.pid) - c0) / args.window
                pages = []
                for i in range(args.students):
                    ctx = browser.new_context(
                        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
                    )
                    pg = ctx.new_page()
                    pg.set_default_timeout(120_000)
                    pg.goto(f"{url}/join?code={sess.join_code}")
                    pg.get_by_label("Your name (the room sees it)").fill(f"Student {i}")
                    pg.get_by_role("button", name="Join").click()
                    pg.get_by_test_id("live-my-name").wait_for()
                    pages.append(pg)
                time.sleep(3)
                c0 = cpu_s(proc.pid)
                time.sleep(args.window)
                busy = (cpu_s(proc.pid) - c0) / args.window
                t_open = time.perf_counter()
                c_open = cpu_s(proc.pid)
                svc.open_next(t, sess.id, after=-1)
                lags = []
                for pg in pages:
                    pg.get_by_role("heading", name="Which organ is outlined?").wait_for(timeout=30_000)
                    lags.append(time.perf_counter() - t_open)
                moved_cpu = cpu_s(proc.pid) - c_open
                browser.close()
            engine.dispose()
        finally:
            stop_server(proc)
    per_student = max(busy - idle, 0.0) / args.students  # core-seconds per second = polls per second
    print(f"server idle (peer): {idle * 100:.1f} % of a core")
    print(f"{args.students} students polling every 1 s: {busy * 100:.1f} % of a core")
    print(f"per student: {per_student * 100:.2f} % of a core, i.e. {per_student * 1000:.1f} ms CPU per poll")
    print(
        f"the question reached all {len(lags)} pages: slowest {max(lags):.2f} s after the open "
        f"(median {sorted(lags)[len(lags) // 2]:.2f} s); the server spent {moved_cpu:.2f} s CPU meanwhile "
        f"({moved_cpu / max(max(lags), 1e-9) * 100:.0f} % of a core: the rest of the wait is elsewhere, "
        "e.g. the browsers on the same cores)"
    )
    print(f"live_poll_cpu_ms_per_student: {per_student * 1000:.1f}")


if __name__ == "__main__":
    main()
