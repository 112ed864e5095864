"""Real browser: the study pages render without errors; Browse filters, opens an image, toggles boxes."""

from __future__ import annotations

import time

import pytest

from nnus_core.browse import organ_at
from nnus_core.dataset import load_dataset
from nnus_core.organs import ORGANS
from tests.browser.conftest import (
    app_runs,
    assert_no_error,
    boxdraw_origin,
    open_app_page,
    screenshot,
    server_with_model,
    settle,
    settle_after,
)

PAGES = [
    ("browse", "Filter images", "pages-browse-grid"),
    ("compare", "Compare ground truth and model", "pages-compare"),
    ("atlas", "Where does each organ usually sit?", "pages-atlas"),
    ("model_report", "Model report", "pages-model-report"),
]


@pytest.fixture
def fresh_server_url(browser_data_dir, tmp_path):
    """A server nobody has asked anything yet (the shared one has served other tests)."""
    for server in server_with_model(browser_data_dir, tmp_path):
        yield server.url


def test_deep_link_on_a_fresh_server_keeps_the_app_navigation(fresh_server_url, page, browser_data_dir):
    """First request of a fresh server: a shared link straight to an image.

    Streamlit would run pages/browse.py without app.py here (legacy `pages/` folder mode, listing
    every file of pages/ in the sidebar); pages._shared sends the run through app.py instead.
    """
    stem = load_dataset(browser_data_dir).samples[2].stem
    open_app_page(page, fresh_server_url, f"browse?image={stem}", marker="Teaching card")
    assert_no_error(page)
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert nav.get_by_text("Atlas & statistics").count() == 1
    assert nav.get_by_text("viewer", exact=True).count() == 0
    assert page.get_by_role("heading", name=f"{stem}.jpg").count() == 1
    screenshot(page, "pages-browse-deep-link")


@pytest.mark.parametrize(("path", "marker", "shot"), PAGES)
def test_page_renders_without_error(server_url, page, path, marker, shot):
    t0 = time.perf_counter()
    open_app_page(page, server_url, path, marker=marker)
    elapsed_s = time.perf_counter() - t0
    print(f"first load of {path}: {elapsed_s:.2f} s")
    assert_no_error(page)
    screenshot(page, shot)  # open_app_page waited for images and Plotly's drawing too
    # Loose bound: the < 3 s target is for a quiet machine; this one is shared while tests run.
    assert elapsed_s < 20, f"{path} took {elapsed_s:.1f} s to render"


def test_browse_filter_open_and_toggle_boxes(server_url, page, browser_data_dir):
    ds = load_dataset(browser_data_dir)
    open_app_page(page, server_url, "browse", marker="images match")

    # Filter by an organ: the thyroid must be present.
    page.get_by_label("Organs present (all of)").first.click()
    page.get_by_role("option", name="Thyroid").first.click()
    page.keyboard.press("Escape")
    settle(page)
    n_thyroid = sum(1 for s in ds.samples if 1 in s.organ_ids)
    page.get_by_text(f"{n_thyroid} of {len(ds)} images match").first.wait_for()
    assert_no_error(page)
    screenshot(page, "pages-browse-filtered")

    # Open the first image of the filtered grid.
    first = next(s for s in ds.samples if 1 in s.organ_ids)
    page.get_by_role("button", name=f"Open {first.stem}").first.click()
    page.get_by_text("Teaching card").first.wait_for()
    settle(page)
    assert f"image={first.stem}" in page.url
    assert_no_error(page)
    screenshot(page, "pages-browse-detail")

    # Toggle the model boxes (or, without a shipped model, see why they are off), then ground truth.
    model_toggle = page.get_by_role("switch", name="Model boxes")
    if model_toggle.is_enabled():
        was = model_toggle.is_checked()
        page.get_by_text("Model boxes", exact=True).click()
        settle(page)
        assert model_toggle.is_checked() != was
        screenshot(page, "pages-browse-detail-model-toggled")
    else:
        assert page.get_by_text("No model available").first.is_visible()
    page.get_by_text("Ground truth", exact=True).click()
    settle(page)
    assert not page.get_by_role("switch", name="Ground truth").is_checked()
    page.get_by_text("Ground truth", exact=True).click()
    settle(page)
    assert_no_error(page)

    # Clicking inside a labelled box opens that organ's teaching card (the card starts on the lowest id).
    boxes = [(a.organ_id, a.box) for a in first.annotations]
    target = next(
        a
        for a in sorted(first.annotations, key=lambda a: -a.organ_id)
        if organ_at(*a.box.center, boxes) == a.organ_id and a.organ_id != min(first.organ_ids)
    )
    x0, y0, s = boxdraw_origin(page, first.width)
    cx, cy = target.box.center
    runs = app_runs(page)
    page.mouse.click(x0 + cx * s, y0 + cy * s)
    settle_after(page, runs)  # the click reaches the app from the component
    name = ORGANS[target.organ_id].name
    page.wait_for_function(
        "(name) => (document.querySelector('[data-testid=\"teaching-card-title\"]') || {}).innerText?.includes(name)",
        arg=name,
        timeout=30_000,
    )
    screenshot(page, "pages-browse-detail-card")

    # Zoom in: the pan sliders appear; Reset brings the whole frame back.
    track = page.get_by_label("Zoom").first.bounding_box()
    assert track
    page.mouse.click(track["x"] + track["width"] * 0.5, track["y"] + track["height"] / 2)
    page.get_by_text("Pan left").first.wait_for()
    settle(page)
    assert_no_error(page)
    screenshot(page, "pages-browse-detail-zoomed")
    page.get_by_role("button", name="Reset").first.click()
    page.get_by_text("Pan left").first.wait_for(state="detached")
    assert_no_error(page)
