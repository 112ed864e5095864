"""Streamlit glue of the quiz and progress pages: store and service wiring, session keys, and the views."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
from sqlalchemy import Engine

from nnus_core.browse import encode_jpeg, load_rgb, render_view
from nnus_core.dataset import Dataset
from nnus_core.errors import QuizInputError, StoreBusyError, StoreError
from nnus_core.geometry import BoxPx
from nnus_core.organs import ORGANS
from nnus_core.quiz import Answer, Kind, QuizService, QuizSettings, Review, Served, box_from_drag
from nnus_core.quiz.kinds import REGISTRY, kind_of
from nnus_core.quiz.model_answer import model_ap_by_organ, read_eval_ap
from nnus_core.quiz.questions import DIFFICULTIES, MAX_QUESTIONS
from nnus_core.quiz.report import organ_chart_frame
from nnus_core.quiz.view import STUDENT_RGB, review_overlays, shade_targets
from nnus_core.render import Overlay
from nnus_core.store import db_url, get_engine, get_or_create_student
from nnus_core.store.students import Student, find_student, student_by_id
from nnus_core.text import html_escape, md_escape
from pages import _shared

# Session-state keys (tests inject values through them).
STUDENT_KEY = "quiz_student"  # (id, display name)
SESSION_KEY = "quiz_session_id"
FOCUS_KEY = "quiz_image"  # set by Browse ("Quiz me on this image"), also passed as ?image=STEM
CURRENT_KEY = "quiz_current_instance"  # id of the question on screen
SUMMARY_KEY = "quiz_show_summary"
FLASH_KEY = "quiz_flash"
SUBMITTED_KEY = "quiz_submitted_here"  # question ids this browser session answered
NAME_INPUT_KEY = "quiz_name"
PENDING_KEY = "quiz_pending"  # {question id: PendingAnswer}: answers the database has not taken yet
RETRY_EVERY_S = 3  # a kept answer is retried this often while the page is open
RETRY_NOW_KEY = "quiz_retry_now"
DRAW_WIDTH_PX = 760  # the drawing image is rendered at this width; the browser may scale it
KIND_LABELS = {k.value: spec.title for k, spec in REGISTRY.items()}
# Home's guided path ends in ?preset=starter: a short quiz answered by tapping (no box to draw).
STARTER_PRESET = "starter"
STARTER_QUESTIONS = 5
STARTER_KINDS = ("identify", "present")


def box_key(instance_id: str, redo: int = 0) -> str:
    """Session key of the drawing component of a question (a new `redo` clears the box)."""
    return f"quiz_box_{instance_id}_{redo}"


def redo_key(instance_id: str) -> str:
    return f"quiz_redo_{instance_id}"


def labels_key(instance_id: str) -> str:
    """Session key of the boxes added so far in a Label-all question: [[organ_id, x1, y1, x2, y2], ...]."""
    return f"quiz_labels_{instance_id}"


# --- wiring ---------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return get_engine(url)


def get_store() -> Engine:
    """The progress database, migrated and checked (writable, sound) on first use.

    A database that is read-only, damaged, full or unreachable stops the page with a plain message
    and a reference id; the details go to the server log. It is checked again on the next visit,
    so a repaired database works without a restart.
    """
    try:
        return _engine(db_url())
    except StoreError as exc:
        _shared.report_error(exc, "The progress database cannot be used")
        st.caption("Nothing can be saved until whoever runs this server fixes it; the study pages still work.")
        st.stop()
        raise  # unreachable: st.stop() raises


@st.cache_data(show_spinner=False, max_entries=8)
def _eval_ap(path: str, mtime: float) -> tuple[dict[int, float], bool | None]:
    return read_eval_ap(Path(path))


def _model_ap(ds: Dataset) -> tuple[dict[int, float], str]:
    """The model's per-organ AP@0.5 (evaluation file, else model card) and what it was measured on."""
    ap: dict[int, float] = {}
    synthetic: bool | None = None
    folder = _shared.model_folder()
    if folder is not None:
        try:
            from nnus_core.model_report import find_eval_file
        except ImportError:
            find_eval_file = None
        path = find_eval_file(Path(folder)) if find_eval_file else None
        if path is not None:
            ap, synthetic = _eval_ap(str(path), path.stat().st_mtime)
    card = _shared.get_model_card()
    if not ap and card is not None:
        ap, synthetic = model_ap_by_organ(card.metrics), card.synthetic
    if not ap:
        return {}, ""
    if synthetic is None:
        synthetic = ds.synthetic
    where = "measured on the SYNTHETIC phantom" if synthetic else "measured on real NNUS images"
    return ap, f"Model AP@0.5 on its test split ({where})"


