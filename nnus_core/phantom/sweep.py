"""Sweep videos: continuous probe motion over one virtual neck, with per-frame ground truth."""

from __future__ import annotations

import csv
import math
import multiprocessing as mp
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from nnus_core.dataset.model import Annotation
from nnus_core.errors import VideoError
from nnus_core.phantom.anatomy import NeckModel, Pose, Subject, make_subject
from nnus_core.phantom.bmode import TileOffsets, render_bmode, tiles
from nnus_core.phantom.generate import PHANTOM_VERSION, WEDGE_LOBE_LOOKS, look_of
from nnus_core.phantom.scene import HEIGHT, WIDTH, slice_scene

SWEEP_KINDS = ("transverse", "lateral")
# Speckle decorrelates over about one elevational beam width of out-of-plane motion.
_DECORRELATION_MM = 1.2
# In-plane motion moves the speckle with the tissue for this far before a fresh crop fades in.
_SEGMENT_MM = 6.0


def _tri(phase: float) -> float:
    """Triangle wave 0 -> 1 -> 0 over one period."""
    p = phase % 1.0
    return 2 * p if p < 0.5 else 2 - 2 * p


def sweep_subject(seed: int) -> Subject:
    return make_subject(np.random.default_rng([seed, 7]), "S01")


def sweep_pose(kind: str, t_s: float, seconds: float, subject: Subject) -> Pose:
    """Probe pose at time t of a sweep.

    transverse: the probe over the right lobe moves cranio-caudally down and back;
    lateral: a transverse probe slides from the patient's right neck across to the left.
    """
    if kind not in SWEEP_KINDS:
        raise ValueError(f"sweep kind must be one of {SWEEP_KINDS}, got {kind!r}")
    period = max(4.0, min(seconds, 12.0))
    ph = _tri(t_s / period)
    breathe = math.sin(2 * math.pi * t_s / 4.5)
    pulse = math.sin(2 * math.pi * 1.15 * t_s)
    if kind == "transverse":
        x = -(subject.trachea_r_mm + subject.lobe_half_w_mm[0] * 1.1) + 1.5 * math.sin(
            2 * math.pi * t_s / 7.0
        )
        z = -22.0 + 44.0 * ph
        ang = 3.0 * math.sin(2 * math.pi * t_s / 5.0)
    else:
        x = -32.0 + 64.0 * ph
        z = 2.0 * math.sin(2 * math.pi * t_s / 6.0)
        ang = 2.0 * math.sin(2 * math.pi * t_s / 5.0)
    return Pose(
        view=f"sweep_{kind}",
        x_mm=x,
        z_mm=z,
        angle_deg=ang,
        depth_mm=40.0,
        gain_db=0.0,
        tgc_db_per_cm=0.0,
        pressure=0.3,
        ijv_open=0.55 + 0.4 * breathe,  # the vein breathes open and closed
        pulse=pulse,
    )


def _offsets(kind: str, pose: Pose, seed: int) -> tuple[TileOffsets, TileOffsets, float]:
    """Speckle crops tied to the probe position (world-locked, crossfading as tissue changes)."""
    mmpp = pose.depth_mm / HEIGHT
    pos = pose.z_mm / _DECORRELATION_MM if kind == "transverse" else pose.x_mm / _SEGMENT_MM
    k = math.floor(pos)
    mix = pos - k
    if kind == "lateral":
        # Crossfade only near the end of a segment; within it the speckle slides with the tissue.
        mix = float(np.clip((mix - 0.7) / 0.3, 0.0, 1.0))

    def off(seg: int) -> TileOffsets:
        r = np.random.default_rng([seed, 8, seg + 10_000])
        base = TileOffsets.random(r)
        if kind == "lateral":
            dx = int(round((pose.x_mm - seg * _SEGMENT_MM) / mmpp))
            return replace(base, ox=base.ox + dx)
        return base

    return off(k), off(k + 1), mix


def iter_sweep_frames(
    kind: str, seconds: float = 20.0, fps: float = 25.0, seed: int = 0, version: str = PHANTOM_VERSION
) -> Iterator[tuple[np.ndarray, list[Annotation]]]:
    """Render a sweep frame by frame.

    Args:
        kind: "transverse" (cranio-caudal over a lobe) or "lateral" (slide across the neck).
        seconds: clip length.
        fps: frames per second.
        seed: chooses the virtual volunteer and speckle.
        version: the generator version whose look to render (default: the built-in phantom's).

    Yields:
        (frame, annotations): (447, 494) uint8 grayscale and the frame's ground-truth boxes.
    """
    n = max(1, int(round(seconds * fps)))
    subject = sweep_subject(seed)
    for i in range(n):
        yield _render_sweep_frame(kind, i, n, seconds, fps, seed, subject, version)


