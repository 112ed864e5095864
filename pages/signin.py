"""Sign in: join a class with its code, sign in again with a PIN, instructors by SSO or password."""

from __future__ import annotations

import streamlit as st

from nnus_core.accounts import Actor, Role
from nnus_core.accounts import service as acc
from nnus_core.text import md_escape
from pages import _auth

st.title("Sign in")
engine = _auth._store()
actor = _auth.current_actor()

if actor.user is not None and actor.role is not Role.GUEST:
    who = md_escape(actor.user.display_name)
    st.success(f"Signed in as **{who}** ({actor.role.value}).", icon=":material/verified_user:")
    classes = (
        acc.instructor_classes(engine, actor) if actor.is_instructor else acc.member_classes(engine, actor)
    )
    if classes:
        st.markdown("Your classes: " + ", ".join(f"**{md_escape(c.name)}**" for c in classes))
    if st.button("Sign out", icon=":material/logout:", key="signout"):
        _auth.sign_out()
        st.rerun()
    st.stop()

if actor.role is Role.GUEST:
    st.info(
        "You are practising as a **guest**: your answers stay in this browser only. Join a class or "
        "sign in to keep them in your account.",
        icon=":material/person:",
    )

join_tab, pin_tab, teach_tab = st.tabs(["Join a class", "Student sign-in", "Instructor"])

with join_tab:
    st.caption(
        "Your instructor shows a 6-character class code. Choose the name your class will see "
        "and a PIN (4 to 12 digits) to sign in again from another device."
    )
    with st.form("join_form", clear_on_submit=False):
        code = st.text_input("Class code", max_chars=9, placeholder="e.g. K7QX3N", key="join_code")
        name = st.text_input("Your name in the class", max_chars=40, key="join_name")
        pin = st.text_input("Choose a PIN", type="password", max_chars=12, key="join_pin")
        pin2 = st.text_input("Repeat the PIN", type="password", max_chars=12, key="join_pin2")
        joined = st.form_submit_button("Join", type="primary")
    if joined:
        if pin != pin2:
            st.error("The two PINs differ. Type the same PIN twice.")
        else:
            _auth.sign_in_with(lambda: acc.join_class(engine, actor, code, name, pin))

with pin_tab:
    st.caption(
        "Signed in before on another device? Use your class code, your name in the class and your PIN."
    )
    with st.form("pin_form"):
        code = st.text_input("Class code", max_chars=9, key="pin_code")
        name = st.text_input("Your name in the class", max_chars=40, key="pin_name")
        pin = st.text_input("PIN", type="password", max_chars=12, key="pin_pin")
        signed = st.form_submit_button("Sign in", type="primary")
    if signed:
        _auth.sign_in_with(lambda: acc.sign_in_pin(engine, Actor(client=actor.client), code, name, pin))

with teach_tab:
    if _auth._sso_configured():
        st.button(
            "Sign in with the school's account",
            type="primary",
            icon=":material/key:",
            on_click=st.login,
            key="sso_login",
        )
        st.divider()
    if acc.instructor_count(engine) == 0:
        if _auth.is_local_visitor():
            st.markdown(
                "**First run:** no instructor account exists yet. Create the first one here "
                "(this form is shown only to a browser on the server itself)."
            )
            with st.form("first_instructor"):
                login = st.text_input("Sign-in name (e-mail)", key="first_login")
                display = st.text_input("Your name", max_chars=40, key="first_name")
                pw = st.text_input("Password (at least 10 characters)", type="password", key="first_pw")
                made = st.form_submit_button("Create the instructor account", type="primary")
            if made:

                def first_instructor():
                    acc.create_instructor(engine, None, login, display, pw, first_run=True)
                    return acc.sign_in_password(engine, Actor(client=actor.client), login, pw)

                _auth.sign_in_with(first_instructor)
        else:
            st.info(
                "No instructor account exists yet. The administrator creates the first one on the server: "
                "`python -m nnus_core.accounts create-instructor`."
            )
    else:
        with st.form("instructor_form"):
            login = st.text_input("Sign-in name", key="inst_login")
            pw = st.text_input("Password", type="password", key="inst_pw")
            go = st.form_submit_button("Sign in", type="primary")
        if go:
            _auth.sign_in_with(lambda: acc.sign_in_password(engine, Actor(client=actor.client), login, pw))
