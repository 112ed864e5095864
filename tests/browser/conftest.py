"""Real-browser harness: one Streamlit server per test module on a free port, Debian's Chromium
driven by Playwright, screenshots under test-artifacts/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import make_nnus_folder

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    if not Path(CHROMIUM).exists():
        skip = pytest.mark.skip(reason="Debian's chromium is not installed (make test installs it as root)")
        for item in items:
            if "browser" in str(item.fspath):
                item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server from `start_server`: SIGTERM, then SIGKILL after 10 s."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def start_server(
    data_dir: Path, extra_env: dict[str, str] | None = None, port: int | None = None
) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run app.py` on `port` (a free one by default) with NNUS_DATA=data_dir; wait for health."""
    port = port or _free_port()
    env = {**os.environ, "NNUS_DATA": str(data_dir), "YOLO_OFFLINE": "1", **(extra_env or {})}
    log = open(ARTIFACTS / f"server-{port}.log", "w")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"streamlit did not start on {url}; see {log.name}")


@pytest.fixture(scope="session", autouse=True)
def _prepared_default_model():
    """The shipped model's exports and runtime choice, made before any server starts.

    On a clean clone the first load exports the model, quantises it to INT8 and times the variants
    (20-40 s on 2 busy cores), once; later loads read the cache (under a second). Done here, that
    once is not inside a page's wait for its marker.
    """
    try:
        from nnus_core.detector import load_default_detector
        from nnus_core.errors import NnusError
    except ImportError:
        return
    try:
        load_default_detector()
    except NnusError:
        pass  # no shipped model: the servers run an untrained one


@pytest.fixture(scope="module")
def browser_data_dir(tmp_path_factory) -> Path:
    """A small dataset for the server: the phantom when the generator exists, else a plain fixture."""
    root = tmp_path_factory.mktemp("browser-data") / "data"
    try:
        from nnus_core.phantom import generate_dataset

        generate_dataset(root, n=40, seed=0)
    except ImportError:
        make_nnus_folder(root, n=40)
    return root


@pytest.fixture(scope="module")
def server_url(browser_data_dir, tmp_path_factory) -> Iterator[str]:
    ARTIFACTS.mkdir(exist_ok=True)
    db = tmp_path_factory.mktemp("db") / "tutor.db"
    proc, url = start_server(browser_data_dir, {"NNUS_DB_URL": f"sqlite:///{db}"})
    yield url
    stop_server(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    ctx.close()


def open_app_page(page, url: str, path: str = "", marker: str | None = None) -> None:
    """Open a page of the app and wait until Streamlit has rendered it (and `marker` text if given)."""
    page.goto(f"{url}/{path}")
    page.wait_for_selector('[data-testid="stApp"]', timeout=30_000)
    if marker:
        page.get_by_text(marker, exact=False).first.wait_for(timeout=60_000)
    # Wait until the script run has finished (no running indicator).
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"] [data-testid=\"stStatusWidgetRunningIcon\"]')",
        timeout=60_000,
    )


def assert_no_error(page) -> None:
    errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