def _render_sweep_frame(kind, i, n, seconds, fps, seed, subject=None, version=PHANTOM_VERSION):
    subject = subject or sweep_subject(seed)
    t = i / fps
    pose = sweep_pose(kind, t, seconds, subject)
    look = look_of(version)
    # The original look draws its few random settings per frame (1.1.0 sweeps stay byte-identical);
    # the scanner looks draw gain, dynamic range, gamma and depth gain once per sweep: one scanner
    # setting for a whole clip, as on a real scan, instead of a flicker from frame to frame.
    rng = np.random.default_rng([seed, 9, i] if look == 1 else [seed, 9])
    model = NeckModel(subject, pose)
    wedge = look in WEDGE_LOBE_LOOKS
    scene = slice_scene(subject, pose, np.random.default_rng([seed, 10]), model=model, wedge_lobes=wedge)
    a, b, mix = _offsets(kind, pose, seed)
    preset = None if look == 1 else True  # one depth-gain preset for the sweep (2.3: the neck's)
    img = render_bmode(
        scene, subject, pose, rng, offsets=a, offsets_b=b, mix=mix, look=look, longus_colli_preset=preset
    )
    return img, list(scene.annotations)


def _sweep_worker(args):
    return _render_sweep_frame(*args)


def _sweep_init():
    import cv2

    cv2.setNumThreads(1)
    tiles()


def write_sweep(
    out_dir: str | Path,
    kind: str,
    seconds: float = 20.0,
    fps: float = 25.0,
    seed: int = 0,
    jobs: int | None = None,
    version: str = PHANTOM_VERSION,
) -> Path:
    """Write `sweep_<kind>_s<seed>.mp4` (H.264, yuv420p, 494x448) and its ground-truth CSV.

    Args:
        out_dir: destination folder (created).
        kind: "transverse" or "lateral".
        seconds: clip length (the video page uses short clips).
        fps: frames per second.
        seed: volunteer and speckle seed.
        jobs: render processes (None = cores, 1 = in-process); output does not depend on it.
        version: the generator version whose look to render (default: the built-in phantom's).

    Returns:
        Path of the mp4; the CSV lies beside it with columns
        `frame,time_s,organ_id,organ,x1,y1,x2,y2` (pixels of the 494x447 frame).

    Raises:
        VideoError: when the video cannot be encoded.
    """
    import av

    from nnus_core.organs import ORGANS
    from nnus_core.phantom.generate import default_jobs

    if kind not in SWEEP_KINDS:
        raise ValueError(f"sweep kind must be one of {SWEEP_KINDS}, got {kind!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mp4 = out / f"sweep_{kind}_s{seed}.mp4"
    csv_path = out / f"sweep_{kind}_s{seed}.csv"
    tmp_mp4 = mp4.with_suffix(".partial.mp4")
    n = max(1, int(round(seconds * fps)))
    jobs = default_jobs() if jobs is None else max(1, int(jobs))
    look_of(version)  # an unknown version fails here, before anything is written
    args = [(kind, i, n, seconds, fps, seed, None, version) for i in range(n)]
    fps_int = int(round(fps))
    try:
        container = av.open(str(tmp_mp4), "w", options={"movflags": "+faststart"})
        stream = container.add_stream("libx264", rate=fps_int)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT + 1, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "20"}
        with open(csv_path, "w", newline="") as fcsv:
            wcsv = csv.writer(fcsv)
            wcsv.writerow(["frame", "time_s", "organ_id", "organ", "x1", "y1", "x2", "y2"])
            if jobs > 1 and n >= 16:
                pool = mp.get_context("spawn").Pool(jobs, initializer=_sweep_init)
                frames = pool.imap(_sweep_worker, args, chunksize=4)
            else:
                pool = None
                frames = (_render_sweep_frame(*a) for a in args)
            try:
                for i, (img, anns) in enumerate(frames):
                    # libx264 + yuv420p needs even sides: pad the 447-row frame with one black row.
                    padded = np.zeros((HEIGHT + 1, WIDTH), np.uint8)
                    padded[:HEIGHT] = img
                    vf = av.VideoFrame.from_ndarray(padded, format="gray")
                    for pkt in stream.encode(vf):
                        container.mux(pkt)
                    for a in anns:
                        b = a.box
                        wcsv.writerow(
                            [
                                i,
                                f"{i / fps:.3f}",
                                a.organ_id,
                                ORGANS[a.organ_id].name,
                                int(b.x1),
                                int(b.y1),
                                int(b.x2),
                                int(b.y2),
                            ]
                        )
            finally:
                if pool is not None:
                    pool.terminate()
        for pkt in stream.encode():
            container.mux(pkt)
        container.close()
        tmp_mp4.replace(mp4)
    except av.error.FFmpegError as e:
        tmp_mp4.unlink(missing_ok=True)
        raise VideoError(f"could not encode sweep video {mp4}: {e}") from e
    return mp4
