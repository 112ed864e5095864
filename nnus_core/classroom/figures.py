"""The dashboard's plotly figures, built from a `ClassDashboard` (no Streamlit): the mastery heatmap,
the Identify confusion matrix, the class's Locate centres on the atlas heatmaps, the class beside the
model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from nnus_core.charts import HEAT_BINS, HEAT_SCALE, PAPER_BG, PLOT_BG, TEXT, _text_rgb
from nnus_core.classroom.dashboard import ClassDashboard
from nnus_core.dataset.model import Dataset
from nnus_core.organs import N_ORGANS, ORGANS
from nnus_core.text import html_escape

MASTERY_SCALE = [[0.0, "#b2182b"], [0.5, "#f7f7b0"], [1.0, "#1a9850"]]  # red (0) .. green (1)
WRONG = "#ff4d4d"
RIGHT = "#4dd2ff"


def _dark(fig: go.Figure, height: int, title: str) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, font=dict(size=15, color=TEXT), y=0.99, yanchor="top"),
        height=height,
        margin=dict(l=10, r=10, t=48, b=10),
        paper_bgcolor=PAPER_BG,
        plot_bgcolor=PLOT_BG,
        font_color=TEXT,
        legend_font_color=TEXT,
    )
    return fig


def mastery_matrix(d: ClassDashboard) -> tuple[np.ndarray, np.ndarray, list[str], list[int]]:
    """(mean credit, answers) per student (rows, the table's order) and organ (columns); NaN: none."""
    rows = [s for s in d.students if s.student_id is not None]
    pos = {s.student_id: i for i, s in enumerate(rows)}
    z = np.full((len(rows), N_ORGANS), np.nan)
    n = np.zeros((len(rows), N_ORGANS), dtype=int)
    for c in d.cells:
        i = pos.get(c.student_id)
        if i is not None:
            z[i, c.organ_id] = c.mean_credit
            n[i, c.organ_id] = c.answers
    return z, n, [s.name for s in rows], [int(s.student_id) for s in rows]


def mastery_heatmap(d: ClassDashboard) -> go.Figure:
    """Students as rows, organs as columns, mean credit as colour; the answers behind each cell on hover.

    Each cell's customdata is [student id, organ id], for the drill-down.
    """
    z, n, names, ids = mastery_matrix(d)
    labels = [html_escape(x, 40) for x in names]
    custom = np.dstack(
        [np.repeat(np.array(ids)[:, None], N_ORGANS, 1), np.tile(np.arange(N_ORGANS), (len(ids), 1))]
    )
    text = np.where(n > 0, np.char.mod("%.2f", np.nan_to_num(z)), "")
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[o.short for o in ORGANS],
            y=labels,
            zmin=0,
            zmax=1,
            colorscale=MASTERY_SCALE,
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            hovertemplate="%{y} · %{x}<br>mean credit %{z:.2f}<extra></extra>",
            colorbar=dict(title="mean credit"),
            xgap=1,
            ygap=1,
        )
    )
    fig.update_yaxes(autorange="reversed", type="category", showgrid=False)
    fig.update_xaxes(side="top", type="category", showgrid=False)
    title = "Mastery: students × organs (mean credit; blank: no answer)"
    fig = _dark(fig, max(260, 90 + 22 * len(names)), title)
    fig.update_layout(margin=dict(l=10, r=10, t=80, b=10))  # the organ names sit above the cells
    return fig


def confusion_matrix(d: ClassDashboard) -> np.ndarray:
    """Identify answers: rows the outlined organ, columns the organ chosen."""
    m = np.zeros((N_ORGANS, N_ORGANS), dtype=int)
    for (truth, chosen), k in d.confusion.items():
        if 0 <= truth < N_ORGANS and 0 <= chosen < N_ORGANS:
            m[truth, chosen] = k
    return m


