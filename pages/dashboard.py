"""Dashboard (instructors only): what a class gets wrong — mastery, who is falling behind, the hardest
questions, confusions, where the class draws its boxes, the class beside the model, drill-down, exports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from nnus_core.accounts import Action
from nnus_core.accounts import service as acc
from nnus_core.charts import HEAT_BINS
from nnus_core.classroom import assignments as asg
from nnus_core.classroom import dashboard as dash
from nnus_core.classroom import figures
from nnus_core.classroom.gradebook import Flavour
from nnus_core.dataset import stats as dstats
from nnus_core.geometry import BoxPx
from nnus_core.organs import ORGANS
from nnus_core.quiz.kinds import REGISTRY
from nnus_core.quiz.kinds.base import STUDENT_RGB
from nnus_core.render import Overlay, draw_overlays
from nnus_core.text import md_escape
from pages import _auth, _cache
from pages import _quiz_ui as ui
from pages._classroom import when
from pages._shared import dataset_badge, dataset_cache_key, get_dataset, get_store
from pages._state import state
from pages._viewer import load_image

ALL = 0  # the assignment filter's "every answer"

st.title("Class dashboard")
actor = _auth.require(Action.CREATE_CLASS)
engine = get_store()
ds = get_dataset()
dataset_badge(ds)
classes = acc.instructor_classes(engine, actor)
if not classes:
    st.info("No class yet: create one on the Classes page.")
    st.stop()

c1, c2 = st.columns(2)
class_id = c1.selectbox(
    "Class",
    [c.id for c in classes],
    format_func=lambda i: next(c.name for c in classes if c.id == i),
    key="dash_class",
)
_auth.require(Action.VIEW_CLASS_PROGRESS, class_id)
given = asg.class_assignments(engine, actor, class_id)
titles = {ALL: "Every answer (practice and assignments)"} | {
    a.id: f"{a.title} (due {when(a.due_s)})" for a in given
}
assignment_id = c2.selectbox("Answers", list(titles), format_func=titles.get, key="dash_assignment") or None
d = dash.class_dashboard(engine, actor, class_id, assignment_id)

svc, _ = ui.quiz_service(ds)
heat = _cache.dataset_tables(
    dataset_cache_key(ds),
    "dashboard-heat",
    lambda: np.stack([dstats.position_heatmap(ds, o.id, HEAT_BINS) for o in ORGANS]),
)

m = st.container(horizontal=True, gap="medium", key="dash_metrics")
m.metric("Students", len(d.students), width="content")
m.metric("Answers", d.answers, width="content")
passes = sum(s.passes for s in d.students)
m.metric("Passed", f"{passes / d.answers:.0%}" if d.answers else "–", width="content")
m.metric("Falling behind", len(d.behind), width="content")
m.metric("Time spent", f"{sum(s.seconds for s in d.students) / 60:.0f} min", width="content")
m.metric("Late answers", sum(s.late for s in d.students), width="content")
if not d.answers:
    st.info("No answers in this selection yet.")

# --- who is falling behind, time spent -----------------------------------------------------------
st.subheader("Students", anchor=False)
st.caption(
    f"Falling behind: no answer yet, a mean credit under {dash.BEHIND_CREDIT:.2f}, or an assignment past "
    "its due date with questions left. Time spent: the seconds each answer took, summed."
)
frame = pd.DataFrame(
    {
        "Student": [s.name for s in d.students],
        "Answers": [s.answers for s in d.students],
        "Mean credit": [s.mean_credit for s in d.students],
        "Passed": [s.passes for s in d.students],
        "Time (min)": [round(s.seconds / 60, 1) for s in d.students],
        "Late": [s.late for s in d.students],
        "Last answer": [when(s.last_s) for s in d.students],
        "Falling behind": ["; ".join(s.behind_reasons) for s in d.students],
    }
)
st.dataframe(
    frame.style.format({"Mean credit": "{:.2f}", "Time (min)": "{:.1f}"}, na_rep="–"),
    hide_index=True,
    width="stretch",
    key="dash_students",
)

# --- mastery heatmap with drill-down ---------------------------------------------------------------
st.subheader("Mastery", anchor=False)
fig = figures.mastery_heatmap(d)
event = st.plotly_chart(fig, on_select="rerun", selection_mode="points", key="dash_mastery", width="stretch")
points = (
    (event or {}).get("selection", {}).get("points", [])
    if isinstance(event, dict)
    else getattr(getattr(event, "selection", None), "points", [])
)
rows = [s for s in d.students if s.student_id is not None]
if points:
    p = points[0]
    names = {s.name: s.student_id for s in rows}
    shorts = {o.short: o.id for o in ORGANS}
    sid, oid = names.get(str(p.get("y"))), shorts.get(str(p.get("x")))
    if sid is not None and oid is not None:
        state.classroom.drill = (sid, oid)

st.markdown("**Drill down** — the answers behind a cell (click one, or choose here)")
drill = state.classroom.drill
ids = [s.student_id for s in rows]
b1, b2 = st.columns(2)
if ids:
    sid = b1.selectbox(
        "Student",
        ids,
        index=ids.index(drill[0]) if drill and drill[0] in ids else 0,
        format_func=lambda i: next(s.name for s in rows if s.student_id == i),
        key="dash_drill_student",
    )
    oid = b2.selectbox(
        "Organ",
        [o.id for o in ORGANS],
        index=drill[1] if drill else 0,
        format_func=lambda i: ORGANS[i].name,
        key="dash_drill_organ",
    )
    state.classroom.drill = (sid, oid)
    behind = dash.drill_down(
        engine, actor, class_id, student_id=sid, organ_id=oid, assignment_id=assignment_id
    )
    cell = d.cell(sid, oid)
    st.caption(
        f"{len(behind)} answer(s)"
        + (f", mean credit {cell.mean_credit:.2f}" if cell else "")
        + ". White box: the student's; solid: the ground truth."
    )
    grid = st.columns(4)
    for i, a in enumerate(behind[:12]):
        sample = ds.get(a.image_stem)
        with grid[i % 4].container(border=True, key=f"dash_drill_{i}"):
            verdict = "passed" if a.passed else "wrong"
            said = ""
            if a.kind == "identify" and a.choice is not None:
                said = f" · said {md_escape(ORGANS[a.choice].name)}"
            elif a.kind == "locate" and a.box is None:
                said = " · said not visible"
            st.markdown(f"**{REGISTRY[a.kind].title}** · {verdict}{said}" + (" · **late**" if a.late else ""))
            if sample is None:
                st.caption(f"image {md_escape(a.image_stem)} is not in the active dataset")
                continue
            try:
                img = load_image(sample.image_path)
            except ValueError:
                st.caption("image unreadable")
                continue
            over = [
                Overlay(x.organ_id, x.box, "", "solid")
                for x in sample.annotations
                if x.organ_id == a.organ_id
            ]
            if a.box is not None:
                over.append(Overlay(None, BoxPx(*a.box), "", "student", STUDENT_RGB))
            st.image(draw_overlays(img, over), width="stretch")
            st.caption(
                f"{md_escape(a.image_stem)} · credit {a.credit:.2f}"
                + (f" · IoU {a.iou:.2f}" if a.iou is not None else "")
                + f" · {when(a.created_s)}"
            )

# --- questions -------------------------------------------------------------------------------------
st.subheader("Hardest questions", anchor=False)
if d.questions:
    qf = pd.DataFrame(
        {
            "Kind": [REGISTRY[q.kind].title for q in d.questions],
            "Image": [q.image_stem for q in d.questions],
            "Organ": [
                ORGANS[q.organ_id].name if q.organ_id is not None else "every organ" for q in d.questions
            ],
            "Answers": [q.answers for q in d.questions],
            "Pass rate": [q.pass_rate for q in d.questions],
            "Mean time (s)": [round(q.mean_seconds, 1) for q in d.questions],
        }
    )
    st.dataframe(
        qf.style.format({"Pass rate": "{:.0%}", "Mean time (s)": "{:.1f}"}),
        hide_index=True,
        width="stretch",
        height=min(300, 38 + 35 * len(qf)),
        key="dash_q",
    )

# --- confusions --------------------------------------------------------------------------------------
st.subheader("Confusions", anchor=False)
st.plotly_chart(figures.confusion_heatmap(d), width="stretch", key="dash_confusion")
st.plotly_chart(figures.locate_atlas(d, ds, heat), width="stretch", key="dash_atlas")

# --- the class beside the model ---------------------------------------------------------------------
st.subheader("The class beside the model", anchor=False)
names = {svc.dataset_key: f"{'synthetic phantom' if ds.synthetic else 'real images'} ({svc.dataset_key})"}
st.plotly_chart(
    figures.class_vs_model(d, svc.model_ap, svc.model_ap_label, names),
    width="stretch",
    key="dash_model",
)
if not svc.model_ap:
    st.caption("No model AP is known (no evaluation file or model card): the class is shown alone.")

# --- exports -----------------------------------------------------------------------------------------
st.subheader("Export", anchor=False)
e1, e2 = st.columns(2)
with e1:
    if assignment_id:
        flavour = (
            st.segmented_control(
                "Gradebook for",
                [f.value for f in Flavour],
                default="canvas",
                key="dash_flavour",
                format_func=lambda f: {"canvas": "Canvas", "moodle": "Moodle"}[f],
            )
            or "canvas"
        )
        st.download_button(
            "Download the gradebook (CSV)",
            dash.gradebook_export(engine, actor, assignment_id, flavour),
            f"gradebook-{flavour}-{assignment_id}.csv",
            "text/csv",
            icon=":material/download:",
            key="dash_gradebook",
        )
    else:
        st.caption("Choose an assignment above for its gradebook (points = the sum of credit).")
with e2:
    st.download_button(
        "Download every answer (CSV)",
        dash.answers_export(engine, actor, class_id, assignment_id),
        f"answers-{class_id}-{assignment_id or 'all'}.csv",
        "text/csv",
        icon=":material/download:",
        key="dash_answers",
    )
