"""Who is signed in, for the pages: the browser's sign-in cookie or the school's SSO -> the acting user.

The identity is never read from a URL parameter or a typed name: a browser proves it with a secret
token (set as a cookie after a sign-in, checked against its hash in the database on every new
session) or with Streamlit's OpenID Connect sign-in (`st.login`). A personal link's one-use token
(`?signin=`) is exchanged for such a cookie and removed from the address bar at once.
"""

from __future__ import annotations

import ipaddress
import time

import streamlit as st

from nnus_core.accounts import Action, Actor, Role, User, allowed
from nnus_core.accounts import service as acc
from nnus_core.accounts.oidc import SsoRule, identity
from nnus_core.errors import NnusError, SignInError
from nnus_core.settings import get_settings
from nnus_core.text import md_escape

COOKIE = "nnus_signin"
COOKIE_DAYS = acc.BROWSER_TOKEN_DAYS
_TOKEN_KEY = "nnus_auth_token"
_USER_KEY = "nnus_auth_user"
_COOKIE_WRITE_KEY = "nnus_auth_cookie"  # (value, max_age) the browser should hold
_SSO_KEY = "nnus_auth_sso_user"
_CHECKED_KEY = "nnus_auth_checked"  # monotonic time the held token was last found valid
RECHECK_S = 30.0

# Runs in the app page (not sandboxed; trusted code). Writes the sign-in cookie when the browser
# does not hold the wanted value yet; an empty value clears it.
_COOKIE_JS = """
export default function({ data }) {
  if (!data || !data.name) return;
  const want = data.value ? data.name + "=" + data.value : "";
  const have = document.cookie.split("; ").find((c) => c.startsWith(data.name + "=")) || "";
  if (have === want) return;
  const secure = location.protocol === "https:" ? "; Secure" : "";
  const age = data.value ? data.max_age : 0;
  document.cookie = data.name + "=" + (data.value || "") + "; Path=/; Max-Age=" + age + "; SameSite=Strict" + secure;
}
"""
_cookie_component = st.components.v2.component("nnus_signin_cookie", js=_COOKIE_JS)


def _store():
    from pages._shared import get_store  # after st.navigation (see pages/_shared)

    return get_store()


def client_address() -> str:
    """The visitor's address (for rate limits and the sign-in log).

    Streamlit gives no address for a connection from this machine; such a connection is either a
    local browser or a reverse proxy here, which names the client in X-Forwarded-For (its last
    entry is the one the proxy saw; earlier ones are whatever the client sent).
    """
    try:
        direct = st.context.ip_address or ""
        forwarded = "" if direct else (st.context.headers.get("X-Forwarded-For") or "")
    except Exception:  # noqa: BLE001 - outside a browser session (AppTest)
        return ""
    if not isinstance(direct, str) or not isinstance(forwarded, str):  # AppTest's stand-in context
        return ""
    return forwarded.split(",")[-1].strip()[:64] if forwarded else direct


def is_local_visitor() -> bool:
    """The request comes from a browser on this machine (the first-run screen is offered only then).

    A request through a reverse proxy also arrives from 127.0.0.1: one with forwarding headers is
    not local, whatever its address.
    """
    try:
        headers = {k.lower() for k in st.context.headers}
    except Exception:  # noqa: BLE001 - outside a browser session
        headers = set()
    if headers & {"x-forwarded-for", "x-real-ip", "forwarded"}:
        return False
    addr = client_address()
    if not addr:  # Streamlit gives no address for 127.0.0.1 and ::1 (a browser on this machine)
        return True
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _sso_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False


def _sso_user(engine) -> User | None:  # noqa: ANN001
    if not _sso_configured() or not st.user.is_logged_in:
        return None
    cached = st.session_state.get(_SSO_KEY)
    if cached is not None:
        return cached
    claims = st.user.to_dict()
    issuer, subject, name = identity(claims)
    cfg = get_settings()
    rule = SsoRule.parse(cfg.sso_instructor_groups, cfg.sso_instructor_emails)
    user = acc.sign_in_oidc(engine, issuer, subject, name, instructor=rule.is_instructor(claims))
    st.session_state[_SSO_KEY] = user
    return user


def current_actor() -> Actor:
    """The acting user of this browser session (anonymous when nobody signed in)."""
    engine = _store()
    user: User | None = st.session_state.get(_USER_KEY)
    token_held = st.session_state.get(_TOKEN_KEY)
    if (
        user is not None
        and token_held
        and time.monotonic() - st.session_state.get(_CHECKED_KEY, 0.0) > RECHECK_S
    ):
        # A sign-in ended elsewhere (sign-out, a reissued link, a disabled account) ends here too,
        # within RECHECK_S, without a database read on every rerun.
        st.session_state[_CHECKED_KEY] = time.monotonic()
        if acc.user_for_token(engine, token_held) is None:
            for key in (_USER_KEY, _SSO_KEY):
                st.session_state.pop(key, None)
            st.session_state[_TOKEN_KEY] = None
            st.session_state[_COOKIE_WRITE_KEY] = ("", 0)
            user = None
    if user is None:
        user = _sso_user(engine)
    if user is None and _TOKEN_KEY not in st.session_state:
        token = st.context.cookies.get(COOKIE)
        token = token if isinstance(token, str) else None  # (AppTest has no browser cookies)
        st.session_state[_TOKEN_KEY] = token
        user = acc.user_for_token(engine, token) if token else None
        st.session_state[_CHECKED_KEY] = time.monotonic()
        if token and user is None:  # expired or revoked: clear it in the browser too
            st.session_state[_COOKIE_WRITE_KEY] = ("", 0)
        st.session_state[_USER_KEY] = user
    return Actor(user, client_address())


