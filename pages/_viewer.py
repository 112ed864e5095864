"""The one image viewer of the app (image + organ-coloured boxes + legend, zoom, brightness/contrast).

Used by Browse, Compare and the model report, and meant for the quiz and video pages:

    from pages._viewer import image_viewer
    click = image_viewer(image_rgb, overlays, key="quiz_viewer")

`overlays` are `nnus_core.render.Overlay` values in source-image pixels: ground truth "solid",
model "dashed", student "student"; `nnus_core.browse.gt_overlays/model_overlays` and
`nnus_core.matching.match_overlays` build them. The drawing itself is `nnus_core.browse.render_view`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import streamlit as st

from nnus_core.dataset.model import Sample
from nnus_core.render import Overlay
from nnus_core.text import html_escape, md_escape
from pages import _cache
from pages._shared import organ_legend_html
from pages._state import state

ZOOM_LEVELS = (1.0, 1.5, 2.0, 3.0, 4.0)
_DEFAULTS = {"zoom": 1.0, "pan_x": 50, "pan_y": 50, "bright": 0, "contrast": 1.0, "labels": True}

STYLE_LEGEND_HTML = (
    '<span style="margin-right:14px"><b>━━</b> ground truth</span>'
    '<span style="margin-right:14px"><b>╍╍</b> model</span>'
)


@dataclass(frozen=True)
class ViewerClick:
    """A click (or tap) on the viewer's image, in source-image pixels, in the run it happened."""

    x_px: float
    y_px: float


def _reset(key: str) -> None:
    keys = state.viewer(key)
    for name, value in _DEFAULTS.items():
        keys.set(name, value)


def _controls(key: str, zoom_controls: bool, adjust_controls: bool) -> dict:
    """Draw the viewer's slider row (zoom, brightness, contrast, pan when zoomed); returns the settings."""
    keys = state.viewer(key)
    for name, value in _DEFAULTS.items():  # explicit defaults: the reset button writes the same keys
        keys.setdefault(name, value)
    out = dict(_DEFAULTS)
    if not (zoom_controls or adjust_controls):
        return out
    cols = st.columns(3)
    if zoom_controls:
        out["zoom"] = cols[0].select_slider(
            "Zoom", ZOOM_LEVELS, key=f"{key}_zoom", format_func=lambda z: f"{z:g}×"
        )
    if adjust_controls:
        out["bright"] = cols[1].slider("Brightness", -100, 100, step=5, key=f"{key}_bright")
        out["contrast"] = cols[2].slider("Contrast", 0.5, 2.5, step=0.1, key=f"{key}_contrast")
    if zoom_controls and out["zoom"] > 1:
        p1, p2 = st.columns(2)
        out["pan_x"] = p1.slider("Pan left ↔ right", 0, 100, key=f"{key}_pan_x", format="%d%%")
        out["pan_y"] = p2.slider("Pan top ↕ bottom", 0, 100, key=f"{key}_pan_y", format="%d%%")
    return out


def image_viewer(
    image_rgb: np.ndarray,
    overlays: Sequence[Overlay],
    *,
    key: str,
    show_legend: bool = True,
    zoom_controls: bool = True,
    adjust_controls: bool = True,
    show_labels: bool | None = None,
    clickable: bool = False,
    legend_html: str | None = None,
    caption: str | None = None,
    out_width_px: int = 960,
) -> ViewerClick | None:
    """Show an image with boxes, a legend and zoom/brightness/contrast controls.

    Args:
        image_rgb: the picture, RGB uint8 (H, W, 3).
        overlays: boxes in source-image pixels, drawn in their organ colours (or `Overlay.color`).
        key: unique prefix for the viewer's widgets; the same key keeps zoom and brightness while
            the image changes (e.g. previous/next).
        show_legend: show the colour legend under the image.
        zoom_controls: show zoom and pan.
        adjust_controls: show brightness and contrast.
        show_labels: force box labels on/off; None shows a "Labels" toggle.
        clickable: report clicks on the image (a browser component; AppTest cannot click it).
        legend_html: replaces the default legend (organs in `overlays` + line styles).
        caption: a line under the image.
        out_width_px: rendered width; boxes and labels are drawn at this size so they stay sharp.

    Returns:
        The last click in source-image pixels when `clickable`, else None.
    """
    settings = _controls(key, zoom_controls, adjust_controls)
    # The labels toggle sits under the image; read its state first so this run draws what it shows.
    keys = state.viewer(key)
    labels_key = keys.key("labels")
    labels = bool(keys.get("labels", True)) if show_labels is None else show_labels
    ident = f"{hashlib.md5(np.ascontiguousarray(image_rgb).data).hexdigest()}|{hash(tuple(overlays))}"
    jpeg, transform = _cache.viewer_jpeg(
        ident,
        image_rgb,
        tuple(overlays),
        out_width_px,
        float(settings["zoom"]),
        (settings["pan_x"] / 100, settings["pan_y"] / 100),
        float(settings["bright"]),
        float(settings["contrast"]),
        labels,
    )
    click = None
    if clickable:
        from pages._boxdraw import tap_point

        click = _to_click(tap_point(jpeg, key=f"{key}_click"), transform, out_width_px)
    else:
        st.image(jpeg, width="stretch", output_format="JPEG")
    legend = ""
    if show_legend:
        ids = sorted({ov.organ_id for ov in overlays if ov.organ_id is not None})
        legend = (
            legend_html
            if legend_html is not None
            else (
                organ_legend_html(ids, with_short=True)
                + f'<div style="font-size:0.9em;opacity:0.85">{STYLE_LEGEND_HTML}</div>'
                if ids
                else '<div style="opacity:0.7">No boxes shown.</div>'
            )
        )
    has_buttons = show_labels is None or zoom_controls or adjust_controls
    foot = st.columns([4, 1.1, 1.1], vertical_alignment="top") if has_buttons else [st.container()]
    with foot[0]:
        if caption:
            st.caption(caption)
        if legend:
            st.markdown(legend, unsafe_allow_html=True)
    if show_labels is None:
        foot[1].toggle("Labels", key=labels_key)
    if zoom_controls or adjust_controls:
        foot[2].button(
            "Reset",
            key=f"{key}_reset",
            on_click=_reset,
            args=(key,),
            icon=":material/restart_alt:",
            help="Zoom 1×, brightness 0, contrast 1, labels on",
        )
    return click


