"""Streamlit glue of the classroom: "add to set" (Browse, Compare), a student's open assignments
(Home), starting an assignment in the quiz, the assignment banner on the quiz page."""

from __future__ import annotations

import datetime as dt
import time

import streamlit as st

from nnus_core.accounts import Action, Actor
from nnus_core.classroom import assignments as asg
from nnus_core.classroom import sets
from nnus_core.dataset import Dataset, Sample
from nnus_core.errors import NnusError
from nnus_core.organs import ORGANS
from nnus_core.quiz import Kind
from nnus_core.quiz.engine import dataset_key
from nnus_core.quiz.kinds import REGISTRY
from nnus_core.quiz.questions import QuestionSpec
from nnus_core.text import md_escape
from pages import _auth
from pages._shared import get_store
from pages._state import state

QUIZ_PAGE = "pages/quiz.py"
NEW_SET = -1


def when(ts: float | None) -> str:
    """A time as the server's local clock shows it (the dates an instructor typed)."""
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "never"


def add_to_set(ds: Dataset, sample: Sample, *, key: str) -> None:
    """Instructors only: a popover that adds a question on this image to one of their sets."""
    if not _auth.allowed_here(Action.BUILD_QUESTION_SETS):
        return
    actor, engine = _auth.current_actor(), get_store()
    with st.popover("Add to set", icon=":material/playlist_add:"):
        mine = sets.list_sets(engine, actor)
        options = [NEW_SET, *(s.id for s in mine)]
        titles = {s.id: f"{s.title} ({len(s.items)})" for s in mine} | {NEW_SET: "New set…"}
        chosen = st.selectbox(
            "Question set", options, index=1 if mine else 0, format_func=titles.get, key=f"{key}_set"
        )
        title = (
            st.text_input("Title of the new set", "New set", key=f"{key}_title") if chosen == NEW_SET else ""
        )
        kind = st.selectbox(
            "Question",
            [k.value for k in REGISTRY],
            format_func=lambda k: REGISTRY[Kind(k)].title,
            key=f"{key}_kind",
        )
        organ = None
        if kind != Kind.LABEL_ALL.value:
            present = sorted(sample.organ_ids) or list(range(len(ORGANS)))
            pool = present if kind == Kind.IDENTIFY.value else list(range(len(ORGANS)))
            organ = st.selectbox("Organ", pool, format_func=lambda i: ORGANS[i].name, key=f"{key}_organ")
        if st.button("Add", type="primary", key=f"{key}_add", icon=":material/add:"):
            try:
                spec = QuestionSpec(Kind(kind), sample.stem, organ)
                sets.check_items(ds, [spec])
                if chosen == NEW_SET:
                    qs = sets.create_set(engine, actor, title, [spec], dataset_key=dataset_key(ds))
                else:
                    qs = sets.add_item(engine, actor, chosen, spec)
            except NnusError as exc:
                _auth.show_error(exc)
            else:
                state.classroom.set_id = qs.id
                st.success(f"In “{md_escape(qs.title)}”: {len(qs.items)} question(s).")


def open_assignments(actor: Actor) -> None:
    """Home, for a student: the open assignments of their classes, each with Start / Continue."""
    if actor.user is None or actor.student_id is None or actor.is_instructor:
        return
    mine = asg.my_assignments(get_store(), actor)
    if not mine:
        return
    st.subheader("Your assignments", anchor="assignments")
    for sa in mine:
        a = sa.assignment
        with st.container(border=True, key=f"assignment_{a.id}"):
            c1, c2 = st.columns([4, 1], vertical_alignment="center")
            late = a.due_s < time.time()
            c1.markdown(
                f"**{md_escape(a.title)}** · {md_escape(sa.class_name)} · {a.n_questions} questions · "
                f"due {when(a.due_s)}"
                + (" · **past due: answers now are marked late**" if late and not sa.done else "")
            )
            c1.caption(
                f"{sa.answered} of {a.n_questions} answered"
                + (f", {sa.late} late" if sa.late else "")
                + (" — done" if sa.done else "")
            )
            if not sa.done:
                label = "Continue" if sa.session_id else "Start"
                if c2.button(
                    label, key=f"assignment_go_{a.id}", type="primary", icon=":material/play_arrow:"
                ):
                    start(actor, a.id)


def start(actor: Actor, assignment_id: int) -> None:
    """Open (or resume) an assignment's quiz and go to the quiz page."""
    from pages import _quiz_ui as ui
    from pages._shared import get_dataset

    svc, _ = ui.quiz_service(get_dataset())
    try:
        session_id = asg.start_assignment(svc, actor, assignment_id)
    except NnusError as exc:
        _auth.show_error(exc)
        return
    ui.activate(session_id)
    st.switch_page(QUIZ_PAGE, query_params={"quiz": session_id})


def assignment_banner(session_id: str) -> None:
    """On the quiz page: which assignment this quiz answers, its due date, and whether answers are late now."""
    a = asg.assignment_of_session(get_store(), session_id)
    if a is None:
        return
    if a.is_late(time.time()):
        st.warning(
            f"**{md_escape(a.title)}** was due {when(a.due_s)}: answers given now are marked late.",
            icon=":material/schedule:",
        )
    else:
        st.info(f"Assignment **{md_escape(a.title)}** · due {when(a.due_s)}", icon=":material/assignment:")