def quiz_service(ds: Dataset) -> tuple[QuizService, bool]:
    """The quiz service for the active dataset; the flag says whether a model is available."""
    detector = _shared.get_detector()
    predict = (lambda sample: _shared.predict_sample(detector, sample)) if detector is not None else None
    ap, label = _model_ap(ds)
    return QuizService(
        get_store(), ds, predict=predict, model_ap=ap, model_ap_label=label
    ), detector is not None


def current_student() -> Student | None:
    cur = st.session_state.get(STUDENT_KEY)
    return Student(int(cur[0]), str(cur[1])) if cur else None


def set_student(student: Student | None) -> None:
    if student is None:
        st.session_state.pop(STUDENT_KEY, None)
    else:
        st.session_state[STUDENT_KEY] = (student.id, student.display_name)


def flash(message: str) -> None:
    st.session_state[FLASH_KEY] = message


def show_flash() -> None:
    msg = st.session_state.pop(FLASH_KEY, None)
    if msg:
        st.info(msg, icon=":material/info:")


def name_ui(db: Engine, *, create: bool) -> Student | None:
    """Ask for a display name; returns the student (created on first use when `create`)."""
    raw = st.text_input(
        "Your display name",
        key=NAME_INPUT_KEY,
        placeholder="e.g. Ana R. (no password: self-study)",
        help="Shown on your progress page only. At most 40 characters; HTML is shown as plain text.",
    )
    if not raw.strip():
        return None
    try:
        student = get_or_create_student(db, raw) if create else find_student(db, raw)
    except QuizInputError as exc:
        st.error(md_escape(exc), icon=":material/badge:")
        return None
    if student is None:
        st.warning("Nobody has answered under this name yet. Take a quiz first.")
        return None
    if "<" in raw or ">" in raw or "&" in raw:
        st.info("Your name contains HTML characters: it is stored and shown as plain text, never as markup.")
    return student


def signed_in_line(student: Student) -> None:
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    c1.markdown(f"Studying as **{md_escape(student.display_name)}**")
    if c2.button("Change name", key="quiz_change_name", icon=":material/logout:"):
        set_student(None)
        st.session_state.pop(SESSION_KEY, None)
        st.query_params.clear()
        st.rerun()


# --- session routing ------------------------------------------------------------------------------


def focus_request(ds: Dataset) -> str | None:
    """The image Browse asked to be quizzed on (session key or ?image=), if it exists."""
    stem = st.session_state.get(FOCUS_KEY) or st.query_params.get("image")
    if not stem:
        return None
    if ds.get(stem) is None:
        st.warning(f"Image “{md_escape(stem, 80)}” is not in the active dataset; choose your own quiz below.")
        st.session_state.pop(FOCUS_KEY, None)
        return None
    return str(stem)


def focus_notice(focus_stem: str) -> None:
    st.info(f"Quiz focused on image **{md_escape(focus_stem)}** (from Browse).", icon=":material/image:")


def active_session_id() -> str | None:
    """The running quiz: this browser session's, else the one named in the URL (a reload)."""
    return st.session_state.get(SESSION_KEY) or st.query_params.get("quiz")


def activate(session_id: str) -> None:
    st.session_state[SESSION_KEY] = session_id
    st.session_state.pop(SUMMARY_KEY, None)
    st.session_state.pop(FOCUS_KEY, None)
    st.query_params.clear()
    st.query_params["quiz"] = session_id  # a reload finds the same quiz (and question) again


def keep_in_url(session_id: str) -> None:
    """Name the running quiz in the URL (again after visiting another page), so a reload resumes it."""
    st.session_state[SESSION_KEY] = session_id
    if st.query_params.get("quiz") != session_id:
        st.query_params["quiz"] = session_id


