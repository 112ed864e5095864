"""My progress: every stored answer over time, per-organ mastery, streaks and a CSV export."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from nnus_core.accounts import service as acc
from nnus_core.store.progress import progress_report
from nnus_core.text import md_escape
from pages import _quiz_ui as ui
from pages import _shared

st.title("My progress")
db = _shared.get_store()
actor = ui.acting_user()
record, whose = actor.student_id, actor.user.display_name if actor.user else ""
if actor.is_instructor:  # an instructor reads the progress of their own classes' students
    students = acc.taught_students(db, actor)
    if not students:
        st.info("No student has joined your classes yet.")
        st.page_link("pages/classes.py", label="Classes", icon=":material/groups:")
        st.stop()
    pick = st.selectbox("Student", students, format_func=lambda e: e.display_name, key="progress_student")
    record, whose = pick.student_id, pick.display_name
elif record is None:
    st.info(
        "No answers stored yet: take a quiz, every answer is saved at once. Answers are kept in "
        "your own record: as a guest for this browser, or in your class account once you join."
    )
    st.page_link("pages/quiz.py", label="Go to the quiz", icon=":material/quiz:")
    st.stop()
st.markdown(f"Progress of **{md_escape(whose)}**")

rep = progress_report(acc.record_attempts(db, actor, record))
if not rep.answers:
    st.info("No answers stored yet: take a quiz, every answer is saved at once.")
    st.page_link("pages/quiz.py", label="Go to the quiz", icon=":material/quiz:")
    st.stop()

c = st.columns(5)
c[0].metric("Answers", rep.answers)
c[1].metric("Passed", f"{rep.pass_rate:.0%}")
c[2].metric("Mean IoU (Locate)", "—" if rep.mean_iou is None else f"{rep.mean_iou:.2f}")
c[3].metric(
    "Day streak", f"{rep.streaks.current_days} d", f"best {rep.streaks.longest_days} d", delta_color="off"
)
c[4].metric(
    "Passes in a row", rep.streaks.current_passes, f"best {rep.streaks.longest_passes}", delta_color="off"
)

left, right = st.columns(2)
with left:
    st.subheader("History", anchor=False)
    h = rep.history
    fig = go.Figure()
    fig.add_scatter(
        x=h["time_utc"],
        y=h["credit"],
        mode="markers",
        name="credit per answer",
        marker=dict(color=["#009E73" if p else "#D55E00" for p in h["passed"]], size=8),
        text=h["organ"] + " · " + h["kind"],
        hovertemplate="%{text}<br>credit %{y:.2f}<extra></extra>",
    )
    fig.add_scatter(
        x=h["time_utc"],
        y=h["credit"].rolling(5, min_periods=1).mean(),
        mode="lines",
        name="moving mean (5)",
        line=dict(color="#0072B2"),
    )
    fig.update_layout(
        height=320,
        yaxis=dict(title="credit", range=[-0.05, 1.05]),
        margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(orientation="h", y=1.15),
    )
    st.plotly_chart(fig, key="progress_history")
    d = rep.daily
    day = go.Figure()
    days = d["day"].dt.strftime("%Y-%m-%d")  # categories: one bar per practice day, no clock ticks
    day.add_bar(x=days, y=d["answers"], name="answers", marker_color="#BBBBBB")
    day.add_bar(x=days, y=d["passes"], name="passed", marker_color="#009E73")
    day.update_layout(
        barmode="overlay",
        bargap=0.6,
        xaxis=dict(type="category"),
        height=220,
        margin=dict(l=10, r=10, t=10, b=10),
        legend=dict(orientation="h", y=1.2),
    )
    st.plotly_chart(day, key="progress_daily")
with right:
    st.subheader("Mastery per organ", anchor=False)
    m = rep.mastery
    bars = go.Figure(
        go.Bar(
            x=(m["mastery"] * 100).fillna(0),
            y=m["organ"],
            orientation="h",
            marker_color=m["color"],
            marker_line=dict(color="#555", width=1),
            text=[
                f"{v:.0%} · {n} answer(s)" if n else "not practised yet"
                for v, n in zip(m["mastery"], m["answers"], strict=True)
            ],
            textposition="outside",
            textfont=dict(color="#EEEEEE"),
            cliponaxis=False,
        )
    )
    bars.update_layout(
        height=360,
        xaxis=dict(title="mastery (recent answers weigh more), %", range=[0, 140]),
        yaxis=dict(autorange="reversed"),
        margin=dict(l=10, r=10, t=10, b=10),
        plot_bgcolor="#3a3a3a",
    )
    st.plotly_chart(bars, key="progress_mastery")

st.subheader("Answers", anchor=False)
table = rep.history.iloc[::-1][
    ["time_utc", "kind", "organ", "image", "iou", "model_iou", "credit", "passed", "feedback"]
].copy()
# Blank, not "None", where a value does not apply (no IoU for an Identify answer, no model answer).
for col in ("iou", "model_iou"):
    table[col] = ["" if v is None or v != v else f"{v:.2f}" for v in table[col]]
for col in ("kind", "organ", "image", "feedback"):
    table[col] = table[col].fillna("").astype(str).replace({"None": ""})
st.dataframe(
    table,
    hide_index=True,
    key="progress_table",
    column_config={
        "time_utc": st.column_config.DatetimeColumn("time (UTC)", format="YYYY-MM-DD HH:mm"),
        "iou": st.column_config.TextColumn("your IoU"),
        "model_iou": st.column_config.TextColumn("model IoU"),
        "credit": st.column_config.ProgressColumn("credit", min_value=0.0, max_value=1.0, format="%.2f"),
    },
)
safe = "".join(ch if ch.isalnum() else "_" for ch in whose)[:40] or "student"
st.download_button(
    "Download my answers (CSV)",
    rep.csv,
    file_name=f"nnus_progress_{safe}.csv",
    mime="text/csv",
    key="progress_csv",
    icon=":material/download:",
)
