"""Classes (instructors only): create a class, show its join code, manage the roster and sign-ins."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from nnus_core.accounts import Action
from nnus_core.accounts import service as acc
from nnus_core.errors import NnusError
from nnus_core.text import csv_cell, md_escape
from pages import _auth

st.title("Classes")
actor = _auth.require(Action.CREATE_CLASS)
engine = _auth._store()


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "never"


def _link(token: str) -> str:
    base = (st.context.url or "").split("?")[0].rsplit("/", 1)[0]
    return f"{base}/?signin={token}"


with st.expander("New class", icon=":material/add:", expanded=False):
    with st.form("new_class", clear_on_submit=True):
        name = st.text_input("Class name", max_chars=80, placeholder="e.g. Neck ultrasound, group A")
        term = st.text_input("Term", max_chars=40, placeholder="e.g. Spring 2027")
        if st.form_submit_button("Create", type="primary"):
            try:
                acc.create_class(engine, actor, name, term)
            except NnusError as exc:
                _auth.show_error(exc)

classes = acc.instructor_classes(engine, actor)
if not classes:
    st.info("No class yet: create one above, then show its join code to the room.")
    st.stop()

labels = {c.id: f"{c.name} ({c.term})" if c.term else c.name for c in classes}
chosen = st.selectbox("Class", list(labels), format_func=labels.get, key="classes_pick")
klass = next(c for c in classes if c.id == chosen)

left, right = st.columns([2, 3])
with left:
    if klass.join_code:
        st.markdown("Join code")
        st.markdown(
            f"<div data-testid='nnus-join-code' style='font-size:2.6rem;font-weight:700;"
            f"letter-spacing:0.3rem;font-family:monospace'>{klass.join_code}</div>",
            unsafe_allow_html=True,
        )
        st.caption("Students open the app, choose **Sign in → Join a class** and type this code.")
    else:
        st.warning("Joining is closed: nobody new can join with a code.")
    b1, b2 = st.columns(2)
    if b1.button("New code", icon=":material/autorenew:", key="rotate", help="The old code stops working."):
        acc.rotate_join_code(engine, actor, klass.id)
        st.rerun()
    if klass.join_code and b2.button("Close joining", icon=":material/block:", key="close"):
        acc.close_joining(engine, actor, klass.id)
        st.rerun()

with right:
    entries = acc.roster(engine, actor, klass.id)
    st.markdown(f"**Roster** — {len(entries)} student(s)")
    if entries:
        frame = pd.DataFrame(
            {
                "Student": [e.display_name for e in entries],
                "Joined": [_when(e.joined_s) for e in entries],
                "Last activity": [_when(e.last_activity_s) for e in entries],
                "Answers": [e.n_answers for e in entries],
            }
        )
        st.dataframe(frame, hide_index=True, use_container_width=True)
        names = {e.user_id: e.display_name for e in entries}
        who = st.selectbox("Student", list(names), format_func=names.get, key="roster_pick")
        c1, c2 = st.columns(2)
        if c1.button(
            "New sign-in link",
            icon=":material/link:",
            key="reissue",
            help="Their old link, PIN sessions and signed-in browsers stop working.",
        ):
            token = acc.issue_personal_link(engine, actor, klass.id, who)
            st.code(_link(token), language=None)
            st.caption(f"Give this one-use link to {md_escape(names[who])} only.")
        if c2.button("Remove from class", icon=":material/person_remove:", key="remove"):
            acc.remove_student(engine, actor, klass.id, who)
            st.rerun()

with st.expander("Import a roster (CSV)", icon=":material/upload_file:"):
    up = st.file_uploader(
        "CSV with a 'name' column, or one name per line", type=["csv", "txt"], key="roster_csv"
    )
    if up is not None and st.button("Add these students", key="import"):
        try:
            links = acc.import_roster(
                engine, actor, klass.id, up.getvalue()[:1_000_000].decode("utf-8", "replace")
            )
        except NnusError as exc:
            _auth.show_error(exc)
        else:
            st.success(f"Added {len(links)} student(s). Each gets a one-use sign-in link:")
            out = pd.DataFrame(
                {"Student": [csv_cell(n) for n in links], "Sign-in link": [_link(t) for t in links.values()]}
            )
            st.dataframe(out, hide_index=True, use_container_width=True)
            st.download_button(
                "Download the links (CSV)", out.to_csv(index=False), "sign-in-links.csv", "text/csv"
            )

if _auth.allowed_here(Action.MERGE_RECORDS):
    records = acc.unclaimed_records(engine, actor)
    if records and entries:
        with st.expander(f"Records from before accounts ({len(records)})", icon=":material/merge:"):
            st.caption(
                "Answers saved under a typed display name before sign-in existed. Merge a record "
                "into the student it belongs to."
            )
            rec = st.selectbox(
                "Record",
                [r[0] for r in records],
                format_func=lambda i: next(f"{n} — {k} answers" for r, n, k in records if r == i),
            )
            into = st.selectbox("Into student", list(names), format_func=names.get, key="merge_into")
            if st.button("Merge", key="merge"):
                moved = acc.merge_record(engine, actor, rec, into)
                st.success(f"Moved {moved} answers.")
