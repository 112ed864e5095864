"""Slice a subject's neck model with a probe pose: label and material maps plus ground-truth boxes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from nnus_core.dataset.model import Annotation
from nnus_core.geometry import BoxPx
from nnus_core.phantom.anatomy import (
    M_AIR,
    M_BONE,
    M_DEEP,
    M_FAT,
    M_SKIN,
    SPEC_BY_SID,
    NeckModel,
    Pose,
    Subject,
)

WIDTH, HEIGHT = 494, 447
# A structure cut to less than this share of its in-plane area, or thinner than this, is a
# sliver at the edge: drawn but not boxed.
MIN_VISIBLE_FRACTION = 0.25
MIN_THICKNESS_PX = 8
# The IJV is boxed only when open: a collapsed vein is a slit nobody would label.
IJV_OPEN_THRESHOLD = 0.5
# Shadows start a little below the reflector (the pulse length), as on a scanner.
_SHADOW_OFFSET_MM = 0.4


@dataclass(frozen=True)
class Scene:
    """One frame's geometry: structure ids, materials, scale and the boxes of visible organs."""

    sid: np.ndarray  # (H, W) uint8 structure ids, 0 = background tissue
    mat: np.ndarray  # (H, W) uint8 materials
    mm_per_px: float
    angle_deg: float
    annotations: tuple[Annotation, ...]
    air_top_px: np.ndarray  # (W,) first row of air per column, H where none
    bone_top_px: np.ndarray  # (W,) first row of bone per column, H where none