def leave_quiz() -> None:
    st.session_state.pop(SESSION_KEY, None)
    st.session_state.pop(SUMMARY_KEY, None)
    st.query_params.clear()


# --- setup ----------------------------------------------------------------------------------------


def resume_offer(svc: QuizService, student: Student) -> str | None:
    """Offer the student's latest unfinished quiz on this dataset (a closed browser loses nothing);
    returns its id when the student chooses to resume it."""
    from nnus_core.store.quizzes import student_sessions

    for sess in student_sessions(svc.db, student.id)[:5]:
        if sess.finished_s is not None or sess.dataset_key != svc.dataset_key:
            continue
        try:
            state = svc.state(sess.id)
        except QuizInputError:
            continue
        if state.finished:
            continue
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(sess.created_s))
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.info(
            f"You have an unfinished quiz from {when}: {state.answered} of {state.settings.n_questions} "
            "answered.",
            icon=":material/history:",
        )
        if c2.button("Resume it", key="quiz_resume", icon=":material/play_circle:"):
            return sess.id
        return None
    return None


def setup_ui(focus_stem: str | None) -> QuizSettings | None:
    """The quiz options; returns the settings when Start is pressed with valid choices."""
    st.subheader("New quiz")
    starter = st.query_params.get("preset") == STARTER_PRESET and not focus_stem
    if starter:
        st.info(
            "**Starter quiz**: 5 questions answered by choosing (name the outlined organ, say whether an "
            "organ is in the image), so it works on a phone too. Change anything below, then press Start.",
            icon=":material/school:",
        )
    c1, c2, c3 = st.columns(3)
    default_n = STARTER_QUESTIONS if starter else 10 if not focus_stem else 4
    n = c1.number_input("Questions", 1, MAX_QUESTIONS, default_n, key="quiz_n")
    kinds = c2.multiselect(
        "Question types",
        list(KIND_LABELS),
        default=list(STARTER_KINDS) if starter else ["locate"],
        key="quiz_kinds",
        format_func=KIND_LABELS.__getitem__,
        help=" ".join(k.help for k in REGISTRY.values()),
    )
    organs = c3.multiselect(
        "Organs",
        list(range(len(ORGANS))),
        default=[],
        key="quiz_organs",
        placeholder="All organs",
        format_func=lambda i: ORGANS[i].name,
    )
    c4, c5, c6 = st.columns(3)
    difficulty = c4.selectbox(
        "Difficulty",
        DIFFICULTIES,
        key="quiz_difficulty",
        format_func={
            "mixed": "Mixed",
            "easy": "Easy (large, common, clear)",
            "hard": "Hard (small, rare, low contrast)",
        }.__getitem__,
    )
    timer = c5.selectbox(
        "Timer per question",
        [0, 15, 30, 60, 120],
        key="quiz_timer",
        format_func=lambda s: "Off" if not s else f"{s} s",
    )
    pass_iou = c6.slider("Pass at IoU ≥", 0.3, 0.9, 0.5, 0.05, key="quiz_pass_iou")
    adaptive = st.toggle(
        "Adaptive practice: organs and images you get wrong come back sooner", True, key="quiz_adaptive"
    )
    only_focus = bool(focus_stem) and st.checkbox(f"Only image {md_escape(focus_stem)}", True, key="quiz_only_focus")
    if not st.button("Start quiz", type="primary", key="quiz_start", icon=":material/play_arrow:"):
        return None
    if not kinds:
        st.error("Choose at least one question type.")
        return None
    try:
        return QuizSettings(
            n_questions=int(n),
            kinds=tuple(kinds),
            organ_ids=tuple(organs),
            difficulty=difficulty,
            pass_iou=float(pass_iou),
            time_limit_s=int(timer) or None,
            adaptive=adaptive,
            focus_stem=focus_stem if only_focus else None,
        )
    except QuizInputError as exc:
        st.error(md_escape(exc))
        return None


# --- questions ------------------------------------------------------------------------------------


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


