"""Static chart images (PNG bytes) for the atlas and the model report: drawn on the server, no chart JS.

An interactive chart library costs a browser about a second to load and a second per chart to
lay out on a busy 2-core host; a PNG costs the time to fetch it. The pages show these by default and
keep the interactive versions one toggle away.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnus_core.organs import ORGANS

PLOT_BG = "#3a3a3a"  # a mid-grey plot area: the white oesophagus colour must stay visible
PAPER_BG = "#1e1e1e"
TEXT = "#dddddd"
DPI = 100
HEAT_BINS = 24  # the atlas's position heatmaps: a bins x bins grid over the image
# Black (never covered, like the image background) to white-hot; explicit rgb stops render the same in
# every plotly front end.
HEAT_SCALE = [
    [0.0, "rgb(0,0,0)"],
    [0.05, "rgb(40,11,84)"],
    [0.3, "rgb(152,38,98)"],
    [0.6, "rgb(238,99,46)"],
    [0.85, "rgb(250,193,39)"],
    [1.0, "rgb(252,255,164)"],
]


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # no display on a server
    import matplotlib.pyplot as plt

    return plt


def _figure(width_px: int, height_px: int, **kw):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, **kw)
    fig.patch.set_facecolor(PAPER_BG)
    for a in np.atleast_1d(ax).ravel():
        a.set_facecolor(PLOT_BG)
        a.tick_params(colors=TEXT, labelsize=9)
        for spine in a.spines.values():
            spine.set_color("#666666")
        a.xaxis.label.set_color(TEXT)
        a.yaxis.label.set_color(TEXT)
        a.title.set_color(TEXT)
    return fig, ax


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor=fig.get_facecolor(), bbox_inches="tight", pad_inches=0.1)
    _plt().close(fig)
    return buf.getvalue()


def _text_rgb(hex_color: str) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 120 else "#ffffff"


@dataclass(frozen=True)
class Series:
    """One group of bars: a value per category, one colour or a colour per bar, optional labels."""

    name: str
    values: Sequence[float | None]
    color: str | Sequence[str] = "#56B4E9"
    hatch: str = ""
    labels: Sequence[str] | None = None  # text over each bar


def heatmap_grid_png(heat: np.ndarray, *, width_px: int = 1100, cols: int = 4) -> bytes:
    """One small heatmap per organ (skin at the top), titled with a tag in the organ's colour.

    Args:
        heat: (n_organs, bins, bins) share of each organ's boxes covering each cell, 0..1.
    """
    rows = int(np.ceil(len(heat) / cols))
    fig, axes = _figure(width_px, int(width_px / cols * 0.95 * rows), nrows=rows, ncols=cols)
    for i, ax in enumerate(np.atleast_1d(axes).ravel()):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= len(heat):
            ax.set_visible(False)
            continue
        o = ORGANS[i]
        im = ax.imshow(heat[i], vmin=0, vmax=1, cmap="inferno", interpolation="nearest", aspect="auto")
        ax.set_title(o.name, fontsize=11, color=_text_rgb(o.color), backgroundcolor=o.color, pad=4)
        if not heat[i].any():
            ax.text(0.5, 0.5, "no boxes here", transform=ax.transAxes, ha="center", color="#bbbbbb")
    cbar = fig.colorbar(im, ax=axes, fraction=0.02, pad=0.01)
    cbar.set_label("share of the organ's boxes", color=TEXT)
    cbar.ax.tick_params(colors=TEXT)
    return _png(fig)


def bars_png(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str = "",
    ylabel: str = "",
    ylim: tuple[float, float] | None = None,
    width_px: int = 560,
    height_px: int = 400,
) -> bytes:
    """Grouped bars, one group per category, with a legend."""
    fig, ax = _figure(width_px, height_px)
    x = np.arange(len(categories))
    w = 0.8 / max(len(series), 1)
    for k, s in enumerate(series):
        vals = np.array([np.nan if v is None else float(v) for v in s.values])
        bars = ax.bar(
            x - 0.4 + w * (k + 0.5),
            np.nan_to_num(vals),
            w,
            color=s.color,
            hatch=s.hatch,
            edgecolor="#222222",
            label=s.name,
        )
        if s.labels is not None:
            ax.bar_label(bars, labels=list(s.labels), color=TEXT, fontsize=8, padding=2)
    ax.set_xticks(x, categories)
    ax.set_ylabel(ylabel)
    if ylim:
        ax.set_ylim(*ylim)
    if title:
        ax.set_title(title, fontsize=11)
    if len(series) > 1:
        ax.legend(
            fontsize=8,
            facecolor=PAPER_BG,
            edgecolor="#666666",
            labelcolor=TEXT,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.1),
            ncol=2,
        )
    return _png(fig)


def box_sizes_png(
    categories: Sequence[str],
    colors: Sequence[str],
    widths: Sequence[np.ndarray],
    heights: Sequence[np.ndarray],
    *,
    width_px: int = 560,
    height_px: int = 400,
) -> bytes:
    """Box plots of box width (filled) and height (outline) per organ, in pixels."""
    fig, ax = _figure(width_px, height_px)
    x = np.arange(len(categories))
    for pos, data, filled in ((x - 0.2, widths, True), (x + 0.2, heights, False)):
        keep = [i for i, d in enumerate(data) if len(d)]
        if not keep:
            continue
        parts = ax.boxplot(
            [data[i] for i in keep],
            positions=pos[keep],
            widths=0.32,
            patch_artist=True,
            showfliers=False,
            medianprops=dict(color="#000000" if filled else TEXT),
        )
        for i, patch in zip(keep, parts["boxes"], strict=True):
            patch.set_facecolor(colors[i] if filled else "none")
            patch.set_edgecolor(colors[i] if not filled else "#222222")
        for line in parts["whiskers"] + parts["caps"]:
            line.set_color("#bbbbbb")
    ax.set_xticks(x, categories)
    ax.set_ylabel("pixels")
    ax.set_title("Box width (filled) and height (outline) per organ", fontsize=11)
    return _png(fig)


def matrix_png(
    m: np.ndarray,
    xlabels: Sequence[str],
    ylabels: Sequence[str],
    text: Sequence[Sequence[str]],
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    width_px: int = 560,
    height_px: int = 460,
) -> bytes:
    """A matrix as a blue heatmap with its values written in the cells."""
    fig, ax = _figure(width_px, height_px)
    top = float(np.nanmax(m)) if m.size and np.nanmax(m) > 0 else 1.0
    ax.imshow(m, cmap="Blues", vmin=0, vmax=top, aspect="auto")
    for (r, c), _ in np.ndenumerate(m):
        if text[r][c]:
            ax.text(
                c,
                r,
                text[r][c],
                ha="center",
                va="center",
                fontsize=8,
                color="#ffffff" if m[r, c] > top * 0.6 else "#000000",
            )
    ax.set_xticks(range(len(xlabels)), xlabels, rotation=0)
    ax.set_yticks(range(len(ylabels)), ylabels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=11)
    return _png(fig)


def curves_png(
    x: np.ndarray,
    curves: Sequence[tuple[str, np.ndarray, str]],
    *,
    xlabel: str,
    ylabel: str,
    width_px: int = 560,
    height_px: int = 420,
) -> bytes:
    """Lines (name, y values, colour) over one x axis, 0..1 on both axes."""
    fig, ax = _figure(width_px, height_px)
    for name, y, color in curves:
        ax.plot(x, y, color=color, linewidth=2.2, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, facecolor=PAPER_BG, edgecolor="#666666", labelcolor=TEXT, loc="lower left")
    return _png(fig)
