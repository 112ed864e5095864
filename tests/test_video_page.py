"""AppTest of the Video page: inputs, processing with a stand-in detector, cached results, phantom scores."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from streamlit.testing.v1 import AppTest

import pages._shared as shared
from tests.fixtures import make_nnus_folder
from tests.synthetic_video import BlobDetector, write_test_clip

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("NNUS_DATA", str(make_nnus_folder(tmp_path / "NNUS", n=4)))
    monkeypatch.setenv("NNUS_VIDEO_TMP", str(tmp_path / "sessions"))
    monkeypatch.setenv("NNUS_SWEEP_CACHE", str(tmp_path / "sweeps"))
    # The page also offers models shipped under data/models: none here, only the stand-in.
    import nnus_core.detector.detector as detector_module

    monkeypatch.setattr(detector_module, "MODELS_DIR", tmp_path / "no-models")
    yield


@pytest.fixture
def detector(monkeypatch):
    det = BlobDetector()
    monkeypatch.setattr(shared, "get_detector", lambda: det)
    return det


def open_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/video.py").run()
    assert not at.exception, at.exception
    return at


def inject(at: AppTest, path: Path, **kw) -> None:
    """Stand in for an upload (AppTest cannot drive the file uploader)."""
    from pages.video import VideoInput

    at.session_state["video_input"] = VideoInput(path, path.name, f"upload:test:{path.name}", **kw)


def texts(at: AppTest) -> str:
    return " ".join(
        [m.value for m in at.markdown]
        + [c.value for c in at.caption]
        + [i.value for i in at.info]
        + [w.value for w in at.warning]
        + [e.value for e in at.error]
    )


def test_without_a_model_the_page_says_so(monkeypatch):
    monkeypatch.setattr(shared, "get_detector", lambda: None)
    at = open_page()
    assert "No model available" in texts(at)
    assert at.title[0].value == "Video demo"


def test_process_an_uploaded_video_then_rerun_without_reprocessing(tmp_path, detector):
    clip = tmp_path / "scan.mp4"
    write_test_clip(clip, width=240, height=180, n_frames=30, fps=15)
    at = open_page()
    assert at.multiselect(key="video_organs").value == list(range(8))  # all 8 organs by default
    inject(at, clip)
    at.run()
    at.button(key="video_process").click().run()
    assert not at.exception, at.exception
    assert detector.calls == 30
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Frames"] == "30" and metrics["Output"] == "240×180"
    assert len(at.get("video")) == 1
    assert {b.label for b in at.get("download_button")} >= {
        "Download annotated video (MP4)",
        "Download per-frame detections (CSV)",
    }
    assert len(at.get("plotly_chart")) == 1
    # Picking a time shows that frame in the viewer.
    at.slider(key="video_time").set_value(1.0).run()
    assert not at.exception, at.exception
    assert "Frame at 1.00 s: 2 organ(s) shown" in texts(at)
    assert detector.calls == 30  # reruns reuse the stored result
    # Changing an option marks the result as stale until processed again.
    at.slider(key="video_conf").set_value(0.5).run()
    assert "options changed" in texts(at)
    assert at.button(key="video_process").label == "Process again with these options"


def test_bad_video_is_refused_with_its_reason(tmp_path, detector):
    from pages.video import VideoInput

    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    at = open_page()
    at.session_state["video_input"] = VideoInput(bad, bad.name, "upload:bad")
    at.run()
    at.button(key="video_process").click().run()
    assert not at.exception, at.exception
    assert "notes.mp4 could not be opened as a video" in texts(at)
    assert len(at.get("video")) == 0


def test_single_image_input(tmp_path, detector):
    import av

    write_test_clip(tmp_path / "x.mp4", width=200, height=150, n_frames=1)
    with av.open(str(tmp_path / "x.mp4")) as c:
        cv2.imwrite(str(tmp_path / "frame.png"), next(c.decode(video=0)).to_ndarray(format="bgr24"))
    at = open_page()
    at.radio(key="video_source").set_value("Single image").run()
    inject(at, tmp_path / "frame.png", is_image=True)
    at.run()
    assert not at.exception, at.exception
    assert "frame.png: 2 organ(s) detected" in texts(at)
    assert set(at.dataframe[0].value.organ) == {"Thyroid", "Common carotid artery"}


@pytest.mark.slow
def test_phantom_sweep_is_labelled_synthetic_and_scored_against_ground_truth(detector):
    pytest.importorskip("nnus_core.phantom")
    at = open_page()
    at.radio(key="video_source").set_value("Phantom sweep (synthetic)").run()
    at.select_slider(key="video_sweep_seconds").set_value(3).run()
    assert not at.exception, at.exception
    assert "SYNTHETIC phantom sweep" in texts(at)
    at.button(key="video_process").click().run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Frames"] == "75"
    table = at.dataframe[-1].value
    assert {"organ", "detection rate", "mean IoU"} <= set(table.columns)
