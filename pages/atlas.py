"""Atlas & statistics: where each organ sits, how big it is, which organs appear together, and counts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from nnus_core import charts
from nnus_core.browse import SPLITS
from nnus_core.charts import HEAT_BINS, HEAT_SCALE
from nnus_core.dataset import Dataset
from nnus_core.dataset import stats as dstats
from nnus_core.organs import ORGANS
from pages import _cache
from pages._shared import dataset_badge, dataset_cache_key, get_dataset, measured_on_label

COLOR_MAP = {o.name: o.color for o in ORGANS}
# Plotly's white background would hide the white oesophagus colour: plot on a mid-grey paper.
PLOT_BG = "#3a3a3a"


def _subset(ds: Dataset, split: str) -> Dataset:
    return ds if split == "all" else replace(ds, samples=ds.split(split), _by_stem={})


def _tables(split: str, ds: Dataset) -> dict[str, object]:
    sub = _subset(ds, split)
    return {
        "n_images": len(sub),
        "boxes": dstats.boxes_frame(sub),
        "instances": dstats.instances_per_organ(sub),
        "cooc": dstats.cooccurrence(sub),
        "per_image": dstats.boxes_per_image(sub),
        "heat": np.stack([dstats.position_heatmap(sub, o.id, HEAT_BINS) for o in ORGANS]),
    }


def _static(what: str, conditional: bool, _t: dict) -> bytes:
    """A chart as a PNG (see nnus_core.charts); cached per dataset version, split and option."""
    shorts = [o.short for o in ORGANS]
    if what == "heat":
        return charts.heatmap_grid_png(_t["heat"])
    if what == "counts":
        inst = _t["instances"]
        return charts.bars_png(
            shorts,
            [
                charts.Series(
                    "this dataset",
                    inst["instances_per_image"],
                    [o.color for o in ORGANS],
                    labels=[str(v) for v in inst["instances"]],
                ),
                charts.Series(
                    "published NNUS (real, 790 images)",
                    inst["published_per_image"],
                    "#c8c8c8",
                    "//",
                    labels=[str(v) for v in inst["published_instances"]],
                ),
            ],
            title="Boxes per organ (per image)",
            ylabel="boxes per image",
        )
    if what == "sizes":
        b = _t["boxes"]
        return charts.box_sizes_png(
            shorts,
            [o.color for o in ORGANS],
            [b.loc[b["organ_id"] == o.id, "width_px"].to_numpy() for o in ORGANS],
            [b.loc[b["organ_id"] == o.id, "height_px"].to_numpy() for o in ORGANS],
        )
    if what == "cooc":
        m, text, title = _cooc_values(_t["cooc"], conditional)
        return charts.matrix_png(m, shorts, shorts, text, title=title)
    per = _t["per_image"]
    return charts.bars_png(
        [str(v) for v in per["boxes"]],
        [charts.Series("images", per["images"])],
        ylabel="images",
        title="Images by number of boxes",
    )


def _dark(fig: go.Figure, height: int) -> go.Figure:
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor=PLOT_BG,
        legend=dict(orientation="h", y=-0.15),
    )
    return fig


def instances_chart(inst: pd.DataFrame, kind: str) -> go.Figure:
    fig = go.Figure()
    shorts = [o.short for o in ORGANS]
    fig.add_bar(
        x=shorts,
        y=inst["instances_per_image"],
        hovertext=inst["organ"],
        name=f"this dataset ({kind})",
        marker_color=[o.color for o in ORGANS],
        marker_line=dict(color="#222", width=1),
        text=inst["instances"],
        textposition="outside",
    )
    fig.add_bar(
        x=shorts,
        y=inst["published_per_image"],
        hovertext=inst["organ"],
        name="published NNUS (real, 790 images)",
        marker_color="rgba(200,200,200,0.55)",
        marker_line=dict(color="#222", width=1),
        marker_pattern_shape="/",
        text=inst["published_instances"],
        textposition="outside",
    )
    fig.update_layout(barmode="group", yaxis_title="boxes per image", title="Boxes per organ (per image)")
    return _dark(fig, 420)


def heatmap_grid(heat: np.ndarray) -> go.Figure:
    fig = make_subplots(
        rows=2, cols=4, subplot_titles=[o.name for o in ORGANS], horizontal_spacing=0.03, vertical_spacing=0.1
    )
    for o in ORGANS:
        r, c = divmod(o.id, 4)
        fig.add_trace(
            go.Heatmap(
                z=heat[o.id],
                zmin=0,
                zmax=1,
                colorscale=HEAT_SCALE,
                showscale=o.id == 0,
                colorbar=dict(title="share", len=0.9),
                hovertemplate=f"{o.name}<br>share of boxes covering this cell: %{{z:.0%}}<extra></extra>",
            ),
            row=r + 1,
            col=c + 1,
        )
        if not heat[o.id].any():
            fig.add_annotation(
                text="no boxes in this selection",
                showarrow=False,
                font=dict(color="#bbb"),
                x=HEAT_BINS / 2,
                y=HEAT_BINS / 2,
                row=r + 1,
                col=c + 1,
            )
    # Image coordinates: row 0 is the skin (top of the frame).
    fig.update_yaxes(autorange="reversed", showticklabels=False, showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    # Titles as tags in the organ colour, like the box labels on the images.
    for ann in fig.layout.annotations:
        if ann.text not in COLOR_MAP:
            continue
        color = COLOR_MAP[ann.text]
        r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
        ann.font = dict(color="#000" if 0.299 * r + 0.587 * g + 0.114 * b > 120 else "#fff", size=14)
        ann.bgcolor = color
    fig.update_layout(
        height=470,
        margin=dict(l=10, r=10, t=40, b=10),
        paper_bgcolor="#1e1e1e",
        plot_bgcolor="#000",
        font_color="#ddd",
    )
    return fig


def size_chart(boxes: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for o in ORGANS:
        b = boxes[boxes["organ_id"] == o.id]
        if b.empty:
            continue
        fig.add_box(
            x=[o.short] * len(b),
            y=b["width_px"],
            name="width",
            legendgroup="w",
            marker_color=o.color,
            line_color=o.color,
            showlegend=False,
            offsetgroup="w",
            hovertemplate=f"{o.name} width %{{y:.0f}} px<extra></extra>",
        )
        fig.add_box(
            x=[o.short] * len(b),
            y=b["height_px"],
            name="height",
            legendgroup="h",
            marker_color=o.color,
            line_color=o.color,
            fillcolor="rgba(0,0,0,0)",
            showlegend=False,
            offsetgroup="h",
            hovertemplate=f"{o.name} height %{{y:.0f}} px<extra></extra>",
        )
    fig.update_layout(
        boxmode="group", yaxis_title="pixels", title="Box width (left, filled) and height (right) per organ"
    )
    return _dark(fig, 420)


def _cooc_values(cooc: pd.DataFrame, conditional: bool) -> tuple[np.ndarray, list[list[str]], str]:
    m = cooc.to_numpy().astype(float)
    if conditional:
        diag = np.diag(m).copy()
        m = np.divide(m, diag[:, None], out=np.zeros_like(m), where=diag[:, None] > 0)
        return m, [[f"{v:.0%}" for v in row] for row in m], "P(column organ in image | row organ in image)"
    return (
        m,
        [[f"{int(v)}" for v in row] for row in m],
        "Images containing both organs (diagonal: images with the organ)",
    )


def cooc_chart(cooc: pd.DataFrame, conditional: bool) -> go.Figure:
    m, text, title = _cooc_values(cooc, conditional)
    shorts = [o.short for o in ORGANS]
    fig = go.Figure(
        go.Heatmap(
            z=m,
            x=shorts,
            y=shorts,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            hovertemplate="%{y} & %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=title, height=460, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def per_image_chart(per: pd.DataFrame) -> go.Figure:
    fig = go.Figure(go.Bar(x=per["boxes"], y=per["images"], marker_color="#56B4E9"))
    fig.update_layout(
        xaxis_title="boxes in the image",
        yaxis_title="images",
        height=420,
        margin=dict(l=10, r=10, t=30, b=10),
    )
    return fig


ds = get_dataset()
st.title("Atlas & statistics")
dataset_badge(ds)
splits = ["all"] + [s for s in SPLITS if ds.split(s)]
split = st.segmented_control("Images", splits, default="all", key="atlas_split") or "all"
t = _cache.dataset_tables(dataset_cache_key(ds), split, lambda: _tables(split, ds))
if not t["n_images"]:
    st.info("No images in this selection.")
    st.stop()
label = measured_on_label(ds)
kind = "synthetic phantom" if ds.synthetic else "real NNUS"

# Pictures by default: the interactive charts took seconds to lay out in the browser on a busy host.
interactive = st.toggle(
    "Interactive charts (hover for values; slower to load)", value=False, key="atlas_interactive"
)
key = dataset_cache_key(ds)


def chart(fig_fn, what: str, conditional: bool = False, **plotly_kw) -> None:
    """The chart `what`: a static picture, or the interactive figure `fig_fn()` when asked for."""
    if interactive:
        st.plotly_chart(fig_fn(), key=f"atlas_{what}", config={"displayModeBar": False}, **plotly_kw)
    else:
        png = _cache.picture(
            f"atlas:{what}", f"{key}|{split}|{conditional}", lambda: _static(what, conditional, t)
        )
        st.image(png, width="stretch")


st.subheader("Where does each organ usually sit?", anchor="positions")
st.caption("Share of each organ's boxes covering each cell of the frame (skin at the top). " + label)
# theme=None: the app theme would replace the colour scale (zero must stay black, like the image background).
chart(lambda: heatmap_grid(t["heat"]), "heat", theme=None)

c1, c2 = st.columns(2)
with c1:
    st.subheader("How many of each?", anchor="counts")
    chart(lambda: instances_chart(t["instances"], kind), "counts")
    st.caption(
        f"Bars: boxes per image in this selection ({t['n_images']} images; numbers on the bars are counts) beside "
        "the authors' published counts for the real NNUS dataset (hatched). " + label
    )
with c2:
    st.subheader("How big?", anchor="sizes")
    chart(lambda: size_chart(t["boxes"]), "sizes")
    st.caption("Box sizes in pixels of the 494×447 frame. " + label)

c3, c4 = st.columns(2)
with c3:
    st.subheader("Which organs appear together?", anchor="cooccurrence")
    conditional = st.toggle("Show as conditional share", value=True, key="atlas_cond")
    chart(lambda: cooc_chart(t["cooc"], conditional), "cooc", conditional)
    st.caption(label)
with c4:
    st.subheader("Boxes per image", anchor="per-image")
    chart(lambda: per_image_chart(t["per_image"]), "per_image")
    st.caption(f"Published NNUS: about 3.8 boxes per image (real data). {label}")

with st.expander("Table: instances per organ", icon=":material/table:"):
    inst = t["instances"].rename(
        columns={"instances": f"instances ({kind})", "published_instances": "published instances (real NNUS)"}
    )
    st.dataframe(
        inst,
        hide_index=True,
        column_config={
            "fraction_of_images": st.column_config.NumberColumn(format="%.2f"),
            "published_per_image": st.column_config.NumberColumn(format="%.3f"),
            "instances_per_image": st.column_config.NumberColumn(format="%.3f"),
        },
    )
