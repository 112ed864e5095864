"""Real browser: the Home page renders with the guided path first, the active dataset one click away."""

from __future__ import annotations

from tests.browser.conftest import assert_no_error, open_app_page, screenshot


def test_home_renders_in_chromium(server_url, page):
    open_app_page(page, server_url, "", marker="Start here")
    assert_no_error(page)
    assert not page.get_by_text("Images", exact=True).first.is_visible()
    page.get_by_text("Technical details: dataset, model, data sources").first.click()
    page.get_by_text("Images", exact=True).first.wait_for()
    assert page.get_by_text("Images", exact=True).first.is_visible()
    screenshot(page, "home")
