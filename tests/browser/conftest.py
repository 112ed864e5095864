"""Real-browser harness: Debian's Chromium driven by Playwright against real Streamlit servers.

Servers are shared: one app server for the whole session (`app_server`), started on first use,
and a separate one only where a test needs its own database or dataset. Tests wait on the app
itself, never on the clock: `settle` waits until Streamlit's script run has finished (the
`data-test-script-state` of `stApp`) and its elements and images are drawn, `settle_after` until
a run that an event inside a component's iframe asked for has finished. Screenshots go to
test-artifacts/.

Without Chromium the browser tests fail with a message; `NNUS_SKIP_BROWSER=1` skips them on a
local machine (never where $CI is set). `NNUS_CHROMIUM` names another Chromium binary.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures import make_nnus_folder, prepare_shipped_model

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("NNUS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SKIP_ENV = "NNUS_SKIP_BROWSER"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
START_TIMEOUT_S = 60

# Counts the app's finished script runs (`window.__appRuns`): an app-run marker for events that
# reach Streamlit asynchronously (a drag or click inside a component's iframe).
RUN_COUNTER_JS = """(() => {
  // Every script run ends with a ForwardMsg from the server whose field 6 (script_finished) holds
  // how it ended; counting those messages on the app's WebSocket sees every run, the shortest
  // included. (Counting changes of stApp's data-test-script-state missed runs of a few
  // milliseconds: the frontend drew them as one state and never as running.) A run ended early
  // for a rerun (status 2) is not counted: the rerun's own end is. The count goes up a moment
  // after the message, once the frontend has drawn what the run sent.
  window.__appRuns = 0;
  const COUNTED = new Set([0, 1, 3]);  // finished, compile error, fragment run finished
  function finishedStatus(buffer) {
    const b = new Uint8Array(buffer);
    let i = 0;
    const varint = () => {
      let v = 0, shift = 0, x;
      do { x = b[i++]; v += (x & 0x7f) * 2 ** shift; shift += 7; } while (x & 0x80 && i < b.length);
      return v;
    };
    while (i < b.length) {
      const tag = varint(), field = Math.floor(tag / 8), wire = tag & 7;
      if (field === 6 && wire === 0) return varint();
      if (wire === 0) varint();
      else if (wire === 2) { const n = varint(); i += n; }  // (not `i += varint()`: that reads i first)
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else return -1;
    }
    return -1;
  }
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (e.data instanceof ArrayBuffer && COUNTED.has(finishedStatus(e.data))) {
          setTimeout(() => requestAnimationFrame(() => { window.__appRuns += 1; }), 50);
        }
      });
    }
  };
})();"""

# The run has finished, nothing is stale or a skeleton, images are loaded and Plotly has drawn.
SETTLED_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning'
    && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
    && !document.querySelector('[data-testid="stSkeleton"]')
    && !document.querySelector('[data-stale="true"]')
    && [...document.images].every(i => i.complete)
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'));
}"""


@pytest.fixture(scope="session", autouse=True)
def _chromium() -> str:
    """Debian's Chromium, or a failure that says how to get it (a skip only when asked, locally)."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.environ.get(SKIP_ENV) == "1" and not os.environ.get("CI"):
        pytest.skip(f"Chromium not found at {CHROMIUM}; browser tests skipped because {SKIP_ENV}=1")
    pytest.fail(
        f"Chromium not found at {CHROMIUM}: the browser tests need Debian's chromium "
        f"(sudo apt-get install chromium; `make test` run as root installs it). To skip them on a local "
        f"machine, set {SKIP_ENV}=1 (ignored where $CI is set).",
        pytrace=False,
    )


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
    data_dir: Path, extra_env: dict[str, str] | None = None, port: int | None = None, root: Path = ROOT
) -> tuple[subprocess.Popen, str]:
    """Start `streamlit run app.py` of the checkout at `root` (this one by default) on `port` (a free
    one by default) with NNUS_DATA=data_dir; return once it is healthy.

    Streamlit prints its URL when it listens: the log is read line by line (copied to
    test-artifacts/server-PORT.log) and the health endpoint asked once, so nothing polls a clock.
    """
    port = port or _free_port()
    env = {
        **os.environ,
        "NNUS_DATA": str(data_dir),
        "YOLO_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"server-{port}.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(root / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    listening = threading.Event()

    def copy_log() -> None:
        with log_path.open("w") as log:
            for line in proc.stdout:  # ends when the server exits
                log.write(line)
                log.flush()
                if f":{port}" in line:
                    listening.set()
        listening.set()  # exited: stop waiting

    threading.Thread(target=copy_log, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    if listening.wait(START_TIMEOUT_S) and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
    proc.kill()
    raise RuntimeError(f"streamlit did not start on {url}; see {log_path}")


@pytest.fixture(scope="session", autouse=True)
def _prepared_default_model(_chromium):
    """The shipped model's exports and runtime choice, made before any server starts (read from the
    cache, under a second, where the controller of `make test`'s workers made them already)."""
    prepare_shipped_model()


