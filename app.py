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
    ("pages/progress.py", "My progress", ":material/trending_up:", "Practice"),
    ("pages/model_report.py", "Model report", ":material/analytics:", "Model"),
    ("pages/video.py", "Video demo", ":material/movie:", "Teach"),
]


def main() -> None:
    st.set_page_config(page_title="NNUS Tutor", page_icon=":material/neurology:", layout="wide")
    sections: dict[str, list] = {}
    for file, title, icon, section in PAGES:
        if (HERE / file).is_file():
            sections.setdefault(section, []).append(
                st.Page(file, title=title, icon=icon, default=file == "pages/home.py")
            )
    page = st.navigation(sections)
    from pages._shared import run_guarded, start_upload_janitor  # after st.navigation: see _shared

    start_upload_janitor()
    run_guarded(page.run)


main()
