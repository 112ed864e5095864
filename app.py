"""NNUS Tutor entrypoint: only the router (st.navigation) and page-wide settings."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent

# (file, title, icon, section). A page whose file is absent is skipped, so the app always starts.
PAGES = [
    ("pages/home.py", "Home", ":material/home:", "Study"),
    ("pages/browse.py", "Browse", ":material/grid_view:", "Study"),
    ("pages/compare.py", "Compare", ":material/compare:", "Study"),
    ("pages/atlas.py", "Atlas & statistics", ":material/insights:", "Study"),
    ("pages/quiz.py", "Quiz", ":material/quiz:", "Practice"),
    ("pages/join.py", "Join live quiz", ":material/how_to_reg:", "Practice"),
    ("pages/progress.py", "My progress", ":material/trending_up:", "Practice"),
    ("pages/model_report.py", "Model report", ":material/analytics:", "Model"),
    ("pages/video.py", "Video demo", ":material/movie:", "Teach"),
    ("pages/live.py", "Live session", ":material/co_present:", "Teach"),
    ("pages/classes.py", "Classes", ":material/groups:", "Teach"),
    ("pages/sets.py", "Question sets", ":material/playlist_add_check:", "Teach"),
    ("pages/dashboard.py", "Class dashboard", ":material/monitoring:", "Teach"),
    ("pages/signin.py", "Sign in", ":material/login:", "Account"),
]
# Pages only an instructor may use: left out of everyone else's navigation; their URL shows
# "instructors only" instead of the page (the policy in nnus_core refuses the actions anyway).
INSTRUCTOR_PAGES = {"pages/classes.py", "pages/live.py", "pages/sets.py", "pages/dashboard.py"}


def _instructors_only() -> None:
    st.warning("**Instructors only.** Sign in as an instructor to use this page.", icon=":material/lock:")
    st.page_link("pages/signin.py", label="Sign in", icon=":material/login:")


def _requested_path() -> str:
    url = st.context.url or ""
    return url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]


def main() -> None:
    st.set_page_config(page_title="NNUS Tutor", page_icon=":material/neurology:", layout="wide")
    from nnus_core.text import plain
    from pages import _auth

    _auth.redeem_link_from_url()
    actor = _auth.current_actor()
    sections: dict[str, list] = {}
    for file, title, icon, section in PAGES:
        if not (HERE / file).is_file():
            continue
        if file in INSTRUCTOR_PAGES and not actor.is_instructor:
            if _requested_path() == Path(file).stem:
                sections.setdefault(section, []).append(
                    st.Page(_instructors_only, title=title, icon=":material/lock:", url_path=Path(file).stem)
                )
            continue
        if file == "pages/signin.py" and actor.user is not None and actor.role.value != "guest":
            title, icon = f"{plain(actor.user.display_name, 24)} (sign out)", ":material/account_circle:"
        sections.setdefault(section, []).append(
            st.Page(file, title=title, icon=icon, default=file == "pages/home.py")
        )
    page = st.navigation(sections)
    _auth.sync_cookie()
    from pages._shared import run_guarded, start_upload_janitor  # after st.navigation: see _shared

    start_upload_janitor()
    run_guarded(page.run)


main()