def _drawing(served: Served, pending: list[Overlay], key: str) -> dict | None:
    from streamlit_image_coordinates import streamlit_image_coordinates

    rgb = load_rgb(served.sample.image_path)
    view, _ = render_view(rgb, pending, out_width_px=DRAW_WIDTH_PX, show_labels=True)
    return streamlit_image_coordinates(
        view,
        key=key,
        click_and_drag=True,
        width="stretch",
        image_format="JPEG",
        jpeg_quality=90,
        cursor="crosshair",
    )


def _pending_box(served: Served, key: str) -> tuple[BoxPx | None, str | None, list[str]]:
    """The box drawn so far (image pixels), the problem with it, and notes (clipped, reversed)."""
    value = st.session_state.get(key)
    drag = box_from_drag(value, served.sample.width, served.sample.height)
    notes = []
    if drag.clipped and drag.box is not None:
        notes.append("Your box went past the image edge: it was clipped to the image.")
    if drag.reversed and drag.box is not None:
        notes.append("Dragged backwards: the corners were sorted for you.")
    return drag.box, (drag.problem if value else None), notes


def prefetch_model(svc: QuizService, served: Served) -> None:
    """Run (and cache) the model on the question's image after the question is on screen, so the
    feedback after submitting does not wait for inference."""
    if svc.predict is not None:
        svc.predict(served.sample)


@dataclass(frozen=True)
class PendingAnswer:
    """An answer the database could not take yet, kept in the browser session and retried."""

    answer: dict
    answered_s: float
    problem: str  # the plain reason, for the student
    busy: bool  # locked by another writer: it clears by itself
    tried_s: float  # when it was last tried
    tries: int = 1


def pending_answers() -> dict[str, PendingAnswer]:
    return st.session_state.setdefault(PENDING_KEY, {})


def _keep(served: Served, answer: Answer, answered_s: float, exc: StoreError) -> None:
    prev = pending_answers().get(served.id)
    pending_answers()[served.id] = PendingAnswer(
        answer.to_dict(), answered_s, exc.plain, isinstance(exc, StoreBusyError), time.time(),
        (prev.tries + 1) if prev else 1,
    )
    _shared.server_log().warning("answer %s kept unsaved (try %d): %s", served.id,
                                 pending_answers()[served.id].tries, exc)


def _submit(svc: QuizService, served: Served, answer: Answer, answered_s: float | None = None) -> None:
    answered_s = svc.clock() if answered_s is None else answered_s
    try:
        _, wrote = svc.submit(served, answer, answered_s=answered_s)
    except QuizInputError as exc:
        st.error(md_escape(exc), icon=":material/error:")
        return
    except StoreError as exc:  # busy, read-only, full: the answer is kept, never lost
        _keep(served, answer, answered_s, exc)
        st.rerun()
    if pending_answers().pop(served.id, None) is not None:
        flash("Your answer is saved now.")
    st.session_state.setdefault(SUBMITTED_KEY, set()).add(served.id)
    if not wrote:
        flash("This question had already been answered (another tab or a double click): showing that answer.")
    st.rerun()


@st.fragment(run_every=RETRY_EVERY_S)
def _retry_fragment(svc: QuizService, served: Served) -> None:
    kept = pending_answers().get(served.id)
    if kept is None:
        return
    # Each try may wait the busy timeout: not twice in a row (the submit just tried), unless asked.
    if time.time() - kept.tried_s < RETRY_EVERY_S - 0.5 and not st.session_state.pop(RETRY_NOW_KEY, False):
        st.caption(f":material/sync: Tried {kept.tries} time(s); trying again every {RETRY_EVERY_S} s.")
        return
    try:
        svc.submit(served, Answer.from_dict(kept.answer), answered_s=kept.answered_s)
    except StoreError as exc:
        _keep(served, Answer.from_dict(kept.answer), kept.answered_s, exc)
        st.caption(f":material/sync: Tried {kept.tries + 1} time(s); trying again every {RETRY_EVERY_S} s.")
        return
    pending_answers().pop(served.id, None)
    flash("Your answer is saved now.")
    st.session_state.setdefault(SUBMITTED_KEY, set()).add(served.id)
    st.rerun(scope="app")


