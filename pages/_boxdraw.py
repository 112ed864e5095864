"""The one way to draw a box on an image (or tap a point on it): a small components-v2 component on
pointer events, so a finger, a pen and a mouse all work (touch-action: none on the image).

The image travels as a JPEG data URL at its own size (a few tens of kB; it is resent whenever the
component's data changes). The browser reports the press and the release in the image's natural
pixels (scaled by naturalWidth / displayed width); `box_from_drag` sorts a reversed drag, clamps one
released past the edge and turns it into a `BoxPx` in the source image's pixels. The component shows
the drawn box itself, and the boxes passed in `shown`; a new drag replaces the box. The value lives in
`st.session_state[key]["box"]` (AppTest, which cannot drag, sets it there).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from nnus_core.browse import encode_jpeg
from nnus_core.geometry import BoxPx
from nnus_core.organs import ORGANS
from nnus_core.quiz import DragResult, box_from_drag

NAME = "nnus_boxdraw"
JPEG_QUALITY = 82
_HERE = Path(__file__).resolve().parent
HTML = '<div class="boxdraw" data-testid="boxdraw"><img draggable="false" alt=""><svg aria-hidden="true"></svg></div>'


@dataclass(frozen=True)
class ShownBox:
    """A box drawn over the image for reference (not editable): source-image pixels."""

    box: BoxPx
    label: str = ""
    organ_id: int | None = None

    @property
    def color(self) -> str:
        if self.organ_id is None:
            return "#ffffff"
        r, g, b = ORGANS[self.organ_id].rgb
        return f"#{r:02x}{g:02x}{b:02x}"


@functools.cache
def _mount():
    return st.components.v2.component(
        NAME,
        html=HTML,
        css=(_HERE / "_boxdraw.css").read_text(),
        js=(_HERE / "_boxdraw.js").read_text(),
        isolate_styles=True,
    )


def data_url(image_rgb: np.ndarray, quality: int = JPEG_QUALITY) -> str:
    """The picture as a JPEG data URL (what the component shows)."""
    return "data:image/jpeg;base64," + base64.b64encode(encode_jpeg(image_rgb, quality)).decode("ascii")


def _noop() -> None:
    """The component's value is read from its result; a change only needs the rerun."""


def drag_value(key: str) -> dict | None:
    """The last drag of the component `key` (natural-pixel press/release and the image size), None before one."""
    value = st.session_state.get(key)
    if isinstance(value, dict):
        value = value.get("box")
    return value if isinstance(value, dict) else None


def draw_box(
    image_rgb: np.ndarray,
    *,
    key: str,
    source_size: tuple[int, int] | None = None,
    shown: Sequence[ShownBox] = (),
    box_label: str = "",
    alt: str = "",
) -> DragResult:
    """Show `image_rgb` to drag a box on; return the drawn box in source-image pixels (or why there is none).

    Args:
        image_rgb: the picture shown, RGB uint8; it may be a resized view of the source image.
        key: the component's key; a new key starts without a box (how "Clear box" works).
        source_size: (width, height) of the image the box is measured in; default: `image_rgb`'s size.
        shown: reference boxes drawn over the image, in source pixels (e.g. boxes already labelled).
        box_label: text beside the drawn box.
        alt: the image's alternative text.
    """
    h, w = image_rgb.shape[:2]
    sw, sh = source_size or (w, h)
    drag = box_from_drag(drag_value(key), sw, sh)
    sx, sy = w / sw, h / sh

    def natural(b: BoxPx) -> list[float]:
        return [round(b.x1 * sx, 2), round(b.y1 * sy, 2), round(b.x2 * sx, 2), round(b.y2 * sy, 2)]

    _mount()(
        key=key,
        data={
            "src": data_url(image_rgb),
            "mode": "box",
            "alt": alt,
            "box": natural(drag.box) if drag.box is not None else None,
            "box_label": box_label,
            "boxes": [{"box": natural(s.box), "label": s.label, "color": s.color} for s in shown],
        },
        default={"box": None},
        on_box_change=_noop,
    )
    return drag


def tap_point(jpeg: bytes, *, key: str, alt: str = "") -> dict | None:
    """Show a JPEG to tap or click; return this run's tap as {x, y, width, height} in its natural pixels, else None."""
    result = _mount()(
        key=key,
        data={
            "src": "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii"),
            "mode": "point",
            "alt": alt,
        },
        on_click_change=_noop,
    )
    click = getattr(result, "click", None)
    return click if isinstance(click, dict) else None
