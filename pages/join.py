"""Join a live session (students and guests): the code (typed, or from the projector's QR code), the
lobby with your name, each question with its countdown, then your own result and rank.

Made for a phone held upright: the question, its image and the submit button fit 390x844.
A reload (or a locked phone) comes back to the current question with the answer kept: the place in
the session is found again from the sign-in cookie and the code in the address.
"""

from __future__ import annotations

import streamlit as st

from nnus_core.accounts import Role
from nnus_core.browse import encode_jpeg, load_rgb, render_view
from nnus_core.dataset.model import Sample
from nnus_core.errors import AccessDenied, AnswersLocked, NnusError
from nnus_core.live import LiveQuestion, LiveSession, LiveState, Participant, Pulse
from nnus_core.live.model import LiveAnswer
from nnus_core.organs import ORGANS
from nnus_core.quiz import Answer, Kind, Served, box_from_drag
from nnus_core.quiz.view import STUDENT_RGB
from nnus_core.render import Overlay
from nnus_core.store.quizzes import StoredInstance
from nnus_core.text import html_escape
from pages import _auth, _shared
from pages import _live_ui as ui
from pages._boxdraw import ShownBox
from pages._quiz_views import _drawing
from pages._state import state

# A phone shows the page without the big top padding: the submit button stays on the first screen.
st.markdown(
    "<style>[data-testid='stMainBlockContainer']{padding-top:2.2rem;padding-bottom:1rem}"
    "[data-testid='stMainBlockContainer'] h3{padding:0.2rem 0}</style>",
    unsafe_allow_html=True,
)

ds = _shared.get_dataset()
svc = ui.service(ds)
actor = _auth.current_actor()

if actor.is_instructor:
    st.info("You are signed in as an instructor: run sessions on the **Live session** page.")
    st.page_link("pages/live.py", label="Live session", icon=":material/co_present:")
    st.stop()

code = (st.query_params.get("code") or "").strip()
me: Participant | None = None
if actor.user is not None and state.live.participant_id is not None:
    try:
        me = svc.participant(actor, state.live.participant_id)
    except NnusError:
        me = None
if me is None and code and actor.user is not None:
    # A reload: the sign-in cookie and the code in the address find this browser's place again.
    me = svc.rejoin(actor, code)

if me is None:
    st.title("Join a live quiz")
    with st.form("live_join"):
        typed = st.text_input(
            "Code on the projector", code, max_chars=9, placeholder="e.g. K7QX3N", key="live_join_code"
        )
        default_name = (
            actor.user.display_name if actor.user is not None and actor.role is Role.STUDENT else ""
        )
        name = st.text_input("Your name (the room sees it)", default_name, max_chars=40, key="live_join_name")
        go = st.form_submit_button("Join", type="primary", icon=":material/login:")
    if go:
        try:
            who = _auth.guest_actor()  # an anonymous visitor becomes a guest, tied to this browser
            p = svc.join(who, typed, name or None)
        except AccessDenied:
            st.error(
                "This session is for the members of a class: join the class first (Sign in → Join a class)."
            )
            st.page_link("pages/signin.py", label="Sign in", icon=":material/login:")
            st.stop()
        except NnusError as exc:
            _auth.show_error(exc)
            st.stop()
        state.live.participant_id = p.id
        st.query_params["code"] = svc.session(p.session_id).join_code
        st.rerun()
    st.stop()

state.live.participant_id = me.id
pulse = svc.student_pulse(actor, me.id)
sess = pulse.session
if st.query_params.get("code") != sess.join_code:
    st.query_params["code"] = sess.join_code
ui.drawn(pulse)


def _counts(p: Pulse) -> None:
    s = p.session
    if s.state is LiveState.QUESTION_OPEN:
        st.markdown(ui.countdown_html(s.seconds_left(svc.clock())), unsafe_allow_html=True)
    elif s.state is LiveState.LOBBY:
        st.caption(f"{p.joined} joined")


