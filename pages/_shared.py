"""Streamlit glue shared by the pages: cached dataset/model loading, dataset badge, image viewer."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from pathlib import Path

import streamlit as st
from sqlalchemy import Engine

from nnus_core.dataset import Dataset
from nnus_core.dataset.active import ActiveDataset, resolve_active
from nnus_core.errors import DatasetError, NnusError, StoreError
from nnus_core.organs import ORGANS
from nnus_core.settings import get_settings
from nnus_core.store import database_url
from nnus_core.text import html_escape, md_escape
from pages import _cache
from pages._state import state


def server_log() -> logging.Logger:
    """The app's server-side log (stderr of the server process), configured once."""
    log = logging.getLogger("nnus_tutor")
    if not log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


def report_error(exc: BaseException, message: str = "Something went wrong on this page") -> str:
    """Show a short message with a reference id; the details go to the server log only.

    A visitor never sees a traceback, a server path or SQL: they quote the reference and whoever
    runs the server finds it in the log. Returns the reference.
    """
    ref = uuid.uuid4().hex[:8]
    detail = str(exc) if isinstance(exc, NnusError) else f"{type(exc).__name__}: {exc}"
    server_log().error("ref %s: %s: %s", ref, message, detail, exc_info=exc)
    plain = exc.plain if isinstance(exc, StoreError) else message
    st.error(
        f"{plain.rstrip('.')}. Reference **{ref}** (the details are in the server log).",
        icon=":material/error:",
    )
    return ref


def release_upload(upload) -> None:
    """Drop an upload's bytes from the server's memory once they are on disk.

    Streamlit keeps every uploaded file in memory until the session ends or the user removes it
    (a 900 MB zip kept 0.9 GB resident after its import). Private Streamlit API, as its chat
    input uses it: without it the bytes stay until the session ends. The widget's own state also
    holds them: the caller replaces the widget (a new key) so that goes too.
    """
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        remove = getattr(ctx.uploaded_file_mgr, "remove_file", None) if ctx is not None else None
        if remove is not None:
            remove(session_id=ctx.session_id, file_id=upload.file_id)
            server_log().info(
                "upload %s (%d bytes) is on disk: released from memory", upload.file_id, upload.size
            )
    except (ImportError, AttributeError):  # another Streamlit: the bytes go with the session
        pass
    upload.close()