def _to_click(value: dict | None, transform, view_width_px: int) -> ViewerClick | None:
    if not value or "x" not in value:
        return None
    shown = float(value.get("width") or view_width_px)
    x, y = transform.to_source(value["x"] * view_width_px / shown, value["y"] * view_width_px / shown)
    return ViewerClick(x, y)


def outcome_legend_html() -> str:
    """Legend of the Compare colours: found, missed, false positive, and the line styles."""
    from nnus_core.matching import OUTCOME_COLORS

    chips = "".join(
        f'<span style="display:inline-block;margin:2px 12px 2px 0;white-space:nowrap">'
        f'<span style="display:inline-block;width:12px;height:12px;border-radius:2px;background:{c};'
        f'border:1px solid #555;vertical-align:middle"></span> '
        f'<span style="vertical-align:middle">{html_escape(o.label)} ({html_escape(o.tag)})</span></span>'
        for o, c in OUTCOME_COLORS.items()
    )
    return (
        f'<div data-testid="outcome-legend">{chips}</div>'
        f'<div style="font-size:0.9em;opacity:0.85">{STYLE_LEGEND_HTML}</div>'
    )


# --- Thumbnails ---------------------------------------------------------------------------------


def thumbnail(sample: Sample, *, with_boxes: bool = True, width_px: int = 240) -> bytes | None:
    """A cached small JPEG of a sample (ground-truth boxes drawn when `with_boxes`); None if unreadable."""
    try:
        mtime = os.stat(sample.image_path).st_mtime
    except OSError:
        return None
    boxes = tuple((a.organ_id, *a.box.as_tuple()) for a in sample.annotations) if with_boxes else ()
    return _cache.thumbnail(
        f"{sample.image_path}|{mtime}|{hash(boxes)}", str(sample.image_path), boxes, width_px
    )


def thumbnail_card(
    sample: Sample,
    caption: str,
    *,
    key: str,
    on_open: Callable[..., None],
    args: tuple = (),
    image: bytes | None = None,
    with_boxes: bool = True,
    button_label: str = "Open",
) -> None:
    """One grid cell: thumbnail, caption and an "Open" button calling `on_open(*args)`."""
    data = image if image is not None else thumbnail(sample, with_boxes=with_boxes)
    if data is None:
        st.warning(f"{md_escape(sample.name, 80)}: unreadable image")
    else:
        st.image(data, width="stretch", output_format="JPEG")
    st.button(button_label, key=key, on_click=on_open, args=args, width="stretch", help=caption)
    st.caption(caption)


# --- Teaching card ------------------------------------------------------------------------------


def teaching_card(organ_id: int) -> None:
    """The organ's teaching card: a colour chip with the name, then what a teacher would say."""
    from nnus_core.organs import ORGANS

    o = ORGANS[organ_id]
    c = o.card
    st.markdown(
        f'<div data-testid="teaching-card-title" style="font-size:1.25em;font-weight:600;margin:4px 0">'
        f'<span style="display:inline-block;width:16px;height:16px;border-radius:3px;background:{o.color};'
        f'border:1px solid #555;vertical-align:middle;margin-right:6px"></span>{html_escape(o.name)} '
        f'<span style="opacity:0.6;font-weight:400">({o.short})</span></div>',
        unsafe_allow_html=True,
    )
    st.markdown(
        f"**Position.** {c.position}\n\n**Depth and size.** {c.depth}\n\n"
        f"**Echogenicity.** {c.echogenicity}\n\n**Landmarks.** {c.landmarks}\n\n"
        f"**Often confused with.** {c.confused_with}\n\n**Scanning tip.** {c.scanning_tip}"
    )


def load_image(path) -> np.ndarray:
    """A dataset image as RGB, decoded once per file version (cached).

    Raises:
        ValueError: when the file cannot be read or decoded.
    """
    try:
        mtime = os.stat(path).st_mtime
    except OSError as exc:
        raise ValueError(f"{path}: cannot read image: {exc}") from exc
    return _cache.decoded_image(str(path), mtime)
