"""The quiz's views: the question on screen with one answer view per kind, the feedback, the summary."""

from __future__ import annotations

import time
from collections.abc import Sequence

import plotly.graph_objects as go
import streamlit as st

from nnus_core.browse import encode_jpeg, load_rgb, render_view
from nnus_core.organs import ORGANS
from nnus_core.quiz import Answer, Kind, QuizService, QuizSettings, QuizSummary, Review, Served, box_from_drag
from nnus_core.quiz.kinds import kind_of
from nnus_core.quiz.report import organ_chart_frame
from nnus_core.quiz.view import STUDENT_RGB, review_overlays, shade_targets
from nnus_core.render import Overlay
from nnus_core.text import html_escape, md_escape
from pages import _shared
from pages._boxdraw import ShownBox, draw_box
from pages._quiz_ui import acting_user, flash, show_flash, submit
from pages._state import state

DRAW_WIDTH_PX = (
    760  # still images and the feedback view are rendered at this width; the browser may scale them
)
# On a phone the question view fits one screen down to its submit button (390x844 measured): the
# page title and the "Practising as" line give way while a question is on screen, the top padding shrinks.
PHONE_QUESTION_CSS = """<style>
@media (max-width: 640px) {
  .st-key-quiz_title, .st-key-quiz_user_line { display: none; }
  [data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
}
</style>"""
LINE_LEGEND = (
    '<div style="font-size:0.95em;margin-top:2px">'
    '<span style="margin-right:16px"><b>━━</b> ground truth (organ colour, shaded)</span>'
    '<span style="margin-right:16px"><b>╍╍</b> model, with its confidence</span>'
    '<span><b style="color:#fff;background:#000;padding:0 3px">▭</b> your box</span></div>'
)

# --- the question on screen -----------------------------------------------------------------------


def question_ui(svc: QuizService, served: Served, settings: QuizSettings) -> None:
    """Render the question on screen and handle its answer."""
    state.quiz.current = served.id
    st.html(PHONE_QUESTION_CSS)
    _header(served, settings)
    ANSWER_VIEWS[served.question.kind](svc, served)


def _header(served: Served, settings: QuizSettings) -> None:
    q = served.question
    st.progress(served.position / served.total, text=f"Question {served.position + 1} of {served.total}")
    st.markdown(
        f":blue-badge[{q.kind.title}] :gray-badge[image {md_escape(served.sample.stem)}] "
        f":gray-badge[difficulty {q.difficulty:.2f}]"
        + (f" :violet-badge[{md_escape(q.reason)}]" if q.reason.startswith("review") else "")
    )
    st.subheader(q.prompt, anchor=False)
    if settings.time_limit_s:
        _countdown(served, settings.time_limit_s)


def _countdown(served: Served, limit_s: int) -> None:
    left = limit_s - (time.time() - served.instance.served_s)
    if left <= 0:
        st.warning(
            f"Time's up ({limit_s} s): you can still answer, for no credit.", icon=":material/timer_off:"
        )
    else:
        st.caption(
            f":material/timer: {left:.0f} s left of {limit_s} s (counted from when the question was served)."
        )


def _drawing(served: Served, labelled: Sequence[ShownBox] = (), box_label: str = "your box") -> None:
    """The image to drag a box on (finger, pen or mouse); it shows the drawn box and `labelled` boxes."""
    rgb = load_rgb(served.sample.image_path)
    draw_box(
        rgb,
        key=state.quiz.drawing_key(served.id),
        shown=labelled,
        box_label=box_label,
        alt=f"Ultrasound image {served.sample.stem}: drag a box on it",
    )


def _still(served: Served, overlays: list[Overlay]) -> None:
    """The question's image with boxes, not drawable."""
    view, _ = render_view(load_rgb(served.sample.image_path), overlays, out_width_px=DRAW_WIDTH_PX)
    st.image(encode_jpeg(view), width="stretch")


