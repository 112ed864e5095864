"""Home: what NNUS Tutor is, a guided first path (image -> organ card -> quiz), then the technical details."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import streamlit as st

from nnus_core.accounts import Action
from nnus_core.browse import first_image
from nnus_core.dataset import load_dataset
from nnus_core.dataset.active import activation_check
from nnus_core.dataset.roots import offered_folders, resolve_below_roots
from nnus_core.dataset.zipimport import import_archive
from nnus_core.errors import DatasetError
from nnus_core.organs import ORGANS
from nnus_core.settings import get_settings
from nnus_core.text import md_escape
from nnus_core.uploads import DATASET_ZIP, copy_to_disk
from pages import _auth, _classroom, _shared
from pages._shared import (
    dataset_badge,
    get_dataset,
    model_card_summary,
    organ_legend_html,
)
from pages._state import state

GUIDE_ORGAN = 1  # the thyroid: the organ every neck scan is about, and the easiest to see first


def guided_path(ds) -> None:
    """Three steps for a first visit, each a link into the page that does it."""
    st.subheader("Start here", anchor="start-here")
    sample = first_image(ds.samples)
    organ = (
        GUIDE_ORGAN
        if sample is not None and GUIDE_ORGAN in sample.organ_ids
        else (min(sample.organ_ids) if sample is not None and sample.organ_ids else GUIDE_ORGAN)
    )
    cols = st.columns(3)
    steps = [
        (
            "1. Look at a labelled image",
            "Each coloured box is one organ, named by the legend under the picture. Use Previous / Next to see more.",
            "pages/browse.py",
            "Open a labelled image",
            ":material/image_search:",
            {"image": sample.stem} if sample is not None else {},
        ),
        (
            "2. Read an organ card",
            f"Click a box on the image: its card says where the organ lies and how it looks. "
            f"Start with the {ORGANS[organ].name.lower()}.",
            "pages/browse.py",
            f"Read the {ORGANS[organ].name} card",
            ":material/menu_book:",
            {"image": sample.stem, "organ": str(organ)} if sample is not None else {},
        ),
        (
            "3. Take a 5-question quiz",
            "Name the outlined organ, say whether an organ is in view. Every answer is scored and explained.",
            "pages/quiz.py",
            "Start the 5-question quiz",
            ":material/quiz:",
            {"preset": "starter"},
        ),
    ]
    for col, (title, text, page, label, icon, query) in zip(cols, steps, strict=True):
        with col.container(border=True, height="stretch"):
            st.markdown(f"**{title}**")
            st.caption(text)
            st.page_link(page, label=label, icon=icon, query_params=query or None)
    st.caption(
        "Later: **Compare** puts your eye beside the model's, **Atlas** shows where each organ usually "
        "sits, **My progress** keeps every answer. All pages are in the sidebar (» on a phone)."
    )


def _import_upload(upload, zip_cap_mb: int) -> None:  # noqa: ANN001 - a Streamlit UploadedFile
    """Unpack an uploaded .zip into the imports folder (or keep why it was refused), free the
    upload's memory and rerun: the next run offers the imported folder or shows the refusal."""
    # The user's file name only names the imported folder (import_archive cleans it again).
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", Path(upload.name).stem)[:40] or "dataset"
    try:
        with tempfile.TemporaryDirectory(prefix="nnus-zip-") as tmp:
            zpath = Path(tmp) / f"{stem}.zip"
            copy_to_disk(upload, zpath, zip_cap_mb * 1024 * 1024)
            done = (upload.file_id, str(import_archive(zpath, get_settings().imports_dir)), "")
    except DatasetError as exc:
        done = (upload.file_id, None, str(exc))
    state.home.zip_done = done
    _shared.release_upload(upload)  # on disk (or refused): the server's memory copy can go
    state.home.zip_widget += 1
    st.rerun()


def _offer_activation(new) -> None:  # noqa: ANN001 - a Dataset
    """The loaded dataset's report, and the button that makes it active (behind an explained
    override when its errors call for one)."""
    st.markdown(
        f"**{md_escape(new.kind)}** — {len(new)} images, {new.n_boxes} boxes; "
        f"{md_escape(new.report.summary())}"
    )
    if new.report.issues:
        st.code(new.report.format(max_lines=200), language=None)
    check = activation_check(new)
    override = False
    if check.needs_override:
        st.error(
            "This dataset should not be used as it is: "
            + "; ".join(md_escape(p) for p in check.problems)
            + ". Fix the files named in the report and load it again.",
            icon=":material/block:",
        )
        override = check.can_activate and st.checkbox(
            "Use it anyway, knowing that the pages will show only what could be read",
            key="home_override",
            help="For a look at a half-finished folder. Nothing is repaired.",
        )
    if st.button(
        "Make this the active dataset",
        type="primary",
        disabled=not check.can_activate or (check.needs_override and not override),
        key="home_activate",
    ):
        state.dataset_override = str(new.root)
        st.rerun()


