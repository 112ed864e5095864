"""Video demo: run the detector on a scan video (upload, phantom sweep or one image) and play the annotated result."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from nnus_core.browse import gt_overlays, model_overlays
from nnus_core.dataset.images import probe_image
from nnus_core.errors import NnusError, VideoError
from nnus_core.organs import N_ORGANS, ORGANS
from nnus_core.text import md_escape
from nnus_core.video import (
    LABEL_STYLES,
    VideoOptions,
    VideoResult,
    detection_size,
    max_upload_mb,
    process_image,
)
from nnus_core.video.detections_csv import detections_table, read_detections, read_ground_truth
from nnus_core.video.evaluate import score_clip, scores_table
from nnus_core.video.probe import DEFAULT_MAX_MB, IMAGE_SUFFIXES, VIDEO_SUFFIXES, VideoInfo, probe_video
from nnus_core.video.runtime import load_video_detectors
from nnus_core.video.session import (
    LockedDetector,
    StoredResult,
    VideoInput,
    frame_view,
    is_fresh,
    options_for_input,
    process_input,
    process_label,
    shared_detectors,
    timeline_axis,
)
from nnus_core.video.sources import sweep_clip, sweep_kinds
from nnus_core.video.timeline import timeline_figure
from nnus_core.video.workspace import SessionWorkspace, save_upload
from pages import _shared
from pages._shared import get_detector, no_model_message, organ_legend_html
from pages._viewer import image_viewer

SOURCES = ("Upload a video", "Phantom sweep (synthetic)", "Single image")
LABEL_NAMES = {
    "name_conf": "Name + confidence",
    "name": "Name",
    "short_conf": "Abbreviation + confidence",
    "short": "Abbreviation",
    "none": "No labels",
}
WS_KEY = "video_workspace"
INPUT_KEY = "video_input"  # the current input (VideoInput); tests may set it directly
RESULT_KEY = "video_result"  # StoredResult
PICK_KEY = "video_time"
SEEN_SEL_KEY = "video_seen_selection"
DEFAULTS = VideoOptions()


def workspace() -> SessionWorkspace:
    ws = st.session_state.get(WS_KEY)
    if ws is None or not ws.alive:
        # Named by the session: the server's janitor (pages._shared.start_upload_janitor) removes the
        # folder once the session has ended, and what a crashed server left on the next start.
        ws = SessionWorkspace(_shared.browser_session_id())
        st.session_state[WS_KEY] = ws
    return ws


def set_input(new: VideoInput | None) -> None:
    old = st.session_state.get(INPUT_KEY)
    if (old.token if old else None) != (new.token if new else None):
        st.session_state.pop(RESULT_KEY, None)
        st.session_state.pop(PICK_KEY, None)
    st.session_state[INPUT_KEY] = new


def upload_ui(ws: SessionWorkspace, images: bool) -> None:
    try:
        cap = max_upload_mb()
    except VideoError as exc:  # a mistyped NNUS_VIDEO_MAX_MB: say so, and keep the default cap
        st.error(md_escape(exc))
        cap = DEFAULT_MAX_MB
    types = [s.lstrip(".") for s in (IMAGE_SUFFIXES if images else VIDEO_SUFFIXES)]
    up = st.file_uploader(
        "Ultrasound image" if images else f"Scan video (MP4, MOV, AVI, MKV or WebM, up to {cap} MB)",
        type=types,
        key="video_upload_image" if images else "video_upload",
        max_upload_size=cap,
    )
    if up is None:
        return  # keep any stored input: navigating away and back clears the uploader, not the upload
    current = st.session_state.get(INPUT_KEY)
    token = f"upload:{up.file_id}"
    if current is not None and current.token == token:
        return
    try:
        path = save_upload(ws, up.name, up, up.size, cap)
        if not images:
            probe_video(path, max_mb=cap, name=up.name)  # bad files are refused now, with the reason
    except VideoError as exc:
        ws.reset()
        set_input(None)
        st.error(md_escape(exc), icon=":material/error:")
        return
    set_input(VideoInput(path, up.name, token, is_image=images))


def sweep_ui() -> None:
    kinds = sweep_kinds()
    if not kinds:
        st.info("This installation's phantom cannot render sweep clips.")
        return
    c1, c2, c3 = st.columns(3)
    kind = c1.selectbox(
        "Sweep",
        kinds,
        key="video_sweep_kind",
        help="transverse: the probe moves along the neck over one lobe; lateral: it slides across the neck",
    )
    seconds = c2.select_slider("Length (s)", [3, 5, 10, 20, 30], value=5, key="video_sweep_seconds")
    seed = c3.number_input("Virtual volunteer (seed)", 0, 999, 0, key="video_sweep_seed")
    token = f"sweep:{kind}:{seconds}:{seed}"
    current = st.session_state.get(INPUT_KEY)
    if current is not None and current.token == token:
        return
    try:
        with st.spinner(f"Rendering a {seconds} s {kind} phantom sweep (first time only)…"):
            clip = sweep_clip(kind, float(seconds), int(seed))
    except VideoError as exc:
        st.error(md_escape(exc), icon=":material/error:")
        return
    set_input(VideoInput(clip.path, clip.path.name, token, synthetic=True, gt_csv=clip.gt_csv))


def options_ui() -> VideoOptions:
    """The processing options; returns the user's choices."""
    with st.expander("Options", expanded=False, icon=":material/tune:"):
        c1, c2, c3 = st.columns(3)
        conf = c1.slider("Confidence threshold", 0.05, 0.95, DEFAULTS.conf, 0.05, key="video_conf")
        iou = c1.slider("NMS IoU threshold", 0.1, 0.95, DEFAULTS.iou, 0.05, key="video_iou")
        organs = c2.multiselect(
            "Organs shown",
            list(range(N_ORGANS)),
            default=list(DEFAULTS.organs),
            format_func=lambda i: ORGANS[i].name,
            key="video_organs",
        )
        stride = c2.number_input(
            "Detect every n-th frame",
            1,
            30,
            DEFAULTS.stride,
            key="video_stride",
            help="Frames in between keep the tracked boxes: faster on long videos.",
        )
        track = c3.toggle(
            "Tracking and smoothing",
            DEFAULTS.tracker != "none",
            key="video_track",
            help="Boxes follow organs across frames, without flicker.",
        )
        tracker = c3.selectbox(
            "Tracker",
            ["smooth", "bytetrack"],
            key="video_tracker",
            disabled=not track,
            format_func={"smooth": "Smooth (fast)", "bytetrack": "ByteTrack (ultralytics)"}.get,
        )
        label = c3.selectbox("Labels", LABEL_STYLES, key="video_label", format_func=LABEL_NAMES.get)
        side = c3.toggle("Side by side (original | annotated)", DEFAULTS.side_by_side, key="video_side")
        trim = c1.toggle(
            "Detect inside the scan area",
            DEFAULTS.trim_borders,
            key="video_trim",
            help="For a recording of a scanner's screen: the detector skips the dark borders and the "
            "text around the image, which it would otherwise take for dark organs. The video keeps "
            "the whole screen.",
        )
        preset = c2.selectbox(
            "Output file",
            ["ultrafast", "superfast", "veryfast"],
            key="video_preset",
            format_func={
                "ultrafast": "Fastest processing (larger file)",
                "superfast": "Balanced",
                "veryfast": "Smallest file (slower)",
            }.get,
        )
    if not organs:
        st.warning("No organ selected: showing all 8.")
        organs = list(range(N_ORGANS))
    return DEFAULTS.update(
        conf=float(conf),
        iou=float(iou),
        organs=tuple(sorted(organs)),
        stride=int(stride),
        tracker=tracker if track else "none",
        label_style=label,
        side_by_side=bool(side),
        preset=preset,
        trim_borders=bool(trim),
    )


