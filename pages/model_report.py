"""Model report: per-organ AP/precision/recall, confusion matrix, PR curves and where the model fails,
beside the dataset authors' published figures, each labelled with the data it came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from nnus_core import charts
from nnus_core.browse import paginate
from nnus_core.detector.evaluation import (
    MIN_BOXES_TO_COMPARE,
    cached_evaluation_file,
    evaluate_cached,
    too_few,
)
from nnus_core.errors import DatasetError, ModelError
from nnus_core.model_report import (
    EvalReport,
    failure_table,
    find_eval_file,
    held_out_table,
    outcome_overlays,
    overall_comparison,
    per_organ_comparison,
    same_data,
)
from nnus_core.organs import ORGANS, organ_id_for
from nnus_core.text import html_escape, html_table, md_escape, plain
from pages import _cache, _shared
from pages._shared import (
    dataset_badge,
    dataset_cache_key,
    get_dataset,
    get_model_card,
    model_card_summary,
    model_folder,
    no_model_message,
    show_model_domain_note,
)
from pages._state import state
from pages._viewer import outcome_legend_html

PLOT_BG = "#3a3a3a"  # the white oesophagus colour needs a dark plot area
GALLERY_COLUMNS = 4
GALLERY_PAGE = 12


def _read(path: str, mtime: float) -> EvalReport:
    return _cache.eval_report(path, mtime)


# Static pictures of the charts (nnus_core.charts), cached per evaluation file (`_cache.picture`):
# the interactive charts took seconds to lay out in the browser on a busy host.
def _static_per_organ(_table) -> bytes:
    shorts = [o.short for o in ORGANS]
    return charts.bars_png(
        shorts,
        [
            charts.Series("AP@0.5 (ours)", _table["AP@0.5"], "#56B4E9"),
            charts.Series("precision (ours)", _table["precision"], "#E69F00"),
            charts.Series("recall (ours)", _table["recall"], "#009E73"),
            charts.Series(
                "authors: detected as itself (real NNUS)", _table["detected as itself (authors)"], "#FFFFFF"
            ),
        ],
        ylabel="score",
        ylim=(0, 1.05),
        width_px=1100,
        height_px=380,
    )


def _static_matrix(_z, _names, _text) -> bytes:
    return charts.matrix_png(_z, _names, _names, _text, xlabel="true", ylabel="predicted")


def _static_pr(_report) -> bytes:
    curves = [
        (ORGANS[oid].short, prec, ORGANS[oid].color) for oid, prec in sorted(_report.pr_precision.items())
    ]
    return charts.curves_png(_report.pr_recall, curves, xlabel="recall", ylabel="precision")


def show_table(table, number_columns: list[str]) -> None:
    """A small table: plain HTML by default (no grid component to load), sortable when interactive."""
    if interactive:
        st.dataframe(
            table,
            hide_index=True,
            column_config={c: st.column_config.NumberColumn(format="%.3f") for c in number_columns},
        )
    else:  # plain HTML: neither Arrow nor the grid is loaded in the browser (about 0.9 MB of script)
        shown = table.copy()
        for c in number_columns:
            shown[c] = [
                v if isinstance(v, str) else "–" if v is None or v != v else f"{v:.3f}" for v in shown[c]
            ]
        st.markdown(html_table(shown), unsafe_allow_html=True)


def _rkey(report: EvalReport) -> str:
    """Cache key of an evaluation file's pictures: its path and version."""
    try:
        return f"{report.path}|{report.path.stat().st_mtime}"
    except OSError:
        return f"{report.path}|{id(report)}"


def _data_badge(synthetic: bool | None, text: str) -> str:
    text = md_escape(text, 80)  # from the evaluation file
    if synthetic:
        return f":orange-badge[:material/science: {text}]"
    if synthetic is False:
        return f":green-badge[:material/ecg_heart: {text}]"
    return f":gray-badge[{text}]"