def _served(q: LiveQuestion, sample: Sample, s: LiveSession) -> Served:
    """The live question as the quiz's drawing widget knows a question (one key per question)."""
    inst = StoredInstance(
        f"live{s.id}-{q.position}",
        f"live{s.id}",
        q.position,
        q.kind.value,
        sample.stem,
        q.question.organ_id,
        s.opened_s or 0.0,
    )
    return Served(inst, q.question, sample, s.n_questions)


def _submit(pos: int, answer: Answer) -> None:
    try:
        _, wrote = svc.submit(actor, me.id, pos, answer)
    except AnswersLocked as exc:
        ui.flash(str(exc))
    except NnusError as exc:
        _auth.show_error(exc)
        st.stop()
    else:
        if not wrote:
            ui.flash("You had answered already: your first answer counts.")
    st.rerun()


def _my_box_image(sample: Sample, a: LiveAnswer | None, q: LiveQuestion, with_truth: bool) -> bytes:
    overlays = []
    if with_truth:
        overlays += [
            Overlay(x.organ_id, x.box, x.organ.short, "solid")
            for x in sample.annotations
            if q.kind is Kind.LABEL_ALL or x.organ_id == q.question.organ_id
        ]
    if q.kind is Kind.IDENTIFY and q.question.target_index is not None:
        t = sample.annotations[q.question.target_index]
        overlays.append(Overlay(None, t.box, "?", "student", STUDENT_RGB))
    if a is not None and a.answer.box is not None:
        overlays.append(Overlay(None, a.answer.box, "you", "student", STUDENT_RGB))
    if a is not None:
        overlays += [Overlay(o, b, ORGANS[o].short, "student", STUDENT_RGB) for o, b in a.answer.labels]
    view, _ = render_view(load_rgb(sample.image_path), overlays, out_width_px=640)
    return encode_jpeg(view, 85)


def question_view(q: LiveQuestion, sample: Sample) -> None:
    pos = q.position
    served = _served(q, sample, sess)
    iid = served.id
    st.markdown(
        f"<div style='display:flex;justify-content:space-between'><span>Q{pos + 1} of {sess.n_questions} · "
        f"{html_escape(me.display_name)}</span>{_shared.dataset_chip_html(ds)}</div>",
        unsafe_allow_html=True,
    )
    st.markdown(f"### {html_escape(q.question.prompt)}", unsafe_allow_html=True)
    ui.poll(lambda: svc.student_pulse(actor, me.id), _counts)
    ui.show_flash()
    if q.kind in (Kind.LOCATE, Kind.LABEL_ALL):
        value = state.quiz.drag(iid)
        drag = box_from_drag(value, sample.width, sample.height)
        if q.kind is Kind.LOCATE:
            _drawing(served)
            c1, c2 = st.columns(2)
            if c1.button(
                "Submit box", type="primary", key="live_submit", disabled=drag.box is None, width="stretch"
            ):
                _submit(pos, Answer(box=drag.box))
            if c2.button("Not visible here", key="live_not_visible", width="stretch"):
                _submit(pos, Answer(not_visible=True))
            if drag.box is None:
                st.caption("Press on one corner of the organ, drag to the opposite corner, release.")
        else:
            labels = state.quiz.labels(iid)
            _drawing(served, [ShownBox(b, ORGANS[o].short, o) for o, b in labels], box_label="new box")
            organ = st.selectbox(
                "Organ of the new box",
                list(range(len(ORGANS))),
                index=None,
                format_func=lambda o: ORGANS[o].name,
                key=f"live_label_organ_{iid}",
            )
            c1, c2 = st.columns(2)
            if c1.button(
                "Add box", key="live_label_add", disabled=drag.box is None or organ is None, width="stretch"
            ):
                state.quiz.set_labels(iid, [*labels, (int(organ), drag.box)])
                state.quiz.clear_box(iid)
                st.rerun()
            if c2.button(f"Submit {len(labels)} boxes", type="primary", key="live_submit", width="stretch"):
                _submit(pos, Answer(labels=tuple(labels)))
    elif q.kind is Kind.IDENTIFY:
        st.image(_my_box_image(sample, None, q, False), width="stretch")
        cols = st.columns(2)
        for i, o in enumerate(q.question.choices):
            if cols[i % 2].button(ORGANS[o].name, key=f"live_choice_{o}", width="stretch"):
                _submit(pos, Answer(choice=o))
    else:  # Present?
        st.image(_my_box_image(sample, None, q, False), width="stretch")
        c1, c2 = st.columns(2)
        if c1.button("Yes, visible", type="primary", key="live_yes", width="stretch"):
            _submit(pos, Answer(present=True))
        if c2.button("No, not here", key="live_no", width="stretch"):
            _submit(pos, Answer(present=False))


