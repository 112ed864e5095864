"""AppTest: the entrypoint routes to Home, which shows the active dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.fixtures import make_nnus_folder

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


def test_home_renders_active_dataset(tmp_path, monkeypatch):
    data = make_nnus_folder(tmp_path / "NNUS", n=12)
    monkeypatch.setenv("NNUS_DATA", str(data))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Images"] == "12"
    assert "Real NNUS data" in " ".join(m.value for m in at.markdown)


def test_home_shows_clear_message_for_missing_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("NNUS_DATA", str(tmp_path / "nowhere"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert any("No dataset available" in w.value for w in at.warning)