def browser_session_id() -> str:
    """This browser session's id (Streamlit's), or a fresh one outside a server (bare scripts)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else uuid.uuid4().hex


def _session_alive(session_id: str) -> bool:
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return False
    runtime = Runtime.instance()
    # A closed tab's session is kept ~120 s for a reconnect: alive until it is gone from storage too
    # (the session manager is private API; without it, only connected sessions count).
    manager = getattr(runtime, "_session_mgr", None)
    if manager is not None and hasattr(manager, "get_session_info"):
        return manager.get_session_info(session_id) is not None
    return bool(runtime.is_active_session(session_id))


JANITOR_EVERY_S = 60
_janitor: list[threading.Thread] = []  # module state, not st.cache_resource: tests clear that cache
_janitor_lock = threading.Lock()


def _check_store_at_start() -> None:
    """Say in the server log, at start, whether the progress database is usable (and why not)."""
    from nnus_core.store import database_url, get_engine

    try:
        get_engine(database_url())  # migrated, integrity-checked and write-probed; cached for the pages
    except StoreError as exc:
        server_log().error("progress database NOT usable: %s (%s)", exc.plain, exc)
        return
    server_log().info("progress database OK (writable, integrity check passed)")


def start_upload_janitor() -> None:
    """Once per server process: check the progress database, remove what dead servers left, then
    every minute the upload folders of sessions that have ended (a closed tab), instead of keeping
    them until a clean shutdown."""
    from nnus_core.video.workspace import sweep_ended, sweep_stale

    def loop() -> None:
        _check_store_at_start()
        removed = sweep_stale()
        if removed:
            server_log().info("removed %d upload folder(s) left by ended sessions or servers", removed)
        while True:
            time.sleep(JANITOR_EVERY_S)
            try:
                n = sweep_ended(_session_alive)
            except OSError as exc:  # a vanished folder mid-sweep: try again next time
                server_log().warning("upload janitor: %s", exc)
                continue
            if n:
                server_log().info("removed %d upload folder(s) of ended sessions", n)

    from streamlit.runtime import Runtime

    if not Runtime.exists() or type(Runtime.instance()) is not Runtime:  # AppTest's stand-in: no server
        return
    with _janitor_lock:
        if not _janitor:
            thread = threading.Thread(target=loop, daemon=True, name="upload-janitor")
            thread.start()
            _janitor.append(thread)


def run_guarded(run) -> None:
    """Run a page; an unexpected error becomes `report_error`'s message instead of a traceback.

    st.stop and st.rerun are BaseExceptions and pass through. With $NNUS_ERROR_DETAILS=1 errors
    propagate, so tests still fail on them.
    """
    try:
        run()
    except Exception as exc:
        if get_settings().error_details:
            raise
        report_error(exc)


def _signature(path: Path) -> tuple[float, ...]:
    """Cheap change detector: modification times of the folders that hold files."""
    out = []
    for p in (path, path / "images", path / "labels"):
        try:
            out.append(os.stat(p).st_mtime)
        except OSError:
            out.append(0.0)
    return tuple(out)


_load_cached = _cache.dataset  # the name the page benchmark reads


def active_location() -> ActiveDataset:
    override = state.dataset_override
    if override:
        p = Path(override)
        return ActiveDataset(p, "local", p.exists())
    return resolve_active()


def _generate_in_background(path: Path, state: dict) -> None:
    from nnus_core.phantom import generate_dataset

    def progress(done: int, total: int) -> None:
        state["done"], state["total"] = done, total

    try:
        generate_dataset(path, progress=progress)
    except Exception as exc:  # noqa: BLE001 - shown to every waiting session, then retried on reload
        state["error"] = f"{type(exc).__name__}: {exc}"


GENERATION_POLL_S = 0.5  # how often the first-start progress bar is redrawn


def ensure_phantom(loc: ActiveDataset) -> None:
    """Generate the built-in phantom on first start, with a progress bar.

    The generation runs in one background thread per server, not in the session's script run: a
    visitor closing the tab does not abort it, and every session that arrives meanwhile shows the
    same progress instead of starting a second generation. While it runs the page stops under the
    progress bar, which redraws itself (a fragment) and reruns the page once the phantom is there.
    """
    try:
        import nnus_core.phantom  # noqa: F401
    except ImportError:
        return
    state = _cache.phantom_generation()
    with state["lock"]:
        thread = state["thread"]
        if (thread is None or not thread.is_alive()) and not active_location().exists:
            state.update(error=None, done=0, total=0)
            thread = threading.Thread(
                target=_generate_in_background, args=(loc.path, state), daemon=True, name="phantom-generation"
            )
            state["thread"] = thread
            thread.start()
    if thread is not None and thread.is_alive():
        _generation_progress()
        st.stop()
    if state["error"]:
        st.error(f"Generating the synthetic phantom failed: {md_escape(state['error'])}. Reload to retry.")


@st.fragment(run_every=GENERATION_POLL_S)
def _generation_progress() -> None:
    state = _cache.phantom_generation()
    thread = state["thread"]
    if thread is None or not thread.is_alive():
        st.rerun(scope="app")  # done (or failed): the page runs again, now with the dataset
    done, total = state["done"], state["total"]
    st.progress(
        done / total if total else 0.0,
        text=f"First start: generating the SYNTHETIC phantom — {done}/{total or '…'} images"
        if total
        else "First start: generating the built-in SYNTHETIC phantom…",
    )


def get_dataset(*, stop_if_missing: bool = True) -> Dataset | None:
    """The active dataset, indexed once and cached; generates the phantom if it is missing."""
    loc = active_location()
    if loc.source == "phantom" and not loc.exists:
        ensure_phantom(loc)
        loc = active_location()
    if not loc.path.exists():
        st.warning(
            f"No dataset available at {md_escape(loc.path)}. Set NNUS_DATA to your NNUS folder, "
            "or generate the built-in phantom with `python -m nnus_core.phantom --out data/phantom`."
        )
        if stop_if_missing:
            st.stop()
        return None
    try:
        return _cache.dataset(str(loc.path), _signature(loc.path))
    except DatasetError as exc:
        st.error(f"Cannot read the dataset: {md_escape(exc)}")
        if stop_if_missing:
            st.stop()
        return None


def dataset_badge(ds: Dataset) -> None:
    """A visible label saying whether the images are real NNUS or the synthetic phantom."""
    if ds.synthetic:
        st.markdown(
            ":orange-badge[:material/science: SYNTHETIC phantom] "
            f"— generated images, not real patients (generator {md_escape(ds.generator_version, 40)})"
        )
    else:
        st.markdown(":green-badge[:material/ecg_heart: Real NNUS data]")


def dataset_chip_html(ds: Dataset) -> str:
    """`dataset_badge` as one inline HTML label, for a header line (the live projector and phones)."""
    if ds.synthetic:
        return (
            "<span data-testid='live-data-kind' style='background:#FFE8CC;color:#8A4B00;border-radius:6px;"
            "padding:1px 7px;font-size:0.85rem;white-space:nowrap'>SYNTHETIC phantom</span>"
        )
    return (
        "<span data-testid='live-data-kind' style='background:#DDF3E4;color:#17603A;border-radius:6px;"
        "padding:1px 7px;font-size:0.85rem;white-space:nowrap'>Real NNUS data</span>"
    )


def organ_legend_html(organ_ids: list[int] | None = None, *, with_short: bool = False) -> str:
    """A one-line legend of organ colours (HTML); `with_short` adds the tag drawn on images ("STR")."""
    ids = range(len(ORGANS)) if organ_ids is None else organ_ids
    chips = []
    for i in ids:
        o = ORGANS[i]
        chips.append(
            f'<span style="display:inline-block;margin:2px 8px 2px 0;white-space:nowrap">'
            f'<span style="display:inline-block;width:12px;height:12px;border-radius:2px;'
            f'background:{o.color};border:1px solid #555;vertical-align:middle"></span> '
            f'<span style="vertical-align:middle">{html_escape(o.name)}'
            + (f' <span style="opacity:0.65">({html_escape(o.short)})</span>' if with_short else "")
            + "</span></span>"
        )
    return '<div data-testid="organ-legend">' + "".join(chips) + "</div>"


# --- Model: loaded once per process, predictions cached per image --------------------------------

PREDICT_FLOOR = _cache.PREDICT_FLOOR
_PREDICT_LOCK = _cache.PREDICT_LOCK  # the video page and the model report run the shared detector under it


def get_detector():
    """The shipped detector (loaded once per process), or None when the detector package or a
    trained model is missing.

    Pages must work without it: they show "no model available" and the ground truth only.
    """
    return _cache.detector()


def detector_id(detector) -> str:
    """A stable identity of the loaded weights (their hash when known) for cache keys."""
    return str(
        getattr(detector, "weights_sha256", "") or getattr(detector, "weights_path", "") or id(detector)
    )


def predict_sample(detector, sample) -> list:
    """The detector's detections (confidence >= PREDICT_FLOOR) for a sample, cached per weights+image.

    Returns an empty list when the image cannot be read by the detector (the page shows ground truth).
    """
    try:
        mtime = os.stat(sample.image_path).st_mtime
    except OSError:
        return []
    try:
        return _cache.predictions(detector_id(detector), str(sample.image_path), mtime, detector)
    except NnusError:
        return []


def model_folder() -> Path | None:
    """Folder of the default model (weights, card, evaluation files), None when none is shipped."""
    try:
        from nnus_core.detector import default_model_dir
    except ImportError:
        return None
    try:
        return default_model_dir()
    except (NnusError, OSError):
        return None


def get_model_card():
    """The default model's card (read without loading the weights), or None."""
    folder = model_folder()
    if folder is None or not (folder / "model_card.json").is_file():
        return None
    try:
        return _cache.model_card(str(folder), (folder / "model_card.json").stat().st_mtime)
    except (ImportError, NnusError, OSError):
        return None