def _drag_messages(problem: str | None, notes: tuple[str, ...]) -> None:
    if problem:
        st.warning(problem, icon=":material/crop_free:")
    for n in notes:
        st.info(n, icon=":material/crop:")


# --- one answer view per kind ---------------------------------------------------------------------


def locate_view(svc: QuizService, served: Served) -> None:
    iid = served.id
    value = state.quiz.drag(iid)
    drag = box_from_drag(value, served.sample.width, served.sample.height)
    box, problem = drag.box, (drag.problem if value else None)
    img_col, side = st.columns([3, 2])
    with img_col:
        _drawing(served)
        st.caption(
            "Press on one corner of the organ, drag to the opposite corner, release. Drag again to redo."
        )
    with side:
        if box is not None:
            st.markdown(
                f"Your box: **{box.width:.0f} × {box.height:.0f} px** at ({box.x1:.0f}, {box.y1:.0f})."
            )
        pressed = st.button("Submit box", type="primary", key="quiz_submit", icon=":material/check:")
        c1, c2 = st.columns(2)
        if c1.button("Clear box", key="quiz_redo", icon=":material/restart_alt:", disabled=box is None):
            state.quiz.clear_box(iid)
            st.rerun()
        not_visible = c2.button(
            "Not visible here",
            key="quiz_not_visible",
            icon=":material/visibility_off:",
            help="Answer that this organ is not in this image.",
        )
        _drag_messages(problem, drag.notes)  # under the buttons: on a phone the submit button stays on screen
        if pressed:
            if box is None:
                st.error(
                    problem
                    or "Draw a box first: press on the image, drag to the opposite corner and release.",
                    icon=":material/error:",
                )
            else:
                submit(svc, served, Answer(box=box))
        elif not_visible:
            submit(svc, served, Answer(not_visible=True))


def identify_view(svc: QuizService, served: Served) -> None:
    q = served.question
    target = served.sample.annotations[q.target_index]
    img_col, side = st.columns([3, 2])
    with img_col:
        _still(served, [Overlay(None, target.box, "?", "student", STUDENT_RGB)])
    with side:
        choice = st.radio(
            "Which organ is outlined?",
            list(q.choices),
            index=None,
            key=state.quiz.choice_key(served.id),
            format_func=lambda o: ORGANS[o].name,
        )
        if st.button("Submit answer", type="primary", key="quiz_submit", icon=":material/check:"):
            submit(svc, served, Answer(choice=choice))


def present_view(svc: QuizService, served: Served) -> None:
    img_col, side = st.columns([3, 2])
    with img_col:
        _still(served, [])
    with side:
        st.caption("Not every organ is in every view: a transverse scan shows a slice of the neck.")
        c1, c2 = st.columns(2)
        if c1.button("Yes, visible", type="primary", key="quiz_present_yes", icon=":material/visibility:"):
            submit(svc, served, Answer(present=True))
        if c2.button("No, not here", key="quiz_present_no", icon=":material/visibility_off:"):
            submit(svc, served, Answer(present=False))


def _add_label(iid: str, w: int, h: int) -> None:
    drag = box_from_drag(state.quiz.drag(iid), w, h)
    organ = state.quiz.label_organ(iid)
    if drag.box is None:
        flash(drag.problem or "Draw a box first.")
        return
    if organ is None:
        flash("Pick the organ's name for this box, then press Add.")
        return
    state.quiz.set_labels(iid, [*state.quiz.labels(iid), (int(organ), drag.box)])
    state.quiz.clear_box(iid)
    state.quiz.clear_label_organ(iid)


def _remove_label(iid: str, i: int) -> None:
    labels = state.quiz.labels(iid)
    if 0 <= i < len(labels):
        labels.pop(i)
    state.quiz.set_labels(iid, labels)


