"""Real browser: the box-drawing component by touch on a phone (CDP touch events, 390x844) and by mouse.

A Locate question drawn with a finger lands where the finger went (to a few pixels), a cancelled touch
changes nothing, the question fits the phone's screen down to its submit button, and the answer
submitted by touch is scored and stored. Label all takes several named boxes drawn with the mouse.
"""

from __future__ import annotations

import re
import sqlite3

from playwright.sync_api import expect

from nnus_core.dataset import load_dataset
from nnus_core.organs import ORGANS
from tests.browser.conftest import (
    BOXDRAW,
    app_runs,
    assert_no_error,
    boxdraw_origin,
    boxdraw_value,
    mouse_drag,
    new_app_page,
    open_app_page,
    screenshot,
    settle,
    settle_after,
    touch_drag,
)

PHONE = {"has_touch": True, "is_mobile": True, "viewport": {"width": 390, "height": 844}}
TOLERANCE_PX = 3.0  # image pixels (the phone shows the 494-px image ~360 px wide)


def _start(page, url: str, n: int, kind_title: str | None = None) -> None:
    open_app_page(page, url, "quiz", marker="Practising as a")
    box = page.get_by_role("spinbutton", name="Questions")
    box.fill(str(n))
    box.press("Enter")
    settle(page)
    if kind_title:  # replace the default "Locate" by another kind
        kinds = page.get_by_test_id("stMultiSelect").filter(has_text="Question types")
        kinds.get_by_role("button", name=re.compile("Delete|Remove|Clear", re.I)).first.click()
        settle(page)
        kinds.click()
        page.get_by_role("option", name=kind_title, exact=True).click()
        page.keyboard.press("Escape")
        settle(page)
    page.get_by_role("button", name="Start quiz").click()
    page.get_by_test_id("stProgress").first.wait_for()
    settle(page)


def _shown(page, ds):
    """The organ asked (Locate) and the sample shown, read from the page."""
    stem = re.search(r"image (\S+)", page.get_by_text(re.compile(r"^image \S+$")).first.inner_text()).group(1)
    heading = page.get_by_role("heading", name=re.compile(r"^Draw a box around the ")).first
    organ = None
    if heading.count():
        name = heading.inner_text().removeprefix("Draw a box around the ").rstrip(".").strip().lower()
        organ = next(o for o in ORGANS if o.name.lower() == name)
    return organ, ds.get(stem)


def _near(got, want) -> bool:
    return all(abs(a - b) <= TOLERANCE_PX for a, b in zip(got, want, strict=True))


def test_locate_by_touch_on_a_phone(browser, app_server, browser_data_dir):
    ds = load_dataset(browser_data_dir)
    ctx, page = new_app_page(browser, **PHONE)
    try:
        _start(page, app_server.url, 6)  # 15 % of Locate questions are absent organs: 6 all but rule out none
        organ, sample = _shown(page, ds)
        gts = [a.box for a in sample.annotations if a.organ_id == organ.id]
        skipped = 0
        while not gts and skipped < 5:  # an absent organ: answer so, take the next question
            page.get_by_role("button", name="Not visible here").tap()
            page.get_by_role("button", name="Next question").tap()
            page.get_by_role("button", name="Submit box").wait_for()
            settle(page)
            skipped += 1
            organ, sample = _shown(page, ds)
            gts = [a.box for a in sample.annotations if a.organ_id == organ.id]
        assert gts, "six absent-organ questions in a row"
        gt = gts[0]

        # The question fits the phone: the submit button is on screen without scrolling.
        page.evaluate(
            "() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })"
        )
        submit = page.get_by_role("button", name="Submit box")
        sb = submit.bounding_box()
        assert sb and sb["y"] + sb["height"] <= 844, f"submit button ends at {sb['y'] + sb['height']:.0f} px"
        screenshot(page, "boxdraw-phone-question")

        x0, y0, s = boxdraw_origin(page, sample.width)
        assert s < 0.8  # the image is scaled down on the phone: the scaling is exercised
        to_page = lambda x, y: (x0 + x * s, y0 + y * s)  # noqa: E731

        # A finger drags from one corner of the organ to the other: the box lands there.
        runs = app_runs(page)
        touch_drag(page, to_page(gt.x1, gt.y1), to_page(gt.x2, gt.y2))
        settle_after(page, runs)
        got = boxdraw_value(page)
        assert got and _near(got, gt.as_tuple()), (got, gt)
        page.get_by_text(re.compile(r"Your box: \d+ × \d+ px")).first.wait_for()

        # A reversed drag past the image's top-left edge is sorted and clipped.
        runs = app_runs(page)
        touch_drag(page, to_page(gt.x2, gt.y2), (x0 - 30, y0 - 30))
        settle_after(page, runs)
        got = boxdraw_value(page)
        assert got and _near(got, (0, 0, gt.x2, gt.y2)), got
        page.get_by_text("clipped to the image").first.wait_for()
        page.get_by_text("corners were sorted").first.wait_for()

        # Redraw; then a touch the browser cancels changes nothing.
        runs = app_runs(page)
        touch_drag(page, to_page(gt.x1, gt.y1), to_page(gt.x2, gt.y2))
        settle_after(page, runs)
        before = boxdraw_value(page)
        touch_drag(page, to_page(5, 5), to_page(60, 60), cancel=True)
        assert boxdraw_value(page) == before
        page.evaluate(
            "() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })"
        )
        sb = submit.bounding_box()
        assert sb and sb["y"] + sb["height"] <= 844, (
            f"with a box, submit ends at {sb['y'] + sb['height']:.0f} px"
        )
        screenshot(page, "boxdraw-phone-box-drawn")

        with sqlite3.connect(app_server.db) as conn:
            n_before = conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0]
        submit.tap()
        headline = page.get_by_test_id("quiz-headline").first
        headline.wait_for()
        settle(page)
        text = headline.inner_text()
        you_iou = float(re.match(r"you (\d\.\d\d)", text).group(1))
        assert you_iou >= 0.9, text
        with sqlite3.connect(app_server.db) as conn:
            rows = conn.execute("SELECT organ_id, iou FROM attempts ORDER BY id DESC LIMIT 1").fetchall()
            assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == n_before + 1
        assert rows[0][0] == organ.id and abs(rows[0][1] - you_iou) < 0.006
        assert_no_error(page)
        screenshot(page, "boxdraw-phone-feedback")
    finally:
        ctx.close()


