"""Real browser, one whole live session: the instructor starts it, three students (one on a touch
phone) join by code, answer a Locate and an Identify question, one reloads mid-question and keeps
the answer, the projector shows the class's boxes and the bar chart, the answers CSV downloads."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from nnus_core.accounts import service as acc
from nnus_core.dataset import load_dataset
from nnus_core.live import LiveService
from nnus_core.quiz.questions import gt_boxes
from nnus_core.store import db as dbm
from tests.browser.conftest import (
    app_runs,
    assert_no_error,
    boxdraw_origin,
    boxdraw_value,
    mouse_drag,
    new_app_page,
    open_app_page,
    server_with_model,
    settle,
    settle_after,
    touch_drag,
)

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}
SHOTS = Path("/work/shots-live")


def shot(page, name: str, full: bool = False) -> None:
    from tests.browser.conftest import screenshot

    screenshot(page, f"live-{name}")
    if SHOTS.parent.is_dir():
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


@pytest.fixture(scope="module")
def live_server(browser_data_dir, tmp_path_factory):
    """A server of its own: the session needs an instructor, and the shared server's database must
    have none (its first-run screen is tested on it)."""
    base = tmp_path_factory.mktemp("live-browser")
    yield from server_with_model(browser_data_dir, base)


def _drag(page, sample, box, touch: bool = False) -> None:  # noqa: ANN001
    """Drag over `box` (image pixels) on the drawing component, by mouse or by one finger; wait for
    the run it starts."""
    for attempt in range(2):
        x0, y0, s = boxdraw_origin(page, sample.width)
        runs = app_runs(page)
        start, end = (x0 + box.x1 * s, y0 + box.y1 * s), (x0 + box.x2 * s, y0 + box.y2 * s)
        (touch_drag if touch else mouse_drag)(page, start, end)
        settle_after(page, runs)  # the polling fragment's runs count too
        if boxdraw_value(page) is not None:
            return
        # Seen intermittently: the component showed no box after a drag. One cause was found and fixed
        # (a box at the image's lower edge lay below the fold, where no pointer event reaches the
        # page: `boxdraw_origin` now scrolls the image into view). A student would drag again; so
        # does the test, once, and says so.
        print(f"boxdraw: drag {attempt + 1} left no box; dragging again")
    raise AssertionError("two drags left no box on the drawing component")


def test_a_whole_live_session_in_chromium(browser, live_server, browser_data_dir):
    url = live_server.url
    engine = dbm.make_engine(f"sqlite:///{live_server.db}")
    dbm.migrate(engine)
    teacher = acc.create_instructor(
        engine, None, "t@school.edu", "Dr T", "correct horse battery", first_run=True
    )
    token = acc.browser_token(engine, teacher)
    svc = LiveService(engine, load_dataset(browser_data_dir))

    # The instructor (signed in by cookie) starts a 2-question session: Locate, then Identify.
    tctx, tp = new_app_page(browser, **DESKTOP)
    tctx.add_cookies([{"name": "nnus_signin", "value": token, "url": url}])
    open_app_page(tp, url, "live", marker="New live session")
    n = tp.get_by_role("spinbutton", name="Questions")
    n.fill("2")  # in a form: sent with the submit button
    tp.get_by_label("Time per question").click()  # time enough for three browsers on a busy machine
    tp.get_by_role("option", name="120 s").click()
    tp.get_by_role("button", name="Start the session").click()
    code_el = tp.get_by_test_id("live-code")
    code_el.wait_for()
    code = code_el.inner_text().strip()
    assert re.fullmatch(r"[ACDEFGHJKMNPQRTUVWXY3479]{6}", code)
    sess = svc.find_by_code(acc.Actor(client="test"), code)

    # Three students join by code: two at desks, one on a touch phone (through the QR's URL).
    students = []
    for name, ctx_args in (("Ana", DESKTOP), ("Ben <b>", DESKTOP), ("Cy", PHONE)):
        ctx, pg = new_app_page(browser, **ctx_args)
        open_app_page(pg, url, f"join?code={code}", marker="Join a live quiz")
        pg.get_by_label("Your name (the room sees it)").fill(name)
        pg.get_by_role("button", name="Join").click()
        pg.get_by_test_id("live-my-name").wait_for()
        assert pg.get_by_test_id("live-my-name").inner_text() == name  # a name is text, not markup
        students.append((name, ctx, pg))
    tp.get_by_test_id("live-joined").filter(has_text="3 joined").wait_for()
    settle(tp)
    shot(tp, "projector-lobby")
    assert_no_error(tp)

    # Question 1 (Locate): the same image and task on every phone; each drags a box.
    tp.get_by_role("button", name="Open question 1 of 2").click()
    q0, sample0 = svc.question(sess.id, 0)
    truth = gt_boxes(sample0, q0.question.organ_id)[0]
    other = next(a.box for a in sample0.annotations if a.organ_id != q0.question.organ_id)
    boxes = {"Ana": truth, "Ben <b>": other, "Cy": truth}
    for name, _ctx, pg in students:
        pg.get_by_role("button", name="Submit box").wait_for()
        settle(pg)
        _drag(pg, sample0, boxes[name], touch=name == "Cy")
        if name == "Cy":
            submit = pg.get_by_role("button", name="Submit box").bounding_box()
            assert submit["y"] + submit["height"] <= 844, (
                "the submit button is below the phone's first screen"
            )
            shot(pg, "phone-question")
        pg.get_by_role("button", name="Submit box").click()
        pg.get_by_text("Answer saved").wait_for()
    # Ana reloads mid-question: back on the question, with her answer kept.
    ana = students[0][2]
    ana.reload()
    ana.get_by_text("Answer saved").wait_for()
    assert ana.get_by_role("button", name="Submit box").count() == 0
    tp.get_by_test_id("live-answered").filter(has_text="answered 3 of 3").wait_for()
    settle(tp)
    shot(tp, "projector-question")

    tp.get_by_role("button", name="Reveal the answers").click()
    tp.get_by_test_id("live-reveal-summary").filter(has_text="2 of 3 right").wait_for()
    settle(tp)
    assert tp.locator('[data-testid="stImage"] img').count() >= 1  # the class's boxes over the image
    assert tp.get_by_text("of you boxed the").count() == 1  # the most common wrong place, explained
    shot(tp, "projector-reveal-locate", full=True)
    board = tp.get_by_test_id("live-leaderboard")
    assert "Ben &lt;b&gt;" not in board.inner_text() and "Ben <b>" in board.inner_text()
    board.scroll_into_view_if_needed()
    shot(tp, "projector-leaderboard", full=True)
    for _name, _ctx, pg in students:  # each phone shows its own result and rank
        pg.get_by_test_id("live-my-rank").wait_for()
    shot(students[2][2], "phone-result")

    # Question 2 (Identify): a tap on an option answers; the projector's bar chart marks the right one.
    tp.get_by_role("button", name="Next: question 2").click()
    q1, _ = svc.question(sess.id, 1)
    from nnus_core.organs import ORGANS

    right, wrong = (
        ORGANS[q1.question.organ_id].name,
        next(ORGANS[c].name for c in q1.question.choices if c != q1.question.organ_id),
    )
    for name, _ctx, pg in students:
        option = pg.get_by_role("button", name=right if name != "Cy" else wrong, exact=True)
        if name == "Cy":
            option.wait_for()
            settle(pg)
            last = pg.locator('[data-testid="stButton"]').nth(3).bounding_box()  # the fourth option
            assert last["y"] + last["height"] <= 844, "an option is below the phone's first screen"
            shot(pg, "phone-identify")
        option.click()
        pg.get_by_text("Answer saved").wait_for()
    tp.get_by_test_id("live-answered").filter(has_text="answered 3 of 3").wait_for()
    tp.get_by_role("button", name="Reveal the answers").click()
    tp.get_by_test_id("live-reveal-summary").filter(has_text="2 of 3 right").wait_for()
    tp.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
    settle(tp)
    shot(tp, "projector-reveal-identify", full=True)

    # Finish: the report, and the per-answer export downloads.
    tp.get_by_role("button", name="Finish: results and export").click()
    tp.get_by_text("Session report").wait_for()
    settle(tp)
    with tp.expect_download() as dl:
        tp.get_by_role("button", name="Every answer (CSV)").click()
    rows = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text())))
    assert rows[0][0] == "student" and len(rows) == 1 + 6
    assert sorted(r[0] for r in rows[1:]) == ["Ana", "Ana", "Ben <b>", "Ben <b>", "Cy", "Cy"]
    shot(tp, "projector-report", full=True)
    assert_no_error(tp)
    for _name, ctx, _pg in students:
        ctx.close()
    tctx.close()
    engine.dispose()
