"""The organs-over-time chart of a processed video (plotly), from its per-frame detections CSV."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from nnus_core.organs import ORGANS

MAX_POINTS_PER_ORGAN = 4000  # thinned beyond this: a browser chart with 100k markers stutters


def timeline_figure(
    df: pd.DataFrame,
    duration_s: float | None = None,
    gt: pd.DataFrame | None = None,
    marker_time_s: float | None = None,
) -> go.Figure:
    """Which organs are shown when, coloured by organ, opacity by confidence; ground truth as grey bars.

    Args:
        df: per-frame detections (`detections_csv.read_detections`).
        duration_s: x-axis length; default the last detection time.
        gt: optional ground truth with frame/time_s/organ_id (phantom sweeps).
        marker_time_s: draws a vertical line at the picked time.
    """
    fig = go.Figure()
    present = sorted(set(df.organ_id.unique()) | (set(gt.organ_id.unique()) if gt is not None else set()))
    names = [ORGANS[int(o)].name for o in present]
    if gt is not None and len(gt):
        g = gt.drop_duplicates(["frame", "organ_id"])
        fig.add_trace(
            go.Scatter(
                x=g.time_s,
                y=[ORGANS[int(o)].name for o in g.organ_id],
                mode="markers",
                name="ground truth",
                marker={
                    "symbol": "line-ns",
                    "size": 18,
                    "line": {"width": 3, "color": "rgba(150,150,150,0.35)"},
                },
                hoverinfo="skip",
            )
        )
    for oid in present:
        d = df[df.organ_id == oid]
        if d.empty:
            continue
        d = d.sort_values("confidence", ascending=False).drop_duplicates("frame").sort_values("frame")
        if len(d) > MAX_POINTS_PER_ORGAN:
            d = d.iloc[:: -(-len(d) // MAX_POINTS_PER_ORGAN)]
        organ = ORGANS[int(oid)]
        fig.add_trace(
            go.Scatter(
                x=d.time_s,
                y=[organ.name] * len(d),
                mode="markers",
                name=organ.name,
                marker={
                    "symbol": "square",
                    "size": 9,
                    "color": organ.color,
                    "opacity": (0.25 + 0.75 * d.confidence.clip(0, 1)).round(3).tolist(),
                    "line": {"width": 0},
                },
                customdata=d[["frame", "confidence"]].to_numpy(),
                hovertemplate=f"{organ.name}<br>%{{x:.2f}} s (frame %{{customdata[0]}})<br>confidence %{{customdata[1]:.2f}}<extra></extra>",
            )
        )
    x_end = duration_s if duration_s else (float(df.time_s.max()) if len(df) else 1.0)
    if marker_time_s is not None:
        fig.add_vline(x=marker_time_s, line={"color": "#888", "dash": "dot"})
    fig.update_layout(
        height=90 + 34 * max(len(names), 1),
        margin={"l": 10, "r": 10, "t": 10, "b": 40},
        xaxis={"title": "time (s)", "range": [0, x_end], "showgrid": True},
        yaxis={"categoryorder": "array", "categoryarray": names[::-1], "title": None},
        showlegend=False,
        clickmode="event+select",
        dragmode="select",
    )
    return fig
