"""Real browser: a first-time student from Home through the guided path (a labelled image, an organ
card, the 5-question starter quiz) to the quiz summary, at desktop size with a mouse and at phone size
by touch; plus the crowded detail view and the phone Browse grid."""

from __future__ import annotations

import re

import pytest

from nnus_core.browse import first_image
from nnus_core.dataset import load_dataset
from tests.browser.conftest import assert_no_error, new_app_page, open_app_page, screenshot, settle

VIEWPORTS = {
    "desktop": dict(viewport={"width": 1440, "height": 900}),
    "phone": dict(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True),
}


@pytest.fixture(params=list(VIEWPORTS))
def device(request, browser):
    ctx, pg = new_app_page(browser, **VIEWPORTS[request.param])
    yield request.param, pg
    ctx.close()


def _press(page, locator, touch: bool) -> None:
    """Tap on a phone, click on a desktop."""
    locator.scroll_into_view_if_needed()
    if touch:
        locator.tap()
    else:
        locator.click()


def _fits_the_width(page) -> bool:
    """Nothing runs past the right edge of the window (no sideways scrolling of the page)."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_first_time_student_goes_from_home_to_a_finished_quiz(server_url, device, browser_data_dir):
    name, page = device
    touch = name == "phone"
    ds = load_dataset(browser_data_dir)
    first = first_image(ds.samples)

    # Home: what this is and where to start, before any technical detail.
    open_app_page(page, server_url, "", marker="Start here")
    settle(page)
    assert_no_error(page)
    assert page.get_by_text("Learn to recognise the organs").first.is_visible()
    assert not page.get_by_text(str(browser_data_dir)).first.is_visible(), "the server path is one click away"
    assert _fits_the_width(page)
    screenshot(page, f"journey-{name}-1-home")

    # Step 1: a labelled image.
    _press(page, page.get_by_role("link", name="Open a labelled image"), touch)
    page.get_by_role("heading", name=f"{first.stem}.jpg").wait_for()
    page.get_by_text("Teaching card").first.wait_for()
    settle(page)
    assert_no_error(page)
    assert f"image={first.stem}" in page.url
    screenshot(page, f"journey-{name}-2-image")

    # Step 2: an organ card (from Home, as the guided path offers it).
    open_app_page(page, server_url, "", marker="Start here")
    settle(page)
    _press(page, page.get_by_role("link", name=re.compile(r"^Read the .+ card$")), touch)
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=\"teaching-card-title\"]') || {}).innerText?.includes('Thyroid')",
        timeout=30_000,
    )
    settle(page)
    card = page.get_by_test_id("teaching-card-title").first
    card.scroll_into_view_if_needed()
    assert page.get_by_text("Scanning tip.").first.is_visible()
    assert_no_error(page)
    screenshot(page, f"journey-{name}-3-card")

    # Step 3: the starter quiz, answered by tapping.
    open_app_page(page, server_url, "", marker="Start here")
    settle(page)
    _press(page, page.get_by_role("link", name="Start the 5-question quiz"), touch)
    page.get_by_text("Practising as a").first.wait_for()  # a guest: no name, no sign-in needed
    page.get_by_text("Starter quiz").first.wait_for()
    settle(page)
    assert page.get_by_role("spinbutton", name="Questions").input_value() == "5"
    screenshot(page, f"journey-{name}-4-quiz-setup")
    _press(page, page.get_by_role("button", name="Start quiz"), touch)
    for i in range(5):
        page.get_by_text(f"Question {i + 1} of 5").first.wait_for()
        settle(page)
        # Either question kind: wait until its answer widget is on screen.
        page.locator('[role="radiogroup"], button:has-text("Yes, visible")').first.wait_for()
        screenshot(page, f"journey-{name}-q{i + 1}")
        radio = page.get_by_role("radiogroup")
        if radio.count():  # Identify: name the outlined organ (any answer: the point is the feedback)
            _press(page, radio.first.locator("label").first, touch)
            settle(page)
            _press(page, page.get_by_role("button", name="Submit answer"), touch)
        else:  # Present?: yes or no
            _press(page, page.get_by_role("button", name="Yes, visible"), touch)
        page.get_by_test_id("quiz-headline").first.wait_for()
        settle(page)
        # A wrong answer's verdict is an error box by design: only an exception is a failure here.
        assert page.get_by_test_id("stException").count() == 0
        if i == 0:
            screenshot(page, f"journey-{name}-5-feedback")
        if i < 4:
            _press(page, page.get_by_role("button", name="Next question"), touch)
    _press(page, page.get_by_role("button", name="See the summary"), touch)
    page.get_by_text("Quiz complete").first.wait_for()
    settle(page)
    assert_no_error(page)
    assert _fits_the_width(page)
    screenshot(page, f"journey-{name}-6-summary")


def test_crowded_detail_view_with_truth_and_model(server_url, page, browser_data_dir):
    """The most crowded image with ground truth and model on: one tag per box, the table not cut off."""
    ds = load_dataset(browser_data_dir)
    crowded = max(ds.samples, key=lambda s: len(s.annotations))
    page.set_viewport_size({"width": 1440, "height": 900})
    open_app_page(page, server_url, f"browse?image={crowded.stem}", marker="Teaching card")
    settle(page)
    assert_no_error(page)
    model = page.get_by_role("switch", name="Model boxes")
    if model.is_enabled():
        assert model.is_checked()
    legend = page.get_by_test_id("organ-legend").first
    assert "(" in legend.inner_text(), "the legend names the tags drawn on the image (TRA, STR ...)"
    table = page.get_by_test_id("detail-boxes").first
    table.scroll_into_view_if_needed()
    tb = table.bounding_box()
    main = page.locator('[data-testid="stMainBlockContainer"]').bounding_box()
    assert tb and main and tb["x"] + tb["width"] <= main["x"] + main["width"] + 1
    screenshot(page, "journey-crowded-detail")


def test_phone_browse_points_to_the_hidden_filters(server_url, browser):
    ctx, page = new_app_page(browser, **VIEWPORTS["phone"])
    try:
        open_app_page(page, server_url, "browse", marker="images match")
        hint = page.get_by_test_id("browse-filter-hint").first
        hint.wait_for()
        settle(page)
        assert "sidebar" in hint.inner_text()
        filters = page.get_by_text("Organs present (all of)").first
        box = filters.bounding_box()
        assert box is None or box["x"] + box["width"] <= 1, "on a phone the sidebar starts closed"
        assert page.get_by_test_id("organ-legend").first.is_visible()
        assert _fits_the_width(page)
        screenshot(page, "journey-phone-browse")
        # The » the hint points to opens the filters.
        page.get_by_test_id("stExpandSidebarButton").first.tap()
        page.wait_for_function(
            "() => [...document.querySelectorAll('label')].some(l => l.innerText.includes('Organs present')"
            " && l.getBoundingClientRect().left >= 0)",
            timeout=10_000,
        )
        screenshot(page, "journey-phone-browse-filters-open")
    finally:
        ctx.close()


def test_label_all_remove_buttons_are_not_cut_off(server_url, page, browser_data_dir):
    """A Label-all answer with a box added: its Remove button shows its whole label, not "Rem…"."""
    from tests.browser.test_quiz_browser import _drag

    ds = load_dataset(browser_data_dir)
    page.set_viewport_size({"width": 1440, "height": 900})
    open_app_page(page, server_url, "quiz", marker="Practising as a")
    settle(page)
    kinds = page.get_by_test_id("stMultiSelect").filter(has_text="Question types").first
    kinds.locator("input").first.click()
    page.get_by_role("option", name="Label all").first.click()
    page.keyboard.press("Escape")
    settle(page)
    # Drop the default Locate: its chip's delete cross.
    page.get_by_role("button", name="Remove Locate").first.click()
    settle(page)
    n = page.get_by_role("spinbutton", name="Questions")
    n.fill("1")
    n.press("Enter")
    settle(page)
    page.get_by_role("button", name="Start quiz").click()
    page.get_by_role("button", name="Submit labels").wait_for()
    settle(page)
    stem = re.search(r"image (\S+)", page.get_by_text(re.compile(r"^image \S+$")).first.inner_text()).group(1)
    sample = ds.get(stem)
    a = sample.annotations[0]
    _drag(page, sample, (a.box.x1 + 2, a.box.y1 + 2), (a.box.x2 - 2, a.box.y2 - 2))
    settle(page)
    screenshot(page, "journey-label-all-drawn")
    page.get_by_test_id("stSelectbox").filter(has_text="Organ of the new box").first.locator(
        "input"
    ).first.click()
    page.get_by_role("option", name=a.organ.name).first.click()
    settle(page)
    page.get_by_role("button", name="Add box").click()
    remove = page.get_by_role("button", name="Remove").first
    remove.wait_for()
    settle(page)
    assert "Remove" in remove.inner_text()
    label = remove.locator("p").first
    assert label.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), "the Remove label is cut off"
    screenshot(page, "journey-label-all-remove")
