"""The classroom pages in AppTest: the dashboard of a seeded class (figures, drill-down, exports), the
question sets page (balanced draw, assign), a student's open assignments on Home, and the refusals."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from nnus_core.accounts import Actor
from nnus_core.accounts.model import User
from nnus_core.classroom import assignments as asg
from nnus_core.classroom import sets
from nnus_core.store import get_engine
from tests.classroom_seed import seed_class
from tests.test_pages_app import ROOT

pytestmark = pytest.mark.usefixtures("streamlit_caches_cleared")


@pytest.fixture
def room(study_app_env):
    url, ds = study_app_env["url"], study_app_env["ds"]
    engine = get_engine(url)
    return engine, ds, seed_class(engine, ds, 6, 12)


def goto(page: str, user: User | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    if user is not None:  # signed in, as the cookie would have done; the navigation follows the role
        at.session_state["nnus_auth_user"] = user
        at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_the_dashboard_shows_the_class_drills_down_and_exports(room):
    engine, ds, sc = room
    at = goto("pages/dashboard.py", sc.teacher.user)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Students"] == "6" and metrics["Answers"] == "72"
    students = at.dataframe[0].value
    assert list(students["Answers"]) == [12] * 6
    assert len(at.get("plotly_chart")) == 4
    assert at.selectbox(key="dash_drill_student").value == next(iter(sc.names))
    shown = [m.value for m in at.markdown if "passed" in m.value or "wrong" in m.value]
    assert shown  # the answers behind the first cell, each with its image
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download every answer (CSV)"]
    at.selectbox(key="dash_assignment").set_value(sc.assignment.id).run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["Answers"] == "10"  # 2 students x 5 questions
    assert [b.label for b in at.get("download_button")] == [
        "Download the gradebook (CSV)",
        "Download every answer (CSV)",
    ]


def test_the_sets_page_draws_a_balanced_set_and_assigns_it(room):
    engine, ds, sc = room
    at = goto("pages/sets.py", sc.teacher.user)
    title = next(t for t in at.text_input if t.label == "Title")
    title.set_value("Week 2")
    next(b for b in at.button if b.label == "Create").click().run()
    assert not at.exception, at.exception
    made = sets.list_sets(engine, sc.teacher)[0]
    assert made.title == "Week 2" and len(made.items) >= 8
    assert at.dataframe[0].value.shape[0] == len(made.items)
    next(b for b in at.button if b.label == "Assign").click().run()
    assert not at.exception, at.exception
    given = asg.class_assignments(engine, sc.teacher, sc.class_id)
    week2 = next(a for a in given if a.title == "Week 2")
    assert week2.items == made.items and week2.due_s - week2.open_s == pytest.approx(7 * 86_400, abs=60)
    assert any("Assigned" in s.value for s in at.success)


def test_students_see_their_open_assignments_on_home_and_not_the_teaching_pages(room):
    engine, ds, sc = room
    import time

    at = goto("pages/home.py", sc.student.user)
    assert not any("Your assignments" in s.value for s in at.subheader)  # the seeded one opens later
    asg.assign(
        engine, sc.teacher, sc.assignment.set_id, sc.class_id, time.time() - 60, time.time() + 3600, "Today"
    )
    at = goto("pages/home.py", sc.student.user)
    assert any("Your assignments" in s.value for s in at.subheader)
    assert any("Today" in m.value and "5 questions" in m.value for m in at.markdown)
    for page in ("pages/dashboard.py", "pages/sets.py"):  # the page itself refuses a student
        other = goto(page, sc.student.user)
        assert any("Instructors only" in w.value for w in other.warning)
        assert not other.get("plotly_chart") and not other.dataframe
    stranger = goto("pages/dashboard.py", sc.other.user)  # another instructor: no class of theirs
    assert any("No class yet" in i.value for i in stranger.info)


def test_a_student_takes_an_open_assignment_from_home(room):
    engine, ds, sc = room
    qs = sets.create_set(
        engine, sc.teacher, "Quick", sets.balanced_items(ds, per_organ=1)[:3], dataset_key="synthetic:?"
    )
    from nnus_core.quiz.engine import dataset_key

    sets.update_set(engine, sc.teacher, qs.id, title="Quick")
    import time

    from sqlalchemy import update

    from nnus_core.store.classroom_tables import question_sets

    with engine.begin() as conn:
        conn.execute(
            update(question_sets).values(dataset_key=dataset_key(ds)).where(question_sets.c.id == qs.id)
        )
    a = asg.assign(engine, sc.teacher, qs.id, sc.class_id, time.time() - 60, time.time() + 3600)
    student = Actor(sc.student.user)
    at = goto("pages/home.py", student.user)
    at.button(key=f"assignment_go_{a.id}").click().run()
    assert not at.exception, at.exception
    mine = next(x for x in asg.my_assignments(engine, student) if x.assignment.id == a.id)
    assert mine.session_id is not None and mine.answered == 0