def model_card_of(weights: Path | None):
    """The card beside a weights file (None when it has none); the default model's for None."""
    if weights is None:
        return get_model_card()
    folder = Path(weights).parent
    if not (folder / "model_card.json").is_file():
        return None
    try:
        return _cache.model_card(str(folder), (folder / "model_card.json").stat().st_mtime)
    except (ImportError, NnusError, OSError):
        return None


def model_domain_note(input_synthetic: bool, card=None) -> str | None:
    """The model card's warning when the model's boxes are drawn on data unlike its training data.

    Pages show it next to the model's result (see `ModelCard.domain_note`); None when they match or
    no card says what the model was trained on. `card`: the default model's when not given.
    """
    card = card if card is not None else get_model_card()
    return card.domain_note(input_synthetic) if card is not None else None


def show_model_domain_note(input_synthetic: bool, card=None, detections=None) -> None:
    """Show `model_domain_note` as a warning line, when there is one; with the image's
    `detections` (all above PREDICT_FLOOR), also say when the image looks unlike the model's
    training images (`detector.familiar`: it then drew only its best box per organ)."""
    note = model_domain_note(input_synthetic, card)
    if note:
        st.warning(md_escape(note), icon=":material/report:")
    if detections is not None:
        from nnus_core.detector.familiar import unfamiliar_note

        unsure = unfamiliar_note(detections)
        if unsure:
            st.warning(md_escape(unsure), icon=":material/help:")