@pytest.fixture(scope="session")
def browser_data_dir(tmp_path_factory) -> Path:
    """A small dataset for the servers (read only): the phantom when the generator exists, else a plain fixture."""
    root = tmp_path_factory.mktemp("browser-data") / "data"
    try:
        from nnus_core.phantom import generate_dataset

        generate_dataset(root, n=40, seed=0)
    except ImportError:
        make_nnus_folder(root, n=40)
    return root


@dataclass(frozen=True)
class AppServer:
    """A running app: its URL, its progress database and the parent of its video session folders."""

    url: str
    db: Path
    video_tmp: Path


def server_with_model(
    data_dir: Path, base: Path, extra_env: dict[str, str] | None = None
) -> Iterator[AppServer]:
    """Run a server on `data_dir` with its own database and video folders under `base`, and a
    detector: the shipped model, else an untrained 8-organ one (the tests check views, not accuracy)."""
    from nnus_core.detector import default_model_dir

    env = {"NNUS_DB_URL": f"sqlite:///{base / 'tutor.db'}", "NNUS_VIDEO_TMP": str(base / "sessions")}
    if default_model_dir() is None:
        from tests.synthetic_video import write_random_model

        env["NNUS_MODEL"] = str(write_random_model(base / "model" / "best.pt"))
        env["NNUS_MODEL_CACHE"] = str(base / "cache")  # keeps an untrained model's exports out of data/cache
    env.update(extra_env or {})
    (base / "sessions").mkdir(parents=True, exist_ok=True)
    proc, url = start_server(data_dir, env)
    try:
        yield AppServer(url, base / "tutor.db", base / "sessions")
    finally:
        stop_server(proc)


@pytest.fixture(scope="session")
def app_server(browser_data_dir, tmp_path_factory) -> Iterator[AppServer]:
    """The app server the browser tests share (each test opens its own browser context = session)."""
    yield from server_with_model(browser_data_dir, tmp_path_factory.mktemp("app-server"))


@pytest.fixture(scope="session")
def server_url(app_server) -> str:
    return app_server.url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed browser test, a screenshot of every page still open (test-artifacts/failed-*.png):
    what the user saw when it stopped, so that a failure in CI can be read afterwards."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item.stash[_FAILED] = True
    b = item.funcargs.get("browser") if report.failed and call.when == "call" else None
    if b is None:
        return
    pages = [pg for ctx in b.contexts for pg in ctx.pages]
    for i, pg in enumerate(pages):
        try:
            screenshot(pg, f"failed-{item.name[:80]}-{i}")
        except Exception:  # noqa: BLE001 - a page that is gone cannot be shown; the failure stands
            pass


@pytest.fixture(autouse=True)
def _close_pages_after_the_report(request):
    """Give back or close the contexts a test left open at its teardown, after the failure
    screenshot above: a test closes its contexts on success only, so that a failure still shows
    what its pages showed. A context lent to a failed test is closed, not kept warm."""
    yield
    b = request.node.funcargs.get("browser")
    if b is None:
        return
    warm = _WARM.get(id(b))
    if warm is not None:
        warm.give_back_all(keep=not request.node.stash.get(_FAILED, False))
    for ctx in list(b.contexts):
        if warm is None or not warm.is_idle(ctx):
            ctx.close()


