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
    settle,
)

SECONDS = 3.0
FPS = 25.0


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    phantom = pytest.importorskip("nnus_core.phantom")
    return phantom.write_sweep(tmp_path_factory.mktemp("sweep"), "transverse", SECONDS, FPS, seed=3, jobs=1)


@pytest.fixture(scope="module")
def video_server(app_server):
    """The shared app (it has a detector: the shipped model, else an untrained 8-organ one; the
    tests are about playback, not accuracy) and the parent of its video session folders."""
    return app_server.url, app_server.video_tmp


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
    settle(page)  # the run has drawn the sections below the player too: the player stays as it is
    assert_no_error(page)

    # HAVE_FUTURE_DATA: Chromium decodes the H.264 we wrote (a decoding error fails at once).
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v.error || v.readyState >= 3; }",
        timeout=20_000,
    )
    state = page.evaluate(
        """async () => {
            const v = document.querySelector('video');
            v.muted = true;
            const ready = v.readyState;
            await v.play();
            window.__playedFrom = v.currentTime;
            window.__playedAt = performance.now();
            return {ready, duration: v.duration, start: window.__playedFrom, error: v.error ? v.error.code : null,
                    width: v.videoWidth, height: v.videoHeight, src: v.currentSrc};
        }"""
    )
    assert state["error"] is None, state
    assert state["ready"] >= 3, state
    assert state["duration"] == pytest.approx(SECONDS, abs=0.1), state
    # Playback advances: more than half a second of the clip within 1.2 s of wall time.
    page.wait_for_function(
        """() => { const v = document.querySelector('video');
            if (v.currentTime <= window.__playedFrom + 0.5) return false;
            window.__advancedAfterMs = performance.now() - window.__playedAt; return true; }""",
        timeout=20_000,
    )
    advanced_after_ms = page.evaluate(
        "() => { document.querySelector('video').pause(); return window.__advancedAfterMs; }"
    )
    assert advanced_after_ms < 1200, (advanced_after_ms, state)
    assert (state["width"], state["height"]) == (494, 448), state

    page.evaluate("() => { const v = document.querySelector('video'); v.currentTime = 1.5; }")
    page.get_by_text("Frame at").first.wait_for(timeout=30_000)  # timeline and frame viewer rendered
    timeline = page.locator('[data-testid="stPlotlyChart"]')
    timeline.first.wait_for(timeout=30_000)  # plotly's bundle can mount after the text under load
    assert timeline.count() == 1
    page.locator("video").first.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('video').readyState >= 2")  # the frame is shown
    page.locator("video").first.screenshot(path=str(ARTIFACTS / "video-player.png"))
    page.set_viewport_size({"width": 1400, "height": 3000})  # the whole page in one picture
    settle(page)
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
    settle(page)
    assert_no_error(page)
    page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v.error || v.readyState >= 3; }",
        timeout=20_000,
    )
    assert page.evaluate("() => document.querySelector('video').readyState") >= 3
    page.set_viewport_size({"width": 1400, "height": 3700})
    settle(page)
    screenshot(page, "video-phantom-sweep")


def test_cancel_stops_processing_and_leaves_only_the_upload(video_server, page, tmp_path):
    from tests.synthetic_video import write_test_clip

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