def confusion_heatmap(d: ClassDashboard) -> go.Figure:
    m = confusion_matrix(d)
    names = [o.name for o in ORGANS]
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    fig = go.Figure(
        go.Heatmap(
            z=share,
            x=names,
            y=names,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            text=m,
            texttemplate="%{text}",
            customdata=m,
            hovertemplate="outlined %{y}, answered %{x}: %{customdata} answers (%{z:.0%} of the row)<extra></extra>",
            colorbar=dict(title="share of row"),
        )
    )
    fig.update_yaxes(autorange="reversed", title="organ outlined")
    fig.update_xaxes(title="organ the class named")
    return _dark(fig, 460, f"Identify: which organ is taken for which ({int(m.sum())} answers)")


def locate_centres(d: ClassDashboard, ds: Dataset) -> dict[int, dict[str, list[tuple[float, float]]]]:
    """Per organ, the class's box centres (right, wrong) and the ground-truth centres, as atlas grid
    cells (0..HEAT_BINS across the image; row 0 is the skin)."""
    sizes = {s.stem: (s.width, s.height) for s in ds.samples}
    out: dict[int, dict[str, list[tuple[float, float]]]] = {
        o.id: {"right": [], "wrong": [], "truth": []} for o in ORGANS
    }
    for p in d.locate_points:
        wh = sizes.get(p.image_stem)
        if wh is None or not wh[0] or not wh[1]:
            continue
        out[p.organ_id]["right" if p.passed else "wrong"].append(
            (p.x / wh[0] * HEAT_BINS, p.y / wh[1] * HEAT_BINS)
        )
    for oid, xy in truth_centres(ds).items():
        out[oid]["truth"] = xy
    return out


_truth_cache: dict[int, tuple[Dataset, dict[int, list[tuple[float, float]]]]] = {}


def truth_centres(ds: Dataset) -> dict[int, list[tuple[float, float]]]:
    """The ground-truth box centres of each organ in atlas grid cells (memoised per dataset)."""
    hit = _truth_cache.get(id(ds))
    if hit is not None and hit[0] is ds:
        return hit[1]
    out: dict[int, list[tuple[float, float]]] = {o.id: [] for o in ORGANS}
    for s in ds.samples:
        for a in s.annotations:
            cx, cy = a.box.center
            out[a.organ_id].append((cx / s.width * HEAT_BINS, cy / s.height * HEAT_BINS))
    if len(_truth_cache) >= 4:
        _truth_cache.pop(next(iter(_truth_cache)))
    _truth_cache[id(ds)] = (ds, out)
    return out


def _panel_domains(rows: int, cols: int, hgap: float = 0.03, vgap: float = 0.1):
    """(x domain, y domain) of each panel of a rows x cols grid, row by row from the top."""
    w = (1 - hgap * (cols - 1)) / cols
    h = (1 - vgap * (rows - 1)) / rows
    for i in range(rows * cols):
        r, c = divmod(i, cols)
        x0 = c * (w + hgap)
        y1 = 1 - r * (h + vgap)
        yield (max(0.0, x0), min(1.0, x0 + w)), (max(0.0, y1 - h), min(1.0, y1))


