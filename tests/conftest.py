"""Shared fixtures: offline ultralytics, small NNUS-format datasets built in tmp folders."""

from __future__ import annotations

import os

os.environ.setdefault("YOLO_OFFLINE", "1")
# Unexpected errors propagate with their traceback in tests (the app shows a reference id instead).
os.environ.setdefault("NNUS_ERROR_DETAILS", "1")
os.environ.setdefault("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", "full")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402 - after the environment the imports below read

BROWSER_DIR = Path(__file__).resolve().parent / "browser"


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: it reads the markers added here
def pytest_collection_modifyitems(config, items):
    """Every test under tests/browser/ carries the `browser` marker (a conftest's pytestmark marks nothing)."""
    for item in items:
        if BROWSER_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def streamlit_caches_cleared():
    """Empty Streamlit's caches (shared by every AppTest in the process) and close the engines after."""
    import streamlit as st

    from nnus_core.store import dispose_engines

    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    dispose_engines()


pytest_plugins = ["tests.pg"]  # the PostgreSQL test server and the two-backend `store_url` fixture
