"""Real browser: upload a phantom sweep clip, process it, and prove the annotated result plays in Chromium."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    assert_no_error,
    open_app_page,
    screenshot,
    start_server,
    stop_server,
)

SECONDS = 3.0
FPS = 25.0


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    phantom = pytest.importorskip("nnus_core.phantom")
    return phantom.write_sweep(tmp_path_factory.mktemp("sweep"), "transverse", SECONDS, FPS, seed=3, jobs=1)


@pytest.fixture(scope="module")
def video_server(browser_data_dir, tmp_path_factory):
    """The app with a detector: the shipped model when there is one, else an untrained 8-organ model
    (the test is about playback, not accuracy)."""
    from nnus_core.detector import default_model_dir
    from nnus_core.video.synthetic import write_random_model

    env = {
        "NNUS_VIDEO_TMP": str(tmp_path_factory.mktemp("sessions")),
        "NNUS_DB_URL": f"sqlite:///{tmp_path_factory.mktemp('db') / 'tutor.db'}",
    }
    if default_model_dir() is None:
        env["NNUS_MODEL"] = str(write_random_model(tmp_path_factory.mktemp("model") / "best.pt"))
    ARTIFACTS.mkdir(exist_ok=True)
    proc, url = start_server(browser_data_dir, env)
    yield url, Path(env["NNUS_VIDEO_TMP"])
    stop_server(proc)


def test_uploaded_sweep_is_processed_and_plays_inline(video_server, page, sweep_file):
    url, sessions = video_server
    open_app_page(page, url, "video", marker="Video demo")
    assert_no_error(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(sweep_file))
    process = page.get_by_role("button", name="Process video")
    process.wait_for(timeout=60_000)
    process.click()
    # First use loads (and may export) the model, then 75 frames are processed.
    page.locator("video").first.wait_for(state="attached", timeout=180_000)
    assert_no_error(page)

    state = page.evaluate(
        """async () => {
            const v = document.querySelector('video');
            v.muted = true;
            const t0 = Date.now();
            while (v.readyState < 3 && Date.now() - t0 < 20000) await new Promise(r => setTimeout(r, 100));
            const ready = v.readyState;
            const duration = v.duration;
            await v.play();
            const start = v.currentTime;
            await new Promise(r => setTimeout(r, 1200));
            const later = v.currentTime;
            v.pause();
            return {ready, duration, start, later, error: v.error ? v.error.code : null,
                    width: v.videoWidth, height: v.videoHeight, src: v.currentSrc};
        }"""
    )
    assert state["error"] is None, state
    assert state["ready"] >= 3, state  # HAVE_FUTURE_DATA: Chromium decodes the H.264 we wrote
    assert state["duration"] == pytest.approx(SECONDS, abs=0.1), state
    assert state["later"] > state["start"] + 0.5, state  # playback advances
    assert (state["width"], state["height"]) == (494, 448), state

    page.evaluate("() => { const v = document.querySelector('video'); v.currentTime = 1.5; }")
    page.get_by_text("Frame at").first.wait_for(timeout=30_000)  # timeline and frame viewer rendered
    timeline = page.locator('[data-testid="stPlotlyChart"]')
    timeline.first.wait_for(timeout=30_000)  # plotly's bundle can mount after the text under load
    assert timeline.count() == 1
    page.locator("video").first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.locator("video").first.screenshot(path=str(ARTIFACTS / "video-player.png"))
    page.set_viewport_size({"width": 1400, "height": 3000})  # the whole page in one picture
    page.wait_for_timeout(1500)
    screenshot(page, "video-after-processing")
    # The session's upload and results live in its own folder, never in a shared one.
    files = sorted(p.name for p in sessions.rglob("*") if p.is_file())
    assert any(f.startswith("input") for f in files) and any(f.endswith("_annotated.mp4") for f in files)


def test_built_in_phantom_sweep_shows_synthetic_label_and_ground_truth_scores(video_server, page):
    url, _ = video_server
    open_app_page(page, url, "video", marker="Video demo")
    page.get_by_text("Phantom sweep (synthetic)").click()
    page.get_by_text("SYNTHETIC phantom sweep").first.wait_for(timeout=120_000)  # rendered on first use
    page.get_by_role("button", name="Process video").click()
    page.get_by_text("Against the phantom's ground truth").first.wait_for(timeout=180_000)
    # The player can mount a moment after the sections below it on a busy machine.
    page.locator("video").first.wait_for(state="attached", timeout=30_000)
    assert_no_error(page)
    ready = page.evaluate(
        """async () => { const v = document.querySelector('video'); const t0 = Date.now();
            while (v.readyState < 3 && Date.now() - t0 < 20000) await new Promise(r => setTimeout(r, 100));
            return v.readyState; }"""
    )
    assert ready >= 3
    page.set_viewport_size({"width": 1400, "height": 3700})
    page.wait_for_timeout(1500)
    screenshot(page, "video-phantom-sweep")


def test_cancel_stops_processing_and_leaves_only_the_upload(video_server, page, tmp_path):
    from nnus_core.video.synthetic import write_test_clip

    url, sessions = video_server
    clip = tmp_path / "long_scan.mp4"
    write_test_clip(
        clip, width=494, height=446, n_frames=1500, fps=25
    )  # a minute: cancelled long before the end
    open_app_page(page, url, "video", marker="Video demo")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(clip))
    page.get_by_role("button", name="Process video").click()
    page.get_by_text("Processing:").first.wait_for(timeout=120_000)  # the progress bar reports frames and fps
    bar_text = page.get_by_text("Processing:").first.inner_text()
    assert "fps" in bar_text and "/1500 frames" in bar_text, bar_text
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("Processing cancelled").first.wait_for(timeout=30_000)
    assert page.locator("video").count() == 0
    assert_no_error(page)
    screenshot(page, "video-cancelled")
    mine = [
        p
        for p in sessions.glob("p*/*")  # <root>/p<server pid>/<session>-<random>/
        if any(f.name == "input.mp4" and f.stat().st_size == clip.stat().st_size for f in p.iterdir())
    ]
    assert len(mine) == 1
    # The interrupted run removes its partial video and CSV as it unwinds, which may finish just
    # after the next run has drawn the page.
    deadline = time.time() + 30
    while sorted(f.name for f in mine[0].iterdir()) != ["input.mp4"] and time.time() < deadline:
        time.sleep(0.2)
    assert sorted(f.name for f in mine[0].iterdir()) == ["input.mp4"]  # no partial video or CSV