def test_label_all_by_mouse(page, app_server, browser_data_dir):
    ds = load_dataset(browser_data_dir)
    _start(page, app_server.url, 1, "Label all")
    _, sample = _shown(page, ds)
    targets = list({a.organ_id: a for a in reversed(sample.annotations)}.values())[:2]  # two organs
    for a in targets:
        x0, y0, s = boxdraw_origin(page, sample.width)
        runs = app_runs(page)
        # drawn from the bottom-right corner (pressed just inside the image): the corners are sorted
        x2, y2 = min(a.box.x2, sample.width - 1), min(a.box.y2, sample.height - 1)
        mouse_drag(page, (x0 + x2 * s, y0 + y2 * s), (x0 + a.box.x1 * s, y0 + a.box.y1 * s))
        settle_after(page, runs)
        assert _near(boxdraw_value(page), a.box.as_tuple())
        organ = page.get_by_test_id("stSelectbox").filter(has_text="Organ of the new box")
        organ.click()
        page.get_by_role("option", name=ORGANS[a.organ_id].name, exact=True).click()
        # Waiting for the run the choice starts timed out once in CI (60 s, the choice shown and
        # no run counted); the click on Add below sends the choice with it either way, so the test
        # waits for the choice to be shown and the app to be idle, then for Add's own run.
        expect(organ.get_by_role("combobox")).to_have_value(ORGANS[a.organ_id].name)
        settle(page)
        runs = app_runs(page)
        page.get_by_role("button", name="Add box").click()
        settle_after(page, runs)
        # the added box is a labelled reference box now; the drawing starts empty again
        expect(page.locator(BOXDRAW).first).to_have_attribute("data-box", "")
    expect(page.get_by_role("button", name="Remove")).to_have_count(len(targets))
    for a in targets:
        expect(page.get_by_role("listitem").filter(has_text=ORGANS[a.organ_id].name).first).to_be_visible()
    screenshot(page, "boxdraw-label-all")
    page.get_by_role("button", name="Submit labels").click()
    page.get_by_test_id("quiz-headline").first.wait_for()
    settle(page)
    assert_no_error(page)
    assert page.get_by_text(
        re.compile(rf"\b{len(targets)} of {len(sample.annotations)} organs found")
    ).count()


def test_a_drag_started_on_or_just_off_the_edge_still_draws(page, app_server, browser_data_dir):
    """A box that reaches the image's edge (strap muscles and sternocleidomastoid often do) is drawn
    from the edge: a press on the last pixel, or a fingertip's width outside the image, starts the
    drag there (clamped to the image), by mouse and by touch."""
    ds = load_dataset(browser_data_dir)
    _start(page, app_server.url, 1)
    _, sample = _shown(page, ds)
    x0, y0, s = boxdraw_origin(page, sample.width)
    right, bottom = x0 + sample.width * s, y0 + sample.height * s
    cases = [
        ((x0, y0 + 40 * s), (x0 + 200 * s, y0 + 120 * s), (0, 40, 200, 120)),  # on the left edge
        ((x0 - 8, y0 + 40 * s), (x0 + 200 * s, y0 + 120 * s), (0, 40, 200, 120)),  # 8 px left of it
        ((right + 8, bottom + 8), (x0 + 300 * s, y0 + 330 * s), (300, 330, sample.width, sample.height)),
    ]
    for start, end, want in cases:
        runs = app_runs(page)
        mouse_drag(page, start, end)
        settle_after(page, runs)
        got = boxdraw_value(page)
        assert got and _near(got, want), (start, got, want)
    page.get_by_text("clipped to the image").first.wait_for()
    assert_no_error(page)
