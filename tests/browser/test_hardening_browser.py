"""Real browser: an answer submitted while the database is locked is kept, the student is told in
plain words, and it is stored once the lock clears; hostile text from files and URLs makes no
request to the payload's host and renders no link or image from it."""

from __future__ import annotations

import re
import sqlite3
import time
from urllib.parse import quote, urlparse

import pytest

from tests.browser.conftest import (
    assert_no_error,
    open_app_page,
    screenshot,
    settle,
    start_server,
    stop_server,
)
from tests.payloads import FILENAME_PAYLOADS, HOST, PAYLOADS
from tests.test_render_payloads import hostile_dataset


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    data = hostile_dataset(base / "NNUS")
    db = base / "tutor.db"
    proc, url = start_server(
        data, {"NNUS_DB_URL": f"sqlite:///{db}", "NNUS_MODEL": str(base / "no-model.pt")}
    )
    yield url, db
    stop_server(proc)


def _count(db) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]


def test_locked_database_keeps_the_answer_and_stores_it_once_the_lock_clears(hostile_server, page):
    url, db = hostile_server
    open_app_page(page, url, "quiz", marker="Practising as a")
    n = page.get_by_role("spinbutton", name="Questions")
    n.fill("1")
    n.press("Enter")
    settle(page)
    page.get_by_role("button", name="Start quiz").click()
    page.get_by_role("button", name="Not visible here").wait_for()
    settle(page)

    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the database
    t0 = time.perf_counter()
    page.get_by_role("button", name="Not visible here").click()
    page.get_by_text("Your answer is not saved yet").first.wait_for(timeout=30_000)
    shown_after_s = time.perf_counter() - t0
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "busy" in text and "keep this tab open" in text
    assert "Traceback" not in text and "OperationalError" not in text and str(db) not in text
    assert_no_error(page)
    screenshot(page, "hardening-locked-db")
    assert _count(db) == 0
    # An automatic retry happens while it is still locked (every 3 s; its caption counts the tries).
    page.get_by_text(re.compile(r"Tried ([2-9]|\d\d+) time\(s\)")).first.wait_for(timeout=30_000)
    assert page.get_by_text("Your answer is not saved yet").count() >= 1
    assert _count(db) == 0

    holder.execute("ROLLBACK")
    holder.close()
    released = time.perf_counter()
    page.get_by_text("Your answer is saved now").first.wait_for(timeout=30_000)  # no click needed
    saved_after_s = time.perf_counter() - released
    assert page.get_by_text("Your answer is not saved yet").count() == 0
    assert _count(db) == 1
    page.reload()
    settle(page)
    assert _count(db) == 1
    print(
        f"locked submit: message after {shown_after_s:.1f} s; stored {saved_after_s:.1f} s after the lock cleared"
    )


def _watch(page) -> list[str]:
    leaks: list[str] = []

    def on_request(req):
        if urlparse(req.url).hostname and HOST in urlparse(req.url).hostname:
            leaks.append(req.url)

    page.on("request", on_request)
    page.route(f"**://*{HOST}*/**", lambda route: route.abort())
    return leaks


def _live_payload_elements(page) -> list[str]:
    return page.evaluate(
        """(host) => Array.from(document.querySelectorAll('a[href], img[src], iframe, script[src], svg'))
            .filter(e => ((e.getAttribute('href') || '') + (e.getAttribute('src') || '')).includes(host)
                         || (e.getAttribute('href') || '').toLowerCase().startsWith('javascript:'))
            .map(e => e.outerHTML.slice(0, 120))""",
        HOST,
    )


def test_hostile_text_makes_no_request_and_renders_no_link(hostile_server, page):
    url, _ = hostile_server
    leaks = _watch(page)
    # Every page is covered by AppTest (tests/test_render_payloads.py); here the real renderer, on
    # the pages where each kind of outside text shows.
    visits = [("browse", "Browse"), ("compare", "Compare"), ("model_report", "Model report")]
    visits += [(f"browse?image={quote(FILENAME_PAYLOADS[i][1])}", "Subject") for i in (0, 2)]
    visits += [
        (f"{p}?image={quote(text)}", m)
        for p, m in (("quiz", "Quiz"), ("browse", "Browse"))
        for name, text in PAYLOADS
        if name in ("md-image", "md-link", "bare-url")
    ]
    for path, marker in visits:
        open_app_page(page, url, path, marker=marker)
        page.wait_for_load_state("networkidle")  # whatever the page would fetch has been asked for
        live = _live_payload_elements(page)
        assert not live, (path, live)
    assert not leaks, leaks
    # The payloads are there, as text.
    open_app_page(page, url, "browse", marker="Browse")
    shown = re.compile(
        re.escape("[Log in again](http:/") + "\u2060?/" + re.escape(HOST)
    )  # joiner: no autolink
    page.get_by_text(shown).first.wait_for(timeout=30_000)  # auto-waits for the grid's captions
    print(f"payload pages visited: {len(visits)}; requests to {HOST}: {len(leaks)}")