def remember(user: User, token: str | None) -> None:
    """This session is now `user`; the browser keeps `token` (when given) for reloads and new tabs."""
    st.session_state[_USER_KEY] = user
    if token:
        st.session_state[_TOKEN_KEY] = token
        st.session_state[_CHECKED_KEY] = time.monotonic()
        st.session_state[_COOKIE_WRITE_KEY] = (token, COOKIE_DAYS * 86400)


def sign_in_with(call) -> None:  # noqa: ANN001 - a service call returning (User, token | None)
    """Run a sign-in service call: on success this browser is that user (a guest's answers kept);
    an account error is shown as a visitor may read it."""
    guest = current_actor()
    try:
        user, token = call()
    except NnusError as exc:
        show_error(exc)
        return
    moved = acc.claim_guest(_store(), guest, user) if guest.user_id != user.id else 0
    remember(user, token)
    if moved:
        st.toast(f"Kept your {moved} guest answers in your account.")
    st.rerun()


def sign_out() -> None:
    """End the sign-in here and on the server; the cookie is cleared in the browser."""
    acc.sign_out(_store(), st.session_state.get(_TOKEN_KEY))
    for key in (_USER_KEY, _SSO_KEY):
        st.session_state.pop(key, None)
    st.session_state[_TOKEN_KEY] = None
    st.session_state[_COOKIE_WRITE_KEY] = ("", 0)
    if _sso_configured() and st.user.is_logged_in:
        st.logout()


def sync_cookie() -> None:
    """Mount the cookie writer (app.py, every run): the browser holds what the session wants."""
    want = st.session_state.get(_COOKIE_WRITE_KEY)
    if want is not None:
        _cookie_component(
            key="nnus_signin_cookie", data={"name": COOKIE, "value": want[0], "max_age": want[1]}
        )


def redeem_link_from_url() -> None:
    """A personal sign-in link (`?signin=TOKEN`): exchanged once, then removed from the address bar."""
    token = st.query_params.get("signin")
    if not token:
        return
    del st.query_params["signin"]
    try:
        user, browser = acc.redeem_personal_link(_store(), Actor(client=client_address()), token)
    except SignInError as exc:
        st.error(str(exc))
        return
    remember(user, browser)
    st.toast(f"Signed in as {md_escape(user.display_name)}")


def guest_actor() -> Actor:
    """The acting user, made a guest with a private record on first need (self-study answers)."""
    actor = current_actor()
    if actor.user is None:
        user, token = acc.create_guest(_store())
        remember(user, token)
        actor = Actor(user, client_address())
    return actor


def allowed_here(action: Action, target: object = None) -> bool:
    """Whether the acting user may do `action` (for hiding what the policy would refuse)."""
    return allowed(_store(), current_actor(), action, target)


def require(action: Action, target: object = None) -> Actor:
    """Stop the page with a clear message unless the acting user may do `action`."""
    actor = current_actor()
    if not allowed(_store(), actor, action, target):
        if actor.role is not Role.INSTRUCTOR and action in INSTRUCTOR_ACTIONS:
            st.warning(
                "**Instructors only.** Sign in as an instructor to use this page.", icon=":material/lock:"
            )
            st.page_link("pages/signin.py", label="Sign in", icon=":material/login:")
        else:
            st.warning("You cannot open this here.", icon=":material/lock:")
        st.stop()
    return actor


INSTRUCTOR_ACTIONS = frozenset(
    {
        Action.CREATE_CLASS,
        Action.MANAGE_CLASS,
        Action.VIEW_CLASS_PROGRESS,
        Action.MERGE_RECORDS,
        Action.LOAD_SERVER_DATASET,
        Action.UPLOAD_DATASET,
        Action.SET_ACTIVE_DATASET,
        Action.SET_ACTIVE_MODEL,
        Action.CREATE_INSTRUCTOR,
        Action.CREATE_LIVE,
        Action.RUN_LIVE,
        Action.VIEW_LIVE_REVEAL,
        Action.BUILD_QUESTION_SETS,
        Action.EDIT_QUESTION_SET,
    }
)


def next_steps() -> None:
    """Home's first line for each role: what this person can do next."""
    actor = current_actor()
    engine = _store()
    if actor.is_instructor:
        classes = acc.instructor_classes(engine, actor)
        with st.container(border=True):
            st.markdown(
                f"**Welcome back, {md_escape(actor.user.display_name)}** (instructor). "
                + (
                    f"Your classes: {', '.join('**' + md_escape(c.name) + '**' for c in classes)}."
                    if classes
                    else "You have no class yet."
                )
            )
            st.page_link(
                "pages/classes.py", label="Classes: join codes and rosters", icon=":material/groups:"
            )
    elif actor.role is Role.STUDENT:
        classes = acc.member_classes(engine, actor)
        with st.container(border=True):
            st.markdown(
                f"**Welcome back, {md_escape(actor.user.display_name)}.** "
                + (
                    f"Your classes: {', '.join('**' + md_escape(c.name) + '**' for c in classes)}."
                    if classes
                    else ""
                )
            )
            c1, c2 = st.columns(2)
            c1.page_link("pages/quiz.py", label="Continue practice", icon=":material/quiz:")
            c2.page_link("pages/progress.py", label="My progress", icon=":material/trending_up:")
    else:
        st.caption(
            "In a class? **Sign in → Join a class** with your instructor's code to keep your answers "
            "in your own record. Self-study works without it."
        )
        st.page_link("pages/signin.py", label="Join a class or sign in", icon=":material/login:")


def show_error(exc: NnusError) -> None:
    """An account error as a visitor may read it (no server path, no SQL)."""
    st.error(getattr(exc, "plain", None) or str(exc))