def pending_notice(svc: QuizService, served: Served) -> None:
    """The plain "not yet saved" message, a Retry button, and the automatic retry."""
    kept = pending_answers()[served.id]
    busy = kept.busy
    st.warning(
        f"**Your answer is not saved yet.** {md_escape(kept.problem)} "
        + ("It is kept in this tab and saved as soon as the database is free: keep this tab open."
           if busy else "It is kept in this tab and tried again, but this needs whoever runs the server "
           "to fix the database: keep this tab open."),
        icon=":material/cloud_off:",
    )
    if st.button("Retry now", key="quiz_retry_pending", icon=":material/sync:"):
        st.session_state[RETRY_NOW_KEY] = True
    _retry_fragment(svc, served)


def question_ui(svc: QuizService, served: Served, settings: QuizSettings) -> None:
    """Render the question on screen and handle its answer."""
    st.session_state[CURRENT_KEY] = served.id
    _header(served, settings)
    ANSWER_VIEWS[served.question.kind](svc, served)


def _locate_ui(svc: QuizService, served: Served) -> None:
    iid = served.id
    key = box_key(iid, st.session_state.get(redo_key(iid), 0))
    box, problem, notes = _pending_box(served, key)
    img_col, side = st.columns([3, 2])
    with img_col:
        pending = [Overlay(None, box, "your box", "student", STUDENT_RGB)] if box else []
        _drawing(served, pending, key)
        st.caption(
            "Press on one corner of the organ, drag to the opposite corner, release. Drag again to redo."
        )
    with side:
        if problem:
            st.warning(problem, icon=":material/crop_free:")
        for n in notes:
            st.info(n, icon=":material/crop:")
        if box is not None:
            st.markdown(
                f"Your box: **{box.width:.0f} × {box.height:.0f} px** at ({box.x1:.0f}, {box.y1:.0f})."
            )
        submit = st.button("Submit box", type="primary", key="quiz_submit", icon=":material/check:")
        c1, c2 = st.columns(2)
        if c1.button("Clear box", key="quiz_redo", icon=":material/restart_alt:", disabled=box is None):
            st.session_state[redo_key(iid)] = st.session_state.get(redo_key(iid), 0) + 1
            st.rerun()
        not_visible = c2.button(
            "Not visible here",
            key="quiz_not_visible",
            icon=":material/visibility_off:",
            help="Answer that this organ is not in this image.",
        )
        if submit:
            if box is None:
                st.error(
                    problem
                    or "Draw a box first: press on the image, drag to the opposite corner and release.",
                    icon=":material/error:",
                )
            else:
                _submit(svc, served, Answer(box=box))
        elif not_visible:
            _submit(svc, served, Answer(not_visible=True))


def _identify_ui(svc: QuizService, served: Served) -> None:
    q = served.question
    target = served.sample.annotations[q.target_index]
    img_col, side = st.columns([3, 2])
    with img_col:
        rgb = load_rgb(served.sample.image_path)
        view, _ = render_view(
            rgb, [Overlay(None, target.box, "?", "student", STUDENT_RGB)], out_width_px=DRAW_WIDTH_PX
        )
        st.image(encode_jpeg(view), width="stretch")
    with side:
        choice = st.radio(
            "Which organ is outlined?",
            list(q.choices),
            index=None,
            key=f"quiz_choice_{served.id}",
            format_func=lambda o: ORGANS[o].name,
        )
        if st.button("Submit answer", type="primary", key="quiz_submit", icon=":material/check:"):
            _submit(svc, served, Answer(choice=choice))


def _present_ui(svc: QuizService, served: Served) -> None:
    img_col, side = st.columns([3, 2])
    with img_col:
        view, _ = render_view(load_rgb(served.sample.image_path), [], out_width_px=DRAW_WIDTH_PX)
        st.image(encode_jpeg(view), width="stretch")
    with side:
        st.caption("Not every organ is in every view: a transverse scan shows a slice of the neck.")
        c1, c2 = st.columns(2)
        if c1.button("Yes, visible", type="primary", key="quiz_present_yes", icon=":material/visibility:"):
            _submit(svc, served, Answer(present=True))
        if c2.button("No, not here", key="quiz_present_no", icon=":material/visibility_off:"):
            _submit(svc, served, Answer(present=False))