def load_real_dataset_ui() -> None:
    """Load a folder or a .zip for this session; a dataset with errors needs an explained override."""
    st.markdown(
        "The real NNUS images are shared by their authors on request. Put the folder as published "
        "(`images/0001.jpg`, `labels/0001.txt`, `labels/classes.txt`) at `data/NNUS/`, set the "
        "environment variable `NNUS_DATA=/path/to/NNUS`, or load it here for this session. "
        "The validation report is shown before the dataset becomes active."
    )
    roots = list(get_settings().data_roots)
    exclude = [get_settings().imports_dir, get_settings().video_tmp_dir]
    offered = offered_folders(roots, exclude=exclude)
    st.caption(
        "Data folders on this server: "
        + ", ".join(f"`{md_escape(r)}`" for r in roots)
        + (" — datasets found: " + ", ".join(f"`{md_escape(p.name)}`" for p in offered) if offered else "")
    )
    path_in = st.text_input(
        "Folder on the server", placeholder="e.g. NNUS (inside a data folder)", key="home_path"
    )
    zip_cap_mb = DATASET_ZIP.mb()
    upload = st.file_uploader(
        f"…or upload a .zip of the folder (up to {zip_cap_mb} MB)",
        type=["zip"],
        key=f"home_zip_{state.home.zip_widget}",
        max_upload_size=zip_cap_mb,
    )
    candidate = None
    done = state.home.zip_done
    try:
        if upload is not None and (done is None or done[0] != upload.file_id):
            _import_upload(upload, zip_cap_mb)  # reruns the page
        if done is not None and done[2] and not path_in.strip():
            st.error(md_escape(done[2]))
        elif done is not None and done[1] and not path_in.strip():
            candidate = Path(done[1])
        elif path_in.strip():
            candidate = resolve_below_roots(path_in, roots, exclude=exclude)
        if candidate is not None:
            _offer_activation(load_dataset(candidate))
    except DatasetError as exc:
        st.error(md_escape(exc))
    if state.dataset_override and st.button("Back to the default dataset"):
        del state.dataset_override
        st.rerun()


def technical_details(ds) -> None:
    """Counts, path, validation report and the model card: for teachers and researchers."""
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Images", len(ds))
    c2.metric("Boxes", ds.n_boxes)
    c3.metric("Subjects", len(ds.subjects))
    c4.metric("Validation", "OK" if ds.report.ok else f"{len(ds.report.errors)} errors")
    if _auth.allowed_here(Action.LOAD_SERVER_DATASET):  # server paths are for instructors' eyes only
        st.caption(f"Path: {md_escape(ds.root)}")
    if ds.report.issues:
        st.markdown(f"Validation report — {md_escape(ds.report.summary())}")
        st.code(ds.report.format(max_lines=300), language=None)
    st.markdown("**Model**")
    card = _shared.get_model_card()
    if card is not None:
        model_card_summary(card, ds)
        if card.synthetic:
            st.caption(
                "Trained and evaluated on synthetic phantom images only: it shows what the pipeline does, "
                "not how a detector performs on real patients."
            )
        st.page_link("pages/model_report.py", label="Full model report", icon=":material/analytics:")
    elif _shared.model_folder() is not None:
        st.markdown(f"A model is shipped in {md_escape(_shared.model_folder())} but has no model card.")
    else:
        st.info(
            "No trained model is shipped yet: the pages show the ground truth only. Train one with "
            "`python -m nnus_core.detector train --data DIR` (see the README).",
            icon=":material/model_training:",
        )
    st.markdown("**About the data**")
    st.markdown(
        "**NNUS** — 790 normal neck ultrasound images (494×447, GE LOGIQ P6, linear probe) from 25 "
        "healthy volunteers, with boxes for 8 organs. Licence: "
        "[CC BY-NC-SA 4.0](https://creativecommons.org/licenses/by-nc-sa/4.0/). "
        "Source: the Neck-Ultrasound-Dataset repository by its authors (joo053 on GitHub). "
        "Their YOLOv5s reached mAP@0.5 0.8044 on the real images.\n\n"
        "The **built-in phantom** is synthetic: generated B-mode images with the same layout and "
        "organ frequencies. Results measured on it are labelled as such and say nothing about "
        "performance on real patients."
    )


st.title("NNUS Tutor")
st.markdown(
    "Learn to recognise the organs of a **normal neck ultrasound**: look at labelled scans, read what "
    "each organ looks like, then test yourself."
)
ds = get_dataset()
dataset_badge(ds)
_auth.next_steps()
_classroom.open_assignments(_auth.current_actor())
guided_path(ds)
st.markdown("**The eight organs and their colours**")
st.markdown(organ_legend_html(with_short=True), unsafe_allow_html=True)
with st.expander("Technical details: dataset, model, data sources", icon=":material/info:"):
    technical_details(ds)
if _auth.allowed_here(Action.LOAD_SERVER_DATASET):
    with st.expander("Use the real NNUS dataset", icon=":material/folder_open:"):
        load_real_dataset_ui()
else:
    st.caption("The real NNUS images are not public: an instructor can load them for the class (Sign in).")
