"""Hostile text from every outside source renders inert on every page that shows it (AppTest).

Sources: a subjects.csv, image file names, a ?image= URL parameter, a student's display name, a
model evaluation file and a dataset's generator version. `tests.payloads.page_problems` renders
each Markdown string the page sent and fails on any live image, link, script or bare autolink.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nnus_core.dataset import load_dataset
from tests.payloads import FILENAME_PAYLOADS, PAYLOADS, page_problems
from tests.test_pages_app import FakeDetector, make_study_dataset, write_eval

ROOT = Path(__file__).resolve().parents[1]
ONE_LINE = [(n, p) for n, p in PAYLOADS if "\n" not in p]


pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


def hostile_dataset(root: Path) -> Path:
    """16 images: the first ones named after file-name payloads, every one a payload subject."""
    make_study_dataset(root, n=16)
    for i, (_, stem) in enumerate(FILENAME_PAYLOADS, start=1):
        for sub, ext in (("images", ".jpg"), ("labels", ".txt")):
            (root / sub / f"{i:04d}{ext}").rename(root / sub / f"{stem}{ext}")
    stems = sorted(p.stem for p in (root / "images").iterdir())
    with (root / "subjects.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "subject"])
        for i, stem in enumerate(stems):
            w.writerow([f"{stem}.jpg", ONE_LINE[i % len(ONE_LINE)][1]])
    (root / "phantom.json").write_text(json.dumps({"version": PAYLOADS[0][1]}))
    return root


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    import pages._shared as shared

    data = hostile_dataset(tmp_path / "NNUS")
    ds = load_dataset(data)
    assert {s.stem for s in ds.samples} >= {p for _, p in FILENAME_PAYLOADS}
    det = FakeDetector(ds)
    folder = tmp_path / "models" / "fake"
    evl = write_eval(folder, ds)
    report = json.loads(evl.read_text())
    report.setdefault("data", {})["kind"] = PAYLOADS[1][1]
    report.setdefault("published", {})["data"] = PAYLOADS[0][1]
    evl.write_text(json.dumps(report))
    monkeypatch.setenv("NNUS_DATA", str(data))
    monkeypatch.setenv("NNUS_DB_URL", f"sqlite:///{tmp_path / 'tutor.db'}")
    monkeypatch.setattr(shared, "get_detector", lambda: det)
    monkeypatch.setattr(shared, "model_folder", lambda: folder)
    monkeypatch.setattr(shared, "get_model_card", lambda: None)
    return ds


def run_page(page: str, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page(page)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def assert_inert(at: AppTest) -> None:
    problems = page_problems(at)
    assert not problems, problems[:10]


@pytest.mark.parametrize(
    "page",
    ["pages/home.py", "pages/browse.py", "pages/compare.py", "pages/atlas.py", "pages/model_report.py"],
)
def test_file_text_is_inert_on_every_page(hostile, page):
    at = run_page(page)
    assert_inert(at)
    if page == "pages/browse.py":  # the grid shows every subject and file name
        captions = " ".join(c.value for c in at.caption)
        assert "Log in again" in captions and "\\[Log in again\\]" in captions


def test_browse_detail_of_each_hostile_file_is_inert(hostile):
    for _, stem in FILENAME_PAYLOADS:
        at = run_page("pages/browse.py", image=stem)
        assert at.subheader, "the detail view opened"
        assert_inert(at)


@pytest.mark.parametrize("name, payload", PAYLOADS, ids=[n for n, _ in PAYLOADS])
@pytest.mark.parametrize("page", ["pages/quiz.py", "pages/browse.py", "pages/compare.py"])
def test_url_parameter_is_inert(hostile, page, name, payload):
    at = run_page(page, image=payload)
    assert_inert(at)


@pytest.mark.parametrize("name, payload", ONE_LINE, ids=[n for n, _ in ONE_LINE])
def test_display_name_is_inert_on_quiz_and_progress(hostile, name, payload):
    from tests.test_quiz_app import sign_in

    at = sign_in(run_page("pages/quiz.py"), payload[:40])  # the name a student joined their class with
    assert not at.exception, at.exception
    assert_inert(at)
    at.switch_page("pages/progress.py").run()
    assert not at.exception, at.exception
    assert_inert(at)


def test_quiz_on_a_hostile_file_name_is_inert_from_question_to_feedback(hostile):
    stem = FILENAME_PAYLOADS[0][1]
    at = run_page("pages/quiz.py", image=stem)
    at.number_input(key="quiz_n").set_value(1).run()
    at.button(key="quiz_start").click().run()
    assert not at.exception, at.exception
    assert_inert(at)
    at.button(key="quiz_not_visible").click().run()
    assert not at.exception, at.exception
    assert any("Question 1 of 1" in c.value for c in at.caption)
    assert_inert(at)


@pytest.mark.parametrize("name, payload", FILENAME_PAYLOADS, ids=[n for n, _ in FILENAME_PAYLOADS])
def test_uploaded_file_name_is_inert_on_the_video_page(tmp_path, monkeypatch, name, payload):
    """The name the browser sent with an upload shows in the caption and in refusal messages."""
    import av
    import cv2

    import nnus_core.detector.detector as detector_module
    import pages._shared as shared
    from tests.synthetic_video import BlobDetector, write_test_clip

    monkeypatch.setenv("NNUS_DATA", str(make_study_dataset(tmp_path / "NNUS", n=4)))
    monkeypatch.setenv("NNUS_VIDEO_TMP", str(tmp_path / "sessions"))
    monkeypatch.setattr(detector_module, "MODELS_DIR", tmp_path / "no-models")
    det = BlobDetector()
    monkeypatch.setattr(shared, "get_detector", lambda: det)
    write_test_clip(tmp_path / "x.mp4", width=200, height=150, n_frames=1)
    with av.open(str(tmp_path / "x.mp4")) as c:
        cv2.imwrite(str(tmp_path / "frame.png"), next(c.decode(video=0)).to_ndarray(format="bgr24"))
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    from pages.video import VideoInput

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.switch_page("pages/video.py").run()
    at.radio(key="video_source").set_value("Single image").run()
    at.session_state["video_input"] = VideoInput(
        tmp_path / "frame.png", f"{payload}.png", "upload:p", is_image=True
    )
    at.run()
    assert not at.exception, at.exception
    assert any("organ(s) detected" in c.value for c in at.caption)
    assert_inert(at)
    at.radio(key="video_source").set_value("Upload a video").run()
    at.session_state["video_input"] = VideoInput(bad, f"{payload}.mp4", "upload:bad")
    at.run()
    at.button(key="video_process").click().run()
    assert not at.exception, at.exception
    assert at.error, "the bad video is refused with its name"
    assert_inert(at)


def test_box_drawing_script_writes_no_html():
    """The component's data (image alt text, box labels) is set as attributes and text only."""
    js = (Path(__file__).resolve().parents[1] / "pages" / "_boxdraw.js").read_text()
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", js)