_STEPS = {"Previous": (":material/chevron_left:", "Left"), "Next": (":material/chevron_right:", "Right")}


def step_button(where, label: str, target: str | None, on_click, key: str) -> None:  # noqa: ANN001
    """A "Previous" or "Next" image button in `where` (a container), with its arrow key as the
    shortcut; `on_click(target)` runs on a press, and it is disabled at the end of the list."""
    icon, shortcut = _STEPS[label]
    where.button(
        label,
        on_click=on_click,
        args=(target,),
        disabled=target is None,
        icon=icon,
        key=key,
        shortcut=shortcut,
    )


def no_model_message(what: str = "model predictions") -> None:
    """The one way pages say that no trained detector is available."""
    st.info(
        f"No model available: {what} cannot be shown. Train one with "
        "`python -m nnus_core.detector train --data DIR` (see the README), or set `NNUS_MODEL` to a weights file.",
        icon=":material/model_training:",
    )


def dataset_cache_key(ds: Dataset) -> str:
    """A key that changes when the active dataset changes (for st.cache_data of derived tables)."""
    return f"{ds.root}|{len(ds)}|{ds.n_boxes}|{ds.generator_version}|{_signature(Path(ds.root))}"


def measured_on_label(ds: Dataset) -> str:
    """Caption for a figure computed from the active dataset, naming which data it is."""
    return (
        f"Measured on the SYNTHETIC phantom ({len(ds)} generated images), not on real patients."
        if ds.synthetic
        else f"Measured on the real NNUS data in the folder {md_escape(Path(ds.root).name)} ({len(ds)} images)."
    )


