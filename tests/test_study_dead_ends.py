"""AppTest: the study pages never end silently — a first run that leads somewhere, and every dead end said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnus_core.dataset import load_dataset
from nnus_core.detector.card import ModelCard
from nnus_core.text import md_escape
from tests.fixtures import make_nnus_folder
from tests.test_pages_app import (
    INSTRUCTOR,
    FakeDetector,
    goto,
    make_study_dataset,
    organs_of,
    text_of,
    write_eval,
)

pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


def phantom_card(synthetic: bool = True) -> ModelCard:
    """A model card as the shipped phantom models carry (trained on the synthetic phantom)."""
    kind = "synthetic phantom" if synthetic else "real NNUS"
    return ModelCard(
        "phantom-test",
        "2026-01-01T00:00:00+00:00",
        {"kind": kind, "synthetic": synthetic},
        {"name": "cpu"},
        "python -m nnus_core.detector train",
        tuple(),
        {},
        {},
    )


class NoneFound(FakeDetector):
    """A model that finds nothing at any confidence (as a phantom model often does on real scans)."""

    def predict(self, image, conf: float = 0.25, **_):
        self.calls += 1
        return []


class ArrayDetector(FakeDetector):
    """FakeDetector's answers through the evaluation's interface (predict_arrays, describe)."""

    def predict_arrays(self, image, conf=0.001, iou=0.7, max_det=300):
        from nnus_core.detection import Detections

        return Detections.from_detections(self.predict(image, conf=conf))

    def describe(self):
        return {"backend": "fake", "precision": "fp32", "imgsz": 320, "sha256": self.weights_sha256}


def install(monkeypatch, detector, folder=None, card=None) -> None:
    import pages._shared as shared

    monkeypatch.setattr(shared, "get_detector", lambda: detector)
    monkeypatch.setattr(shared, "model_folder", lambda: folder)
    monkeypatch.setattr(shared, "get_model_card", lambda: card)


@pytest.fixture
def real_data(tmp_path, monkeypatch) -> Path:
    """A dataset that is not the phantom (no phantom marker): what a real or imported NNUS folder is."""
    data = make_study_dataset(tmp_path / "NNUS", synthetic=False)
    monkeypatch.setenv("NNUS_DATA", str(data))
    monkeypatch.setenv("NNUS_DB_URL", f"sqlite:///{tmp_path / 'tutor.db'}")
    monkeypatch.setenv("NNUS_EVAL_CACHE", str(tmp_path / "eval-cache"))
    monkeypatch.setenv("NNUS_DATA_ROOTS", str(tmp_path))  # folders typed on Home must lie below a root
    return data


# --- First run -----------------------------------------------------------------------------------


def test_home_leads_a_first_time_student_and_keeps_the_technical_details_one_click_away(
    real_data, monkeypatch
):
    install(monkeypatch, None)
    at = goto("pages/home.py")
    links = {link.label: link for link in at.get("page_link")}
    assert {"Open a labelled image", "Start the 5-question quiz"} <= set(links)
    ds = load_dataset(real_data)
    richest = max(ds.samples, key=lambda s: len(s.organ_ids)).stem
    assert links["Open a labelled image"].proto.page.endswith("browse")
    assert f"image={richest}" in links["Open a labelled image"].proto.query_string
    assert "preset=starter" in links["Start the 5-question quiz"].proto.query_string
    card_link = next(label for label in links if label.startswith("Read the "))
    assert "organ=" in links[card_link].proto.query_string
    # The path and the model's recipe sit in an expander below the guided path, not above it.
    assert [e.label for e in at.expander][0].startswith("Technical details")
    assert "Start here" in [s.value for s in at.subheader][0]
    # Server paths are for instructors' eyes only, and only they may load another dataset.
    assert str(real_data) not in " ".join(c.value for c in at.expander[0].caption)
    assert not [e for e in at.expander if e.label.startswith("Use the real NNUS")]
    at = goto("pages/home.py", as_user=INSTRUCTOR)
    assert md_escape(real_data) in " ".join(c.value for c in at.expander[0].caption)  # shown escaped
    assert [e for e in at.expander if e.label.startswith("Use the real NNUS")]


def test_the_organ_card_link_opens_browse_on_that_organs_card(real_data, monkeypatch):
    install(monkeypatch, None)
    at = goto("pages/browse.py", image="0002", organ="7")
    assert at.selectbox(key="browse_card").value == 7
    assert "organ" not in at.query_params  # used once: a later click on a box wins


def test_the_starter_quiz_preset_is_five_questions_answered_by_tapping(real_data, monkeypatch):
    from tests.test_quiz_app import quiz_page

    install(monkeypatch, None)
    at = quiz_page({"preset": "starter"})
    assert at.number_input(key="quiz_n").value == 5
    assert at.multiselect(key="quiz_kinds").value == ["identify", "present"]
    assert "Starter quiz" in " ".join(i.value for i in at.info)


def test_browse_grid_points_to_the_filters_and_shows_the_colour_legend(real_data, monkeypatch):
    install(monkeypatch, None)
    at = goto("pages/browse.py")
    md = " ".join(m.value for m in at.markdown)
    assert "browse-filter-hint" in md and "Filters:</b> none" in md and "sidebar" in md
    assert "organ-legend" in md
    at.multiselect(key="browse_present").set_value([3]).run()
    assert "Filters:</b> with Internal jugular vein" in " ".join(m.value for m in at.markdown)


# --- Silent dead ends ----------------------------------------------------------------------------


def _misspelt(root: Path, *, every_name: bool) -> Path:
    make_nnus_folder(root, n=4)
    classes = root / "labels" / "classes.txt"
    text = classes.read_text()
    if every_name:  # nothing matches: the dataset indexes with 0 boxes
        text = "\n".join(f"Organ{i}" for i in range(8)) + "\n"
    else:
        text = text.replace("Thyroid", "Thyriod")
    classes.write_text(text)
    return root


@pytest.mark.parametrize("every_name", [False, True], ids=["one-misspelt", "all-misspelt-0-boxes"])
def test_a_dataset_with_validation_errors_needs_an_explained_override(
    real_data, monkeypatch, tmp_path, every_name
):
    install(monkeypatch, None)
    bad = _misspelt(tmp_path / "bad", every_name=every_name)
    at = goto("pages/home.py", as_user=INSTRUCTOR)
    at.text_input(key="home_path").input(str(bad)).run()
    errors = " ".join(e.value for e in at.error)
    assert "should not be used as it is" in errors and "unknown-class-name" in errors
    if every_name:
        assert "not a single labelled box" in errors
    assert at.button(key="home_activate").disabled
    at.checkbox(key="home_override").check().run()
    assert not at.button(key="home_activate").disabled
    at.button(key="home_activate").click().run()
    assert at.session_state["nnus_dataset_override"] == str(bad)


def test_a_clean_dataset_activates_without_an_override(real_data, monkeypatch, tmp_path):
    install(monkeypatch, None)
    good = make_nnus_folder(tmp_path / "good", n=3)
    at = goto("pages/home.py", as_user=INSTRUCTOR)
    at.text_input(key="home_path").input(str(good)).run()
    assert not at.error
    assert not [c for c in at.checkbox if c.key == "home_override"]
    assert not at.button(key="home_activate").disabled


def test_browse_says_when_the_model_found_nothing_at_its_threshold(real_data, monkeypatch):
    install(monkeypatch, NoneFound(load_dataset(real_data)))
    at = goto("pages/browse.py", image="0001")
    assert any("found no organ above confidence 0.25 here" in i.value for i in at.info)
    at.slider(key="detail_conf").set_value(0.5).run()
    assert any("above confidence 0.50" in i.value for i in at.info)


def test_browse_with_model_boxes_found_shows_no_such_message(real_data, monkeypatch):
    install(monkeypatch, FakeDetector(load_dataset(real_data)))
    at = goto("pages/browse.py", image="0001")
    assert not any("found no organ" in i.value for i in at.info)


@pytest.mark.parametrize("page", ["pages/browse.py", "pages/compare.py"])
def test_phantom_trained_model_on_real_data_says_its_boxes_are_unreliable(real_data, monkeypatch, page):
    install(monkeypatch, FakeDetector(load_dataset(real_data)), card=phantom_card())
    at = goto(page, image="0001")
    assert any("its boxes on real scans are unreliable" in w.value for w in at.warning), page


def test_model_report_of_a_phantom_trained_model_on_real_data_says_its_boxes_are_unreliable(
    real_data, monkeypatch, tmp_path
):
    ds = load_dataset(real_data)
    folder = tmp_path / "models" / "fake"
    write_eval(folder, ds)
    install(monkeypatch, ArrayDetector(ds), folder, card=phantom_card())
    at = goto("pages/model_report.py")
    assert not at.exception, at.exception
    assert any("its boxes on real scans are unreliable" in w.value for w in at.warning)


def test_phantom_trained_model_on_the_phantom_needs_no_such_warning(tmp_path, monkeypatch):
    data = make_study_dataset(tmp_path / "NNUS")  # phantom-marked
    monkeypatch.setenv("NNUS_DATA", str(data))
    install(monkeypatch, FakeDetector(load_dataset(data)), card=phantom_card())
    at = goto("pages/browse.py", image="0001")
    assert not any("unreliable" in w.value for w in at.warning)


def test_model_report_evaluates_on_the_active_dataset_once(real_data, monkeypatch, tmp_path):
    ds = load_dataset(real_data)
    det = ArrayDetector(ds)
    folder = tmp_path / "models" / "fake"
    path = write_eval(folder, ds)
    shipped = json.loads(path.read_text())
    shipped["data"]["root"] = "/elsewhere/phantom"  # the shipped figures come from other data
    path.write_text(json.dumps(shipped))
    install(monkeypatch, det, folder)
    at = goto("pages/model_report.py")
    assert "Evaluate on this dataset" in text_of(at)
    assert all(b.disabled for b in at.button if b.label == "Open in Browse"), (
        "the gallery cannot show other data"
    )
    at.selectbox(key="report_eval_split").set_value("all").run()
    at.button(key="report_eval_run").click().run()
    assert not at.exception, at.exception
    assert det.calls == len(ds), "the model ran on every image of the active dataset"
    assert "all split" in text_of(at) and "/elsewhere" not in text_of(at)
    opens = [b for b in at.button if b.label == "Open in Browse"]
    assert opens and not any(b.disabled for b in opens), "now the failures are this dataset's images"
    cached = list((tmp_path / "eval-cache").glob("eval_all_*.json"))
    assert len(cached) == 1 and json.loads(cached[0].read_text())["data"]["root"] == str(ds.root)
    # A later visit reads the cached evaluation: the model does not run again.
    again = goto("pages/model_report.py")
    assert det.calls == len(ds)
    assert "all split" in text_of(again) and not [b for b in again.button if b.key == "report_eval_run"]


def test_label_all_says_the_models_extra_box_may_be_right(real_data, monkeypatch):
    from pages._state import QuizKeys

    CURRENT_KEY, box_key = QuizKeys.current.key, QuizKeys.box_key
    from tests.test_quiz_app import drag_value, quiz_page, start

    ds = load_dataset(real_data)
    stem = "0001"
    assert 4 not in organs_of(1), "the fake model's oesophagus box lands where nothing is labelled"
    install(monkeypatch, FakeDetector(ds))
    at = quiz_page({"image": stem})
    at = start(at, n=1, kinds=("label_all",))
    iid = at.session_state[CURRENT_KEY]
    a = ds.get(stem).annotations[0]
    at.session_state[box_key(iid, 0)] = drag_value(a.box.as_tuple())
    at.run()
    at.selectbox(key=f"quiz_label_organ_{iid}").set_value(a.organ_id).run()
    at.button(key="quiz_label_add").click().run()
    at.button(key="quiz_submit").click().run()
    assert not at.exception, at.exception
    notes = " ".join(i.value for i in at.info)
    assert "esophagus" in notes and "may be right" in notes


def test_progress_table_shows_blanks_not_none(real_data, monkeypatch):
    from tests.test_quiz_app import quiz_page, start

    install(monkeypatch, None)
    at = start(quiz_page(), name="Cy", n=1, kinds=("present",))
    at.button(key="quiz_present_yes").click().run()
    at.switch_page("pages/progress.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["iou"].tolist() == [""] and table["model_iou"].tolist() == [""]
    assert "None" not in table.astype(str).to_numpy().ravel().tolist()


# --- Units behind the pages ----------------------------------------------------------------------


def test_model_card_notes_say_when_the_training_data_differ():
    phantom, real = phantom_card(True), phantom_card(False)
    assert "synthetic phantom" in phantom.domain_note(False) and "unreliable" in phantom.domain_note(False)
    assert phantom.domain_note(True) is None and real.domain_note(False) is None
    assert real.domain_note(True)
    note = phantom.burn_note(False)
    assert note and note.isascii() and len(note) <= 80 and phantom.burn_note(True) == ""


def test_shipped_model_card_is_what_the_notes_read():
    """The note comes from the card, not from code: the shipped model says it is phantom-trained."""
    from nnus_core.detector import default_model_dir, read_model_card
    from nnus_core.video.__main__ import model_note

    folder = default_model_dir()
    if folder is None:
        pytest.skip("no model shipped")
    card = read_model_card(folder)
    assert card.synthetic and card.domain_note(False)
    assert model_note(None, phantom_input=False) == card.burn_note(False)
    assert model_note(None, phantom_input=True) == ""
    assert model_note(str(folder.parent / "no-such-model"), phantom_input=False) == ""


def test_activation_check_lists_every_problem(tmp_path):
    from nnus_core.dataset.active import activation_check

    ok = activation_check(load_dataset(make_nnus_folder(tmp_path / "ok", n=2)))
    assert not ok.needs_override and ok.can_activate
    zero = activation_check(load_dataset(_misspelt(tmp_path / "zero", every_name=True)))
    assert zero.needs_override and zero.can_activate and len(zero.problems) == 2


def test_evaluate_cached_runs_once_per_dataset_and_model(tmp_path):
    from nnus_core.detector.evaluation import cached_evaluation_file, evaluate_cached

    ds = load_dataset(make_study_dataset(tmp_path / "d", synthetic=False))
    det = ArrayDetector(ds)
    path = evaluate_cached(det, ds, "all", dataset_key="k1", model_id="m", cache_dir=tmp_path / "c")
    assert det.calls == len(ds) and json.loads(path.read_text())["data"]["n_images"] == len(ds)
    assert evaluate_cached(det, ds, "all", dataset_key="k1", model_id="m", cache_dir=tmp_path / "c") == path
    assert det.calls == len(ds)
    assert cached_evaluation_file("k2", "m", "all", tmp_path / "c") != path  # a changed dataset: new file
    assert cached_evaluation_file("k1", "m2", "all", tmp_path / "c") != path  # another model: new file


def test_server_folders_outside_the_data_roots_read_the_same_and_name_no_path(real_data, monkeypatch):
    install(monkeypatch, None)
    at = goto("pages/home.py", as_user=INSTRUCTOR)
    said = []
    for probe in ("/etc", "/nonexistent", "../../etc"):
        at.text_input(key="home_path").input(probe).run()
        errors = " ".join(e.value for e in at.error)
        assert "not one this server offers" in errors and "etc" not in errors and "nonexistent" not in errors
        said.append(errors)
    assert len(set(said)) == 1  # the same sentence whether the folder exists or not
