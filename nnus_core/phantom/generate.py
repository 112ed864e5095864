"""Write a synthetic NNUS-format dataset: images, YOLO labels, classes, subjects, README, marker."""

from __future__ import annotations

import csv
import json
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from nnus_core.dataset.model import PHANTOM_MARKER, SUBJECTS_CSV, Annotation
from nnus_core.organs import ORGAN_NAMES
from nnus_core.phantom.bmode import render_bmode, tiles
from nnus_core.phantom.scene import HEIGHT, WIDTH, slice_scene
from nnus_core.phantom.views import FrameSpec, plan_dataset

PHANTOM_VERSION = "2.5.0"  # what `generate_dataset` writes by default: the shipped model's training data
# Every generator version and the B-mode look it renders (same geometry and boxes in both).
# 2.0.0 is the scanner look (bmode._Look2), 2.1.0 the same with the deep fall-off randomised per
# frame; 2.2.0 a closer transverse neck scan (bmode._LOOK22: wedge-shaped lobes, a bright
# tracheal wall with ring-down, mild enhancement, more fascial planes; its boxes follow the new
# lobe outline); 2.3.0 is 2.2.0 with the depth gain set for what the frame shows, so that a
# longus colli on the vertebra stays visible (same boxes as 2.2.0); 2.4.0 is 2.3.0 with a curved
# fascial web in place of the regular horizontal streaks (same boxes as 2.3.0); 2.5.0 is 2.4.0 with long, gently curved
# fascial planes near the structures' outlines in place of the arcs, smoother muscle, fewer flecks
# under the skin and the tracheal ring-down kept off the ring's steep sides (same boxes as 2.4.0):
# the default since the model phantom25-s2r-yolov8n-288 was trained on it.
# A look becomes the default only together with a model
# trained on it, so that the shipped dataset and the shipped model never disagree.
GENERATOR_LOOKS = {"1.1.0": 1, "2.0.0": 2, "2.1.0": 3, "2.2.0": 4, "2.3.0": 5, "2.4.0": 6, "2.5.0": 7}
# Looks whose anatomy has wedge-shaped thyroid lobes (the older ones keep the rounder outline).
WEDGE_LOBE_LOOKS = frozenset({4, 5, 6, 7})
GENERATOR_NAME = "nnus-phantom"
JPEG_QUALITY = 90

ProgressFn = Callable[[int, int], None]


def look_of(version: str) -> int:
    """The B-mode look of a generator version (ValueError for an unknown one)."""
    try:
        return GENERATOR_LOOKS[version]
    except KeyError:
        raise ValueError(
            f"phantom version must be one of {', '.join(GENERATOR_LOOKS)}, got {version!r}"
        ) from None


def render_frame(spec: FrameSpec, version: str = PHANTOM_VERSION) -> tuple[np.ndarray, list[Annotation]]:
    """Render one planned frame.

    Args:
        spec: a frame from `plan_dataset`.
        version: the generator version (GENERATOR_LOOKS) whose look to render.

    Returns:
        The (447, 494) uint8 grayscale image and its ground-truth annotations (pixel boxes of
        the visible part of each organ).
    """
    rng = spec.rng()
    look = look_of(version)
    scene = slice_scene(spec.subject, spec.pose, rng, wedge_lobes=look in WEDGE_LOBE_LOOKS)
    image = render_bmode(scene, spec.subject, spec.pose, rng, look=look)
    return image, list(scene.annotations)


def frame_annotations(spec: FrameSpec, version: str = PHANTOM_VERSION) -> list[Annotation]:
    """The annotations of a planned frame without rendering the image (same boxes as render_frame)."""
    wedge = look_of(version) in WEDGE_LOBE_LOOKS
    return list(slice_scene(spec.subject, spec.pose, spec.rng(), wedge_lobes=wedge).annotations)


