"""Live session (instructors): set up a class quiz, show the join code and QR, run it question by
question on the projector, reveal the class's answers, the leaderboard, the report and the exports."""

from __future__ import annotations

import streamlit as st

from nnus_core.accounts import Action
from nnus_core.accounts import service as acc
from nnus_core.browse import encode_jpeg, load_rgb, render_view
from nnus_core.classroom import sets
from nnus_core.errors import NnusError
from nnus_core.live import (
    ChoiceReveal,
    LabelAllReveal,
    LiveSetup,
    LiveState,
    LocateReveal,
    Pulse,
    reveal_image,
)
from nnus_core.live.qr import join_qr_png
from nnus_core.organs import ORGANS
from nnus_core.quiz import Kind
from nnus_core.quiz.kinds import REGISTRY
from nnus_core.quiz.questions import DIFFICULTIES
from nnus_core.render import Overlay
from nnus_core.text import html_escape, md_escape
from pages import _auth, _shared
from pages import _live_ui as ui
from pages._state import state

actor = _auth.require(Action.CREATE_LIVE)
ds = _shared.get_dataset()
svc = ui.service(ds)
engine = svc.db

# The session on screen: this browser session's, else the one in the URL (a reload).
sid = state.live.session_id
if sid is None and st.query_params.get("session", "").isdigit():
    sid = int(st.query_params["session"])


def _leave() -> None:
    del state.live.session_id
    st.query_params.clear()


def _run(step) -> None:  # noqa: ANN001 - a service call
    try:
        step()
    except NnusError as exc:
        _auth.show_error(exc)
        return
    st.rerun()


# --- setup --------------------------------------------------------------------------------------

if sid is None:
    st.title("Live session")
    st.caption(
        "The room answers on their phones while you project this page: one question at a time, "
        "with a countdown; then everyone's answers together, and the leaderboard."
    )
    running = svc.instructor_sessions(actor, include_finished=True)[:8]
    if running:
        with st.expander("Your recent sessions", expanded=True, icon=":material/history:"):
            for s in running:
                c1, c2 = st.columns([4, 1], vertical_alignment="center")
                c1.markdown(
                    f"**{md_escape(s.title)}** · code `{s.join_code}` · {s.state.value.replace('_', ' ')}"
                )
                if c2.button("Open", key=f"live_open_{s.id}"):
                    state.live.session_id = s.id
                    st.query_params["session"] = str(s.id)
                    st.rerun()
    classes = acc.instructor_classes(engine, actor)
    with st.form("live_setup"):
        st.subheader("New live session", anchor=False)
        title = st.text_input("Title", "Neck anatomy live quiz", max_chars=80)
        who = st.selectbox(
            "Who may join",
            [None, *[c.id for c in classes]],
            format_func=lambda c: (
                "Anyone with the code"
                if c is None
                else f"Class: {next(x.name for x in classes if x.id == c)}"
            ),
        )
        mine = [q for q in sets.list_sets(engine, actor) if q.items]
        set_id = st.selectbox(
            "Questions from",
            [None, *[q.id for q in mine]],
            format_func=lambda i: (
                "Drawn at random with the choices below"
                if i is None
                else next(
                    f"Saved set: {q.title} ({len(q.items)} question{'s' if len(q.items) != 1 else ''})"
                    for q in mine
                    if q.id == i
                )
            ),
            help="A saved set asks its own questions in its order; the number, types, organs and "
            "difficulty below are then not used (the time, the pass mark and the toggles still are). Build sets on the Question sets page.",
        )
        c1, c2, c3 = st.columns(3)
        n = c1.number_input("Questions", 1, 30, 5)
        kinds = c2.multiselect(
            "Question types",
            [k.value for k in REGISTRY],
            default=["locate", "identify"],
            format_func=lambda k: REGISTRY[Kind(k)].title,
        )
        organs = c3.multiselect(
            "Organs", list(range(len(ORGANS))), placeholder="All organs", format_func=lambda i: ORGANS[i].name
        )
        c4, c5, c6 = st.columns(3)
        time_s = c4.selectbox(
            "Time per question", [10, 20, 30, 45, 60, 90, 120], index=2, format_func=lambda s: f"{s} s"
        )
        difficulty = c5.selectbox("Difficulty", DIFFICULTIES)
        pass_iou = c6.slider("Pass at IoU ≥", 0.3, 0.9, 0.5, 0.05)
        speed = st.toggle("Speed counts (faster right answers earn more points)", False)
        hidden = st.toggle("Hide the leaderboard from the room", False)
        start = st.form_submit_button("Start the session", type="primary", icon=":material/play_arrow:")
    if start:
        if not kinds and set_id is None:
            st.error("Choose at least one question type.")
            st.stop()
        try:
            sess = svc.create(
                actor,
                LiveSetup(
                    title=title,
                    n_questions=int(n),
                    kinds=tuple(kinds),
                    organ_ids=tuple(organs),
                    difficulty=difficulty,
                    time_limit_s=int(time_s),
                    speed_counts=speed,
                    leaderboard_hidden=hidden,
                    pass_iou=float(pass_iou),
                    set_id=set_id,
                ),
                class_id=who,
            )
        except NnusError as exc:
            _auth.show_error(exc)
            st.stop()
        state.live.session_id = sess.id
        st.query_params["session"] = str(sess.id)
        st.rerun()
    st.stop()

