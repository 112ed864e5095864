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
    """Every test under tests/browser/ carries the `browser` marker (a conftest's pytestmark marks
    nothing) and the `xdist_group("browser")` marker: with `--dist loadgroup` (make test) the
    browser tests run one after another on one worker, sharing its Chromium and app servers, while
    the other worker runs the rest."""
    for item in items:
        if BROWSER_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


def pytest_sessionstart(session):
    """With pytest-xdist workers (`-n N`), export and time the shipped model once, in the controller,
    before any worker starts: otherwise two workers would quantise the same model at the same time,
    and the runtime choice would be timed on cores that the other worker keeps busy. The workers
    then read the cache. Without workers the browser tests' session fixture does it on first use."""
    config = session.config
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    from tests.fixtures import prepare_shipped_model

    prepare_shipped_model()


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


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch):
    """argon2 at its cheapest parameters in-process (0.04 ms instead of ~0.1 s a hash): the same
    algorithm and code path; tests/test_accounts.py checks the production parameters, and servers
    started by the browser tests hash with them."""
    from argon2 import PasswordHasher, profiles

    from nnus_core.accounts import passwords

    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST)
    monkeypatch.setattr(passwords, "_HASHER", cheap)
    monkeypatch.setattr(passwords, "_DUMMY", cheap.hash("not a real password, only for timing"))


@pytest.fixture
def study_app_env(tmp_path, monkeypatch):
    """Study data (synthetic-labelled), a fresh database, and no model unless a test installs one."""
    import pages._shared as shared
    from nnus_core.dataset import load_dataset
    from tests.fixtures import make_study_dataset

    data = make_study_dataset(tmp_path / "NNUS")
    url = f"sqlite:///{tmp_path / 'tutor.db'}"
    monkeypatch.setenv("NNUS_DATA", str(data))
    monkeypatch.setenv("NNUS_DB_URL", url)
    monkeypatch.setattr(shared, "get_detector", lambda: None)
    monkeypatch.setattr(shared, "model_folder", lambda: None)
    monkeypatch.setattr(shared, "get_model_card", lambda: None)
    return {"data": data, "url": url, "ds": load_dataset(data), "tmp": tmp_path}
