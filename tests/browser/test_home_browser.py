"""Real browser: the Home page renders with the active dataset and no error element."""

from __future__ import annotations

from tests.browser.conftest import assert_no_error, open_app_page, screenshot


def test_home_renders_in_chromium(server_url, page):
    open_app_page(page, server_url, "", marker="Active dataset")
    assert_no_error(page)
    assert page.get_by_text("Images").first.is_visible()
    screenshot(page, "home")