def my_result_view(q: LiveQuestion, sample: Sample, revealed: bool) -> None:
    res = svc.my_result(actor, me.id, q.position)
    a = res.answer
    st.markdown(
        f"**Q{q.position + 1} of {sess.n_questions}** · {html_escape(q.question.prompt)} {_shared.dataset_chip_html(ds)}",
        unsafe_allow_html=True,
    )
    if a is None:
        st.warning("No answer from you for this question.", icon=":material/timer_off:")
    elif not revealed:
        st.success("Answer saved. Look at the projector for the reveal.", icon=":material/check_circle:")
    elif a.passed:
        st.success(
            f"Right! +{a.points:.0f} points" + (f" · IoU {a.iou:.2f}" if a.iou is not None else ""),
            icon=":material/check_circle:",
        )
    else:
        st.error(
            "Not this time." + (f" IoU {a.iou:.2f}" if a.iou is not None else ""), icon=":material/cancel:"
        )
    if a is not None and q.kind is Kind.IDENTIFY and a.answer.choice is not None:
        st.markdown(
            f"You said **{ORGANS[a.answer.choice].name}**"
            + (f"; it is the **{ORGANS[q.question.organ_id].name}**." if revealed else ".")
        )
    elif a is not None and q.kind is Kind.PRESENT and a.answer.present is not None:
        st.markdown(f"You said **{'yes' if a.answer.present else 'no'}**.")
    elif a is not None and a.answer.not_visible:
        st.markdown("You said **not visible**.")
    if res.rank is not None and revealed and not sess.leaderboard_hidden:
        st.markdown(
            f"<div data-testid='live-my-rank' style='font-size:1.6rem;font-weight:700'>#{res.rank} of {res.of}</div>"
            f"<div>{res.correct} of {sess.current_index + 1} right · {res.total_points:.0f} points</div>",
            unsafe_allow_html=True,
        )
    st.image(_my_box_image(sample, a, q, revealed), width="stretch")
    ui.poll(lambda: svc.student_pulse(actor, me.id), _counts)


if sess.state is LiveState.LOBBY:
    st.title("You're in!")
    st.markdown(
        f"<div data-testid='live-my-name' style='font-size:2rem;font-weight:700'>{me.name_html}</div>",
        unsafe_allow_html=True,
    )
    st.markdown(f"**{sess.title_html}** — waiting for your instructor to start…", unsafe_allow_html=True)
    ui.poll(lambda: svc.student_pulse(actor, me.id), _counts)
elif sess.state is LiveState.FINISHED:
    st.title("Finished")
    res = svc.my_result(actor, me.id, max(sess.current_index, 0))
    st.markdown(
        f"<div data-testid='live-final' style='font-size:1.6rem'>{me.name_html}: "
        f"<b>{res.correct}</b> of {sess.n_questions} right · {res.total_points:.0f} points"
        + (f" · #{res.rank} of {res.of}" if res.rank is not None and not sess.leaderboard_hidden else "")
        + "</div>",
        unsafe_allow_html=True,
    )
    st.caption("Thanks for taking part. Your answers are kept for your instructor.")
else:
    q, sample = svc.question(sess.id, sess.current_index)
    answered = svc.my_answer(me.id, q.position)
    if sess.state is LiveState.QUESTION_OPEN and answered is None:
        question_view(q, sample)
    else:
        my_result_view(q, sample, revealed=sess.state is LiveState.REVEAL)