def model_folders() -> list[Path]:
    """Trained models shipped under data/models (each a folder holding best.pt)."""
    try:
        from nnus_core.detector.detector import MODELS_DIR, WEIGHTS_NAME
    except ImportError:
        return []
    return sorted(p.parent for p in MODELS_DIR.glob(f"*/{WEIGHTS_NAME}")) if MODELS_DIR.is_dir() else []


@st.cache_resource(show_spinner="Preparing the detector for this video size…", max_entries=4)
def _video_detectors(weights: str, frame_size: tuple[int, int]) -> list[LockedDetector]:
    # Shared by every session. The input is cut to the frame's aspect.
    return shared_detectors(load_video_detectors(weights, frame_size=frame_size))


@dataclass(frozen=True)
class ModelChoice:
    """The detector(s) to run: video uses single-thread copies of `weights` when known."""

    detector: object  # for single images (and for video when the weights are unknown)
    weights: Path | None
    model_id: str

    def video_detectors(self, frame_size: tuple[int, int] = (320, 320)) -> list[LockedDetector]:
        """Detectors for frames of `frame_size` (width, height)."""
        if self.weights is None:
            return [self._app_detector()]
        return _video_detectors(str(self.weights), tuple(frame_size))

    def image_detector(self, size: tuple[int, int] | None = None) -> LockedDetector:
        """A detector for one image of `size` (width, height), sized for it as the video's are: a
        smaller input only where the model card's check covers that shape (a scanner screenshot
        runs at the model's own size, not at the input cut for NNUS images)."""
        if self.weights is not None and size is not None:
            return self.video_detectors(size)[0]
        if self.detector is not None:
            return self._app_detector()
        return self.video_detectors()[0]

    def _app_detector(self) -> LockedDetector:
        # The app's detector is shared with the other pages, behind their lock.
        return LockedDetector(self.detector, getattr(_shared, "_PREDICT_LOCK", threading.Lock()))