_FAILED = pytest.StashKey[bool]()


class WarmContexts:
    """Browser contexts lent to the tests and kept warm between them (one pool per browser).

    A first page load in a fresh context compiles Streamlit's frontend again: about 4 s of
    Chromium CPU on this project's 2-core machine, against about 2.4 s in a context that has loaded
    the app before (its in-memory HTTP and code caches stay). A context given back has its pages
    closed (their WebSockets, so their Streamlit sessions, end) and its cookies and permissions
    cleared, so that the next test starts as a new visitor: the app keeps nothing else in the
    browser (no local or session storage, no service worker). Contexts with other options (a
    phone's viewport and touch) are pooled apart.
    """

    def __init__(self, browser) -> None:
        self._browser = browser
        self._idle: dict[str, list] = {}
        self._lent: dict[int, tuple[str, object]] = {}

    def lend(self, context_args: dict):
        key = json.dumps(context_args, sort_keys=True)
        idle = self._idle.setdefault(key, [])
        if idle:
            ctx = idle.pop()
        else:
            ctx = self._browser.new_context(**context_args)
            ctx.add_init_script(RUN_COUNTER_JS)
        self._lent[id(ctx)] = (key, ctx)
        return ctx

    def give_back(self, ctx, keep: bool = True) -> None:
        key, _ = self._lent.pop(id(ctx), (None, None))
        if key is None or not keep:
            ctx.close()
            return
        for pg in list(ctx.pages):
            pg.close()
        ctx.clear_cookies()
        ctx.clear_permissions()
        self._idle[key].append(ctx)

    def give_back_all(self, keep: bool) -> None:
        for _, ctx in list(self._lent.values()):
            self.give_back(ctx, keep)

    def is_idle(self, ctx) -> bool:
        return any(c is ctx for idle in self._idle.values() for c in idle)


_WARM: dict[int, WarmContexts] = {}


class LentContext:
    """A browser context lent by `WarmContexts`: everything a BrowserContext does, but `close()`
    gives it back (its pages closed, its cookies cleared) instead of throwing its caches away."""

    def __init__(self, warm: WarmContexts, ctx) -> None:
        self._warm, self._ctx = warm, ctx

    def close(self) -> None:
        self._warm.give_back(self._ctx)

    def discard(self) -> None:
        """Close it for good (after a failure: the next test must not inherit its state)."""
        self._warm.give_back(self._ctx, keep=False)

    def __getattr__(self, name: str):
        return getattr(self._ctx, name)


@pytest.fixture(scope="session")
def browser(_chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium, args=CHROMIUM_ARGS)
        _WARM[id(b)] = WarmContexts(b)
        yield b
        _WARM.pop(id(b), None)
        b.close()


def new_app_page(browser, **context_args):
    """A browser context as a new visitor sees it (a new Streamlit session, no cookies) with the
    run counter, and its page. The context comes warm from the session's pool (`WarmContexts`)."""
    warm = _WARM.get(id(browser)) or _WARM.setdefault(id(browser), WarmContexts(browser))
    ctx = warm.lend({"viewport": {"width": 1400, "height": 1000}, **context_args})
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    return LentContext(warm, ctx), pg


@pytest.fixture
def page(browser, request):
    ctx, pg = new_app_page(browser)
    yield pg
    if request.node.stash.get(_FAILED, False):
        ctx.discard()
    else:
        ctx.close()


def settle(page, timeout: float = 60_000) -> None:
    """Wait until the app's script run has finished and its elements, images and charts are drawn."""
    page.wait_for_function(SETTLED_JS, timeout=timeout)


def app_runs(page) -> int:
    """How many script runs of this page's session have finished (see RUN_COUNTER_JS)."""
    return page.evaluate("() => window.__appRuns")


