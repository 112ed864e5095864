"""Real browser: an instructor builds a question set from Browse, assigns it to a class; two students
take it from Home (the second after the due date, moved through the service: marked late); the
dashboard shows both, drills down, and the gradebook downloads."""

from __future__ import annotations

import csv
import io
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from nnus_core.accounts import Actor
from nnus_core.accounts import service as acc
from nnus_core.classroom import assignments as asg
from nnus_core.classroom import sets
from nnus_core.dataset import load_dataset
from nnus_core.store import db as dbm
from tests.browser.conftest import (
    ARTIFACTS,
    app_runs,
    assert_no_error,
    new_app_page,
    open_app_page,
    screenshot,
    server_with_model,
    settle,
    settle_after,
)

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def classroom(browser_data_dir, tmp_path_factory):
    """Its own server and database: an instructor, a class and two students made through the service."""
    base = tmp_path_factory.mktemp("classroom-server")
    gen = server_with_model(browser_data_dir, base)
    server = next(gen)
    engine = dbm.make_engine(f"sqlite:///{server.db}")
    dbm.migrate(engine)
    teacher = acc.create_instructor(
        engine, None, "t@school.edu", "Dr Tee", "correct horse battery", first_run=True
    )
    klass = acc.create_class(engine, Actor(teacher), "Neck US group A", "Spring")
    ana, _ = acc.join_class(engine, Actor(client="10.0.0.2"), klass.join_code, "Ana", "1234")
    ben, _ = acc.join_class(engine, Actor(client="10.0.0.3"), klass.join_code, "Ben", "5678")
    yield {
        "data": browser_data_dir,
        "url": server.url,
        "engine": engine,
        "teacher": teacher,
        "class": klass,
        "ana": ana,
        "ben": ben,
    }
    engine.dispose()
    next(gen, None)


def _signed_in(browser, engine, url, user, **ctx):
    context, page = new_app_page(browser, **ctx)
    host = url.split("//")[1].split(":")[0]
    context.add_cookies(
        [{"name": "nnus_signin", "value": acc.browser_token(engine, user), "domain": host, "path": "/"}]
    )
    return context, page


def _take(page, url) -> None:
    """From Home: start the open assignment and answer every question ("not visible" is an answer)."""
    open_app_page(page, url, "", marker="Your assignments")
    page.get_by_role("button", name="Start").click()
    page.get_by_role("button", name="Not visible here").wait_for()
    while True:
        page.get_by_role("button", name="Not visible here").click()
        nxt = page.get_by_role("button", name="Next question").or_(
            page.get_by_role("button", name="See the summary")
        )
        nxt.first.wait_for()
        if page.get_by_role("button", name="See the summary").count():
            break
        runs = app_runs(page)
        page.get_by_role("button", name="Next question").click()
        settle_after(page, runs)
    settle(page)


def test_build_assign_take_late_dashboard_export(browser, classroom):
    url, engine = classroom["url"], classroom["engine"]
    ds = load_dataset(classroom["data"])
    stems = [s.stem for s in ds.samples if s.organ_ids][:2]

    # The instructor adds two images' questions to a new set from Browse.
    tctx, tp = _signed_in(browser, engine, url, classroom["teacher"], viewport={"width": 1440, "height": 900})
    for n, stem in enumerate(stems):
        open_app_page(tp, url, f"browse?image={stem}", marker="Quiz me on this image")
        tp.get_by_role("button", name="Add to set").click()
        if n == 0:
            tp.get_by_label("Title of the new set").fill("Homework: the neck")
        runs = app_runs(tp)
        tp.get_by_role("button", name="Add", exact=True).click()
        settle_after(tp, runs)
        tp.get_by_text(f"{n + 1} question(s)").first.wait_for()
        assert_no_error(tp)
    mine = sets.list_sets(engine, Actor(classroom["teacher"]))
    assert [s.title for s in mine] == ["Homework: the neck"] and len(mine[0].items) == 2

    # ... and assigns it to the class on the Question sets page (opens now, due in a week).
    open_app_page(tp, url, "sets", marker="Assign to a class")
    given = lambda: asg.class_assignments(engine, Actor(classroom["teacher"]), classroom["class"].id)  # noqa: E731
    tp.get_by_role("button", name="Assign").click()
    # Wait for what the click does, not for a run: in about one clean-clone run in three this click
    # started no run the test could see within 60 s (a lost click or a run the counter missed; not
    # traced). Nothing stored after 20 s: the click was lost, and is made again, once, and said.
    try:
        tp.get_by_text("Assigned").first.wait_for(timeout=20_000)
    except PlaywrightTimeout:
        assert not given(), "assigned, but the page never said so"
        print("classroom: the Assign click stored nothing within 20 s; clicking again")
        tp.get_by_role("button", name="Assign").click()
        tp.get_by_text("Assigned").first.wait_for(timeout=60_000)
    settle(tp)
    [hw] = given()
    assert hw.n_questions == 2 and hw.due_s > time.time()

    # Ana takes it on her phone in time.
    actx, ap = _signed_in(browser, engine, url, classroom["ana"], **PHONE)
    _take(ap, url)
    screenshot(ap, "classroom-student-done-phone")
    actx.close()
    # The due date passes (moved through the service, no waiting); Ben answers late.
    asg.set_dates(engine, Actor(classroom["teacher"]), hw.id, due_s=time.time())  # after her last answer
    bctx, bp = _signed_in(browser, engine, url, classroom["ben"])
    open_app_page(bp, url, "", marker="Your assignments")
    bp.get_by_text("past due").first.wait_for()
    _take(bp, url)
    bctx.close()

    # The dashboard shows both, Ben's two answers late; the drill-down shows an answer's image.
    open_app_page(tp, url, "dashboard", marker="Class dashboard")
    tp.get_by_label("Answers").click()
    tp.get_by_role("option", name="Homework: the neck").click()
    tp.get_by_text("Download the gradebook (CSV)").wait_for()
    settle(tp)
    table = tp.locator('[data-testid="stDataFrame"]').first
    table.wait_for()
    late = tp.locator('[data-testid="stMetric"]', has_text="Late answers")
    assert late.inner_text().split()[-1] == "2"
    answers = tp.locator('[data-testid="stMetric"]', has_text="Answers")
    assert answers.first.inner_text().split()[-1] == "4"
    assert_no_error(tp)
    screenshot(tp, "classroom-dashboard")
    drill = tp.locator(".st-key-dash_drill_0")
    drill.locator("img").wait_for()
    drill.scroll_into_view_if_needed()
    tp.screenshot(path=str(ARTIFACTS / "classroom-drill-down.png"))
    with tp.expect_download() as dl:
        tp.get_by_role("button", name="Download the gradebook (CSV)").click()
    rows = list(csv.reader(io.StringIO(open(dl.value.path(), encoding="utf-8").read())))
    assert rows[0][5] == "Homework: the neck" and rows[1][5] == "2"
    assert sorted(r[0] for r in rows[2:]) == ["Ana", "Ben"]
    with tp.expect_download() as dl2:
        tp.get_by_role("button", name="Download every answer (CSV)").click()
    per = list(csv.DictReader(io.StringIO(open(dl2.value.path(), encoding="utf-8").read())))
    assert sorted((r["student"], r["late"]) for r in per) == [("Ana", "no")] * 2 + [("Ben", "yes")] * 2
    tctx.close()