def label_all_view(svc: QuizService, served: Served) -> None:
    iid = served.id
    value = state.quiz.drag(iid)
    drag = box_from_drag(value, served.sample.width, served.sample.height)
    problem = drag.problem if value else None
    labels = state.quiz.labels(iid)
    img_col, side = st.columns([3, 2])
    with img_col:
        _drawing(served, [ShownBox(b, ORGANS[o].short, o) for o, b in labels], box_label="new box")
        st.caption("Draw one box, name it, press Add; repeat for every organ you see, then submit.")
    with side:
        show_flash()
        _drag_messages(problem, drag.notes)
        st.selectbox(
            "Organ of the new box",
            list(range(len(ORGANS))),
            index=None,
            key=state.quiz.label_organ_key(iid),
            format_func=lambda o: ORGANS[o].name,
            placeholder="Name this box",
        )
        st.button(
            "Add box",
            key="quiz_label_add",
            icon=":material/add_box:",
            on_click=_add_label,
            args=(iid, served.sample.width, served.sample.height),
        )
        for i, (o, _b) in enumerate(labels):
            # A row sized to its content: a fixed narrow column cut the button to "Rem…".
            row = st.container(horizontal=True, vertical_alignment="center")
            row.markdown(f"{i + 1}. {ORGANS[o].name}", width="stretch")
            row.button(
                "Remove",
                key=f"quiz_label_rm_{iid}_{i}",
                on_click=_remove_label,
                args=(iid, i),
                icon=":material/close:",
                width="content",
            )
        if st.button("Submit labels", type="primary", key="quiz_submit", icon=":material/check:"):
            submit(svc, served, Answer(labels=tuple(labels)))


# One answer view per kind (a new kind adds its view here; a test checks that none is missing).
ANSWER_VIEWS = {
    Kind.LOCATE: locate_view,
    Kind.IDENTIFY: identify_view,
    Kind.PRESENT: present_view,
    Kind.LABEL_ALL: label_all_view,
}

# --- feedback -------------------------------------------------------------------------------------


def _score_panel(rv: Review, model_available: bool, data_synthetic: bool = True) -> None:
    s = rv.score
    verdict = md_escape(s.verdict)
    if s.passed:
        st.success(verdict, icon=":material/check_circle:")
    elif s.credit > 0:
        st.warning(verdict + f" Credit {s.credit:.2f}.", icon=":material/adjust:")
    else:
        st.error(verdict, icon=":material/cancel:")
    st.markdown(
        f'<div data-testid="quiz-headline" style="font-size:1.4em;font-weight:600">{html_escape(rv.headline)}</div>',
        unsafe_allow_html=True,
    )
    you, model = kind_of(rv.served.question.kind).metrics(rv)
    c1, c2 = st.columns(2)
    for col, m in ((c1, you), (c2, model)):
        if m is not None:
            col.metric(m.label, m.value, delta=m.delta, delta_color="off")
            if m.caption:
                col.caption(m.caption)
    if rv.model.available and rv.model.caveat:
        st.info(md_escape(rv.model.caveat), icon=":material/help:")
    if rv.model.available:
        _shared.show_model_domain_note(data_synthetic)
    if not rv.model.available:
        if model_available:
            st.caption("The model's answer was not recorded for this question.")
        else:
            _shared.no_model_message("the model's answer")
    if rv.timed_out:
        st.caption("Scored 0 because the timer ran out; the boxes still show how you did.")


def answered_elsewhere(instance_id: str) -> bool:
    """True when this session showed the question but the stored answer came from elsewhere (another tab)."""
    return state.quiz.current == instance_id and instance_id not in state.quiz.submitted