def model_ui() -> ModelChoice | None:
    """The model to use: the app's default unless another shipped model is chosen."""
    default = get_detector()
    default_path = getattr(default, "weights_path", None)
    others = [f for f in model_folders() if default_path is None or f != Path(default_path).parent]
    if default is None and not others:
        no_model_message("detections")
        return None
    names = (["default"] if default is not None else []) + [f.name for f in others]
    choice = names[0]
    if len(names) > 1:
        choice = st.selectbox(
            "Model", names, key="video_model", format_func=lambda n: "Default model" if n == "default" else n
        )
    if choice == "default":
        weights = Path(default_path) if default_path else None
        return ModelChoice(default, weights, _shared.detector_id(default))
    folder = next(f for f in others if f.name == choice)
    return ModelChoice(None, folder / "best.pt", str(folder / "best.pt"))


def run_video(
    inp: VideoInput, detector, options: VideoOptions, ws: SessionWorkspace, info: VideoInfo | None = None
) -> VideoResult | None:
    """Process with a progress bar; the Cancel button interrupts the run (Streamlit stops the script)."""
    slot = st.empty()  # the bar and the Cancel button, removed together when the run ends
    bar_col, cancel_col = slot.container().columns([5, 1], vertical_alignment="center")
    bar = bar_col.progress(0.0, text="Starting…")
    cancel_col.button("Cancel", key="video_cancel", icon=":material/cancel:")

    def progress(p) -> None:
        bar.progress(p.fraction, text=f"Processing: {p.text()}")

    try:
        result = process_input(inp, detector, options, ws, info=info, progress=progress)
    except NnusError as exc:  # a bad video, or a model that fails on it
        slot.empty()
        st.error(md_escape(exc), icon=":material/error:")
        return None
    slot.empty()
    return result


@st.cache_data(show_spinner=False, max_entries=8)
def _detections(csv_path: str, mtime: float) -> pd.DataFrame:
    return read_detections(csv_path)


@st.cache_data(show_spinner=False, max_entries=8)
def _gt(csv_path: str, mtime: float) -> pd.DataFrame:
    return read_ground_truth(csv_path)


def model_legend_html(detections) -> str:
    """Organ colours and the model's line style (no ground truth exists for an upload)."""
    ids = sorted({d.organ_id for d in detections})
    if not ids:
        return '<div style="opacity:0.7">No boxes shown.</div>'
    return organ_legend_html(ids) + '<div style="font-size:0.9em;opacity:0.85"><b>╍╍</b> model</div>'


def show_image_result(inp: VideoInput, res) -> None:
    from nnus_core.browse import load_rgb

    image_viewer(
        load_rgb(inp.path),
        model_overlays(res.detections),
        legend_html=model_legend_html(res.detections),
        key="video_image_viewer",
        caption=f"{md_escape(inp.name, 120)}: {len(res.detections)} organ(s) detected",
    )
    if res.unfamiliar_note:
        st.warning(md_escape(res.unfamiliar_note), icon=":material/help:")
    if res.detections:
        st.dataframe(detections_table(res.detections), hide_index=True)


def show_video_result(inp: VideoInput, res: VideoResult) -> None:
    summary_ui(res)
    if downloads_ui(res):
        df = _detections(str(res.csv_path), res.csv_path.stat().st_mtime)
        gt = _gt(str(inp.gt_csv), inp.gt_csv.stat().st_mtime) if inp.gt_csv and inp.gt_csv.is_file() else None
        t = timeline_ui(res, df, gt)
        frame_ui(inp, res, df, gt, t)
        if gt is not None:
            truth_ui(inp, res)


