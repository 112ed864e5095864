"""Compare: the model's boxes matched to the ground truth on one image (found, missed, false positives)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from nnus_core.browse import gt_overlays, neighbours
from nnus_core.matching import match_image, match_overlays, match_rows
from nnus_core.text import html_table, md_escape, plain
from pages import _classroom, _shared
from pages._shared import (
    PREDICT_FLOOR,
    dataset_badge,
    get_dataset,
    no_model_message,
    predict_sample,
    show_model_domain_note,
    step_button,
)
from pages._state import CompareKeys, state
from pages._viewer import image_viewer, load_image, outcome_legend_html


def _default_stem(ds) -> str:
    """The image named in the URL, else the first held-out (test) image, else the first image."""
    q = st.query_params.get("image")
    if q and ds.get(q) is not None:
        return q
    test = ds.split("test")
    return (test[0] if test else ds.samples[0]).stem


def _go(stem: str) -> None:
    state.compare.image = stem


ds = get_dataset()
st.title("Compare ground truth and model")
dataset_badge(ds)
if not len(ds):
    st.info("The active dataset has no images.")
    st.stop()
stems = [s.stem for s in ds.samples]
if state.compare.image is None:
    state.compare.image = _default_stem(ds)
# The URL names the image: a link from another page (or an edited URL) wins over the last choice.
q = st.query_params.get("image")
if q and q != state.compare.synced and ds.get(q) is not None:
    state.compare.image = q

nav = st.container(horizontal=True, vertical_alignment="bottom")
stem = nav.selectbox(
    "Image",
    stems,
    key=CompareKeys.image.key,
    width=300,
    format_func=lambda s: plain(f"{s} · {ds.get(s).split or '-'} · subject {ds.get(s).subject or '?'}", 90),
)
prev, nxt = neighbours(stems, stem)
step_button(nav, "Previous", prev, _go, "cmp_prev")
step_button(nav, "Next", nxt, _go, "cmp_next")
nav.space("stretch")
with nav:
    _classroom.add_to_set(ds, ds.get(stem), key="cmp_add")
nav.page_link(
    "pages/browse.py",
    label="Open this image in Browse",
    icon=":material/grid_view:",
    query_params={"image": stem},
)
st.query_params["image"] = stem  # a reload or a shared link keeps the image
state.compare.synced = stem

sample = ds.get(stem)
detector = _shared.get_detector()
try:
    image = load_image(sample.image_path)
except ValueError as exc:
    st.error(f"Cannot read this image: {md_escape(exc)}")
    st.stop()

left, right = st.columns([3, 2], gap="medium")
if detector is None:
    with right:
        no_model_message("the comparison with the model")
    with left:
        image_viewer(
            image,
            gt_overlays(sample.annotations),
            key="compare_viewer",
            caption="Ground truth only (no model).",
        )
    st.stop()

with right:
    k = st.columns(2)
    conf = k[0].slider("Confidence ≥", PREDICT_FLOOR, 1.0, 0.25, step=0.05, key="compare_conf")
    iou_thr = k[1].slider("IoU to count as found", 0.1, 0.9, 0.5, step=0.05, key="compare_iou")
    color_by = (
        st.segmented_control("Colour boxes by", ["outcome", "organ"], default="outcome", key="compare_color")
        or "outcome"
    )
found = predict_sample(detector, sample)
match = match_image(sample.annotations, found, iou_threshold=iou_thr, min_confidence=conf)
with right:
    show_model_domain_note(ds.synthetic, detections=found)
with left:
    image_viewer(
        image,
        match_overlays(match, color_by=color_by),
        key="compare_viewer",
        legend_html=outcome_legend_html() if color_by == "outcome" else None,
        caption="Solid: ground truth. Dashed: model. Found boxes show both, with the pair's IoU.",
    )
with right:
    m = st.container(horizontal=True, gap="medium")
    m.metric("Found", len(match.tp), width="content")
    m.metric("Missed", len(match.fn), width="content")
    m.metric("False positives", len(match.fp), width="content")
    rec = match.recall
    m.metric("Recall", "–" if rec is None else f"{rec:.0%}", width="content")
    st.caption(
        f"A model box counts as found when it names the same organ as a ground-truth box and overlaps it "
        f"with IoU ≥ {iou_thr:.2f}; boxes below confidence {conf:.2f} are ignored. "
        + ("Model and ground truth here are both on SYNTHETIC phantom images." if ds.synthetic else "")
    )
# Full width under the image: beside it, the note column was cut off on the right.
table = pd.DataFrame(match_rows(match), columns=["outcome", "organ", "confidence", "IoU", "note"])
for col in ("confidence", "IoU"):  # blank, not "None", where a value does not apply
    table[col] = ["" if pd.isna(v) else f"{v:.2f}" for v in table[col]]
# Plain HTML: a handful of rows needs neither the grid component nor Arrow (about 0.9 MB of script).
st.markdown(html_table(table, test_id="compare-boxes"), unsafe_allow_html=True)