# What keeps a page from settling, for the message of a wait that timed out.
UNSETTLED_JS = """() => ({
  runs: window.__appRuns,
  state: document.querySelector('[data-testid="stApp"]')?.getAttribute('data-test-script-state'),
  running: !!document.querySelector('[data-testid="stStatusWidgetRunningIcon"]'),
  skeletons: document.querySelectorAll('[data-testid="stSkeleton"]').length,
  stale: document.querySelectorAll('[data-stale="true"]').length,
  images_loading: [...document.images].filter(i => !i.complete).map(i => i.src.slice(0, 80)),
  charts_undrawn: [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].filter(c => !c.querySelector('.main-svg')).length,
})"""


def settle_after(page, runs_before: int, timeout: float = 60_000) -> None:
    """Wait for a run that started after `app_runs` read `runs_before` to finish, then `settle`.

    The run counter sees every run, the shortest included (it reads the server's messages)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            f"(n) => window.__appRuns > n && ({SETTLED_JS})()", arg=runs_before, timeout=timeout
        )
    except PlaywrightTimeout:
        raise AssertionError(
            f"no settled run after run {runs_before} in {timeout / 1000:.0f} s: {page.evaluate(UNSETTLED_JS)}"
        ) from None


def submit_form(page, button, typed_box, done, timeout: float = 60_000) -> None:
    """Click a `clear_on_submit` form's submit `button` and wait for `done` (a locator of its effect).

    The form empties `typed_box` once the submit reaches the server. A click on Create was seen
    once never to reach it (cause not found; not reproduced in later runs): then the typed text is
    still there, and the click is made once more. A submit that did arrive is never repeated
    (nothing is created twice)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    button.click()
    try:
        done.wait_for(timeout=10_000)
        return
    except PlaywrightTimeout:
        if typed_box.input_value() != "":
            print(f"submit_form: the click on {button} was dropped; clicking once more", file=sys.stderr)
            settle(page)
            button.click()
    done.wait_for(timeout=timeout)


def open_app_page(page, url: str, path: str = "", marker: str | None = None) -> None:
    """Open a page of the app and wait until Streamlit has rendered it (and `marker` text if given)."""
    page.goto(f"{url}/{path}")
    page.wait_for_selector('[data-testid="stApp"]', timeout=30_000)
    if marker:
        page.get_by_text(marker, exact=False).first.wait_for(timeout=60_000)
    settle(page)


def assert_no_error(page) -> None:
    errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- the box-drawing component (pages/_boxdraw.py): where its image is, and drags by mouse and touch --

BOXDRAW = '[data-testid="boxdraw"]'  # inside the component's open shadow root: CSS locators reach it


def boxdraw_origin(page, image_width_px: float, index: int = 0) -> tuple[float, float, float]:
    """Page coordinates of a drawing image's top-left corner, and displayed pixels per image pixel
    (`image_width_px`: the width of the image the test measures in)."""
    img = page.locator(f"{BOXDRAW} img").nth(index)
    img.wait_for()
    page.wait_for_function(
        "(sel) => [...document.querySelectorAll('*')].some(e => e.shadowRoot"
        " && [...e.shadowRoot.querySelectorAll(sel + ' img')].some(i => i.complete && i.naturalWidth > 0"
        " && i.getBoundingClientRect().height > 100))",
        arg=BOXDRAW,
    )
    # In the middle of the viewport, as a user scrolls it before drawing: a drag to a box at the
    # image's lower edge must not end below the fold, where no pointer event reaches the page.
    img.evaluate("e => e.scrollIntoView({block: 'center', inline: 'nearest'})")
    box = img.bounding_box()
    assert box
    return box["x"], box["y"], box["width"] / image_width_px


def boxdraw_value(page, index: int = 0) -> tuple[float, ...] | None:
    """The box the component shows now (sorted, clamped; its image's natural pixels), None without one."""
    text = page.locator(BOXDRAW).nth(index).get_attribute("data-box")
    return tuple(float(v) for v in text.split(",")) if text else None