def feedback_ui(
    rv: Review, *, model_available: bool, key: str = "quiz_feedback", data_synthetic: bool = True
) -> None:
    """One view: the three boxes, the IoUs, the verdict, geometric feedback and the teaching card.

    `data_synthetic` says whether the quiz images are the phantom (for the model-domain warning).
    """
    from pages._viewer import image_viewer, teaching_card

    if answered_elsewhere(rv.served.id):
        flash("This question was answered in another tab or window: showing the answer that was stored.")

    q = rv.served.question
    st.caption(
        f"Question {rv.served.position + 1} of {rv.served.total} · {q.kind.title} · "
        f"image {md_escape(rv.served.sample.stem)}"
    )
    st.subheader(q.prompt, anchor=False)
    img_col, side = st.columns([3, 2])
    with img_col:
        overlays = review_overlays(rv)
        ids = sorted({o.organ_id for o in overlays if o.organ_id is not None})
        image_viewer(
            shade_targets(load_rgb(rv.served.sample.image_path), rv.targets),
            overlays,
            key=key,
            show_labels=True,
            legend_html=_shared.organ_legend_html(ids) + LINE_LEGEND,
            adjust_controls=False,
            out_width_px=DRAW_WIDTH_PX,
        )
    with side:
        show_flash()
        _score_panel(rv, model_available, data_synthetic)
        st.markdown("\n".join(f"- {md_escape(line)}" for line in rv.feedback))
        organ_id = q.organ_id
        if organ_id is not None:
            with st.expander(f"Teaching card: {ORGANS[organ_id].name}", expanded=not rv.score.passed):
                teaching_card(organ_id)


# --- summary --------------------------------------------------------------------------------------


def summary_chart(summary: QuizSummary) -> go.Figure:
    """Per-organ accuracy beside the model's per-organ AP (plotly grouped bars)."""
    df = organ_chart_frame(summary)
    fig = go.Figure()
    fig.add_bar(
        x=df["organ"],
        y=df["you_pct"],
        name="You: pass rate",
        marker_color="#0072B2",
        text=df["you_text"],
        textposition="outside",
        hovertemplate="%{x}<br>you: %{y:.0f}%<br>%{customdata} answer(s)<extra></extra>",
        customdata=df["answers"],
    )
    if df["model_ap_pct"].notna().any():
        fig.add_bar(
            x=df["organ"],
            y=df["model_ap_pct"],
            name=summary.model_ap_label or "Model AP@0.5",
            marker_color="#BBBBBB",
            text=df["model_text"],
            textposition="outside",
        )
    fig.update_layout(
        barmode="group",
        yaxis=dict(title="%", range=[0, 115]),
        height=380,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=1.12),
    )
    return fig


def summary_ui(svc: QuizService, session_id: str, *, model_available: bool) -> None:
    sm = svc.summary(session_id, acting_user())
    st.header("Quiz complete", anchor=False)
    c1, c2, c3 = st.columns(3)
    c1.metric("Score", f"{sm.score / max(sm.answered, 1):.0%}", help="Sum of the credits over the questions")
    c1.caption(f"{sm.score:.1f} of {sm.answered} points")
    c2.metric("Passed", f"{sm.passes} / {sm.answered}")
    c3.metric("Mistakes", len(sm.mistakes))
    st.plotly_chart(summary_chart(sm), key="quiz_summary_chart")
    if sm.model_ap_label:
        st.caption(
            f"Grey bars: {sm.model_ap_label}. Your bars: share of your answers that passed, per organ."
        )
    elif model_available:
        st.caption(
            "This model has no evaluation file (eval_test.json) or card metrics: its per-organ AP is not "
            "shown. Your bars: share of your answers that passed, per organ."
        )
    else:
        st.caption("No model available: only your results are shown.")
    st.subheader("Review of every mistake", anchor=False)
    if not sm.mistakes:
        st.success("No mistakes in this quiz.")
    for rv in sm.mistakes:
        q = rv.served.question
        with st.expander(f"Q{rv.served.position + 1} · {q.kind.title} · {q.prompt} — {rv.headline}"):
            c1, c2 = st.columns([1, 1])
            shaded = shade_targets(load_rgb(rv.served.sample.image_path), rv.targets)
            view, _ = render_view(shaded, review_overlays(rv), out_width_px=480)
            c1.image(encode_jpeg(view), width="stretch")
            c2.markdown(
                f"**{md_escape(rv.score.verdict)}**\n\n" + "\n".join(f"- {md_escape(x)}" for x in rv.feedback)
            )
