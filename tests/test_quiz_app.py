"""AppTest: the Quiz and My progress pages from the entrypoint, every question type with injected answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nnus_core.quiz.questions import Question
from nnus_core.store import get_engine
from nnus_core.store.attempts import count_attempts
from nnus_core.store.quizzes import session_instances
from pages._state import QuizKeys
from tests.test_pages_app import FakeDetector, write_eval

CURRENT_KEY, SESSION_KEY = QuizKeys.current.key, QuizKeys.session_id.key
box_key, labels_key = QuizKeys.box_key, QuizKeys.labels_key

ROOT = Path(__file__).resolve().parents[1]
DISPLAY_W = 760.0  # any displayed size works: the page scales by the reported width


pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


@pytest.fixture
def env(study_app_env):
    return study_app_env


@pytest.fixture
def with_model(env, monkeypatch):
    import pages._shared as shared

    det = FakeDetector(env["ds"])
    folder = env["tmp"] / "models" / "fake"
    write_eval(folder, env["ds"])
    monkeypatch.setattr(shared, "get_detector", lambda: det)
    monkeypatch.setattr(shared, "model_folder", lambda: folder)
    return det


def quiz_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/quiz.py").run()
    assert not at.exception, at.exception
    return at


def student_user(name: str):
    """The student `name` of a class in the test database (joined with a PIN on first use)."""
    import os

    from nnus_core.accounts import Actor
    from nnus_core.accounts import service as acc
    from nnus_core.errors import SignInError

    engine = get_engine(os.environ["NNUS_DB_URL"])
    if acc.instructor_count(engine) == 0:
        acc.create_instructor(engine, None, "t@school.edu", "Dr T", "correct horse battery", first_run=True)
    teacher, _ = acc.sign_in_password(engine, Actor(client="t"), "t@school.edu", "correct horse battery")
    classes = acc.instructor_classes(engine, Actor(teacher)) or [
        acc.create_class(engine, Actor(teacher), "Anatomy")
    ]
    try:
        user, _ = acc.join_class(engine, Actor(client="t"), classes[0].join_code, name, "1234")
    except SignInError:
        user, _ = acc.sign_in_pin(engine, Actor(client="t"), classes[0].join_code, name, "1234")
    return user


def sign_in(at: AppTest, name: str) -> AppTest:
    """This browser session signed in as the student `name`, as the sign-in cookie would do."""
    at.session_state["nnus_auth_user"] = student_user(name)
    at.run()
    return at


def start(at: AppTest, name: str | None = "Ana", n: int = 2, kinds=("locate",), **widgets) -> AppTest:
    if name is not None:
        sign_in(at, name)
    at.number_input(key="quiz_n").set_value(n).run()
    at.multiselect(key="quiz_kinds").set_value(list(kinds)).run()
    for key, value in widgets.items():
        at.multiselect(key=key).set_value(value).run()
    at.button(key="quiz_start").click().run()
    assert not at.exception, at.exception
    return at


def current(at: AppTest, env) -> tuple[str, Question]:
    iid = at.session_state[CURRENT_KEY]
    sid = at.session_state[SESSION_KEY]
    inst = next(i for i in session_instances(get_engine(env["url"]), sid) if i.id == iid)
    return iid, Question.from_payload(inst.payload)


def drag_value(box, w=494, h=447, reverse=False):
    """The drawing component's state after a drag over `box` (image pixels), as the browser reports it."""
    s = DISPLAY_W / w
    x1, y1, x2, y2 = (v * s for v in box)
    if reverse:
        x1, y1, x2, y2 = x2, y2, x1, y1
    return {"box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "width": DISPLAY_W, "height": h * s}}


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [i.value for i in at.info] + [s.value for s in at.success] + [c.value for c in at.caption]
    parts += [s.value for s in at.subheader]
    return "\n".join(str(p) for p in parts)


def answer_locate(at, env, *, right=True):
    iid, q = current(at, env)
    s = env["ds"].get(q.image_stem)
    if not q.expected_present:
        at.button(key="quiz_not_visible").click().run()
        return q
    gt = next(a.box for a in s.annotations if a.organ_id == q.organ_id)
    box = gt.as_tuple() if right else (gt.x1, gt.y1, gt.x1 + gt.width / 3, gt.y1 + gt.height / 3)
    at.session_state[box_key(iid)] = drag_value(box)
    at.run()
    at.button(key="quiz_submit").click().run()
    return q


def test_a_guest_practises_without_a_name_and_a_students_html_name_is_text(env):
    at = quiz_page()
    assert "Practising as a **guest**" in texts(at) and not at.text_input  # no name anyone could type
    start(at, name=None, n=1)
    answer_locate(at, env)
    assert count_attempts(get_engine(env["url"])) == 1  # into the guest's own record
    assert at.session_state["nnus_auth_user"].role.value == "guest"
    named = sign_in(quiz_page(), "<b>Ana</b>")
    line = next(m.value for m in named.markdown if m.value.startswith("Studying as"))
    assert "<b>" not in line and "Ana" in line  # escaped: never rendered as markup


def test_locate_question_with_a_dragged_box_gives_three_way_feedback(env, with_model):
    at = start(quiz_page(), n=2, quiz_organs=[2])  # the CCA: in every image, found by the fake model
    at_q = answer_locate(at, env)
    assert not at.exception, at.exception
    body = texts(at)
    assert at_q.prompt in body
    headline = next(m.value for m in at.markdown if "quiz-headline" in m.value)
    assert "you 1.00, model 0." in headline
    assert any(m.label == "Model IoU" and m.delta == "confidence 0.90" for m in at.metric)
    assert count_attempts(get_engine(env["url"])) == 1
    # Next question, then the summary with the per-organ chart beside the model's AP
    at.button(key="quiz_next").click().run()
    answer_locate(at, env, right=False)
    at.button(key="quiz_summary").click().run()
    assert not at.exception, at.exception
    assert "Quiz complete" in [h.value for h in at.header]
    assert len(at.get("plotly_chart")) == 1
    assert any("SYNTHETIC phantom" in c.value for c in at.caption)


@pytest.mark.parametrize(
    "value, message",
    [
        (None, "Draw a box first"),
        ({"box": {"x1": 100, "y1": 100, "x2": 100, "y2": 100, "width": 760, "height": 687.7}}, "no area"),
        (
            {"box": {"x1": 900, "y1": 10, "x2": 990, "y2": 90, "width": 760, "height": 687.7}},
            "entirely outside",
        ),
    ],
)
def test_bad_boxes_get_a_clear_message_and_nothing_is_stored(env, value, message):
    at = start(quiz_page(), n=1)
    iid, _ = current(at, env)
    if value is not None:
        at.session_state[box_key(iid)] = value
        at.run()
    at.button(key="quiz_submit").click().run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert count_attempts(get_engine(env["url"])) == 0
    assert at.session_state[CURRENT_KEY] == iid  # still on the same question


def test_reversed_and_past_the_edge_drags_are_sorted_and_clamped(env):
    at = start(quiz_page(), n=1)
    iid, _ = current(at, env)
    at.session_state[box_key(iid)] = drag_value((300, 200, 600, 500), reverse=True)
    at.run()
    notes = " ".join(i.value for i in at.info)
    assert "clipped to the image" in notes and "corners were sorted" in notes
    assert any("Your box: **194 × 247 px** at (300, 200)" in m.value for m in at.markdown)
    at.button(key="quiz_redo").click().run()  # redo clears the box
    assert not any(m.value.startswith("Your box:") for m in at.markdown)


def test_reload_mid_question_resumes_and_reload_after_submit_does_not_double_write(env):
    at = start(quiz_page(), n=2)
    iid, q = current(at, env)
    sid = at.session_state[SESSION_KEY]
    assert at.query_params["quiz"] == [sid] or at.query_params["quiz"] == sid
    # someone else with the quiz's URL (a fresh browser, not signed in as Ana) gets nothing of it
    stranger = quiz_page({"quiz": sid})
    assert any("belongs to another student" in e.value for e in stranger.error)
    assert not any(b.key == "quiz_submit" for b in stranger.button)
    # a reload: a new browser session with the URL and Ana's sign-in cookie
    again = sign_in(quiz_page({"quiz": sid}), "Ana")
    assert again.session_state[CURRENT_KEY] == iid
    assert any(m.value.startswith("Studying as **Ana**") for m in again.markdown)
    answer_locate(again, env)
    db = get_engine(env["url"])
    assert count_attempts(db) == 1
    # reload after submitting: the feedback again, no second write; a stale tab submitting too
    third = sign_in(quiz_page({"quiz": sid}), "Ana")
    assert any("quiz-headline" in m.value for m in third.markdown)
    # the first tab still shows the question; its next interaction finds the stored answer
    at.session_state[box_key(iid)] = drag_value((10, 10, 60, 60))
    at.run()
    assert count_attempts(db) == 1
    assert any("answered in another tab" in i.value for i in at.info)
    assert any("quiz-headline" in m.value for m in at.markdown)


def test_identify_question(env, with_model):
    at = start(quiz_page(), n=1, kinds=("identify",), quiz_organs=[2])  # the fake model finds every CCA
    iid, q = current(at, env)
    radio = at.radio(key=f"quiz_choice_{iid}")
    assert len(radio.options) == 4
    at.button(key="quiz_submit").click().run()
    assert any("Pick one of the organs" in e.value for e in at.error)
    wrong = next(o for o in q.choices if o != q.organ_id)
    at.radio(key=f"quiz_choice_{iid}").set_value(wrong).run()  # re-fetched: elements belong to one run
    at.button(key="quiz_submit").click().run()
    assert not at.exception, at.exception
    assert any("Not quite" in e.value for e in at.error)
    assert any("model says" in c.value for c in at.caption)
    headline = next(m.value for m in at.markdown if "quiz-headline" in m.value)
    assert "(wrong), model: Common carotid artery (right)" in headline


def test_present_question(env):
    at = start(quiz_page(), n=1, kinds=("present",))
    _, q = current(at, env)
    at.button(key="quiz_present_yes" if q.expected_present else "quiz_present_no").click().run()
    assert not at.exception, at.exception
    assert any(s.value.startswith("Correct") for s in at.success)
    assert any("No model available" in i.value for i in at.info)


def test_label_all_question(env, with_model):
    at = start(quiz_page(), n=1, kinds=("label_all",))
    iid, q = current(at, env)
    s = env["ds"].get(q.image_stem)
    at.button(key="quiz_submit").click().run()
    assert any("Label at least one organ" in e.value for e in at.error)
    for k, a in enumerate(s.annotations):
        at.session_state[box_key(iid, k)] = drag_value(a.box.as_tuple())
        at.run()
        at.selectbox(key=f"quiz_label_organ_{iid}").set_value(a.organ_id).run()
        at.button(key="quiz_label_add").click().run()
    assert len(at.session_state[labels_key(iid)]) == len(s.annotations)
    at.button(key="quiz_submit").click().run()
    assert not at.exception, at.exception
    assert any(f"{len(s.organ_ids)} of {len(s.annotations)} organs found" in x.value for x in at.success)


def test_quiz_focused_on_an_image_from_browse(env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.session_state["quiz_image"] = "0005"
    at.switch_page("pages/quiz.py").run()
    assert any("Quiz focused on image" in i.value for i in at.info)
    start(at, n=2)
    _, q = current(at, env)
    assert q.image_stem == "0005"
    # the same through the URL, as Browse's link also passes ?image=
    at2 = quiz_page({"image": "0007"})
    assert any("0007" in i.value for i in at2.info)


def test_progress_page_shows_the_answer(env):
    at = start(quiz_page(), name="Bo", n=1)
    answer_locate(at, env)
    at.switch_page("pages/progress.py").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Answers"] == "1"
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 1
    # Bo signed in again (another device) finds the progress; nobody else does, by any name
    fresh = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    fresh.switch_page("pages/progress.py").run()
    sign_in(fresh, "bo")
    assert {m.label: m.value for m in fresh.metric}["Answers"] == "1"
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    other.switch_page("pages/progress.py").run()
    assert not other.text_input and not other.metric  # no name box: a record is never found by name
    assert any("No answers stored yet" in i.value for i in other.info)


def test_closed_browser_loses_nothing_the_unfinished_quiz_is_offered(env):
    at = start(quiz_page(), name="Cy", n=3)
    answer_locate(at, env)
    sid = at.session_state[SESSION_KEY]
    # the browser was closed: a new session without the URL, the student signs in again
    fresh = sign_in(quiz_page(), "cy")
    assert any("unfinished quiz" in i.value and "1 of 3 answered" in i.value for i in fresh.info)
    fresh.button(key="quiz_resume").click().run()
    assert not fresh.exception, fresh.exception
    assert fresh.session_state[SESSION_KEY] == sid
    assert any("quiz-headline" in m.value for m in fresh.markdown)  # the stored answer's feedback
    fresh.button(key="quiz_next").click().run()
    assert fresh.session_state[CURRENT_KEY].endswith("-001")


def test_every_registered_kind_has_an_answer_view():
    from nnus_core.quiz.kinds import REGISTRY
    from pages._quiz_views import ANSWER_VIEWS

    assert set(ANSWER_VIEWS) == set(REGISTRY)


def test_a_sign_in_ended_elsewhere_ends_in_an_open_session_too(env):
    """Sign-out on another device or a reissued link: an open tab stops being that student."""
    from nnus_core.accounts import service as acc

    engine = get_engine(env["url"])
    user = student_user("Dee")
    token = acc.browser_token(engine, user)
    at = quiz_page()
    at.session_state["nnus_auth_user"] = user
    at.session_state["nnus_auth_token"] = token  # as the cookie would have given it
    at.run()
    assert any(m.value.startswith("Studying as **Dee**") for m in at.markdown)
    acc.sign_out(engine, token)  # elsewhere
    at.session_state["nnus_auth_checked"] = 0.0  # the re-check interval has passed
    at.run()
    assert not any(m.value.startswith("Studying as") for m in at.markdown)
    assert "Practising as a **guest**" in texts(at)
