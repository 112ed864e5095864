"""Browse: a filtered, paged thumbnail grid and a detail viewer with ground-truth and model boxes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from nnus_core.browse import (
    SPLITS,
    BrowseFilter,
    box_rows,
    filter_samples,
    neighbours,
    organ_at,
    page_of,
    paginate,
    study_overlays,
)
from nnus_core.dataset import Dataset, Sample
from nnus_core.organs import N_ORGANS, ORGANS
from nnus_core.text import html_escape, html_table, md_escape
from pages import _classroom, _shared
from pages._shared import (
    PREDICT_FLOOR,
    dataset_badge,
    get_dataset,
    no_model_message,
    organ_legend_html,
    predict_sample,
    show_model_domain_note,
    step_button,
)
from pages._state import BrowseKeys, state
from pages._viewer import image_viewer, load_image, teaching_card, thumbnail_card

QUIZ_PAGE = "pages/quiz.py"
GRID_COLUMNS = 6


def organ_name(i: int) -> str:
    return ORGANS[i].name


def filters_ui(ds: Dataset) -> BrowseFilter:
    """Sidebar filters (kept for the session, so they survive the detail view and page switches)."""
    sb = st.sidebar
    sb.header("Filter images")
    ids = list(range(N_ORGANS))
    present = sb.multiselect(
        "Organs present (all of)", ids, format_func=organ_name, key="browse_present", persist_state="session"
    )
    absent = sb.multiselect(
        "Organs absent (none of)", ids, format_func=organ_name, key="browse_absent", persist_state="session"
    )
    splits = [s for s in SPLITS if any(x.split == s for x in ds.samples)]
    split = sb.multiselect("Split", splits, key="browse_split", persist_state="session")
    subjects = sb.multiselect(
        "Subject (volunteer)", list(ds.subjects), key="browse_subject", persist_state="session"
    )
    n_min, n_max = sb.slider(
        "Number of organs", 0, N_ORGANS, (0, N_ORGANS), key="browse_n", persist_state="session"
    )
    text = sb.text_input(
        "File name contains", key="browse_text", persist_state="session", placeholder="e.g. 012"
    )
    sb.button("Clear filters", on_click=_clear_filters, icon=":material/filter_alt_off:")
    return BrowseFilter(
        frozenset(present), frozenset(absent), frozenset(subjects), frozenset(split), n_min, n_max, text
    )


def filter_summary(flt: BrowseFilter) -> str:
    """The active filters in words (Markdown), for the main page: on a phone the sidebar is hidden."""
    parts = []
    if flt.present:
        parts.append("with " + ", ".join(organ_name(i) for i in sorted(flt.present)))
    if flt.absent:
        parts.append("without " + ", ".join(organ_name(i) for i in sorted(flt.absent)))
    if flt.splits:
        parts.append("split " + ", ".join(sorted(flt.splits)))
    if flt.subjects:
        parts.append("subject " + ", ".join(sorted(flt.subjects)))
    if (flt.min_organs, flt.max_organs) != (0, N_ORGANS):
        parts.append(f"{flt.min_organs}–{flt.max_organs} organs")
    if flt.text:
        parts.append(f"name contains “{flt.text}”")
    return html_escape("; ".join(parts)) or "none"


def _clear_filters() -> None:
    state.browse.clear_filters(N_ORGANS)


def _open(stem: str) -> None:
    st.query_params["image"] = stem


def _close() -> None:
    st.query_params.pop("image", None)


def _set_page(page: int) -> None:
    state.browse.page = page


def grid_view(shown: tuple[Sample, ...], total: int, flt: BrowseFilter) -> None:
    top = st.columns([2, 1.8, 3.5], vertical_alignment="bottom")
    page_size = (
        top[0].segmented_control(
            "Per page", [24, 48, 96], default=24, key="browse_page_size", persist_state="session"
        )
        or 24
    )
    with_boxes = top[1].toggle(
        "Boxes on thumbnails", value=True, key="browse_thumb_boxes", persist_state="session"
    )
    # A changed filter restarts at page 1; otherwise the page is kept across visits to the detail view.
    sig = (len(shown), shown[0].stem if shown else "", shown[-1].stem if shown else "")
    if state.browse.filter_signature != sig:
        state.browse.filter_signature = sig
        state.browse.page = 0
    sl = paginate(len(shown), page_size, state.browse.page)
    state.browse.page = sl.page
    top[2].markdown(f"**{len(shown)}** of {total} images match")
    st.markdown(
        f'<div data-testid="browse-filter-hint"><b>Filters:</b> {filter_summary(flt)} — '
        "change them in the sidebar (on a phone, open it with the <b>»</b> at the top left).</div>",
        unsafe_allow_html=True,
    )
    if with_boxes:
        st.markdown(
            organ_legend_html() + '<div style="font-size:0.9em;opacity:0.85">Thumbnail boxes: '
            "the labelled organs (ground truth), in these colours.</div>",
            unsafe_allow_html=True,
        )
    if not shown:
        st.info("No image matches these filters.", icon=":material/filter_alt:")
        return
    _pager(sl, "top")
    page = shown[sl.start : sl.stop]
    for row in range(0, len(page), GRID_COLUMNS):
        cols = st.columns(GRID_COLUMNS)
        for col, s in zip(cols, page[row : row + GRID_COLUMNS], strict=False):
            with col:
                thumbnail_card(
                    s,
                    f"{md_escape(s.subject or '?', 40)} · {s.split or '-'} · {len(s.organ_ids)} organs",
                    key=f"open_{s.stem}",
                    on_open=_open,
                    args=(s.stem,),
                    with_boxes=with_boxes,
                    button_label=f"Open {md_escape(s.stem, 40)}",
                )
    _pager(sl, "bottom")


def _pager(sl, where: str) -> None:
    row = st.container(horizontal=True, vertical_alignment="center")
    row.button(
        "First",
        key=f"pg_first_{where}",
        on_click=_set_page,
        args=(0,),
        disabled=sl.page == 0,
        icon=":material/first_page:",
    )
    row.button(
        "Previous",
        key=f"pg_prev_{where}",
        on_click=_set_page,
        args=(sl.page - 1,),
        disabled=sl.page == 0,
        icon=":material/chevron_left:",
    )
    row.markdown(f"Page **{sl.page + 1}** of {sl.n_pages}", width="content")
    row.button(
        "Next",
        key=f"pg_next_{where}",
        on_click=_set_page,
        args=(sl.page + 1,),
        disabled=sl.page >= sl.n_pages - 1,
        icon=":material/chevron_right:",
    )
    row.button(
        "Last",
        key=f"pg_last_{where}",
        on_click=_set_page,
        args=(sl.n_pages - 1,),
        disabled=sl.page >= sl.n_pages - 1,
        icon=":material/last_page:",
    )


def _quiz_me(stem: str) -> None:
    state.quiz.focus_image = stem
    st.switch_page(QUIZ_PAGE, query_params={"image": stem})


def _detail_nav(ds: Dataset, sample: Sample, shown: tuple[Sample, ...]) -> None:
    """Grid / Previous / "Image 3 of 40" / Next / Quiz me / Add to a set, over the image."""
    stems = [s.stem for s in shown]
    in_filter = sample.stem in stems
    if not in_filter:
        stems = [s.stem for s in ds.samples]
    prev, nxt = neighbours(stems, sample.stem)
    # Returning to the grid shows the page that holds this image.
    if in_filter:
        state.browse.page = page_of(stems.index(sample.stem), state.browse.page_size or 24)

    nav = st.container(horizontal=True, vertical_alignment="center")
    nav.button("Grid", on_click=_close, icon=":material/grid_view:", key="detail_grid")
    step_button(nav, "Previous", prev, _open, "detail_prev")
    where = " (outside the filter)" if not in_filter else " (filtered)" if len(stems) < len(ds) else ""
    nav.markdown(f"Image **{stems.index(sample.stem) + 1}** of {len(stems)}{where}", width="content")
    step_button(nav, "Next", nxt, _open, "detail_next")
    nav.space("stretch")
    quiz_available = (Path(__file__).parent / "quiz.py").is_file()
    if nav.button(
        "Quiz me on this image",
        icon=":material/quiz:",
        disabled=not quiz_available,
        key="detail_quiz",
        type="primary",
        help="Locate this image's organs yourself" if quiz_available else "The quiz page is not installed.",
    ):
        _quiz_me(sample.stem)
    with nav:
        _classroom.add_to_set(ds, sample, key="detail_add")


def _detail_controls(has_model: bool) -> tuple[bool, bool, float, set[int]]:
    """(show ground truth, show model boxes, model confidence floor, organs shown) from the bar."""
    bar = st.columns([1.5, 1.5, 1.8, 4], vertical_alignment="bottom")
    show_gt = bar[0].toggle("Ground truth", value=True, key="detail_show_gt", help="Solid boxes: the labels")
    show_model = bar[1].toggle(
        "Model boxes",
        value=has_model,
        key="detail_show_model",
        disabled=not has_model,
        help="Dashed boxes: the detector's answer",
    )
    conf = bar[2].slider(
        "Model confidence ≥",
        PREDICT_FLOOR,
        1.0,
        0.25,
        step=0.05,
        key="detail_conf",
        disabled=not has_model or not show_model,
    )
    organs = bar[3].pills(
        "Organs shown",
        list(range(N_ORGANS)),
        selection_mode="multi",
        default=list(range(N_ORGANS)),
        format_func=lambda i: ORGANS[i].short,
        key="detail_organs",
        help="Click an organ to hide or show its boxes",
    )
    return show_gt, show_model and has_model, conf, set(organs)


def _follow_card(sample: Sample, click, detections: list) -> None:  # noqa: ANN001 - the viewer's click
    """The teaching card follows the latest click or table selection; a new image starts on its
    first organ. A link may name the organ whose card to open (?organ=1, Home's guided path)."""
    asked = st.query_params.get("organ")
    if asked is not None and asked.isdigit() and int(asked) < N_ORGANS:
        state.browse.card = int(asked)
        state.browse.card_image = sample.stem
        del st.query_params["organ"]
    elif state.browse.card_image != sample.stem:
        state.browse.card_image = sample.stem
        state.browse.card = min(sample.organ_ids) if sample.organ_ids else 0
    if click is not None:
        boxes = [(a.organ_id, a.box) for a in sample.annotations] + [(d.organ_id, d.box) for d in detections]
        hit = organ_at(click.x_px, click.y_px, boxes)
        if hit is not None:
            state.browse.card = hit


def _boxes_table(annotations: list, detections: list) -> None:
    """The drawn boxes as a table, full width below (beside the image it was cut off on the right).
    Plain HTML: the grid component and Arrow cost about 1.4 MB of script on a first visit."""
    table = pd.DataFrame(
        box_rows(annotations, detections),
        columns=["source", "organ", "organ_id", "confidence", "x1", "y1", "width_px", "height_px"],
    )
    table["confidence"] = [("" if pd.isna(c) else f"{c:.2f}") for c in table["confidence"]]
    st.markdown("**Boxes**")
    st.markdown(
        html_table(
            table,
            ["source", "organ", *(["confidence"] if detections else []), "x1", "y1", "width_px", "height_px"],
            headers={"width_px": "width (px)", "height_px": "height (px)"},
            test_id="detail-boxes",
        ),
        unsafe_allow_html=True,
    )


def detail_view(ds: Dataset, sample: Sample, shown: tuple[Sample, ...]) -> None:
    _detail_nav(ds, sample, shown)
    st.subheader(md_escape(sample.name, 120), anchor=False)
    st.caption(
        f"Subject {md_escape(sample.subject or '?', 60)} · {sample.split or 'no'} split · {sample.width}×{sample.height} px · "
        f"{len(sample.annotations)} labelled boxes"
    )
    detector = _shared.get_detector()
    show_gt, show_model, conf, shown_organs = _detail_controls(detector is not None)
    left, right = st.columns([5, 3], gap="medium")
    if detector is None:
        with right:
            no_model_message("model boxes")
    try:
        image = load_image(sample.image_path)
    except ValueError as exc:
        st.error(f"Cannot read this image: {md_escape(exc)}")
        return
    found = predict_sample(detector, sample) if show_model else []
    # The drawing and the table show the same boxes: chosen organs, model boxes above the slider.
    detections = [d for d in found if d.confidence >= conf and d.organ_id in shown_organs]
    annotations = [a for a in sample.annotations if a.organ_id in shown_organs] if show_gt else []
    with left:
        if show_model:
            if not detections:
                hidden = len(shown_organs) < N_ORGANS
                st.info(
                    f"The model found no {'shown ' if hidden else ''}organ above confidence {conf:.2f} "
                    "here. Lower the confidence slider to see its weaker guesses.",
                    icon=":material/search_off:",
                )
            show_model_domain_note(ds.synthetic, detections=found)
        click = image_viewer(
            image,
            study_overlays(annotations, detections),
            key="browse_viewer",
            clickable=True,
            caption="Click a box to open its organ's teaching card. A tag "
            "“STR + model 0.88”: the model found that labelled box, at that confidence.",
        )
    _follow_card(sample, click, detections)
    with right:
        card = st.selectbox(
            "Teaching card", list(range(N_ORGANS)), format_func=organ_name, key=BrowseKeys.card.key
        )
        with st.container(border=True):
            teaching_card(card)
    _boxes_table(annotations, detections)


ds = get_dataset()
stem = st.query_params.get("image")
sample = ds.get(stem) if stem else None
if sample is None:
    st.title("Browse")  # the detail view gives the space to the image
dataset_badge(ds)
flt = filters_ui(ds)
shown = filter_samples(ds.samples, flt)
if stem and sample is None:
    st.warning(f"No image named “{md_escape(stem, 80)}” in the active dataset; showing the grid.")
if sample is not None:
    detail_view(ds, sample, shown)
else:
    grid_view(shown, len(ds), flt)