def _add_label(iid: str, key: str, w: int, h: int) -> None:
    drag = box_from_drag(st.session_state.get(key), w, h)
    organ = st.session_state.get(f"quiz_label_organ_{iid}")
    if drag.box is None:
        flash(drag.problem or "Draw a box first.")
        return
    if organ is None:
        flash("Pick the organ's name for this box, then press Add.")
        return
    labels = list(st.session_state.get(labels_key(iid), []))
    labels.append([int(organ), *drag.box.as_tuple()])
    st.session_state[labels_key(iid)] = labels
    st.session_state[redo_key(iid)] = st.session_state.get(redo_key(iid), 0) + 1
    st.session_state.pop(f"quiz_label_organ_{iid}", None)


def _remove_label(iid: str, i: int) -> None:
    labels = list(st.session_state.get(labels_key(iid), []))
    if 0 <= i < len(labels):
        labels.pop(i)
    st.session_state[labels_key(iid)] = labels


def _label_all_ui(svc: QuizService, served: Served) -> None:
    iid = served.id
    key = box_key(iid, st.session_state.get(redo_key(iid), 0))
    box, problem, notes = _pending_box(served, key)
    labels = [(int(o), BoxPx(*b)) for o, *b in st.session_state.get(labels_key(iid), [])]
    img_col, side = st.columns([3, 2])
    with img_col:
        pending = [Overlay(o, b, ORGANS[o].short, "solid") for o, b in labels]
        if box is not None:
            pending.append(Overlay(None, box, "new box", "student", STUDENT_RGB))
        _drawing(served, pending, key)
        st.caption("Draw one box, name it, press Add; repeat for every organ you see, then submit.")
    with side:
        show_flash()
        if problem:
            st.warning(problem, icon=":material/crop_free:")
        for n in notes:
            st.info(n, icon=":material/crop:")
        st.selectbox(
            "Organ of the new box",
            list(range(len(ORGANS))),
            index=None,
            key=f"quiz_label_organ_{iid}",
            format_func=lambda o: ORGANS[o].name,
            placeholder="Name this box",
        )
        st.button(
            "Add box",
            key="quiz_label_add",
            icon=":material/add_box:",
            on_click=_add_label,
            args=(iid, key, served.sample.width, served.sample.height),
        )
        for i, (o, _b) in enumerate(labels):
            # A row sized to its content: a fixed narrow column cut the button to "Rem…".
            row = st.container(horizontal=True, vertical_alignment="center")
            row.markdown(f"{i + 1}. {ORGANS[o].name}", width="stretch")
            row.button("Remove", key=f"quiz_label_rm_{iid}_{i}", on_click=_remove_label, args=(iid, i),
                       icon=":material/close:", width="content")
        if st.button("Submit labels", type="primary", key="quiz_submit", icon=":material/check:"):
            _submit(svc, served, Answer(labels=tuple(labels)))


# One answer view per kind (a new kind adds its view here).
ANSWER_VIEWS = {
    Kind.LOCATE: _locate_ui,
    Kind.IDENTIFY: _identify_ui,
    Kind.PRESENT: _present_ui,
    Kind.LABEL_ALL: _label_all_ui,
}


# --- feedback -------------------------------------------------------------------------------------


LINE_LEGEND = (
    '<div style="font-size:0.95em;margin-top:2px">'
    '<span style="margin-right:16px"><b>━━</b> ground truth (organ colour, shaded)</span>'
    '<span style="margin-right:16px"><b>╍╍</b> model, with its confidence</span>'
    '<span><b style="color:#fff;background:#000;padding:0 3px">▭</b> your box</span></div>'
)


def _score_panel(rv: Review, model_available: bool, data_synthetic: bool = True) -> None:
    q, s = rv.served.question, rv.score
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
    you, model = kind_of(q.kind).metrics(rv)
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
    return st.session_state.get(CURRENT_KEY) == instance_id and instance_id not in st.session_state.get(
        SUBMITTED_KEY, set()
    )


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


def summary_chart(summary) -> go.Figure:
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
    sm = svc.summary(session_id)
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


def resume_student(db: Engine, session_id: str) -> Student | None:
    """After a reload the URL names the quiz: its student becomes the current one."""
    from nnus_core.store.quizzes import get_session

    sess = get_session(db, session_id)
    return student_by_id(db, sess.student_id) if sess else None