# --- the running session --------------------------------------------------------------------------

try:
    pulse = svc.pulse(actor, sid)
except NnusError as exc:
    _auth.show_error(exc)
    if st.button("Back to the setup", key="live_back_err"):
        _leave()
        st.rerun()
    st.stop()
state.live.session_id = sid
if st.query_params.get("session") != str(sid):
    st.query_params["session"] = str(sid)
sess = pulse.session
ui.drawn(pulse)
klass = svc.class_name(sess)
st.markdown(
    f"<div style='display:flex;justify-content:space-between;align-items:baseline'>"
    f"<h2 style='margin:0'>{sess.title_html}</h2>"
    f"<span style='font-size:1.1rem'>{_shared.dataset_chip_html(ds)} {'class ' + html_escape(klass) + ' · ' if klass else ''}"
    f"code <b data-testid='live-code-small' style='font-family:monospace;font-size:1.6rem'>{sess.join_code}</b></span></div>",
    unsafe_allow_html=True,
)
ui.show_flash()


def _counts(p: Pulse) -> None:
    s = p.session
    if s.state is LiveState.LOBBY:
        st.markdown(
            f"<div data-testid='live-joined' style='font-size:2rem;font-weight:600'>{p.joined} joined</div>",
            unsafe_allow_html=True,
        )
        names = [x.display_name for x in svc.participants(actor, s.id)]
        if names:
            st.markdown(
                "<div style='font-size:1.2rem'>" + " · ".join(html_escape(x) for x in names[-60:]) + "</div>",
                unsafe_allow_html=True,
            )
    elif s.state in (LiveState.QUESTION_OPEN, LiveState.QUESTION_CLOSED):
        st.markdown(
            f"<div data-testid='live-answered' style='font-size:2rem;font-weight:600'>answered {p.answered} of {p.joined}</div>",
            unsafe_allow_html=True,
        )
        if s.state is LiveState.QUESTION_OPEN:
            st.markdown(ui.countdown_html(s.seconds_left(svc.clock()), big=True), unsafe_allow_html=True)
        else:
            st.markdown("**Time's up: answers are locked.**")


def _question_image(q, sample) -> bytes:  # noqa: ANN001
    overlays = []
    if q.kind is Kind.IDENTIFY and q.question.target_index is not None:
        t = sample.annotations[q.question.target_index]
        overlays = [Overlay(None, t.box, "?", "student", (255, 255, 255))]
    view, _ = render_view(load_rgb(sample.image_path), overlays, out_width_px=900)
    return encode_jpeg(view)


if sess.state is LiveState.LOBBY:
    left, right = st.columns([3, 2])
    with left:
        st.markdown("Join at this address, or scan the code:")
        st.markdown(f"`{ui.join_url(sess.join_code)}`")
        st.markdown(
            f"<div data-testid='live-code' style='font-size:6rem;font-weight:800;letter-spacing:0.6rem;"
            f"font-family:monospace;line-height:1.1'>{sess.join_code}</div>",
            unsafe_allow_html=True,
        )
        ui.projector_poll(lambda: svc.pulse(actor, sid), _counts)
        if st.button(
            f"Open question 1 of {sess.n_questions}",
            type="primary",
            key="live_open_first",
            icon=":material/play_arrow:",
        ):
            _run(lambda: svc.open_next(actor, sid, after=-1))
    with right:
        st.image(join_qr_png(ui.join_url(sess.join_code)), caption="Scan to join", width=360)

elif sess.state in (LiveState.QUESTION_OPEN, LiveState.QUESTION_CLOSED):
    q, sample = svc.question(sid, sess.current_index)
    st.progress(
        (sess.current_index + 1) / sess.n_questions,
        text=f"Question {sess.current_index + 1} of {sess.n_questions}",
    )
    img, side = st.columns([3, 2])
    with img:
        st.image(_question_image(q, sample), width="stretch")
    with side:
        st.markdown(
            f"<div style='font-size:2rem;font-weight:700'>{html_escape(q.question.prompt)}</div>",
            unsafe_allow_html=True,
        )
        if q.kind is Kind.IDENTIFY:
            st.markdown("\n".join(f"- {ORGANS[o].name}" for o in q.question.choices))
        ui.projector_poll(lambda: svc.pulse(actor, sid), _counts)
        if sess.state is LiveState.QUESTION_OPEN and st.button(
            "Close now", key="live_close", icon=":material/lock:"
        ):
            _run(lambda: svc.close(actor, sid))
        if st.button("Reveal the answers", type="primary", key="live_reveal", icon=":material/visibility:"):
            _run(lambda: svc.reveal(actor, sid))