def yolo_lines(annotations: list[Annotation], width: int = WIDTH, height: int = HEIGHT) -> str:
    """YOLO label text: one `class cx cy w h` line per box, normalised, 6 decimals."""
    out = []
    for a in annotations:
        cx, cy, w, h = a.box.to_yolo(width, height)
        out.append(f"{a.organ_id} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return "".join(line + "\n" for line in out)


def _write_one(spec: FrameSpec, root: Path, version: str = PHANTOM_VERSION) -> int:
    image, anns = render_frame(spec, version)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError(f"JPEG encoding failed for frame {spec.stem}")
    (root / "images" / f"{spec.stem}.jpg").write_bytes(buf.tobytes())
    (root / "labels" / f"{spec.stem}.txt").write_text(yolo_lines(anns))
    return len(anns)


# Worker state: the plan is rebuilt in each worker from (n, seed) rather than pickled per task.
_W_PLAN: tuple[FrameSpec, ...] = ()
_W_ROOT: Path | None = None
_W_VERSION = PHANTOM_VERSION


def _worker_init(n: int, seed: int, root: str, version: str = PHANTOM_VERSION) -> None:
    global _W_PLAN, _W_ROOT, _W_VERSION
    cv2.setNumThreads(1)
    _W_PLAN = plan_dataset(n, seed)
    _W_ROOT = Path(root)
    _W_VERSION = version
    tiles()


def _worker_chunk(indices: list[int]) -> int:
    assert _W_ROOT is not None
    for i in indices:
        _write_one(_W_PLAN[i], _W_ROOT, _W_VERSION)
    return len(indices)


def _chunks(n: int, size: int) -> Iterator[list[int]]:
    for start in range(0, n, size):
        yield list(range(start, min(n, start + size)))


def default_jobs() -> int:
    """Worker processes: the machine's cores (at most 8)."""
    return max(1, min(8, os.cpu_count() or 1))


def generate_dataset(
    out_dir: str | Path,
    n: int = 790,
    seed: int = 0,
    jobs: int | None = None,
    progress: ProgressFn | None = None,
    version: str = PHANTOM_VERSION,
) -> Path:
    """Generate a synthetic NNUS-format dataset.

    The dataset is written to a temporary sibling folder and renamed into place at the end, so
    an interrupted run never leaves a folder that looks complete. An existing `out_dir` is
    replaced only after the new one is complete.

    Args:
        out_dir: destination folder.
        n: number of images.
        seed: dataset seed; the same seed gives byte-identical files.
        jobs: worker processes (None = all cores, 1 = in this process). Output does not depend on it.
        progress: called as `progress(done, total)` while images are written.
        version: the generator version to write (GENERATOR_LOOKS); default the shipped model's.

    Returns:
        The dataset folder.
    """
    look_of(version)  # refuse an unknown version before writing anything
    out = Path(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    (tmp / "images").mkdir(parents=True)
    (tmp / "labels").mkdir()
    started = time.perf_counter()
    try:
        plan = plan_dataset(n, seed)
        jobs = default_jobs() if jobs is None else max(1, int(jobs))
        done = 0
        if progress:
            progress(0, n)
        if jobs == 1 or n < 8:
            for spec in plan:
                _write_one(spec, tmp, version)
                done += 1
                if progress:
                    progress(done, n)
        else:
            # spawn: safe inside threaded hosts (the web app); workers rebuild the plan themselves.
            ctx = mp.get_context("spawn")
            with ctx.Pool(jobs, initializer=_worker_init, initargs=(n, seed, str(tmp), version)) as pool:
                for k in pool.imap_unordered(_worker_chunk, _chunks(n, 5)):
                    done += k
                    if progress:
                        progress(done, n)
        _write_metadata(tmp, plan, seed, n, time.perf_counter() - started, version)
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write_metadata(
    root: Path,
    plan: tuple[FrameSpec, ...],
    seed: int,
    n: int,
    elapsed_s: float,
    version: str = PHANTOM_VERSION,
) -> None:
    (root / "labels" / "classes.txt").write_text("".join(name + "\n" for name in ORGAN_NAMES))
    with open(root / SUBJECTS_CSV, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "subject"])
        for spec in plan:
            w.writerow([f"{spec.stem}.jpg", spec.subject.name])
    n_subj = len({s.subject.name for s in plan})
    (root / "README.md").write_text(_README.format(n=n, seed=seed, version=version, n_subj=n_subj))
    marker = {"generator": GENERATOR_NAME, "version": version, "seed": seed, "n": n}
    (root / PHANTOM_MARKER).write_text(json.dumps(marker, indent=2) + "\n")


_README = """# SYNTHETIC neck ultrasound phantom (not real patient data)

This folder was generated by the NNUS Tutor phantom ({version}), seed {seed}: {n} SYNTHETIC
B-mode images of {n_subj} virtual volunteers in the NNUS layout. No image shows a real person.

How it was made: each virtual volunteer has its own neck anatomy (organ sizes, depths,
asymmetry, neck thickness). Each frame slices that 3-D model with a probe pose (transverse,
longitudinal or oblique; left or right; varied depth, gain and pressure) and renders it with a
fast convolution model of a linear probe: speckle, depth-dependent resolution, time-gain
compensation, specular walls, posterior enhancement, acoustic shadows and reverberation.
Boxes are the tight boxes of the visible part of each structure.

- `images/NNNN.jpg`: {n} grayscale JPGs, 494x447.
- `labels/NNNN.txt`: YOLO boxes `class cx cy w h` (normalised); `labels/classes.txt`: the 8 organs.
- `subjects.csv`: which virtual volunteer each image belongs to (consecutive blocks).
- `phantom.json`: generator name, version, seed and size.

Regenerate with `python -m nnus_core.phantom --out DIR --n {n} --seed {seed} --version {version}`.
"""
