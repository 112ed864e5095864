"""Question sets (instructors only): build, draw balanced, edit, duplicate, and assign to a class."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from nnus_core.accounts import Action
from nnus_core.accounts import service as acc
from nnus_core.classroom import assignments as asg
from nnus_core.classroom import sets
from nnus_core.errors import NnusError
from nnus_core.organs import ORGANS
from nnus_core.quiz import Kind
from nnus_core.quiz.engine import dataset_key
from nnus_core.quiz.kinds import REGISTRY
from nnus_core.text import md_escape
from pages import _auth
from pages._classroom import when
from pages._shared import dataset_badge, get_dataset, get_store
from pages._state import state

st.title("Question sets")
actor = _auth.require(Action.BUILD_QUESTION_SETS)
engine = get_store()
ds = get_dataset()
dataset_badge(ds)
here = dataset_key(ds)
st.caption(
    "Add questions from **Browse** or **Compare** (the *Add to set* button by an image), or let the app "
    "draw a balanced set below. A set is given to a class as an assignment with an open and a due date."
)

with st.expander("New set", icon=":material/add:", expanded=False):
    with st.form("new_set", clear_on_submit=False):
        title = st.text_input("Title", max_chars=sets.SET_TITLE_MAX, placeholder="e.g. Week 3: the thyroid")
        balanced = st.toggle("Draw a balanced set: every organ, easy to hard", True, key="new_set_balanced")
        c1, c2 = st.columns(2)
        per_organ = c1.number_input("Questions per organ", 1, 6, 2, key="new_set_per_organ")
        kinds = c2.multiselect(
            "Kinds",
            [k.value for k in REGISTRY if k is not Kind.LABEL_ALL],
            default=["locate", "identify"],
            format_func=lambda k: REGISTRY[Kind(k)].title,
            key="new_set_kinds",
        )
        if st.form_submit_button("Create", type="primary"):
            try:
                items = (
                    sets.balanced_items(ds, per_organ=int(per_organ), kinds=kinds or ["locate"])
                    if balanced
                    else ()
                )
                qs = sets.create_set(engine, actor, title, items, dataset_key=here)
            except NnusError as exc:
                _auth.show_error(exc)
            else:
                state.classroom.set_id = qs.id
                st.rerun()

mine = sets.list_sets(engine, actor)
if not mine:
    st.info("No set yet: create one above, or use *Add to set* on an image in Browse.")
    st.stop()
ids = [s.id for s in mine]
if state.classroom.set_id not in ids:
    state.classroom.set_id = ids[0]
chosen = st.selectbox(
    "Set",
    ids,
    index=ids.index(state.classroom.set_id),
    format_func=lambda i: next(f"{s.title} — {len(s.items)} questions" for s in mine if s.id == i),
    key=f"sets_pick_{state.classroom.set_id}",  # a set chosen elsewhere (new, copy) shows at once
)
state.classroom.set_id = chosen
qs = sets.get_set(engine, actor, chosen)
if qs.dataset_key and qs.dataset_key != here:
    st.warning(
        f"This set was built on other images ({md_escape(qs.dataset_key)}); the app shows {md_escape(here)} now."
    )

left, right = st.columns([3, 2], gap="large")
with left:
    st.markdown(f"**{md_escape(qs.title)}** · {len(qs.items)} questions · changed {when(qs.updated_s)}")
    if qs.items:
        frame = pd.DataFrame(
            {
                "#": range(1, len(qs.items) + 1),
                "Kind": [REGISTRY[i.kind].title for i in qs.items],
                "Image": [i.image_stem for i in qs.items],
                "Organ": [
                    ORGANS[i.organ_id].name if i.organ_id is not None else "every organ" for i in qs.items
                ],
            }
        )
        st.dataframe(frame, hide_index=True, width="stretch", key="sets_items")
        drop = st.selectbox(
            "Question", range(len(qs.items)), format_func=lambda p: f"#{p + 1}", key="sets_drop_pick"
        )
        if st.button("Remove it", icon=":material/delete:", key="sets_drop"):
            sets.remove_item(engine, actor, qs.id, int(drop))
            st.rerun()
    else:
        st.info("No questions yet: use *Add to set* in Browse or Compare.")
    c1, c2, c3 = st.columns(3)
    new_title = c1.text_input("Rename", qs.title, key=f"sets_title_{qs.id}", label_visibility="collapsed")
    if c1.button("Rename", key="sets_rename"):
        try:
            sets.update_set(engine, actor, qs.id, title=new_title)
        except NnusError as exc:
            _auth.show_error(exc)
        else:
            st.rerun()
    if c2.button("Duplicate", icon=":material/content_copy:", key="sets_dup"):
        state.classroom.set_id = sets.duplicate_set(engine, actor, qs.id).id
        st.rerun()
    if c3.button("Delete", icon=":material/delete_forever:", key="sets_delete"):
        sets.delete_set(engine, actor, qs.id)
        del state.classroom.set_id
        st.rerun()

with right:
    st.markdown("**Assign to a class**")
    classes = acc.instructor_classes(engine, actor)
    if not classes:
        st.info("Create a class first (Classes).")
    else:
        with st.form("assign"):
            klass = st.selectbox(
                "Class",
                [c.id for c in classes],
                format_func=lambda i: next(c.name for c in classes if c.id == i),
            )
            now = dt.datetime.now().replace(second=0, microsecond=0)
            due_default = now + dt.timedelta(days=7)
            o1, o2 = st.columns(2)
            open_d = o1.date_input("Opens", now.date(), key="assign_open_d")
            open_t = o2.time_input("at", now.time(), key="assign_open_t")
            d1, d2 = st.columns(2)
            due_d = d1.date_input("Due", due_default.date(), key="assign_due_d")
            due_t = d2.time_input("at ", due_default.time(), key="assign_due_t")
            name = st.text_input(
                "Title for students", qs.title, max_chars=sets.SET_TITLE_MAX, key=f"assign_title_{qs.id}"
            )
            if st.form_submit_button("Assign", type="primary", icon=":material/assignment_add:"):
                try:
                    a = asg.assign(
                        engine,
                        actor,
                        qs.id,
                        int(klass),
                        dt.datetime.combine(open_d, open_t).timestamp(),
                        dt.datetime.combine(due_d, due_t).timestamp(),
                        name,
                    )
                except NnusError as exc:
                    _auth.show_error(exc)
                else:
                    st.success(f"Assigned “{md_escape(a.title)}”, due {when(a.due_s)}.")
        st.caption("Times are the server's clock. Answers after the due date are accepted and marked late.")
        for c in classes:
            given = asg.class_assignments(engine, actor, c.id)
            if given:
                st.markdown(f"**{md_escape(c.name)}**")
                for a in given:
                    st.caption(
                        f"{md_escape(a.title)} · {a.n_questions} questions · opens {when(a.open_s)} · due {when(a.due_s)}"
                    )
