"""AppTest: Browse, Compare, Atlas and Model report render from the entrypoint, with and without a model."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from nnus_core.accounts import Role, User
from nnus_core.dataset import load_dataset
from nnus_core.dataset.images import read_image
from nnus_core.detection import Detection
from nnus_core.geometry import BoxPx
from tests.fixtures import ALL_BOXES, make_nnus_folder, make_study_dataset, organs_of, yolo_lines  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["pages/home.py", "pages/browse.py", "pages/compare.py", "pages/atlas.py", "pages/model_report.py"]


class FakeDetector:
    """Answers from the ground truth: every organ but the last found (shifted 4 px), one false positive."""

    weights_sha256 = "fake-weights"
    weights_path = Path("fake.pt")

    def __init__(self, dataset) -> None:
        self._by_path = {str(s.image_path): s for s in dataset.samples}
        self.calls = 0

    def predict(self, image, conf: float = 0.25, **_):
        self.calls += 1
        assert isinstance(image, str | Path), "pages pass image paths so predictions can be cached"
        read_image(image)  # fail like a real detector on an unreadable file
        s = self._by_path[str(image)]
        anns = sorted(s.annotations, key=lambda a: a.organ_id)
        out = [
            Detection(a.organ_id, 0.9, BoxPx(a.box.x1 + 4, a.box.y1 + 4, a.box.x2 + 4, a.box.y2 + 4))
            for a in anns[:-1]
        ]
        out.append(Detection(4, 0.4, BoxPx(5, 400, 60, 440)))  # nothing is labelled there
        return [d for d in out if d.confidence >= conf]


def write_eval(folder: Path, dataset) -> Path:
    """An evaluation file in the format `python -m nnus_core.detector evaluate` writes, from FakeDetector answers."""
    from nnus_core.detector.evaluation import evaluate_predictions
    from nnus_core.detector.metrics import ImagePredictions

    det = FakeDetector(dataset)
    images = []
    for s in dataset.split("test") or dataset.samples:
        preds = det.predict(str(s.image_path), conf=0.001)
        images.append(
            ImagePredictions.from_arrays(
                s.name,
                [a.box.as_tuple() for a in s.annotations],
                [a.organ_id for a in s.annotations],
                [d.box.as_tuple() for d in preds],
                [d.confidence for d in preds],
                [d.organ_id for d in preds],
            )
        )
    meta = {
        "split": "test",
        "data": {
            "kind": dataset.kind,
            "synthetic": dataset.synthetic,
            "generator_version": dataset.generator_version,
            "n_images": len(images),
        },
    }
    report = evaluate_predictions(images, meta=meta)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "eval_test.json"
    path.write_text(json.dumps(report))
    return path


pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


@pytest.fixture
def study_data(tmp_path, monkeypatch) -> Path:
    data = make_study_dataset(tmp_path / "NNUS")
    monkeypatch.setenv("NNUS_DATA", str(data))
    return data


@pytest.fixture
def no_model(monkeypatch):
    import pages._shared as shared

    monkeypatch.setattr(shared, "get_detector", lambda: None)
    monkeypatch.setattr(shared, "model_folder", lambda: None)
    monkeypatch.setattr(shared, "get_model_card", lambda: None)


@pytest.fixture
def fake_model(monkeypatch, study_data, tmp_path) -> FakeDetector:
    import pages._shared as shared

    ds = load_dataset(study_data)
    det = FakeDetector(ds)
    folder = tmp_path / "models" / "fake"
    write_eval(folder, ds)
    monkeypatch.setattr(shared, "get_detector", lambda: det)
    monkeypatch.setattr(shared, "model_folder", lambda: folder)
    monkeypatch.setattr(shared, "get_model_card", lambda: None)
    return det


def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    return at


INSTRUCTOR = User(1, Role.INSTRUCTOR, "Dr T")


def goto(page: str, *, as_user: User | None = None, **query) -> AppTest:
    at = app()
    if as_user is not None:  # signed in, as the cookie would have done (pages/_auth)
        at.session_state["nnus_auth_user"] = as_user
    at.switch_page(page)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def text_of(at: AppTest) -> str:
    return " ".join(str(m.value) for m in [*at.markdown, *at.caption, *at.info, *at.warning, *at.subheader])


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_tables(at: AppTest) -> list[pd.DataFrame]:
    """The plain HTML tables (nnus_core.text.html_table) a page drew, as frames of their cell texts."""
    out = []
    for m in at.markdown:
        if "<table" not in str(m.value):
            continue
        p = _TableParser()
        p.feed(str(m.value))
        out.append(pd.DataFrame(p.rows[1:], columns=p.rows[0]))
    return out


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_a_model(study_data, no_model, page):
    at = goto(page)
    assert "SYNTHETIC" in text_of(at)


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_a_model(study_data, fake_model, page):
    goto(page)


def test_browse_grid_filter_open_detail_and_toggle_model(study_data, fake_model):
    at = goto("pages/browse.py")
    opens = [b for b in at.button if b.label.startswith("Open ")]
    assert len(opens) == 16
    at.multiselect(key="browse_present").set_value([3]).run()  # internal jugular vein
    opens = [b.label for b in at.button if b.label.startswith("Open ")]
    expected = [f"Open {i:04d}" for i in range(1, 17) if 3 in organs_of(i)]
    assert opens == expected and expected
    first = expected[0].split()[1]
    at.button(key=f"open_{first}").click().run()
    assert not at.exception, at.exception
    assert at.query_params["image"] == first
    assert at.subheader[0].value == f"{first}.jpg"
    table = html_tables(at)[0]
    assert list(table["source"]).count("ground truth") == len(organs_of(int(first)))
    # The fake drops one organ and adds one false positive at 0.40 (above the default 0.25).
    assert list(table["source"]).count("model") == len(organs_of(int(first)))
    at.toggle(key="detail_show_model").set_value(False).run()
    assert set(html_tables(at)[0]["source"]) == {"ground truth"}
    # Previous/next walk the filtered list, the grid button returns to it.
    at.button(key="detail_next").click().run()
    assert at.query_params["image"] == expected[1].split()[1]
    at.button(key="detail_grid").click().run()
    assert "image" not in at.query_params
    assert any(b.label.startswith("Open ") for b in at.button)


def test_browse_confidence_slider_and_organ_pills_filter_boxes(study_data, fake_model):
    at = goto("pages/browse.py", image="0001")
    n_model = list(html_tables(at)[0]["source"]).count("model")
    at.slider(key="detail_conf").set_value(0.5).run()
    assert list(html_tables(at)[0]["source"]).count("model") == n_model - 1  # the 0.40 FP hidden
    at.session_state["detail_organs"] = [1]  # thyroid only
    at.run()
    assert set(html_tables(at)[0]["organ"]) == {"Thyroid"}


def test_browse_detail_from_url_predictions_cached(study_data, fake_model):
    at = goto("pages/browse.py", image="0005")
    assert at.subheader[0].value == "0005.jpg"
    calls = fake_model.calls
    at.slider(key="detail_conf").set_value(0.3).run()
    at.run()
    assert fake_model.calls == calls, "changing the slider must not re-run the model"


def test_browse_detail_table_is_plain_html_and_the_card_follows_the_selectbox(study_data, no_model):
    """No grid component on the detail view (it cost about 1.4 MB of script on a first visit)."""
    at = goto("pages/browse.py", image="0001")
    assert not at.dataframe and not at.table
    table = html_tables(at)[0]
    assert list(table.columns) == ["source", "organ", "x1", "y1", "width (px)", "height (px)"]
    assert "Sternocleidomastoid" in list(table["organ"])
    assert at.selectbox(key="browse_card").value == min(organs_of(1))
    at.selectbox(key="browse_card").set_value(7).run()
    assert "Scanning tip" in text_of(at) and "Sternocleidomastoid" in text_of(at)


def test_browse_without_model_disables_model_toggle(study_data, no_model):
    at = goto("pages/browse.py", image="0003")
    assert at.toggle(key="detail_show_model").disabled
    assert any("No model available" in i.value for i in at.info)


def test_browse_unknown_image_falls_back_to_grid(study_data, no_model):
    at = goto("pages/browse.py", image="nope")
    assert any("nope" in w.value for w in at.warning)
    assert any(b.label.startswith("Open ") for b in at.button)


def test_browse_paging(tmp_path, monkeypatch, no_model):
    monkeypatch.setenv("NNUS_DATA", str(make_study_dataset(tmp_path / "big", n=30)))
    at = goto("pages/browse.py")
    assert [b.label for b in at.button if b.label.startswith("Open ")][-1] == "Open 0024"
    at.button(key="pg_next_top").click().run()
    assert [b.label for b in at.button if b.label.startswith("Open ")] == [
        f"Open {i:04d}" for i in range(25, 31)
    ]


def test_compare_lists_found_missed_and_false_positives(study_data, fake_model):
    at = goto("pages/compare.py", image="0002")
    metrics = {m.label: m.value for m in at.metric}
    n = len(organs_of(2))
    assert metrics["Found"] == str(n - 1) and metrics["Missed"] == "1" and metrics["False positives"] == "1"
    rows = html_tables(at)[0]
    assert sorted(rows["outcome"]) == sorted(["found"] * (n - 1) + ["missed", "false positive"])
    assert all(float(v) > 0.7 for v in rows[rows["outcome"] == "found"]["IoU"])
    # A stricter confidence drops the 0.40 false positive.
    at.slider(key="compare_conf").set_value(0.5).run()
    assert {m.label: m.value for m in at.metric}["False positives"] == "0"
    assert at.query_params["image"] == "0002"


def test_compare_without_model_says_so(study_data, no_model):
    at = goto("pages/compare.py")
    assert any("No model available" in i.value for i in at.info)


def test_atlas_draws_its_charts_and_labels_synthetic(study_data, no_model):
    at = goto("pages/atlas.py")
    assert not at.get("plotly_chart"), "pictures by default: they load in a fraction of the time"
    assert len(at.get("image")) == 5
    at.toggle(key="atlas_interactive").set_value(True).run()
    assert [c.key for c in at.get("plotly_chart")] == [
        "atlas_heat",
        "atlas_counts",
        "atlas_sizes",
        "atlas_cooc",
        "atlas_per_image",
    ]
    assert "Measured on the SYNTHETIC phantom" in text_of(at)
    at.segmented_control(key="atlas_split").set_value("train").run()
    assert not at.exception


def test_model_report_reads_eval_and_opens_failure_in_browse(study_data, fake_model):
    at = goto("pages/model_report.py")
    labels = [m.label for m in at.metric]
    assert labels == ["mAP@0.5", "mAP@0.5:0.95", "precision", "recall"]
    assert "authors" in " ".join(str(c) for c in html_tables(at)[0].columns)
    assert len(at.get("image")) >= 3 and not at.get("plotly_chart")
    at.toggle(key="report_interactive").set_value(True).run()
    assert len(at.get("plotly_chart")) == 3
    opens = [b for b in at.button if b.label == "Open in Browse"]
    assert opens, "the gallery lists the images the model got wrong"
    opens[0].click().run()
    assert not at.exception, at.exception
    assert at.query_params.get("image"), "Browse opens on the failing image"


def test_model_report_without_model_shows_published_figures(study_data, no_model):
    at = goto("pages/model_report.py")
    assert any("No model available" in i.value for i in at.info)
    assert np.isclose(float(html_tables(at)[0]["authors (published)"].iloc[0]), 0.8044)


@pytest.fixture(scope="module")
def phantom_dir(tmp_path_factory) -> Path:
    phantom = pytest.importorskip("nnus_core.phantom")
    root = tmp_path_factory.mktemp("phantom") / "data"
    phantom.generate_dataset(root, n=8, seed=1)
    return root


@pytest.mark.parametrize("with_model", [False, True], ids=["no-model", "fake-model"])
def test_every_page_renders_on_the_generated_phantom(phantom_dir, monkeypatch, tmp_path, with_model):
    import pages._shared as shared

    monkeypatch.setenv("NNUS_DATA", str(phantom_dir))
    ds = load_dataset(phantom_dir)
    folder = None
    if with_model:
        folder = tmp_path / "models" / "fake"
        write_eval(folder, ds)
    det = FakeDetector(ds) if with_model else None
    monkeypatch.setattr(shared, "get_detector", lambda: det)
    monkeypatch.setattr(shared, "model_folder", lambda: folder)
    monkeypatch.setattr(shared, "get_model_card", lambda: None)
    for page in PAGES:
        at = goto(page)
        assert "SYNTHETIC" in text_of(at), page
    goto("pages/browse.py", image=ds.samples[0].stem)
    goto("pages/compare.py", image=ds.samples[-1].stem)


def test_quiz_me_hands_the_image_to_the_quiz_page(study_data, no_model, monkeypatch, tmp_path):
    if not (ROOT / "pages" / "quiz.py").is_file():
        pytest.skip("the quiz page is not installed")
    monkeypatch.setenv("NNUS_DB_URL", f"sqlite:///{tmp_path / 'tutor.db'}")
    at = goto("pages/browse.py", image="0004")
    at.button(key="detail_quiz").click().run()
    assert at.session_state["quiz_image"] == "0004"
    assert at.query_params.get("image") == "0004"
    assert not any(b.key == "detail_quiz" for b in at.button), "the app left Browse for the quiz"


def test_the_typed_session_state_reads_writes_and_pops_the_declared_keys():
    def script():
        import streamlit as st

        from nnus_core.geometry import BoxPx
        from pages._state import QuizKeys, pop, state

        first = state.quiz.session_id is None and state.browse.page == 0
        state.quiz.session_id = "q1"
        state.browse.page += 2
        state.quiz.submitted.add("i1")  # a factory value: mutated in place, kept
        state.quiz.flash = "hello"
        flashed = pop(QuizKeys.flash)
        del state.quiz.focus_image  # deleting an unset key is fine
        state.quiz.set_labels("i1", [(3, BoxPx(1, 2, 30, 40))])
        st.write(
            f"first={first} flashed={flashed} again={pop(QuizKeys.flash)} labels={state.quiz.labels('i1')}"
        )

    at = AppTest.from_function(script).run()
    assert not at.exception, at.exception
    assert at.session_state["quiz_session_id"] == "q1" and at.session_state["browse_page"] == 2
    assert at.session_state["quiz_submitted_here"] == {"i1"}
    assert at.session_state["quiz_labels_i1"] == [[3, 1, 2, 30, 40]]
    text = at.markdown[0].value
    assert "first=True" in text and "flashed=hello" in text and "again=None" in text and "BoxPx" in text


def test_the_pages_folder_patch_still_matches_streamlits_private_api(tmp_path, monkeypatch):
    """pages/_shared.py clears Streamlit's legacy `pages/`-folder flag (private API, Streamlit 1.67):
    no configuration or st.navigation option turns that mode off while the folder is called `pages/`.
    When this fails, Streamlit changed: re-check `ensure_app_navigation` (or drop it if the mode is gone)."""
    import inspect

    from streamlit.commands import navigation
    from streamlit.runtime import pages_manager
    from streamlit.runtime.scriptrunner import script_runner

    import pages._shared as shared

    PagesManager = pages_manager.PagesManager
    assert "uses_pages_directory" in vars(PagesManager), "Streamlit renamed or removed the legacy-mode flag"
    # The mode is still switched on by a pages/ folder beside the entrypoint ...
    (tmp_path / "pages").mkdir()
    (tmp_path / "app.py").write_text("")
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)
    PagesManager(str(tmp_path / "app.py"))
    assert PagesManager.uses_pages_directory is True, "a pages/ folder no longer switches on the legacy mode"
    # ... the script runner still reads the flag to pick the legacy run, and st.navigation clears it.
    assert "PagesManager.uses_pages_directory" in inspect.getsource(script_runner.ScriptRunner)
    assert "uses_pages_directory = False" in inspect.getsource(navigation)
    # The patch: clear the flag and rerun the request through app.py, once.
    reruns = []
    monkeypatch.setattr(shared.st, "rerun", lambda: reruns.append(1))
    shared.ensure_app_navigation()
    assert PagesManager.uses_pages_directory is False and reruns == [1]
    shared.ensure_app_navigation()
    assert reruns == [1]


def test_first_start_shows_the_phantom_progress_without_blocking_then_the_page(tmp_path, monkeypatch):
    import json
    import threading

    import nnus_core.phantom as phantom
    from nnus_core.dataset.model import PHANTOM_MARKER
    from pages import _cache

    monkeypatch.delenv("NNUS_DATA", raising=False)
    monkeypatch.setenv("NNUS_DATA_DIR", str(tmp_path))  # no real folder there, and no phantom yet
    release, calls = threading.Event(), []

    def slow_generate(path, progress=None):
        calls.append(path)
        progress(3, 8)
        assert release.wait(30)
        make_nnus_folder(path, n=8)
        (path / PHANTOM_MARKER).write_text(
            json.dumps({"generator": "nnus-phantom", "version": phantom.PHANTOM_VERSION, "n": 8})
        )

    monkeypatch.setattr(phantom, "generate_dataset", slow_generate)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    # The run ended (no waiting loop in the script) with the page stopped under the progress bar.
    organs = "The eight organs and their colours"
    assert [t.value for t in at.title] == ["NNUS Tutor"] and calls
    assert organs not in " ".join(m.value for m in at.markdown)
    again = at.run()  # a second visitor meanwhile: the same generation, not a second one
    assert len(calls) == 1 and organs not in " ".join(m.value for m in again.markdown)
    release.set()
    _cache.phantom_generation()["thread"].join(30)
    done = at.run()
    assert not done.exception, done.exception
    assert organs in " ".join(m.value for m in done.markdown) and len(calls) == 1