def overall_section(report: EvalReport, ours_label: str) -> None:
    pub = report.published
    table = overall_comparison(report).rename(
        columns={
            "this model": f"this model — {plain(ours_label, 80)}",
            "authors (published)": f"authors — {plain(pub.get('data', 'real NNUS'), 80)}",
        }
    )
    cols = st.columns(4)
    for c, (_, row) in zip(cols, table.iterrows(), strict=False):
        ours = row.iloc[1]
        c.metric(
            row["metric"],
            "–" if ours is None else f"{ours:.3f}",
            help=f"Authors' published value on {md_escape(pub.get('data', 'real NNUS'), 80)}: "
            f"{md_escape(row.iloc[2])}",
        )
    show_table(table, list(table.columns[1:]))
    st.caption(
        f"Authors: {md_escape(pub.get('model', ''), 80)} — "
        f"{md_escape(pub.get('source', 'the NNUS repository README'), 160)}."
    )


def per_organ_section(report: EvalReport, ours_label: str) -> None:
    table = per_organ_comparison(report)
    fig = go.Figure()
    for col, color in (("AP@0.5", "#56B4E9"), ("precision", "#E69F00"), ("recall", "#009E73")):
        fig.add_bar(x=[o.short for o in ORGANS], y=table[col], name=f"{col} (ours)", marker_color=color)
    fig.add_scatter(
        x=[o.short for o in ORGANS],
        y=table["detected as itself (authors)"],
        mode="markers",
        marker=dict(symbol="diamond", size=13, color="#FFFFFF", line=dict(color="#000", width=1)),
        name="authors: detected as itself (real NNUS)",
    )
    fig.add_scatter(
        x=[o.short for o in ORGANS],
        y=table["detected as itself (ours)"],
        mode="markers",
        marker=dict(symbol="x", size=11, color="#F0E442"),
        name="ours: detected as itself",
    )
    fig.update_layout(
        barmode="group",
        yaxis=dict(range=[0, 1.05], title="score"),
        height=420,
        plot_bgcolor=PLOT_BG,
        margin=dict(l=10, r=10, t=30, b=10),
        legend=dict(orientation="h", y=-0.15),
    )
    if interactive:
        st.plotly_chart(fig, key="report_per_organ", config={"displayModeBar": False})
    else:
        st.image(
            _cache.picture("report:per_organ", _rkey(report), lambda: _static_per_organ(table)),
            width="stretch",
        )
    show_table(table, [c for c in table.columns if c not in ("organ", "boxes")])
    few = [
        f"{r['organ']} ({int(r['boxes'])})"
        for _, r in table.iterrows()
        if r["boxes"] is not None and r["boxes"] == r["boxes"] and too_few(int(r["boxes"]))
    ]
    if few:
        st.caption(
            f":material/warning: Fewer than {MIN_BOXES_TO_COMPARE} boxes: {', '.join(few)}. One box moves "
            "these organs' AP by several points: too few to compare with the authors' figures."
        )
    st.caption(
        f"Bars and crosses: this model, {md_escape(ours_label)}. Diamonds: the authors' confusion-matrix diagonal on real "
        "NNUS images (the only per-organ figure they published). Precision and recall are at the confidence "
        "that maximises F1."
    )


