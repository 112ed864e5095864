"""Real browser, separate contexts: the first instructor on the localhost first-run screen, a class
and its join code, two students joining on phones, a reload that keeps the sign-in, a student who
opens the instructor page by URL, PIN sign-in on a second device, and sign-out."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import (
    assert_no_error,
    new_app_page,
    open_app_page,
    screenshot,
    submit_form,
)

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def accounts_server(server_url):
    """The shared app server (its own fresh database: no instructor yet, which the first-run form needs;
    the other browser tests on it answer as guests and never make one)."""
    return server_url


def _fill(page, label: str, value: str, nth: int = 0) -> None:
    box = page.get_by_label(label, exact=True).nth(nth)
    box.fill(value)


def _join(page, url: str, code: str, name: str, pin: str) -> None:
    open_app_page(page, url, "signin", marker="Join a class")
    _fill(page, "Class code", code)
    _fill(page, "Your name in the class", name)
    _fill(page, "Choose a PIN", pin)
    _fill(page, "Repeat the PIN", pin)
    page.get_by_role("button", name="Join").click()
    page.get_by_text("Signed in as").first.wait_for()
    _wait_for_sign_in_cookie(page)


def _wait_for_sign_in_cookie(page) -> None:
    """The page script has stored the sign-in in the browser (what a reload or a new tab reads)."""
    page.wait_for_function(
        "() => document.cookie.split('; ').some((c) => c.startsWith('nnus_signin=') && c.length > 13)"
    )


def test_instructor_class_students_and_privacy(browser, accounts_server):
    url = accounts_server
    teacher, tp = new_app_page(browser, viewport={"width": 1280, "height": 900})
    open_app_page(tp, url, "signin", marker="Join a class")
    tp.get_by_role("tab", name="Instructor").click()
    tp.get_by_text("First run").wait_for()
    _fill(tp, "Sign-in name (e-mail)", "teacher@school.edu")
    _fill(tp, "Your name", "Dr Teacher")
    _fill(tp, "Password (at least 10 characters)", "correct horse battery")
    tp.get_by_role("button", name="Create the instructor account").click()
    tp.get_by_text("Signed in as").first.wait_for()
    _wait_for_sign_in_cookie(tp)
    screenshot(tp, "accounts-instructor-signed-in")

    open_app_page(tp, url, "classes", marker="Classes")
    tp.get_by_text("New class").click()
    _fill(tp, "Class name", "Neck US <b>A</b>")
    code_box = tp.get_by_test_id("nnus-join-code")
    submit_form(
        tp, tp.get_by_role("button", name="Create", exact=True), tp.get_by_label("Class name"), code_box
    )
    assert_no_error(tp)
    code = code_box.inner_text().strip()
    assert re.fullmatch(r"[ACDEFGHJKMNPQRTUVWXY3479]{6}", code)
    assert tp.locator("b", has_text="A").count() == 0  # the class name is text, not markup

    a_ctx, ap = new_app_page(browser, **PHONE)
    _join(ap, url, code, "Ana", "1234")
    screenshot(ap, "accounts-student-joined-phone")
    ap.reload()  # a reload keeps the sign-in (cookie -> token -> user)
    open_app_page(ap, url, "signin")
    ap.get_by_text("Signed in as").first.wait_for()
    assert "Ana" in ap.get_by_text("Signed in as").first.inner_text()
    open_app_page(ap, url, "", marker="Welcome back")  # a student's Home: their class and next steps
    assert "Your classes: Neck US" in ap.locator('[data-testid="stMain"]').inner_text()
    ap.get_by_role("link", name="Continue practice").first.wait_for()
    screenshot(ap, "accounts-student-home-phone")

    # A student who types the instructor page's URL gets "instructors only", not the page.
    open_app_page(ap, url, "classes")
    ap.get_by_text("Instructors only").first.wait_for()
    assert ap.get_by_test_id("nnus-join-code").count() == 0

    # B cannot take A's name in the class, and a wrong PIN does not sign in as A.
    b_ctx, bp = new_app_page(browser, **PHONE)
    open_app_page(bp, url, "signin", marker="Join a class")
    _fill(bp, "Class code", code)
    _fill(bp, "Your name in the class", "ana")
    _fill(bp, "Choose a PIN", "9999")
    _fill(bp, "Repeat the PIN", "9999")
    bp.get_by_role("button", name="Join").click()
    bp.get_by_text("already uses the name").wait_for()
    bp.get_by_role("tab", name="Student sign-in").click()
    _fill(bp, "Class code", code, nth=1)
    _fill(bp, "Your name in the class", "Ana", nth=1)
    _fill(bp, "PIN", "0000")
    bp.get_by_role("button", name="Sign in").click()
    bp.get_by_text("The class code, name or PIN is not right").wait_for()
    _join(bp, url, code, "Ben", "5678")

    # A starts a quiz; B opens A's quiz URL in B's own browser and gets nothing of it.
    open_app_page(ap, url, "quiz", marker="New quiz")
    ap.get_by_text("Studying as").first.wait_for()
    ap.get_by_role("button", name="Start quiz").click()
    ap.wait_for_url(re.compile(r".*[?&]quiz="))
    quiz_url = ap.url
    bp.goto(quiz_url)
    bp.get_by_text("belongs to another student").wait_for()
    assert bp.get_by_role("button", name="Submit").count() == 0
    # My progress shows B's own (empty) record, never A's, and has no name box to type A's name into.
    open_app_page(bp, url, "progress", marker="Progress of")
    assert "Ben" in bp.get_by_text("Progress of").first.inner_text()
    assert "Ana" not in bp.locator('[data-testid="stMain"]').inner_text()
    assert bp.get_by_label("Your display name").count() == 0

    # The instructor sees both on the roster.
    open_app_page(tp, url, "classes", marker="Roster")
    tp.get_by_text("2 student(s)").wait_for()
    screenshot(tp, "accounts-instructor-class")
    assert_no_error(tp)

    # A's second device: PIN sign-in, then sign-out ends it.
    c_ctx, cp = new_app_page(browser, viewport={"width": 1280, "height": 900})
    open_app_page(cp, url, "signin", marker="Join a class")
    cp.get_by_role("tab", name="Student sign-in").click()
    _fill(cp, "Class code", code, nth=1)
    _fill(cp, "Your name in the class", "ana", nth=1)
    _fill(cp, "PIN", "1234")
    cp.get_by_role("button", name="Sign in").click()
    cp.get_by_text("Signed in as").first.wait_for()
    _wait_for_sign_in_cookie(cp)
    cp.get_by_role("button", name="Sign out").click()
    cp.get_by_text("Join a class").first.wait_for()
    cp.reload()
    open_app_page(cp, url, "signin", marker="Join a class")
    assert cp.get_by_text("Signed in as").count() == 0
    for ctx in (teacher, a_ctx, b_ctx, c_ctx):
        ctx.close()
