"""Real browser: a guest drags a box with the mouse on a Locate question, submit, see the three-way
feedback, reload (same answer, nothing doubled), finish with the summary, find the answer in My progress."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from nnus_core.dataset import load_dataset
from nnus_core.organs import ORGANS
from tests.browser.conftest import (
    app_runs,
    assert_no_error,
    boxdraw_origin,
    mouse_drag,
    open_app_page,
    screenshot,
    server_with_model,
    settle,
    settle_after,
)

N_QUESTIONS = 6


def _lively_model(path: Path) -> Path:
    """A random-weight yolov8n named after the 8 organs, whose class scores are spread over (0, 1) so it
    answers with boxes and confidences (a fresh head predicts ~0.001 everywhere). Built offline from
    the yaml: no download. Its boxes are random: this checks the view, not the model."""
    import torch
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(0)
    model = DetectionModel("yolov8n.yaml", nc=len(ORGANS), verbose=False)
    for seq in model.model[-1].cv3:
        seq[-1].bias.data.normal_(0, 1.0)
        seq[-1].weight.data *= 20
    model.names = {o.id: o.name for o in ORGANS}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.half(), "train_args": {"imgsz": 320}}, path)
    return path


@pytest.fixture(scope="module")
def quiz_server(browser_data_dir, tmp_path_factory):
    """A server of its own: the journey counts every answer stored in its database."""
    from nnus_core.detector import default_model_dir

    base = tmp_path_factory.mktemp("quiz-browser")
    env = {}
    if default_model_dir() is None:  # no shipped model: a random one still exercises the three-way view
        env["NNUS_MODEL"] = str(_lively_model(base / "model" / "best.pt"))
        env["NNUS_MODEL_CACHE"] = str(base / "cache")
    for server in server_with_model(browser_data_dir, base, env):
        yield server.url, server.db


def _question(page, ds):
    """The organ asked and the image shown, read from the page."""
    prompt = page.get_by_role("heading", name=re.compile(r"^Draw a box around the ")).first.inner_text()
    name = prompt.removeprefix("Draw a box around the ").rstrip(".").strip().lower()
    organ = next(o for o in ORGANS if o.name.lower() == name)
    stem = re.search(r"image (\S+)", page.get_by_text(re.compile(r"^image \S+$")).first.inner_text()).group(1)
    return organ, ds.get(stem)


def _drag(page, sample, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Press at `start`, move and release at `end` (image pixels; `end` may lie outside the image);
    return once the run the drawn box started has finished."""
    x0, y0, s = boxdraw_origin(page, sample.width)
    runs = app_runs(page)
    mouse_drag(page, (x0 + start[0] * s, y0 + start[1] * s), (x0 + end[0] * s, y0 + end[1] * s))
    settle_after(page, runs)