def mouse_drag(page, start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> None:
    """Press the mouse at `start`, move to `end` in `steps`, release (page coordinates)."""
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()


def touch_drag(
    page, start: tuple[float, float], end: tuple[float, float], steps: int = 8, cancel: bool = False
) -> None:
    """A one-finger drag from `start` to `end` (page coordinates) through CDP touch events (the
    page's context needs `has_touch=True`); `cancel` ends it with touchCancel instead of touchEnd."""
    cdp = page.context.new_cdp_session(page)
    try:

        def send(kind: str, x: float | None = None, y: float | None = None) -> None:
            points = [] if x is None else [{"x": x, "y": y, "id": 1, "radiusX": 4, "radiusY": 4, "force": 1}]
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        send("touchStart", *start)
        for i in range(1, steps + 1):
            t = i / steps
            send("touchMove", start[0] + (end[0] - start[0]) * t, start[1] + (end[1] - start[1]) * t)
        send("touchCancel" if cancel else "touchEnd")
    finally:
        cdp.detach()


# --- several app servers behind nginx ------------------------------------------------------------


@dataclass(frozen=True)
class ServersBehindNginx:
    """Two app servers on one PostgreSQL database, behind one nginx (tests/nginx.py).

    `url`: nginx's address (what browsers open); `servers`: the app servers' own URLs, in the order of
    `front.upstreams`; `db_url`: the shared database (migrated); `front`: the nginx front, whose
    `cookie_for(i)` gives a stickiness cookie that lands on server `i` and whose `upstreams_of(cookie)`
    says which servers a browser's requests reached.
    """

    url: str
    servers: tuple[str, ...]
    db_url: str
    front: object  # tests.nginx.NginxFront

    def pin_context(self, context, server_index: int) -> str:
        """Make a browser context's requests go to server `server_index` (sets nginx's sticky cookie);
        returns the cookie value, to look the context's requests up in the access log."""
        from tests.nginx import COOKIE

        value = self.front.cookie_for(server_index)
        context.add_cookies([{"name": COOKIE, "value": value, "url": self.url}])
        return value


@pytest.fixture(scope="session")
def servers_behind_nginx(browser_data_dir, postgres_server, tmp_path_factory) -> Iterator[ServersBehindNginx]:
    """Two Streamlit servers of the app on 127.0.0.1 sharing one fresh PostgreSQL database, and an
    unprivileged nginx in front of them on a free port (cookie stickiness, websocket upgrade for
    `/_stcore/stream`, its config, pid and logs in a temporary folder).

    Reuse it for anything that must work across servers (a live session: instructor on one server,
    students on the other): open `servers_behind_nginx.url` in the browser contexts and call
    `pin_context(ctx, i)` before the first page to choose the server. Nothing but the database is
    shared between the servers: the test proves what the app keeps there. Started once per session.
    """
    from nnus_core.store import dispose_engines, get_engine
    from tests.nginx import nginx_front
    from tests.pg import create_database, drop_database

    base = tmp_path_factory.mktemp("nginx-pair")
    db_url = create_database(postgres_server)
    get_engine(db_url)  # migrate once here, not in two servers at the same time
    dispose_engines()
    env = {"NNUS_DB_URL": db_url, "NNUS_VIDEO_TMP": str(base / "sessions")}
    from nnus_core.detector import default_model_dir

    if default_model_dir() is None:
        from tests.synthetic_video import write_random_model

        env["NNUS_MODEL"] = str(write_random_model(base / "model" / "best.pt"))
        env["NNUS_MODEL_CACHE"] = str(base / "cache")
    (base / "sessions").mkdir(parents=True, exist_ok=True)
    procs = []
    try:
        for _ in range(2):
            procs.append(start_server(browser_data_dir, env))
        upstreams = [url.removeprefix("http://") for _, url in procs]
        with nginx_front(base / "nginx", upstreams) as front:
            yield ServersBehindNginx(front.url, tuple(url for _, url in procs), db_url, front)
    finally:
        for proc, _ in procs:
            stop_server(proc)
        dispose_engines()
        drop_database(postgres_server, db_url)