elif sess.state is LiveState.REVEAL:
    rv = svc.reveal_data(actor, sid, sess.current_index)
    q = rv.question
    st.markdown(
        f"**Question {sess.current_index + 1} of {sess.n_questions}** · {html_escape(q.question.prompt)}",
        unsafe_allow_html=True,
    )
    st.markdown(
        f"<div data-testid='live-reveal-summary' style='font-size:1.6rem;font-weight:600'>{ui.reveal_summary(rv)}</div>",
        unsafe_allow_html=True,
    )
    img, side = st.columns([3, 2])
    d = rv.detail
    with img:
        st.image(encode_jpeg(reveal_image(load_rgb(rv.sample.image_path), rv)), width="stretch")
        if isinstance(d, LocateReveal):
            st.caption(
                "Thin white boxes: every student's box; glow: where the class's boxes pile up; "
                "solid: the ground truth; dashed: the model."
            )
    with side:
        if isinstance(d, LocateReveal):
            if d.wrong_place is not None:
                st.info(md_escape(d.wrong_place.sentence), icon=":material/school:")
            if d.model is not None:
                st.markdown(f"Model: IoU **{d.model_iou:.2f}** (confidence {d.model.confidence:.2f})")
            elif svc.predict is None:
                st.caption("No model loaded: only the class and the ground truth are shown.")
            if d.not_visible:
                st.markdown(f"{d.not_visible} answered *not visible*.")
            st.plotly_chart(ui.iou_chart(d, sess.pass_iou), key="live_iou_chart")
        elif isinstance(d, ChoiceReveal):
            st.plotly_chart(ui.choice_chart(d), key="live_choice_chart")
        elif isinstance(d, LabelAllReveal):
            st.plotly_chart(ui.found_chart(d, rv.n_answers), key="live_found_chart")
            st.markdown(f"Mean credit **{d.mean_credit:.2f}**")
    c1, c2, c3 = st.columns(3)
    if sess.is_last_question:
        if c1.button("Finish: results and export", type="primary", key="live_finish", icon=":material/flag:"):
            _run(lambda: svc.finish(actor, sid))
    elif c1.button(
        f"Next: question {sess.current_index + 2}",
        type="primary",
        key="live_next",
        icon=":material/arrow_forward:",
    ):
        _run(lambda: svc.open_next(actor, sid, after=sess.current_index))
    show_board = c2.toggle("Show the leaderboard", not sess.leaderboard_hidden, key="live_board_toggle")
    if show_board == sess.leaderboard_hidden:  # the toggle moved: store it for every server
        _run(lambda: svc.set_leaderboard_hidden(actor, sid, not show_board))
    if show_board:
        st.subheader("Leaderboard", anchor=False)
        st.markdown(
            ui.leaderboard_html(svc.standings(actor, sid), speed_counts=sess.speed_counts),
            unsafe_allow_html=True,
        )

elif sess.state is LiveState.FINISHED:
    rep = svc.report(actor, sid)
    st.subheader("Session report", anchor=False)
    n = len(rep.standings)
    mean_acc = sum(r.accuracy for r in rep.standings) / n if n else 0.0
    c1, c2, c3 = st.columns(3)
    c1.metric("Students", n)
    c2.metric("Mean accuracy", f"{mean_acc:.0%}")
    c3.metric("Questions", sess.n_questions)
    st.markdown(
        ui.leaderboard_html(list(rep.standings), top=200, speed_counts=sess.speed_counts),
        unsafe_allow_html=True,
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Per organ**")
        st.dataframe(
            [
                {"organ": ORGANS[o.organ_id].name, "answers": o.answers, "right": f"{o.accuracy:.0%}"}
                for o in rep.per_organ
            ],
            hide_index=True,
        )
    with right:
        st.markdown("**Hardest questions**")
        for x in rep.hardest:
            st.markdown(
                f"- Q{x.position + 1} ({x.question.kind.title}): {md_escape(x.question.prompt)} — **{x.accuracy:.0%}** right"
            )
    st.markdown("**Export**")
    c1, c2, c3 = st.columns(3)
    stem = f"live-{sess.id}"
    c1.download_button(
        "Canvas gradebook CSV",
        svc.gradebook(actor, sid, "canvas"),
        f"{stem}-canvas.csv",
        "text/csv",
        key="live_dl_canvas",
    )
    c2.download_button(
        "Moodle gradebook CSV",
        svc.gradebook(actor, sid, "moodle"),
        f"{stem}-moodle.csv",
        "text/csv",
        key="live_dl_moodle",
    )
    c3.download_button(
        "Every answer (CSV)",
        svc.answers_export(actor, sid),
        f"{stem}-answers.csv",
        "text/csv",
        key="live_dl_answers",
    )

st.divider()
c1, c2 = st.columns(2)
if sess.state is not LiveState.FINISHED and c1.button(
    "End the session", key="live_end", icon=":material/stop:"
):
    _run(lambda: svc.finish(actor, sid))
if c2.button("New session", key="live_new", icon=":material/add:"):
    _leave()
    st.rerun()
