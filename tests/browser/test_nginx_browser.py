"""Real browser through nginx: two app servers share one PostgreSQL database. An instructor on server 1
creates a class; a student on a phone, on server 2, joins it by its code; the instructor sees the
student. nginx's access log proves which server each browser reached (websocket included)."""

from __future__ import annotations

import re
import urllib.request

from playwright.sync_api import expect

from nnus_core.accounts.service import create_instructor
from nnus_core.store import dispose_engines, get_engine
from tests.browser.conftest import (
    assert_no_error,
    new_app_page,
    open_app_page,
    screenshot,
    submit_form,
)
from tests.browser.test_accounts_browser import _join, _wait_for_sign_in_cookie
from tests.nginx import COOKIE

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def _fill(page, label: str, value: str) -> None:
    page.get_by_label(label, exact=True).first.fill(value)


def _each_on_its_own_server(pair, first_cookie: str, second_cookie: str) -> None:
    """nginx's log: each browser's page, websocket and every other request went to its own server only."""
    first, second = pair.front.upstreams
    assert pair.front.upstreams_of(first_cookie) == {first}
    assert pair.front.upstreams_of(second_cookie) == {second}
    assert pair.front.wait_upstreams_of(first_cookie, "/_stcore/stream") == {first}  # logged when it closes
    assert pair.front.wait_upstreams_of(second_cookie, "/_stcore/stream") == {second}


def test_a_new_browser_gets_a_sticky_cookie(servers_behind_nginx):
    with urllib.request.urlopen(f"{servers_behind_nginx.url}/_stcore/health", timeout=10) as r:
        assert r.status == 200
        cookies = r.headers.get_all("Set-Cookie") or []
    assert any(c.startswith(f"{COOKIE}=") and "HttpOnly" in c for c in cookies), cookies


def test_instructor_on_one_server_student_on_the_other(browser, servers_behind_nginx):
    pair = servers_behind_nginx
    engine = get_engine(pair.db_url)
    create_instructor(
        engine, None, "nginx-teacher@school.edu", "Dr Proxy", "correct horse battery", admin=True
    )
    dispose_engines()

    tctx, tp = new_app_page(browser, viewport={"width": 1280, "height": 900})
    sctx, sp = new_app_page(browser, **PHONE)
    t_cookie = pair.pin_context(tctx, 0)
    s_cookie = pair.pin_context(sctx, 1)

    # The instructor signs in through nginx (server 1) and creates a class.
    open_app_page(tp, pair.url, "signin", marker="Join a class")
    tp.get_by_role("tab", name="Instructor").click()
    _fill(tp, "Sign-in name", "nginx-teacher@school.edu")
    _fill(tp, "Password", "correct horse battery")
    tp.get_by_role("button", name="Sign in", exact=True).locator("visible=true").click()
    tp.get_by_text("Signed in as").first.wait_for()
    _wait_for_sign_in_cookie(tp)  # what the next page load signs in with
    open_app_page(tp, pair.url, "classes", marker="Classes")
    tp.get_by_text("New class").click()
    _fill(tp, "Class name", "Neck US behind nginx")
    code_box = tp.get_by_test_id("nnus-join-code")
    submit_form(
        tp, tp.get_by_role("button", name="Create", exact=True), tp.get_by_label("Class name"), code_box
    )
    assert_no_error(tp)
    code = code_box.inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{6}", code), code

    # The student, on a phone and on server 2, joins by the code: the class is in the database.
    _join(sp, pair.url, code, "Ana Proxy", "2468")
    assert_no_error(sp)
    screenshot(sp, "nginx-student-joined-phone")

    # Back on server 1: the instructor's roster shows the student who joined on server 2.
    open_app_page(tp, pair.url, "classes", marker="Classes")
    screenshot(tp, "nginx-instructor-roster")
    expect(tp.get_by_text(re.compile(r"Roster — 1 student")).first).to_be_visible()
    expect(tp.locator('[data-testid="stDataFrame"] td', has_text="Ana Proxy")).to_have_count(1)  # roster
    assert_no_error(tp)
    # Closed here for nginx's websocket log lines; after a failure, at teardown, after its screenshot.
    tctx.close()
    sctx.close()

    _each_on_its_own_server(pair, t_cookie, s_cookie)


def test_a_live_session_instructor_on_one_server_students_on_the_other(
    browser, servers_behind_nginx, browser_data_dir
):
    """The live session's state is the database's: the projector on server 1 sees the phone on
    server 2 join and answer, and the phone sees the question the projector opened."""
    from nnus_core.accounts import Actor
    from nnus_core.accounts import service as acc
    from nnus_core.dataset import load_dataset
    from nnus_core.live import LiveService, LiveSetup
    from nnus_core.organs import ORGANS

    pair = servers_behind_nginx
    engine = get_engine(pair.db_url)
    teacher = create_instructor(
        engine, None, "live-proxy@school.edu", "Dr Live", "correct horse battery", admin=True
    )
    token = acc.browser_token(engine, teacher)
    svc = LiveService(engine, load_dataset(browser_data_dir))
    sess = svc.create(
        Actor(teacher),
        LiveSetup(title="Across servers", n_questions=1, kinds=("identify",), time_limit_s=120, seed=3),
    )
    q, _ = svc.question(sess.id, 0)
    right = ORGANS[q.question.organ_id].name
    dispose_engines()

    tctx, tp = new_app_page(browser, viewport={"width": 1280, "height": 900})
    sctx, sp = new_app_page(browser, **PHONE)
    t_cookie = pair.pin_context(tctx, 0)
    s_cookie = pair.pin_context(sctx, 1)
    tctx.add_cookies([{"name": "nnus_signin", "value": token, "url": pair.url}])

    # The projector (server 1) shows the lobby; the phone (server 2) joins by the code.
    open_app_page(tp, pair.url, f"live?session={sess.id}", marker="Open question 1 of 1")
    open_app_page(sp, pair.url, f"join?code={sess.join_code}", marker="Join a live quiz")
    sp.get_by_label("Your name (the room sees it)").fill("Ana Proxy")
    sp.get_by_role("button", name="Join").click()
    sp.get_by_test_id("live-my-name").wait_for()
    expect(tp.get_by_test_id("live-joined").filter(has_text="1 joined")).to_be_visible(timeout=30_000)

    # The instructor opens the question on server 1; the phone on server 2 gets it and answers.
    tp.get_by_role("button", name="Open question 1 of 1").click()
    option = sp.get_by_role("button", name=right, exact=True)
    expect(option).to_be_visible(timeout=30_000)
    option.click()
    sp.get_by_text("Answer saved").wait_for()
    expect(tp.get_by_test_id("live-answered").filter(has_text="answered 1 of 1")).to_be_visible(
        timeout=30_000
    )
    tp.get_by_role("button", name="Reveal the answers").click()
    expect(tp.get_by_test_id("live-reveal-summary").filter(has_text="1 of 1 right")).to_be_visible()
    expect(sp.get_by_test_id("live-my-rank")).to_be_visible(timeout=30_000)
    screenshot(tp, "nginx-live-projector-reveal")
    screenshot(sp, "nginx-live-phone-result")
    assert_no_error(tp)
    assert_no_error(sp)
    # Closed here for nginx's websocket log lines; after a failure, at teardown, after its screenshot.
    tctx.close()
    sctx.close()

    _each_on_its_own_server(pair, t_cookie, s_cookie)