def locate_atlas(d: ClassDashboard, ds: Dataset, heat: np.ndarray) -> go.Figure:
    """The atlas's position heatmap of each organ, its ground-truth centres (small white dots) and the
    class's box centres (blue: passed, red crosses: wrong): where students look when they are wrong.

    Built as one figure description (validated once): adding 32 traces to subplots one by one took
    two seconds here.

    Args:
        heat: (organs, HEAT_BINS, HEAT_BINS) from `dataset.stats.position_heatmap`.
    """
    pts = locate_centres(d, ds)
    data: list[dict] = []
    layout: dict = {"annotations": []}
    for o, (xd, yd) in zip(ORGANS, _panel_domains(2, 4), strict=False):
        k = "" if o.id == 0 else str(o.id + 1)
        xa, ya = f"x{k}", f"y{k}"
        data.append(
            {
                "type": "heatmap",
                "z": heat[o.id],
                "x0": 0.5,
                "y0": 0.5,
                "zmin": 0,
                "zmax": 1,
                "colorscale": HEAT_SCALE,
                "showscale": False,
                "hoverinfo": "skip",
                "xaxis": xa,
                "yaxis": ya,
            }
        )
        for what, color, symbol, size, name in (
            ("truth", "rgba(255,255,255,0.55)", "circle", 3, "ground-truth centre"),
            ("right", RIGHT, "circle", 7, "class box, passed"),
            ("wrong", WRONG, "x", 8, "class box, wrong"),
        ):
            xy = pts[o.id][what]
            data.append(
                {
                    "type": "scatter",
                    # Arrays, not lists: plotly checks a list element by element.
                    "x": np.array([p[0] for p in xy], dtype=float),
                    "y": np.array([p[1] for p in xy], dtype=float),
                    "mode": "markers",
                    "marker": {"color": color, "symbol": symbol, "size": size, "line": {"width": 0}},
                    "name": name,
                    "legendgroup": what,
                    "showlegend": o.id == 0,
                    "hovertemplate": f"{o.name}: {name}<extra></extra>",
                    "xaxis": xa,
                    "yaxis": ya,
                }
            )
        axis = {"showticklabels": False, "showgrid": False, "zeroline": False}
        layout[f"xaxis{k}"] = {**axis, "domain": list(xd), "range": [0, HEAT_BINS], "anchor": ya}
        layout[f"yaxis{k}"] = {**axis, "domain": list(yd), "range": [HEAT_BINS, 0], "anchor": xa}
        layout["annotations"].append(
            {
                "text": o.name,
                "x": (xd[0] + xd[1]) / 2,
                "y": yd[1],
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"color": _text_rgb(o.color), "size": 13},
                "bgcolor": o.color,
            }
        )
    layout["legend"] = {"orientation": "h", "y": -0.05}
    fig = go.Figure({"data": data, "layout": layout})
    n = len(d.locate_points)
    return _dark(fig, 560, f"Locate: where the class drew its boxes ({n} boxes) on the atlas of each organ")


def class_vs_model(
    d: ClassDashboard, model_ap: dict[int, float], model_label: str, data_names: dict[str, str] | None = None
) -> go.Figure:
    """Per organ: the class's pass rate on each dataset its answers came from, beside the model's AP@0.5."""
    shorts = [o.short for o in ORGANS]
    data: list[dict] = []
    keys = sorted({a.dataset_key for a in d.organ_accuracy})
    for k in keys:
        by = {a.organ_id: a for a in d.organ_accuracy if a.dataset_key == k}
        total = sum(a.answers for a in by.values())
        label = (data_names or {}).get(k, k)
        data.append(
            {
                "type": "bar",
                "x": shorts,
                "y": [by[o.id].accuracy if o.id in by else None for o in ORGANS],
                "name": f"class pass rate, {html_escape(label, 60)} ({total} answers)",
                "text": [f"{by[o.id].passes}/{by[o.id].answers}" if o.id in by else "" for o in ORGANS],
                "textposition": "outside",
            }
        )
    if model_ap:
        data.append(
            {
                "type": "bar",
                "x": shorts,
                "y": [model_ap.get(o.id) for o in ORGANS],
                "name": html_escape(model_label or "model AP@0.5", 120),
                "marker": {"color": "rgba(200,200,200,0.55)", "pattern": {"shape": "/"}},
            }
        )
    layout = {
        "barmode": "group",
        "yaxis": {"range": [0, 1.1], "title": {"text": "pass rate / AP@0.5"}},
        "legend": {"orientation": "h", "y": -0.2},
    }
    fig = go.Figure({"data": data, "layout": layout})
    return _dark(fig, 420, "The class beside the model, per organ")


def dashboard_figures(
    d: ClassDashboard, ds: Dataset, heat: np.ndarray, model_ap: dict[int, float], model_label: str
) -> Sequence[go.Figure]:
    """Every figure of the dashboard, in page order (the bench times this with the queries)."""
    return (
        mastery_heatmap(d),
        confusion_heatmap(d),
        locate_atlas(d, ds, heat),
        class_vs_model(d, model_ap, model_label),
    )