def confusion_section(report: EvalReport) -> None:
    counts = report.confusion_counts
    if not counts.size:
        st.info("The evaluation file has no confusion matrix.")
        return
    # Unknown labels come from the evaluation file: plotly reads tags such as <a href> in labels.
    names = [
        ORGANS[oid].short if (oid := organ_id_for(n)) is not None else html_escape(n, 40)
        for n in report.confusion_labels
    ]
    norm = st.toggle("Normalise by true organ (columns sum to 1)", value=True, key="report_cm_norm")
    z = counts.astype(float)
    if norm:
        col = z.sum(0, keepdims=True)
        z = np.divide(z, col, out=np.zeros_like(z), where=col > 0)
        text = [[f"{v:.2f}" if v else "" for v in row] for row in z]
    else:
        text = [[f"{int(v)}" if v else "" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=names,
            y=names,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            hovertemplate="true %{x}, predicted %{y}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title="predicted")
    fig.update_xaxes(title="true", side="bottom")
    fig.update_layout(height=520, margin=dict(l=10, r=10, t=10, b=10))
    if interactive:
        st.plotly_chart(fig, key="report_cm", config={"displayModeBar": False})
    else:
        st.image(
            _cache.picture(
                "report:matrix", f"{_rkey(report)}|{norm}", lambda: _static_matrix(z, names, text)
            ),
            width="stretch",
        )
    conf = (
        f" at confidence ≥ {md_escape(report.confusion_conf, 12)}"
        if report.confusion_conf is not None
        else ""
    )
    st.caption(
        f"Columns: the true organ; rows: what the model said{conf}. 'background' row: missed boxes; "
        "'background' column: detections where nothing is labelled."
    )


def pr_section(report: EvalReport) -> None:
    if not report.pr_precision or not report.pr_recall.size:
        st.info("The evaluation file has no precision-recall curves.")
        return
    fig = go.Figure()
    for oid, prec in sorted(report.pr_precision.items()):
        o = ORGANS[oid]
        fig.add_scatter(
            x=report.pr_recall,
            y=prec,
            mode="lines",
            name=o.short,
            line=dict(color=o.color, width=2.5),
            hovertemplate=f"{o.name}<br>recall %{{x:.2f}}<br>precision %{{y:.2f}}<extra></extra>",
        )
    fig.update_layout(
        xaxis=dict(title="recall", range=[0, 1]),
        yaxis=dict(title="precision", range=[0, 1.02]),
        height=420,
        plot_bgcolor=PLOT_BG,
        margin=dict(l=10, r=10, t=10, b=10),
    )
    if interactive:
        st.plotly_chart(fig, key="report_pr", config={"displayModeBar": False})
    else:
        st.image(_cache.picture("report:pr", _rkey(report), lambda: _static_pr(report)), width="stretch")
    st.caption("Precision-recall at IoU 0.5 (interpolated envelope, as used for AP).")


def _open_browse(stem: str) -> None:
    st.switch_page("pages/browse.py", query_params={"image": stem})


def gallery_section(report: EvalReport, ds) -> None:
    fails = failure_table(report)
    if fails.empty:
        st.success(
            "No misses or false positives at the report's confidence threshold."
            if report.images
            else "The evaluation file has no per-image results."
        )
        return
    c1, c2 = st.columns([1, 2])
    kind = (
        c1.segmented_control(
            "Show", ["misses", "false positives", "both"], default="both", key="report_fail_kind"
        )
        or "both"
    )
    organs = c2.multiselect(
        "Involving organ",
        list(range(len(ORGANS))),
        format_func=lambda i: ORGANS[i].name,
        key="report_fail_organs",
    )
    if kind == "misses":
        fails = fails[fails["misses"] > 0]
    elif kind == "false positives":
        fails = fails[fails["false_positives"] > 0]
    if organs:
        want = set(organs)
        col = {"misses": ["missed_organs"], "false positives": ["fp_organs"]}.get(
            kind, ["missed_organs", "fp_organs"]
        )
        fails = fails[fails.apply(lambda r: any(want & set(r[c]) for c in col), axis=1)]
    page = state.report.fail_page
    sl = paginate(len(fails), GALLERY_PAGE, page)
    st.caption(f"{len(fails)} images, worst first · page {sl.page + 1} of {sl.n_pages}")
    st.markdown(outcome_legend_html(), unsafe_allow_html=True)
    by_stem = {im.stem: im for im in report.images}
    rows = fails.iloc[sl.start : sl.stop]
    for start in range(0, len(rows), GALLERY_COLUMNS):
        cols = st.columns(GALLERY_COLUMNS)
        for col, (_, r) in zip(cols, rows.iloc[start : start + GALLERY_COLUMNS].iterrows(), strict=False):
            stem = r["stem"]
            sample = ds.get(stem) if ds is not None else None
            with col:
                if sample is not None:
                    data = _cache.overlay_thumbnail(
                        f"{report.path}|{stem}", str(sample.image_path), outcome_overlays(by_stem[stem])
                    )
                    if data is not None:
                        st.image(data, width="stretch")
                missed = ", ".join(ORGANS[i].short for i in r["missed_organs"]) or "–"
                fps = ", ".join(ORGANS[i].short for i in r["fp_organs"]) or "–"
                st.caption(f"**{md_escape(stem, 80)}** · missed: {missed} · false positives: {fps}")
                if st.button(
                    "Open in Browse",
                    key=f"fail_open_{stem}",
                    disabled=sample is None,
                    help=None if sample is not None else "This image is not in the active dataset.",
                    width="stretch",
                ):
                    _open_browse(stem)
    p = st.columns([1, 1, 6])
    if p[0].button("Previous", key="fail_prev", disabled=sl.page == 0, icon=":material/chevron_left:"):
        state.report.fail_page = sl.page - 1
        st.rerun()
    if p[1].button(
        "Next", key="fail_next", disabled=sl.page >= sl.n_pages - 1, icon=":material/chevron_right:"
    ):
        state.report.fail_page = sl.page + 1
        st.rerun()


def _model_key(folder, card) -> str:
    """The model's identity for the evaluation cache, known without loading the weights."""
    sha = (card.weights or {}).get("sha256") if card is not None else None
    return str(sha or folder)


def evaluate_here_ui(ds, folder, card, shipped: EvalReport | None) -> EvalReport | None:
    """Offer to evaluate the model on the active dataset; returns that evaluation once it exists.

    Runs the project's evaluation (as `python -m nnus_core.detector evaluate`) with a progress bar, cached per
    dataset version, model and split, so it runs once and every later visit reads the file.
    """
    splits = [("test", len(ds.split("test")))] if ds.split("test") else []
    splits.append(("all", len(ds)))
    key, model_key = dataset_cache_key(ds), _model_key(folder, card)
    for split, _ in splits:  # an evaluation already made here wins, test split first
        path = cached_evaluation_file(key, model_key, split)
        if path.is_file():
            try:
                return _read(str(path), path.stat().st_mtime)
            except ModelError:
                path.unlink(missing_ok=True)  # a broken cache file is made again
    with st.container(border=True):
        if shipped is None:
            where = "This model has no evaluation on the active dataset"
        else:
            root = shipped.data.get("root")
            where = (
                f"The figures shipped with the model were measured on {md_escape(root, 120)}"
                if root
                else "The figures shipped with the model were measured on other data"
            )
            where += ", not on the active dataset"
        st.markdown(
            f"**Evaluate on this dataset.** {where} ({len(ds)} images). Run the model on it here: the "
            "result is kept, so this runs once per dataset and model."
        )
        c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
        split = c1.selectbox(
            "Images",
            [s for s, _ in splits],
            key="report_eval_split",
            format_func=dict(
                (s, f"{s} split ({n} images)" if s != "all" else f"all {n} images") for s, n in splits
            ).__getitem__,
        )
        if not c2.button(
            "Evaluate on this dataset", type="primary", key="report_eval_run", icon=":material/play_arrow:"
        ):
            return None
        detector = _shared.get_detector()
        if detector is None:
            no_model_message("the evaluation")
            return None
        bar = st.progress(0.0, text="Running the model on the active dataset…")

        def progress(done: int, total: int) -> None:
            bar.progress(
                done / total, text=f"Running the model on the active dataset — {done}/{total} images"
            )

        try:
            with _shared._PREDICT_LOCK:  # the shared detector is not thread-safe
                evaluate_cached(detector, ds, split, dataset_key=key, model_id=model_key, progress=progress)
        except (DatasetError, ModelError, OSError) as exc:
            st.error(f"The evaluation could not run: {exc}")
            return None
        bar.empty()
        st.rerun()  # draw the page afresh around the new evaluation (read from the cache file)
    return None


st.title("Model report")
ds = get_dataset(stop_if_missing=False)
if ds is not None:
    dataset_badge(ds)
folder = model_folder()
card = get_model_card()
eval_path = find_eval_file(folder)
report = None
if eval_path is not None:
    try:
        report = _read(str(eval_path), eval_path.stat().st_mtime)
    except ModelError as exc:
        st.error(f"Cannot read the evaluation file: {md_escape(exc)}")

if folder is None:
    no_model_message("model results")
elif card is not None:
    model_card_summary(card, ds)
    if ds is not None:  # figures of a phantom-trained model on real data (or the reverse) say so
        show_model_domain_note(ds.synthetic, card)
if (
    folder is not None
    and ds is not None
    and len(ds)
    and not (report is not None and same_data(report, ds.root, ds.synthetic, ds.generator_version))
):
    report = evaluate_here_ui(ds, folder, card, report) or report

if report is None:
    if folder is not None and eval_path is None:
        st.info(
            f"The model in {md_escape(folder)} has no evaluation file yet. Create it with "
            f"`python -m nnus_core.detector evaluate --data DIR --out {plain(folder).replace('`', '')}/eval_test.json`.",
            icon=":material/analytics:",
        )
    st.subheader("The authors' published result", anchor="published")
    st.markdown(html_table(overall_comparison(None).drop(columns=["this model"])), unsafe_allow_html=True)
    st.markdown(
        html_table(per_organ_comparison(None)[["organ", "detected as itself (authors)"]]),
        unsafe_allow_html=True,
    )
    st.caption(
        'From the NNUS authors\' README: YOLOv5s on the real NNUS images (their split). "Detected as itself": '
        "the share of each organ's boxes that the model found and named correctly (confusion-matrix diagonal)."
    )
    st.stop()

data = report.data
kind = data.get("kind") or (
    "synthetic phantom" if report.synthetic else "real NNUS" if report.synthetic is False else "unknown data"
)
n_img = data.get("n_images") or report.overall.get("n_images")
ours_label = f"{kind}, {report.split} split" + (f", {n_img} images" if n_img else "")
st.markdown(
    "**Our figures measured on:** "
    + _data_badge(report.synthetic, ours_label)
    + (f" (generator v{md_escape(data['generator_version'], 40)})" if data.get("generator_version") else "")
    + " · **Authors' figures:** "
    + _data_badge(False, report.published.get("data", "real NNUS"))
)
matches_active = ds is not None and same_data(report, ds.root, ds.synthetic, ds.generator_version)
if ds is not None and not matches_active:
    st.caption(
        # Folder names only: a server path is not for every visitor's eyes.
        f"The evaluation ran on the folder {md_escape(Path(str(data.get('root') or '?')).name)}, not on the active "
        f"dataset ({md_escape(Path(ds.root).name)}): the failure "
        "gallery lists its images by name but cannot show them."
    )
if report.synthetic:
    st.warning(
        "Our numbers come from SYNTHETIC phantom images and the authors' from REAL neck ultrasound: "
        "they show what the pipeline does, not that this model is better or worse on patients.",
        icon=":material/science:",
    )

interactive = st.toggle(
    "Interactive charts and tables (hover, sort; slower to load)", value=False, key="report_interactive"
)
st.subheader("Overall", anchor="overall")
overall_section(report, ours_label)
st.subheader("Per organ", anchor="per-organ")
per_organ_section(report, ours_label)
held_out = held_out_table(report, card.evaluations if card is not None else {})
if not held_out.empty:
    st.subheader("Larger held-out sets", anchor="held-out")
    show_table(held_out, [c for c in held_out.columns if c.startswith("AP@")])
    for name, ev in card.evaluations.items():
        synthetic = (ev.get("data") or {}).get("synthetic")
        kind = (
            "SYNTHETIC phantom images"
            if synthetic
            else "real images"
            if synthetic is False
            else "unlabelled data"
        )
        st.caption(
            f"**{md_escape(name, 80)}**: {md_escape(ev.get('note') or '', 400)} Measured on {kind}. A few boxes make an organ's AP jump, "
            "so read small counts with care."
        )
c1, c2 = st.columns(2)
with c1:
    st.subheader("Confusion matrix", anchor="confusion")
    confusion_section(report)
with c2:
    st.subheader("Precision-recall curves", anchor="pr-curves")
    pr_section(report)
st.subheader("Where the model fails", anchor="failures")
gallery_section(report, ds if matches_active else None)