def summary_ui(res: VideoResult) -> None:
    if res.cancelled:
        st.warning(f"Cancelled after {res.frames_out} frames: the video below stops there.")
    m = st.columns(4)
    m[0].metric("Frames", res.frames_out)
    m[1].metric("Processing speed", f"{res.fps:.0f} fps")
    m[2].metric("Time", f"{res.elapsed_s:.1f} s")
    m[3].metric("Output", f"{res.width_px}×{res.height_px}")
    for w in res.warnings:
        st.caption(f":material/info: {md_escape(w)}")
    st.video(str(res.output_path))
    st.caption(
        ":material/link: The player loads this annotated video from a link that is not tied to your "
        "session: anyone given the link could play it while this page shows it. The link is a "
        "fingerprint of the video, not guessable, and your uploaded file itself is never served."
    )


def downloads_ui(res: VideoResult) -> bool:
    """The download buttons; True when the per-frame CSV exists (the timeline is drawn from it)."""
    d1, d2 = st.columns(2)
    _download(d1, "Download annotated video (MP4)", res.output_path, "video/mp4", ":material/download:")
    if res.csv_path is None or not res.csv_path.is_file():
        return False
    _download(d2, "Download per-frame detections (CSV)", res.csv_path, "text/csv", ":material/table:")
    return True


def _download(column, label: str, path: Path, mime: str, icon: str) -> None:
    # The file is read only when clicked; the click does not rerun the page.
    column.download_button(
        label, path.read_bytes, file_name=path.name, mime=mime, icon=icon, on_click="ignore"
    )


def timeline_ui(res: VideoResult, df: pd.DataFrame, gt: pd.DataFrame | None) -> float:
    """The timeline and the frame slider; returns the time picked (a click on the chart moves the slider)."""
    duration, step = timeline_axis(res, df)
    st.subheader("Timeline", anchor="timeline")
    st.caption(
        "Which organs the detector shows when (brighter = more confident"
        + ("; grey = ground truth" if gt is not None else "")
        + "). Click a point to see that frame."
    )
    event = st.plotly_chart(
        timeline_figure(df, duration, gt, st.session_state.get(PICK_KEY)),
        key="video_timeline",
        on_select="rerun",
        selection_mode="points",
    )
    points = (event.get("selection", {}) or {}).get("points", []) if event else []
    if points:
        sel = round(float(points[0]["x"]), 4)
        if st.session_state.get(SEEN_SEL_KEY) != sel:  # apply a new click once; the slider may move on
            st.session_state[SEEN_SEL_KEY] = sel
            st.session_state[PICK_KEY] = min(max(sel, 0.0), duration)
    return st.slider(
        "Frame at time (s)",
        0.0,
        float(max(duration - step, step)),
        key=PICK_KEY,
        step=float(step),
        format="%.2f",
    )


def frame_ui(inp: VideoInput, res: VideoResult, df: pd.DataFrame, gt: pd.DataFrame | None, t: float) -> None:
    try:
        view = frame_view(inp, res, df, gt, t)
    except VideoError as exc:
        st.error(md_escape(exc))
        return
    overlays = model_overlays(view.shown)
    if view.truth is not None:
        overlays = gt_overlays(view.truth) + overlays
    image_viewer(
        view.rgb,
        overlays,
        legend_html=None if gt is not None else model_legend_html(view.shown),
        key="video_frame_viewer",
        caption=f"Frame at {view.time_s:.2f} s: {len(view.shown)} organ(s) shown"
        + (" · solid = ground truth, dashed = model" if gt is not None else ""),
    )


def truth_ui(inp: VideoInput, res: VideoResult) -> None:
    st.subheader("Against the phantom's ground truth", anchor="ground-truth")
    st.caption(
        "Detection rate: share of the frames showing an organ where the model boxed it at IoU ≥ 0.5. "
        "Mean IoU: overlap with the true box in the frames where the model showed the organ."
    )
    st.dataframe(scores_table(score_clip(res.csv_path, inp.gt_csv, res.options.organs)), hide_index=True)


