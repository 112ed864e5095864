"""Quiz: locate, identify and spot organs; scored against the ground truth and the model; stored once."""

from __future__ import annotations

import streamlit as st

from nnus_core.errors import AccessDenied, QuizInputError
from nnus_core.text import md_escape
from pages import _classroom
from pages import _quiz_ui as ui
from pages import _quiz_views as views
from pages._shared import dataset_badge, get_dataset
from pages._state import state

with st.container(key="quiz_title"):  # keyed: a phone hides it while a question is on screen
    st.title("Quiz")
ds = get_dataset()
dataset_badge(ds)
svc, model_available = ui.quiz_service(ds)


session_id = ui.active_session_id()
focus = ui.focus_request(ds)
if focus:
    ui.focus_notice(focus)
    if session_id:
        # "Quiz me on this image" from Browse starts a new, focused quiz instead of resuming.
        ui.leave_quiz()
        session_id = None

actor = ui.acting_user()
with st.container(key="quiz_user_line"):
    ui.signed_in_line(actor)

if not session_id:
    resumed = None if focus else ui.resume_offer(svc, actor)
    if resumed:
        ui.activate(resumed)
        st.rerun()
    settings = ui.setup_ui(focus)
    if settings is not None:
        actor = ui.acting_user(create_guest=True)  # a guest's private record starts with their first quiz
        try:
            sess = svc.start(actor, settings)
            svc.next_question(sess.id, actor)
        except (QuizInputError, AccessDenied) as exc:
            st.error(md_escape(exc))
            st.stop()
        ui.activate(sess.id)
        st.rerun()
    st.stop()

try:
    quiz = svc.state(session_id, actor)
except AccessDenied:
    # A quiz URL is not a sign-in: another student's quiz stays theirs, whoever holds its link.
    st.error("This quiz belongs to another student. Start your own quiz.")
    if st.button("Start a new quiz", key="quiz_new_foreign"):
        ui.leave_quiz()
        st.rerun()
    st.stop()
except QuizInputError as exc:
    st.error(md_escape(exc))
    if st.button("Start a new quiz", key="quiz_new_after_error"):
        ui.leave_quiz()
        st.rerun()
    st.stop()
if quiz.session.student_id != actor.student_id:  # an instructor looking: they read, never answer
    st.info("This is a student's quiz: you can read it, but only its student answers.")
    st.stop()
ui.keep_in_url(session_id)
_classroom.assignment_banner(session_id)

waiting = quiz.awaiting_answer
if waiting is None and not quiz.finished and quiz.last is None:
    waiting = svc.next_question(session_id, actor)
if waiting is not None:
    ui.show_flash()
    if waiting.id in ui.pending_answers():  # answered, but the database has not taken it yet
        ui.pending_notice(svc, waiting)
        st.stop()
    views.question_ui(svc, waiting, quiz.settings)
    ui.prefetch_model(svc, waiting)
    st.stop()

if state.quiz.show_summary:
    views.summary_ui(svc, session_id, model_available=model_available)
else:
    last = quiz.last
    views.feedback_ui(
        svc.review(last, quiz.attempts[last.id]), model_available=model_available, data_synthetic=ds.synthetic
    )
    if quiz.finished:
        if st.button("See the summary", type="primary", key="quiz_summary", icon=":material/summarize:"):
            state.quiz.show_summary = True
            st.rerun()
    elif st.button("Next question", type="primary", key="quiz_next", icon=":material/arrow_forward:"):
        svc.next_question(session_id, actor)
        st.rerun()
c1, c2 = st.columns(2)
if c1.button("New quiz", key="quiz_new", icon=":material/add:"):
    ui.leave_quiz()
    st.rerun()
c2.page_link("pages/progress.py", label="My progress", icon=":material/trending_up:")
