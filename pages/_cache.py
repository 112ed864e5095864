"""Every Streamlit cache of the app, in one place: what is kept per process, keyed by what, and how many.

`st.cache_resource` holds shared objects that are never copied (the dataset index, the detector,
the database engine); `st.cache_data` holds values copied to each caller (decoded images, JPEGs,
tables, chart pictures), keyed by a file's path and modification time or a dataset's version key.
Arguments starting with "_" are not hashed: the key in front of them names the value. Tests clear
all of them between AppTest runs (`st.cache_data.clear()`, `st.cache_resource.clear()`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import streamlit as st
from sqlalchemy import Engine

from nnus_core.browse import ViewTransform, encode_jpeg, load_rgb, render_view, thumbnail_jpeg
from nnus_core.dataset import Dataset, load_dataset
from nnus_core.dataset.model import Annotation
from nnus_core.errors import NnusError
from nnus_core.geometry import BoxPx

T = TypeVar("T")
PREDICT_FLOOR = 0.05  # predictions are cached at this confidence; pages filter higher with a slider
PREDICT_LOCK = threading.Lock()  # one Detector is shared by every session and is not thread-safe


# --- shared objects (cache_resource) -------------------------------------------------------------


@st.cache_resource(show_spinner="Indexing dataset…", max_entries=4)
def dataset(path_str: str, signature: tuple[float, ...]) -> Dataset:
    """The dataset at a path, indexed once per folder version (`signature`: folder mtimes)."""
    # cache_resource, not cache_data: the index is immutable and copying 790 samples per rerun is waste.
    return load_dataset(path_str)


@st.cache_resource
def phantom_generation() -> dict:
    """Process-wide state of the one phantom generation (thread, progress, error)."""
    return {"lock": threading.Lock(), "thread": None, "done": 0, "total": 0, "error": None}


@st.cache_resource(show_spinner="Loading the detector…")
def detector():
    """The shipped detector, or None when the detector package or a trained model is missing."""
    try:
        from nnus_core.detector import load_default_detector
    except ImportError:
        return None
    try:
        return load_default_detector()
    except (NnusError, ImportError):  # no model shipped, or no runtime can run it
        return None


@st.cache_resource(show_spinner=False)
def store_engine(url: str) -> Engine:
    """The progress database's engine, migrated and checked on first use."""
    from nnus_core.store import get_engine

    return get_engine(url)


# --- values (cache_data) -------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=4096)
def predictions(weights_id: str, image_path: str, mtime: float, _detector) -> list:
    """The detector's detections (confidence >= PREDICT_FLOOR) of one image, per weights and file version."""
    with PREDICT_LOCK:
        return list(_detector.predict(image_path, conf=PREDICT_FLOOR))


@st.cache_data(show_spinner=False, max_entries=8)
def model_card(folder: str, mtime: float):
    """The model card in a folder (read without loading the weights)."""
    from nnus_core.detector import read_model_card

    return read_model_card(Path(folder))


@st.cache_data(show_spinner=False, max_entries=8)
def eval_ap(path: str, mtime: float) -> tuple[dict[int, float], bool | None]:
    """Per-organ AP@0.5 of an evaluation file, and whether it was measured on the phantom."""
    from nnus_core.quiz.model_answer import read_eval_ap

    return read_eval_ap(Path(path))


@st.cache_data(show_spinner=False, max_entries=8)
def eval_report(path: str, mtime: float):
    """An evaluation file, read once per version."""
    from nnus_core.model_report import read_eval

    return read_eval(path)


@st.cache_data(show_spinner=False, max_entries=32)
def decoded_image(path: str, mtime: float) -> np.ndarray:
    """A dataset image as RGB, decoded once per file version."""
    return load_rgb(path)


@st.cache_data(show_spinner=False, max_entries=64)
def viewer_jpeg(
    ident: str,
    _image: np.ndarray,
    _overlays: tuple,
    out_width_px: int,
    zoom: float,
    center: tuple[float, float],
    bright: float,
    contrast: float,
    labels: bool,
) -> tuple[bytes, ViewTransform]:
    """The image viewer's picture (`ident`: the image's hash and the overlays'), with its transform."""
    # Reruns that change nothing in the picture (a table selection, the teaching card) reuse the JPEG.
    view, transform = render_view(
        _image,
        _overlays,
        out_width_px=out_width_px,
        zoom=zoom,
        center=center,
        brightness=bright,
        contrast=contrast,
        show_labels=labels,
    )
    return encode_jpeg(view), transform


@st.cache_data(show_spinner=False, max_entries=5000)
def thumbnail(key: str, _path: str, _boxes: tuple, width_px: int) -> bytes | None:
    """A small JPEG with (organ, x1, y1, x2, y2) boxes drawn; None when the image is unreadable."""
    # Keyed by a short string: hashing every box's floats on each rerun cost ~4 ms per thumbnail.
    anns = [Annotation(o, BoxPx(*b)) for o, *b in _boxes]
    try:
        return thumbnail_jpeg(_path, anns, width_px=width_px)
    except ValueError:
        return None


@st.cache_data(show_spinner=False, max_entries=512)
def overlay_thumbnail(key: str, path: str, _overlays) -> bytes | None:
    """A 360-px JPEG of an image with overlays and no tags (the model report's gallery); None if unreadable."""
    try:
        view, _ = render_view(load_rgb(path), _overlays, out_width_px=360, show_labels=False)
    except ValueError:
        return None
    return encode_jpeg(view, quality=85)


@st.cache_data(show_spinner="Computing statistics…", max_entries=16)
def dataset_tables(key: str, split: str, _compute: Callable[[], T]) -> T:
    """Tables derived from a dataset (`key`: `dataset_cache_key`), per split."""
    return _compute()


@st.cache_data(show_spinner=False, max_entries=96)
def picture(name: str, key: str, _draw: Callable[[], bytes]) -> bytes:
    """A static chart picture (PNG), drawn once per chart `name` and data version `key`."""
    # Static pictures (nnus_core.charts): the interactive charts took seconds to lay out in a busy browser.
    return _draw()