def ensure_app_navigation() -> None:
    """Make a deep link on a fresh server go through app.py's navigation.

    Streamlit decides once per process whether the app uses the legacy `pages/` folder: until some
    run calls st.navigation, a first request for e.g. /browse runs pages/browse.py directly, with an
    automatic sidebar listing every file in pages/ (and no entrypoint set-up). Clearing the flag and
    rerunning sends that request through app.py instead.

    Private Streamlit API (1.67), kept because no supported way exists while the folder is called
    `pages/`: the mode is chosen from the folder's existence alone, `client.showSidebarNavigation`
    only hides the legacy sidebar, and st.navigation clears the flag only once app.py has run.
    tests/test_pages_app.py fails when Streamlit changes any of this; remove the patch when the
    pages folder is renamed.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the flag has no such mode
        server_log().warning("Streamlit has no PagesManager: the pages/ folder patch is not applied")
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def model_card_summary(card, ds: Dataset | None = None) -> None:
    """A short summary of a model card: name, date, what it was trained on, recipe, held-out mAP.

    Warns when the model was trained on another phantom version than the active dataset's.
    """
    data = card.data or {}
    kind = data.get("kind") or ("synthetic phantom" if card.synthetic else "real NNUS")
    if card.synthetic:
        trained = f":orange-badge[:material/science: {md_escape(kind, 60)}" + (
            f" v{md_escape(card.generator_version, 40)}]" if card.generator_version else "]"
        )
    else:
        trained = f":green-badge[:material/ecg_heart: {md_escape(kind, 60)}]"
    recipe = card.recipe or {}
    overall = (card.metrics or {}).get("overall") or {}
    split = (card.metrics or {}).get("split", "test")
    start = str(recipe.get("model", "?"))
    if start.endswith(".pt"):
        start = f"fine-tuned from {md_escape(Path(start).parent.name or start, 80)}"
    elif ".pt" in start:  # "START.pt (see the command)": the card's command names the chain
        start = "fine-tuned from a trained model (its card's command says which)"
    else:
        start = f"{md_escape(start, 80)} from scratch"
    line = (
        f"**{md_escape(card.name, 80)}** · created {md_escape(card.created_utc[:10])} · trained on {trained} · "
        f"recipe {md_escape(recipe.get('name', '?'), 40)} ({start}, imgsz {md_escape(recipe.get('imgsz', '?'), 10)})"
    )
    if overall.get("map50") is not None:
        line += f" · mAP@0.5 **{overall['map50']:.3f}** on its held-out {split} split"
    for ev in (card.evaluations or {}).values():
        ev_map, ev_data = (ev.get("overall") or {}).get("map50"), ev.get("data") or {}
        if ev_map is not None:
            line += (
                f", **{ev_map:.3f}** on {md_escape(ev_data.get('n_images', '?'), 10)} images of "
                f"{len(ev_data.get('subjects') or [])} further held-out volunteers"
            )
    st.markdown(line)
    real = card.real_scans_line()
    if real:
        st.caption(_caption_text(real))
    _runtime_caption(card)
    if ds is not None and ds.synthetic and card.is_stale(ds.generator_version):
        st.warning(
            f"This model was trained on phantom version {md_escape(card.generator_version, 40)}, but the "
            f"active phantom is version {md_escape(ds.generator_version, 40)}: retrain it to match.",
            icon=":material/update:",
        )


def _runtime_caption(card) -> None:
    """How the model runs on this CPU (the measured choice) and its faster variants' accuracy checks."""
    folder = model_folder()
    try:
        from nnus_core.detector.choice import runtime_line
        from nnus_core.detector.gate import describe_entry
    except ImportError:
        return
    text = runtime_line(folder / "best.pt") if folder is not None else ""
    checks = [describe_entry(name, v) for name, v in (getattr(card, "variants", None) or {}).items()]
    if checks:
        text += " Accuracy checks against f32 on held-out phantom volunteers: " + "; ".join(checks) + "."
    if text:
        st.caption(_caption_text(text))


def _caption_text(text: str) -> str:
    """md_escape for a caption of figures, less the backslash it puts before "@" (a caption shows
    it: "AP\\@0.5"); the word joiner after it still keeps an e-mail address from becoming a link."""
    return md_escape(text).replace("\\\u2060@", "\u2060@")


def get_store() -> Engine:
    """The progress database, migrated and checked (writable, sound) on first use.

    A database that is read-only, damaged, full or unreachable stops the page with a plain message
    and a reference id; the details go to the server log. It is checked again on the next visit,
    so a repaired database works without a restart.
    """
    try:
        return _cache.store_engine(database_url())
    except StoreError as exc:
        report_error(exc, "The progress database cannot be used")
        st.caption(
            "Nothing can be saved until whoever runs this server fixes it; the study pages still work."
        )
        st.stop()
        raise  # unreachable: st.stop() raises


# Runs on the first import, i.e. in the first script run of the process: the only run affected.
ensure_app_navigation()