def test_locate_quiz_journey_in_chromium(quiz_server, page, browser_data_dir):
    url, db = quiz_server
    ds = load_dataset(browser_data_dir)
    open_app_page(page, url, "quiz", marker="Practising as a")
    assert_no_error(page)
    # A guest: no name box that anyone could type another student's name into.
    assert page.get_by_role("textbox", name="Your display name").count() == 0

    # Six Locate questions: 15 % of Locate questions ask for an organ that is absent (drawn at random
    # per quiz), so six make it all but certain (1 - 0.15**6, one run in ~88,000 fails) that one of
    # them can be drawn; three (one in ~300) were seen to fail.
    n = page.get_by_role("spinbutton", name="Questions")
    n.fill(str(N_QUESTIONS))
    n.press("Enter")
    settle(page)
    page.get_by_role("button", name="Start quiz").click()
    page.get_by_role("heading", name=re.compile(r"^Draw a box around the ")).first.wait_for()
    settle(page)

    # Submitting without a box is refused with a message.
    page.get_by_role("button", name="Submit box").click()
    page.get_by_text("Draw a box first").first.wait_for()

    organ, sample = _question(page, ds)
    gts = [a.box for a in sample.annotations if a.organ_id == organ.id]
    absent_before = 0  # questions answered "not visible" before the one that is drawn
    while not gts and absent_before < N_QUESTIONS - 1:  # absent organ: answer that, take the next one
        page.get_by_role("button", name="Not visible here").click()
        page.get_by_role("button", name="Next question").click()
        page.get_by_role("button", name="Submit box").wait_for()
        settle(page)
        absent_before += 1
        organ, sample = _question(page, ds)
        gts = [a.box for a in sample.annotations if a.organ_id == organ.id]
    assert gts, f"{N_QUESTIONS} absent-organ questions in a row"
    settle(page)
    gt = gts[0]
    # A drag released past the image's bottom-right edge is clipped to the image.
    _drag(page, sample, (gt.x1 + 2, gt.y1 + 2), (sample.width + 60, sample.height + 40))
    page.get_by_text("clipped to the image").first.wait_for()
    settle(page)
    # Redo: a reversed drag (bottom-right to top-left), pressed just inside the image's edge.
    _drag(page, sample, (min(gt.x2, sample.width - 2), min(gt.y2, sample.height - 2)), (gt.x1, gt.y1))
    page.get_by_text("corners were sorted").first.wait_for()
    page.get_by_text(re.compile(r"Your box: \d+ × \d+ px")).first.wait_for()
    settle(page)
    screenshot(page, "quiz-question-box-drawn")

    page.get_by_role("button", name="Submit box").click()
    headline = page.get_by_test_id("quiz-headline").first
    headline.wait_for()
    settle(page)
    text = headline.inner_text()
    assert re.match(r"you (0\.\d\d|1\.00), (model \d\.\d\d|model found none)", text), text
    you_iou = float(text.split(",")[0].split()[1])
    assert you_iou >= 0.8, text  # the drag landed on the organ (only display rounding is lost)
    assert page.get_by_text("Your IoU").first.is_visible()
    assert page.get_by_text("Model IoU").first.is_visible()
    assert page.get_by_text("ground truth (organ colour, shaded)").first.is_visible()
    assert_no_error(page)
    screenshot(page, "quiz-feedback")

    # Reload: the same answer is shown again and nothing is written twice.
    page.reload()
    page.get_by_test_id("quiz-headline").first.wait_for(timeout=60_000)
    settle(page)
    assert page.get_by_test_id("quiz-headline").first.inner_text() == text
    with sqlite3.connect(db) as conn:  # the drawn answer (and the "not visible" one before it, if any)
        assert conn.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] == 1 + absent_before

    # Finish: the questions left answered "not visible" (right or wrong), then the summary.
    for _ in range(N_QUESTIONS - 1 - absent_before):
        page.get_by_role("button", name="Next question").click()
        page.get_by_role("button", name="Submit box").wait_for()  # only the question view has it
        settle(page)
        page.get_by_role("button", name="Not visible here").click()
    page.get_by_role("button", name="See the summary").click()
    page.get_by_text("Quiz complete").first.wait_for()
    settle(page)
    mistakes = page.get_by_test_id("stExpander")
    if mistakes.count():
        mistakes.first.click()  # open the first mistake's review
        mistakes.first.get_by_test_id("stExpanderDetails").wait_for()
        settle(page)
    assert_no_error(page)
    screenshot(page, "quiz-summary")

    # My progress lists the answers.
    page.get_by_role("link", name="My progress").first.click()
    page.get_by_text("Mastery per organ").first.wait_for()
    settle(page)
    assert_no_error(page)
    assert page.get_by_text(organ.name).first.is_visible()
    screenshot(page, "quiz-progress")
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT kind, organ_id, iou FROM attempts ORDER BY id").fetchall()
    drawn = rows[absent_before]
    assert len(rows) == N_QUESTIONS and drawn[1] == organ.id and abs(drawn[2] - you_iou) < 0.006
