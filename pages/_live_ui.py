"""Streamlit glue of the live session pages: the service, the polling fragments, the join URL, the charts.

Live updates poll the database: a fragment reruns every POLL_S seconds, reads one small `Pulse`
(the session row and two counts) and redraws only itself, unless the session moved (a new
question, the close, the reveal): then the whole page reruns. Nothing is pushed between servers,
so any number of app servers behind a sticky load balancer serve one session.
"""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from nnus_core.dataset import Dataset
from nnus_core.live import ChoiceReveal, LabelAllReveal, LeaderRow, LiveService, LocateReveal, Pulse, Reveal
from nnus_core.organs import ORGANS
from nnus_core.text import html_escape
from pages import _shared
from pages._state import pop, state

POLL_S = 1.0  # a phone: a new question shows within ~1 s (see the README's polling figures)
PROJECTOR_POLL_S = 0.5  # the projector (one per session): "answered N of M" moves within ~0.5 s
RIGHT, WRONG = "#009E73", "#BBBBBB"


def service(ds: Dataset) -> LiveService:
    """The live service for the active dataset, with the model's answer when a detector is loaded."""
    detector = _shared.get_detector()
    predict = (lambda sample: _shared.predict_sample(detector, sample)) if detector is not None else None
    return LiveService(_shared.get_store(), ds, predict=predict)


def join_url(code: str) -> str:
    """The address a phone opens to join (the QR code's content): this server's /join?code=..."""
    base = (st.context.url or "").split("?")[0].rsplit("/", 1)[0] or "http://localhost:8501"
    return f"{base}/join?code={code}"


def flash(message: str) -> None:
    state.live.flash = message


def show_flash() -> None:
    msg = pop(type(state.live).flash)
    if msg:
        st.info(msg, icon=":material/info:")


def drawn(pulse: Pulse) -> None:
    """Record what this page run drew; the polling fragment compares against it."""
    state.live.drawn = pulse.key


def _poll_once(read: Callable[[], Pulse], body: Callable[[Pulse], None]) -> None:
    pulse = read()
    if state.live.drawn is not None and pulse.key != state.live.drawn:
        st.rerun(scope="app")
    body(pulse)


@st.fragment(run_every=POLL_S)
def poll(read: Callable[[], Pulse], body: Callable[[Pulse], None]) -> None:
    """A phone, every POLL_S: read the pulse; rerun the page when the session moved, else redraw `body`."""
    _poll_once(read, body)


@st.fragment(run_every=PROJECTOR_POLL_S)
def projector_poll(read: Callable[[], Pulse], body: Callable[[Pulse], None]) -> None:
    """The projector, every PROJECTOR_POLL_S: as `poll`, twice as often (one projector per session)."""
    _poll_once(read, body)


def countdown_html(seconds: float, big: bool = False) -> str:
    size = "3.2rem" if big else "1.4rem"
    colour = "#D55E00" if seconds <= 5 else "inherit"
    return (
        f"<div data-testid='live-countdown' style='font-size:{size};font-weight:700;color:{colour}'>"
        f"{seconds:.0f} s left</div>"
    )


# --- reveal charts ---------------------------------------------------------------------------------


def choice_chart(d: ChoiceReveal) -> go.Figure:
    labels = [f"{'✓ ' if ok else ''}{label}" for label, _, ok in d.options]
    fig = go.Figure(
        go.Bar(
            x=[n for _, n, _ in d.options],
            y=labels,
            orientation="h",
            marker_color=[RIGHT if ok else WRONG for _, _, ok in d.options],
            text=[str(n) for _, n, _ in d.options],
            textposition="outside",
        )
    )
    fig.update_layout(
        height=80 + 60 * len(labels),
        margin=dict(l=10, r=30, t=10, b=10),
        yaxis=dict(autorange="reversed", tickfont=dict(size=18)),
        xaxis=dict(title="students", dtick=1),
    )
    return fig


def iou_chart(d: LocateReveal, pass_iou: float) -> go.Figure:
    names = [f"{lo:.1f}–{hi:.1f}" for lo, hi, _ in d.iou_hist]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[c for _, _, c in d.iou_hist],
            marker_color=[RIGHT if lo >= pass_iou else WRONG for lo, _, _ in d.iou_hist],
            text=[str(c) for _, _, c in d.iou_hist],
            textposition="outside",
        )
    )
    fig.update_layout(
        height=260,
        margin=dict(l=10, r=10, t=30, b=10),
        title=dict(text="IoU of the class's boxes", font=dict(size=14)),
        yaxis=dict(title="boxes", dtick=1),
    )
    return fig


def found_chart(d: LabelAllReveal, n: int) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            x=[ORGANS[o].short for o, _ in d.found],
            y=[100 * c / max(n, 1) for _, c in d.found],
            marker_color=[f"rgb{ORGANS[o].rgb}" for o, _ in d.found],
            text=[f"{c}/{n}" for _, c in d.found],
            textposition="outside",
        )
    )
    fig.update_layout(
        height=280,
        margin=dict(l=10, r=10, t=30, b=10),
        yaxis=dict(title="% of the class found it", range=[0, 115]),
    )
    return fig


def reveal_summary(r: Reveal) -> str:
    d = r.detail
    passed = getattr(d, "passed", None)
    if passed is None:
        return f"{r.n_answers} of {r.n_participants} answered"
    return f"{passed} of {r.n_answers} right · {r.n_answers} of {r.n_participants} answered"


def leaderboard_html(rows: list[LeaderRow], *, top: int = 10, speed_counts: bool = False) -> str:
    """The leaderboard as a large table (names escaped): accuracy and speed in their own columns."""
    head = "<tr><th>#</th><th style='text-align:left'>Name</th><th>Correct</th><th>Accuracy</th><th>Mean time</th>"
    head += "<th>Points</th></tr>" if speed_counts else "</tr>"
    body = []
    for r in rows[:top]:
        t = "—" if r.mean_s is None else f"{r.mean_s:.1f} s"
        cells = (
            f"<td>{r.rank}</td><td style='text-align:left'>{html_escape(r.display_name)}</td>"
            f"<td>{r.correct} / {r.asked}</td><td>{r.accuracy:.0%}</td><td>{t}</td>"
        )
        if speed_counts:
            cells += f"<td>{r.points:.0f}</td>"
        body.append(f"<tr>{cells}</tr>")
    return (
        "<table data-testid='live-leaderboard' style='font-size:1.3rem;width:100%;text-align:center'>"
        f"{head}{''.join(body)}</table>"
    )
