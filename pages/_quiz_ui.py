"""Streamlit glue of the quiz and progress pages: store and service wiring, who answers, which quiz is
running, the setup form, and answers kept while the database cannot take them. Views: `_quiz_views`."""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

from nnus_core.accounts import Actor, Role
from nnus_core.dataset import Dataset
from nnus_core.errors import AccessDenied, QuizInputError, StoreError
from nnus_core.organs import ORGANS
from nnus_core.quiz import Answer, QuizService, QuizSettings, Served
from nnus_core.quiz.kinds import REGISTRY
from nnus_core.quiz.pending import RETRY_EVERY_S, PendingAnswer
from nnus_core.quiz.questions import DIFFICULTIES, MAX_QUESTIONS
from nnus_core.quiz.report import summary_model_ap
from nnus_core.text import md_escape
from pages import _auth, _cache, _shared
from pages._state import QuizKeys, pop, state

KIND_LABELS = {k.value: spec.title for k, spec in REGISTRY.items()}
# Home's guided path ends in ?preset=starter: a short quiz answered by tapping (no box to draw).
STARTER_PRESET = "starter"
STARTER_QUESTIONS = 5
STARTER_KINDS = ("identify", "present")
DIFFICULTY_LABELS = {
    "mixed": "Mixed",
    "easy": "Easy (large, common, clear)",
    "hard": "Hard (small, rare, low contrast)",
}

# --- wiring ---------------------------------------------------------------------------------------


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
            ap, synthetic = _cache.eval_ap(str(path), path.stat().st_mtime)
    card = None if ap else _shared.get_model_card()
    return summary_model_ap(ap, synthetic, card, ds.synthetic)


def quiz_service(ds: Dataset) -> tuple[QuizService, bool]:
    """The quiz service for the active dataset; the flag says whether a model is available."""
    detector = _shared.get_detector()
    predict = (lambda sample: _shared.predict_sample(detector, sample)) if detector is not None else None
    ap, label = _model_ap(ds)
    return QuizService(
        _shared.get_store(), ds, predict=predict, model_ap=ap, model_ap_label=label
    ), detector is not None


# --- who answers ----------------------------------------------------------------------------------


def acting_user(*, create_guest: bool = False) -> Actor:
    """Who answers: the signed-in user, else (with `create_guest`) a guest whose private record is
    tied to this browser by its sign-in cookie. Never a name anyone can type."""
    return _auth.guest_actor() if create_guest else _auth.current_actor()


def signed_in_line(actor: Actor) -> None:
    c1, c2 = st.columns([4, 1], vertical_alignment="center")
    if actor.user is None or actor.role is Role.GUEST:
        c1.markdown(
            "Practising as a **guest**: your answers are kept for this browser only. "
            "Join your class to keep them in your own record."
        )
        c2.page_link("pages/signin.py", label="Join a class", icon=":material/login:")
    else:
        c1.markdown(f"Studying as **{md_escape(actor.user.display_name)}**")


def flash(message: str) -> None:
    """A message shown once, on the next run."""
    state.quiz.flash = message


def show_flash() -> None:
    msg = pop(QuizKeys.flash)
    if msg:
        st.info(msg, icon=":material/info:")


# --- which quiz is running ------------------------------------------------------------------------


def focus_request(ds: Dataset) -> str | None:
    """The image Browse asked to be quizzed on (session key or ?image=), if it exists."""
    stem = state.quiz.focus_image or st.query_params.get("image")
    if not stem:
        return None
    if ds.get(stem) is None:
        st.warning(f"Image “{md_escape(stem, 80)}” is not in the active dataset; choose your own quiz below.")
        del state.quiz.focus_image
        return None
    return str(stem)


def focus_notice(focus_stem: str) -> None:
    st.info(f"Quiz focused on image **{md_escape(focus_stem)}** (from Browse).", icon=":material/image:")


def active_session_id() -> str | None:
    """The running quiz: this browser session's, else the one named in the URL (a reload)."""
    return state.quiz.session_id or st.query_params.get("quiz")


def activate(session_id: str) -> None:
    state.quiz.session_id = session_id
    del state.quiz.show_summary
    del state.quiz.focus_image
    st.query_params.clear()
    st.query_params["quiz"] = session_id  # a reload finds the same quiz (and question) again


def keep_in_url(session_id: str) -> None:
    """Name the running quiz in the URL (again after visiting another page), so a reload resumes it."""
    state.quiz.session_id = session_id
    if st.query_params.get("quiz") != session_id:
        st.query_params["quiz"] = session_id


