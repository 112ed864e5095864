"""Streamlit glue shared by the pages: cached dataset/model loading, dataset badge, image viewer."""

from __future__ import annotations

import html
import os
from pathlib import Path

import streamlit as st

from nnus_core.dataset import Dataset, load_dataset
from nnus_core.dataset.active import ActiveDataset, resolve_active
from nnus_core.errors import DatasetError
from nnus_core.organs import ORGANS

DATASET_OVERRIDE_KEY = "nnus_dataset_override"  # session: a folder the user activated on Home


def _signature(path: Path) -> tuple[float, ...]:
    """Cheap change detector: modification times of the folders that hold files."""
    out = []
    for p in (path, path / "images", path / "labels"):
        try:
            out.append(os.stat(p).st_mtime)
        except OSError:
            out.append(0.0)
    return tuple(out)


@st.cache_resource(show_spinner="Indexing dataset…", max_entries=4)
def _load_cached(path_str: str, signature: tuple[float, ...]) -> Dataset:
    # cache_resource, not cache_data: the index is immutable and copying 790 samples per rerun is waste.
    return load_dataset(path_str)


def active_location() -> ActiveDataset:
    override = st.session_state.get(DATASET_OVERRIDE_KEY)
    if override:
        p = Path(override)
        return ActiveDataset(p, "local", p.exists())
    return resolve_active()


def ensure_phantom(loc: ActiveDataset) -> None:
    """Generate the built-in phantom on first start, with a progress bar."""
    try:
        from nnus_core.phantom import generate_dataset
    except ImportError:
        return
    bar = st.progress(0.0, text="First start: generating the built-in synthetic phantom…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Generating synthetic phantom: {done}/{total} images")

    generate_dataset(loc.path, progress=progress)
    bar.empty()


def get_dataset(*, stop_if_missing: bool = True) -> Dataset | None:
    """The active dataset, indexed once and cached; generates the phantom if it is missing."""
    loc = active_location()
    if loc.source == "phantom" and not loc.exists:
        ensure_phantom(loc)
        loc = active_location()
    if not loc.path.exists():
        st.warning(
            f"No dataset available at {loc.path}. Set NNUS_DATA to your NNUS folder, "
            "or generate the built-in phantom with `python -m nnus_core.phantom --out data/phantom`."
        )
        if stop_if_missing:
            st.stop()
        return None
    try:
        return _load_cached(str(loc.path), _signature(loc.path))
    except DatasetError as exc:
        st.error(f"Cannot read the dataset: {exc}")
        if stop_if_missing:
            st.stop()
        return None


def dataset_badge(ds: Dataset) -> None:
    """A visible label saying whether the images are real NNUS or the synthetic phantom."""
    if ds.synthetic:
        st.markdown(
            ":orange-badge[:material/science: SYNTHETIC phantom] "
            f"— generated images, not real patients (generator {html.escape(ds.generator_version)})"
        )
    else:
        st.markdown(":green-badge[:material/ecg_heart: Real NNUS data]")


def organ_legend_html(organ_ids: list[int] | None = None) -> str:
    """A one-line legend of organ colours (HTML)."""
    ids = range(len(ORGANS)) if organ_ids is None else organ_ids
    chips = []
    for i in ids:
        o = ORGANS[i]
        chips.append(
            f'<span style="display:inline-block;margin:2px 8px 2px 0;white-space:nowrap">'
            f'<span style="display:inline-block;width:12px;height:12px;border-radius:2px;'
            f'background:{o.color};border:1px solid #555;vertical-align:middle"></span> '
            f'<span style="vertical-align:middle">{html.escape(o.name)}</span></span>'
        )
    return '<div data-testid="organ-legend">' + "".join(chips) + "</div>"