def input_ui(ws: SessionWorkspace) -> VideoInput | None:
    """The input chooser; returns the input of the chosen source, if there is one."""
    source = st.radio("Input", SOURCES, horizontal=True, key="video_source", label_visibility="collapsed")
    if source == SOURCES[1]:
        sweep_ui()
    else:
        upload_ui(ws, images=source == SOURCES[2])
    inp: VideoInput | None = st.session_state.get(INPUT_KEY)
    if inp is not None and not inp.belongs_to(
        image_source=source == SOURCES[2], sweep_source=source == SOURCES[1]
    ):
        inp = None
    if inp is not None and inp.synthetic:
        st.markdown(
            ":orange-badge[:material/science: SYNTHETIC phantom sweep] — a generated scan of a virtual "
            "volunteer, not a real patient. Its ground truth is known for every frame."
        )
    return inp


def image_ui(inp: VideoInput, model: ModelChoice, options: VideoOptions, stored: StoredResult | None) -> None:
    if not is_fresh(stored, inp, options, model.model_id):
        try:
            probe = probe_image(inp.path)
            size = (probe.width, probe.height) if probe.width and probe.height else None
            res = process_image(inp.path, model.image_detector(size), options)
        except NnusError as exc:
            st.error(md_escape(exc))
            return
        st.session_state[RESULT_KEY] = stored = StoredResult(inp.token, options, model.model_id, res)
    show_image_result(inp, stored.result)


def prepare(inp: VideoInput, model: ModelChoice, options: VideoOptions, *, quiet: bool):
    """(probe, detectors) for a run, or None with the reason shown (unless `quiet`)."""
    try:
        info = probe_video(inp.path, name=inp.name)
    except VideoError as exc:
        if not quiet:
            st.error(md_escape(exc), icon=":material/error:")
        return None
    try:
        return info, model.video_detectors(detection_size(info, options))
    except NnusError as exc:
        if not quiet:
            st.error(f"Cannot load the model: {md_escape(exc)}")
        return None


def process_ui(
    inp: VideoInput,
    model: ModelChoice,
    options: VideoOptions,
    ws: SessionWorkspace,
    stored: StoredResult | None,
) -> None:
    """The process button, the run, and the stored result below it."""
    fresh = is_fresh(stored, inp, options, model.model_id)
    label = process_label(stored, inp, options, model.model_id)
    # Prepared before the click, while the options are read: loading the detectors (and, for a
    # new video size, exporting them) is then not part of the run. Cached: reruns are free.
    prepared = None if fresh else prepare(inp, model, options, quiet=True)  # the click says why it failed
    if st.button(label, type="primary", icon=":material/play_arrow:", key="video_process", disabled=fresh):
        prepared = prepared or prepare(inp, model, options, quiet=False)
        if prepared is None:
            return
        info, detectors = prepared
        res = run_video(inp, detectors, options, ws, info)
        if res is None:
            return
        st.session_state[RESULT_KEY] = StoredResult(inp.token, options, model.model_id, res)
        st.rerun()  # draw the page afresh around the stored result
    if stored is not None and stored.is_for(inp):
        res = stored.result
        if not res.output_path.is_file():
            st.session_state.pop(RESULT_KEY, None)
            st.warning(
                "The processed video is gone (the session was idle for a long time): process it again."
            )
            return
        if not fresh:
            st.caption(":material/info: The options changed since this video was processed.")
        show_video_result(inp, res)


def main() -> None:
    st.title("Video demo")
    st.markdown(
        "Run the organ detector on a neck ultrasound video, frame by frame, and play the annotated "
        "result here or download it for a lecture. The same pipeline runs from the command line: "
        "`python -m nnus_core.video IN.mp4 OUT.mp4`."
    )
    if st.session_state.get("video_cancel"):
        st.info(
            "Processing cancelled: nothing was kept. Change the options or press Process again.",
            icon=":material/cancel:",
        )
    ws = workspace()
    inp = input_ui(ws)
    options = options_ui()
    model = model_ui()
    if model is None:
        return
    if inp is None:
        st.info("Choose an input above.", icon=":material/movie:")
        return
    if not inp.path.is_file():
        set_input(None)
        st.warning("The input file is gone (the session was idle for a long time): upload it again.")
        return
    # A phantom-trained model on a real scan: the card's note beside the result and in every frame.
    card = _shared.model_card_of(model.weights)
    options = options_for_input(options, inp, card.burn_note(inp.synthetic) if card is not None else "")
    if card is not None:
        _shared.show_model_domain_note(inp.synthetic, card)
    stored: StoredResult | None = st.session_state.get(RESULT_KEY)
    if inp.is_image:
        image_ui(inp, model, options, stored)
    else:
        process_ui(inp, model, options, ws, stored)


main()