def leave_quiz() -> None:
    del state.quiz.session_id
    del state.quiz.show_summary
    st.query_params.clear()


# --- setup ----------------------------------------------------------------------------------------


def resume_offer(svc: QuizService, actor: Actor) -> str | None:
    """Offer the acting user's latest unfinished quiz on this dataset (a closed browser loses nothing);
    returns its id when they choose to resume it."""
    unfinished = svc.unfinished(actor)
    if unfinished is None:
        return None
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(unfinished.session.created_s))
    c1, c2 = st.columns([3, 1], vertical_alignment="center")
    c1.info(
        f"You have an unfinished quiz from {when}: {unfinished.answered} of "
        f"{unfinished.settings.n_questions} answered.",
        icon=":material/history:",
    )
    if c2.button("Resume it", key="quiz_resume", icon=":material/play_circle:"):
        return unfinished.session.id
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
        "Difficulty", DIFFICULTIES, key="quiz_difficulty", format_func=DIFFICULTY_LABELS.__getitem__
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
    only_focus = bool(focus_stem) and st.checkbox(
        f"Only image {md_escape(focus_stem)}", True, key="quiz_only_focus"
    )
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


# --- answers: stored once, kept while the database cannot take them -------------------------------


def prefetch_model(svc: QuizService, served: Served) -> None:
    """Run (and cache) the model on the question's image after the question is on screen, so the
    feedback after submitting does not wait for inference."""
    if svc.predict is not None:
        svc.predict(served.sample)


def pending_answers() -> dict[str, PendingAnswer]:
    return state.quiz.pending


def _keep(served: Served, answer: Answer, answered_s: float, exc: StoreError) -> None:
    kept = PendingAnswer.kept(
        pending_answers().get(served.id), answer.to_dict(), answered_s, exc, time.time()
    )
    pending_answers()[served.id] = kept
    _shared.server_log().warning("answer %s kept unsaved (try %d): %s", served.id, kept.tries, exc)


def _saved(served: Served) -> None:
    state.quiz.submitted.add(served.id)


def submit(svc: QuizService, served: Served, answer: Answer) -> None:
    """Score and store an answer, then show its feedback; an answer the database cannot take is kept."""
    answered_s = svc.clock()
    try:
        _, wrote = svc.submit(served, answer, acting_user(), answered_s=answered_s)
    except (QuizInputError, AccessDenied) as exc:
        st.error(md_escape(exc), icon=":material/error:")
        return
    except StoreError as exc:  # busy, read-only, full: the answer is kept, never lost
        _keep(served, answer, answered_s, exc)
        st.rerun()
    if pending_answers().pop(served.id, None) is not None:
        flash("Your answer is saved now.")
    _saved(served)
    if not wrote:
        flash("This question had already been answered (another tab or a double click): showing that answer.")
    st.rerun()


def pending_notice(svc: QuizService, served: Served) -> None:
    """The plain "not yet saved" message, a Retry button, and the automatic retry."""
    kept = pending_answers()[served.id]
    st.warning(
        f"**Your answer is not saved yet.** {md_escape(kept.problem)} "
        + (
            "It is kept in this tab and saved as soon as the database is free: keep this tab open."
            if kept.busy
            else "It is kept in this tab and tried again, but this needs whoever runs the server "
            "to fix the database: keep this tab open."
        ),
        icon=":material/cloud_off:",
    )
    if st.button("Retry now", key="quiz_retry_pending", icon=":material/sync:"):
        state.quiz.retry_now = True
    _retry_fragment(svc, served)


@st.fragment(run_every=RETRY_EVERY_S)
def _retry_fragment(svc: QuizService, served: Served) -> None:
    kept = pending_answers().get(served.id)
    if kept is None:
        return
    if not kept.due(time.time()) and not pop(QuizKeys.retry_now):
        st.caption(f":material/sync: Tried {kept.tries} time(s); trying again every {RETRY_EVERY_S} s.")
        return
    answer = Answer.from_dict(kept.answer)
    try:
        svc.submit(served, answer, acting_user(), answered_s=kept.answered_s)
    except StoreError as exc:
        _keep(served, answer, kept.answered_s, exc)
        st.caption(f":material/sync: Tried {kept.tries + 1} time(s); trying again every {RETRY_EVERY_S} s.")
        return
    pending_answers().pop(served.id, None)
    flash("Your answer is saved now.")
    _saved(served)
    st.rerun(scope="app")