def _warp_fields(rng: np.random.Generator, w: int, h: int, amp_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Smooth displacement (mm) over the image: tissue is never drawn with a ruler."""
    g = rng.normal(0.0, amp_mm, size=(2, 5, 6)).astype(np.float32)
    # Cubic to a coarse grid, then linear to full size: smooth and cheap.
    cw, ch = w // 8, h // 8
    du = cv2.resize(cv2.resize(g[0], (cw, ch), interpolation=cv2.INTER_CUBIC), (w, h))
    dv = cv2.resize(cv2.resize(g[1], (cw, ch), interpolation=cv2.INTER_CUBIC), (w, h))
    # Deformation fades toward the skin, which the probe holds flat.
    fade = np.clip(np.arange(h, dtype=np.float32) / (h * 0.12), 0.0, 1.0)[:, None]
    return du, dv * fade


def _u_range(bounds, xc: float, zc: float, c: float, s: float, margin: float) -> tuple[float, float]:
    x0, x1, _, _, z0, z1 = bounds
    lo, hi = -1e9, 1e9
    for a0, a1, p0, k in ((x0, x1, xc, c), (z0, z1, zc, s)):
        if abs(k) < 1e-6:
            if not (a0 - margin <= p0 <= a1 + margin):
                return 0.0, -1.0
            continue
        ua, ub = (a0 - margin - p0) / k, (a1 + margin - p0) / k
        lo, hi = max(lo, min(ua, ub)), min(hi, max(ua, ub))
    return lo, hi


def _column_tops(mask: np.ndarray) -> np.ndarray:
    any_ = mask.any(axis=0)
    top = np.argmax(mask, axis=0)
    return np.where(any_, top, mask.shape[0]).astype(np.int32)


def slice_scene(
    subject: Subject,
    pose: Pose,
    rng: np.random.Generator,
    width: int = WIDTH,
    height: int = HEIGHT,
    model: NeckModel | None = None,
    wedge_lobes: bool = False,
) -> Scene:
    """Paint the structures cut by the pose's image plane and box the visible organs.

    Args:
        subject: the virtual volunteer.
        pose: probe position and settings.
        rng: the frame's generator (tissue warp).
        width: image width in pixels.
        height: image height in pixels.
        model: a prebuilt model of this subject and pose (sweeps reuse it).
        wedge_lobes: wedge-shaped thyroid lobes (phantom 2.2); ignored when `model` is given.

    Returns:
        The frame's Scene; annotation boxes are in pixels of a width x height image.
    """
    model = model or NeckModel(subject, pose, wedge_lobes=wedge_lobes)
    mmpp = pose.depth_mm / height
    a = math.radians(pose.angle_deg)
    c, s = math.cos(a), math.sin(a)
    u = ((np.arange(width, dtype=np.float32) + 0.5) - width / 2) * mmpp
    y = (np.arange(height, dtype=np.float32) + 0.5) * mmpp
    du, dv = _warp_fields(rng, width, height, 0.55)
    uu = u[None, :] + du
    yy = y[:, None] + dv
    xx = pose.x_mm + uu * c
    zz = pose.z_mm + uu * s

    sid = np.zeros((height, width), np.uint8)
    mat = np.full((height, width), M_DEEP, np.uint8)
    fat_bottom = model.fat_bottom(xx[0], zz[0])  # per column: the layers follow the skin
    fat_rows = fat_bottom[None, :] > yy
    mat[fat_rows] = M_FAT
    sid[fat_rows] = 2

    full_area: dict[int, float] = {}
    margin = 1.5
    half_w_mm = width / 2 * mmpp
    zlo, zhi = pose.z_mm - abs(s) * half_w_mm - 1.0, pose.z_mm + abs(s) * half_w_mm + 1.0
    for part in model.parts:
        b = part.bounds(zlo, zhi)
        lo, hi = _u_range(b, pose.x_mm, pose.z_mm, c, s, margin)
        if hi <= lo:
            continue
        i0 = max(0, int(math.floor(lo / mmpp + width / 2)))
        i1 = min(width, int(math.ceil(hi / mmpp + width / 2)) + 1)
        j0 = max(0, int(math.floor((b[2] - margin) / mmpp)))
        j1 = min(height, int(math.ceil((b[3] + margin) / mmpp)) + 1)
        spec = SPEC_BY_SID.get(part.sid)
        if spec is not None and spec.organ_id is not None:
            full_area[part.sid] = full_area.get(part.sid, 0.0) + _full_area_px(
                part, pose, lo, hi, b, mmpp, c, s, width
            )
        if i1 <= i0 or j1 <= j0:
            continue
        res = part.evaluate(xx[j0:j1, i0:i1], yy[j0:j1, i0:i1], zz[j0:j1, i0:i1])
        inside, m = res[0], res[1]
        sid[j0:j1, i0:i1][inside] = res[2][inside] if len(res) > 2 else part.sid
        mat[j0:j1, i0:i1][inside] = m[inside]

    skin_rows = yy < model.skin_mm
    mat[skin_rows] = M_SKIN
    sid[skin_rows] = 1

    air_top = _column_tops(mat == M_AIR)
    bone_top = _column_tops(mat == M_BONE)
    off = int(round(_SHADOW_OFFSET_MM / mmpp))
    shadow_top = np.minimum(air_top, bone_top) + off
    rows = np.arange(height)[:, None]
    shadowed = rows >= shadow_top[None, :]

    anns = []
    for sid_k, total in full_area.items():
        spec = SPEC_BY_SID[sid_k]
        if spec.organ_id == 3 and pose.ijv_open < IJV_OPEN_THRESHOLD:
            continue
        vis = sid == sid_k
        if spec.organ_id != 0:  # the trachea casts the shadow; it is not hidden by it
            vis &= ~shadowed
        box = _box_of(vis)
        if box is None:
            continue
        area = float(np.count_nonzero(vis))
        if area < MIN_VISIBLE_FRACTION * total:
            continue
        if box.width < MIN_THICKNESS_PX or box.height < MIN_THICKNESS_PX:
            continue
        anns.append(Annotation(spec.organ_id, box))
    anns.sort(key=lambda a_: (a_.organ_id, a_.box.x1))
    return Scene(sid, mat, mmpp, pose.angle_deg, tuple(anns), air_top, bone_top)


def _full_area_px(
    part, pose: Pose, lo: float, hi: float, b, mmpp: float, c: float, s: float, width: int
) -> float:
    """In-plane area (pixels) of a structure, unclipped by the image and unpainted by neighbours.

    Evaluated on a coarse grid over at most one image width either side, so an endless tube in
    a longitudinal view counts as twice the image width.
    """
    step = 4.0 * mmpp
    half = width * mmpp
    lo, hi = max(lo, -half), min(hi, half)
    if hi <= lo:
        return 0.0
    us = np.arange(lo, hi, step, dtype=np.float32)
    ys = np.arange(max(b[2] - 1.5, 0.0), b[3] + 1.5, step, dtype=np.float32)
    if us.size == 0 or ys.size == 0:
        return 0.0
    uu, yy = np.meshgrid(us, ys)
    res = part.evaluate(pose.x_mm + uu * c, yy, pose.z_mm + uu * s)
    inside = res[0] & (res[2] == part.sid) if len(res) > 2 else res[0]
    return float(np.count_nonzero(inside)) * 16.0


def _box_of(mask: np.ndarray) -> BoxPx | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return BoxPx(float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1))
