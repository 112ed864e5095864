"""AppTest: the Live session and Join pages from the entrypoint through every state and all four kinds."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nnus_core.accounts import Actor
from nnus_core.live import LiveService, LiveSetup
from nnus_core.quiz.questions import Kind
from nnus_core.store import get_engine
from pages._state import QuizKeys
from tests.test_quiz_app import env, student_user  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


def page(user, path: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state["nnus_auth_user"] = user
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown) + " ".join(getattr(m, "value", "") for m in at.subheader)


def test_both_pages_through_a_session_of_all_four_kinds(env):  # noqa: F811
    from nnus_core.accounts import service as acc

    ana = student_user("Ana")  # makes the instructor and the class too
    engine = get_engine(env["url"])
    teacher, _ = acc.sign_in_password(engine, Actor(client="t"), "t@school.edu", "correct horse battery")
    klass = acc.instructor_classes(engine, Actor(teacher))[0]
    svc = LiveService(engine, env["ds"])
    t = Actor(teacher)

    # The setup form on the instructor's page; a student never gets it.
    at = page(teacher, "pages/live.py")
    assert any(b.label == "Start the session" for b in at.button)
    assert page(ana, "pages/join.py").text_input(key="live_join_code") is not None

    sess = svc.create(
        t,
        LiveSetup(n_questions=4, kinds=("present", "identify", "label_all", "locate"), seed=4),
        class_id=klass.id,
    )
    # Ana joins through the page, by the code in the QR's URL.
    st_ = page(ana, "pages/join.py", {"code": sess.join_code})
    st_.text_input(key="live_join_name").set_value("Ana")
    st_.button[0].click().run()
    assert not st_.exception, st_.exception
    assert "waiting for your instructor" in texts(st_), [e.value for e in st_.error]
    at = page(teacher, "pages/live.py", {"session": str(sess.id)})
    assert sess.join_code in texts(at) and any(b.label.startswith("Open question 1") for b in at.button)
    pid = svc.participant_of(Actor(ana), sess.id).id

    labels = {
        Kind.PRESENT: "Yes, visible",
        Kind.IDENTIFY: None,
        Kind.LABEL_ALL: "Submit 1 boxes",
        Kind.LOCATE: "Not visible here",
    }
    for pos in range(4):
        svc.open_next(t, sess.id, after=pos - 1)
        q, sample = svc.question(sess.id, pos)
        st_ = page(ana, "pages/join.py", {"code": sess.join_code})
        assert q.question.prompt in texts(st_)
        assert "SYNTHETIC phantom" in texts(st_)  # the phone says what the image is
        if q.kind is Kind.LABEL_ALL:  # one box named, as the drawing widget and Add would leave it
            a = sample.annotations[0]
            st_.session_state[QuizKeys.labels_key(f"live{sess.id}-{pos}")] = [[a.organ_id, *a.box.as_tuple()]]
            st_.run()
        want = labels[q.kind]
        button = next(
            b for b in st_.button if (b.label == want if want else b.key.startswith("live_choice_"))
        )
        button.click().run()
        assert not st_.exception, st_.exception
        assert svc.my_answer(pid, pos) is not None, [e.value for e in st_.error]
        at = page(teacher, "pages/live.py", {"session": str(sess.id)})
        assert "answered 1 of 1" in texts(at) and "SYNTHETIC phantom" in texts(at)
        svc.reveal(t, sess.id)
        at = page(teacher, "pages/live.py", {"session": str(sess.id)})
        assert "1 of 1 answered" in texts(at) and "live-leaderboard" in texts(at)
        st_ = page(ana, "pages/join.py", {"code": sess.join_code})
        assert "#1 of 1" in texts(st_)
    svc.finish(t, sess.id)
    at = page(teacher, "pages/live.py", {"session": str(sess.id)})
    assert "Session report" in texts(at)
    st_ = page(ana, "pages/join.py", {"code": sess.join_code})
    assert "of 4 right" in texts(st_)


def test_a_student_is_refused_the_instructor_page_and_another_class_session(env):  # noqa: F811
    from nnus_core.accounts import service as acc

    ana = student_user("Ana")
    engine = get_engine(env["url"])
    other_teacher = acc.create_instructor(
        engine,
        Actor(acc.sign_in_password(engine, Actor(client="t"), "t@school.edu", "correct horse battery")[0]),
        "o@school.edu",
        "Dr O",
        "another long password",
    )
    other_class = acc.create_class(engine, Actor(other_teacher), "Other")
    sess = LiveService(engine, env["ds"]).create(
        Actor(other_teacher), LiveSetup(n_questions=1, kinds=("present",), seed=1), class_id=other_class.id
    )
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in a student's menu
        page(ana, "pages/live.py")
    st_ = page(ana, "pages/join.py", {"code": sess.join_code})
    st_.button[0].click().run()
    assert any("members of a class" in e.value for e in st_.error)


def test_the_setup_form_starts_a_session_from_a_saved_set(env):  # noqa: F811
    from nnus_core.accounts import service as acc
    from nnus_core.classroom import sets
    from nnus_core.quiz.questions import QuestionSpec

    student_user("Ana")  # makes the instructor and the class too
    engine = get_engine(env["url"])
    teacher, _ = acc.sign_in_password(engine, Actor(client="t"), "t@school.edu", "correct horse battery")
    svc = LiveService(engine, env["ds"])
    s = env["ds"].samples[0]
    items = (
        QuestionSpec(Kind.LABEL_ALL, s.stem, None),
        QuestionSpec(Kind.LOCATE, s.stem, s.annotations[0].organ_id),
    )
    qs = sets.create_set(engine, Actor(teacher), "Thyroid week", items, dataset_key=svc.dataset_key)

    at = page(teacher, "pages/live.py")
    chooser = at.selectbox[1]  # after "Who may join"
    assert chooser.label == "Questions from" and "Saved set: Thyroid week (2 questions)" in chooser.options
    chooser.set_value(qs.id)
    at.multiselect[0].set_value([])  # the drawn-question types do not matter for a set
    next(b for b in at.button if b.label == "Start the session").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    [sess] = svc.instructor_sessions(Actor(teacher))
    assert sess.n_questions == 2
    assert [svc.question(sess.id, p)[0].kind for p in range(2)] == [Kind.LABEL_ALL, Kind.LOCATE]
