"""B-mode rendering of a scene: echogenicity, specular walls, attenuation, speckle, log compression.

A fast convolution model (see the reference notes): diffuse scattering E, blurred by the point
spread function and multiplied by precomputed unit-mean speckle tiles (2 compounded looks, lateral
grain coarser than axial and widening away from the focus); coherent specular reflections only
where an interface faces the beam; transmission per column (enhancement under fluid, clean shadow
under bone, dirty shadow with reverberations under the tracheal air line); depth gain and log
compression calibrated so thyroid ~150, muscle ~80, lumen < 20 gray levels.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from nnus_core.organs import ORGAN_NAMES
from nnus_core.phantom.anatomy import (
    M_AIR,
    M_BONE,
    M_CARTILAGE,
    M_DEEP,
    M_ESO_MUCOSA,
    M_ESO_WALL,
    M_FAT,
    M_LUMEN,
    M_MUSCLE,
    M_SKIN,
    M_THYROID,
    M_VEIN,
    M_VESSEL_WALL,
    N_MATERIALS,
    Pose,
    Subject,
)
from nnus_core.phantom.scene import Scene

LONGUS_COLLI_ID = ORGAN_NAMES.index("Longus colli")

_TILE_H, _TILE_W = 640, 720
_N_TILES = 4
_TILE_SEED = 20240611  # fixed: tiles are part of the generator, identical in every process


def _lut(values: dict[int, float], default: float = 0.0) -> np.ndarray:
    out = np.full(256, default, np.float32)
    for k, v in values.items():
        out[k] = v
    return out


# Mean diffuse backscatter (linear power, thyroid = 1). Muscle/fat/mucosa get textures on top.
_ECHO = _lut(
    {
        M_DEEP: 0.038,
        M_SKIN: 1.6,
        M_FAT: 0.10,
        M_MUSCLE: 0.07,
        M_THYROID: 0.85,
        M_CARTILAGE: 0.05,
        M_AIR: 0.0,
        M_LUMEN: 0.0015,
        M_VESSEL_WALL: 0.07,
        M_ESO_WALL: 0.06,
        M_ESO_MUCOSA: 0.3,
        M_BONE: 0.4,
        M_VEIN: 0.002,
    }
)
# Relative acoustic impedance: its depth gradient makes the specular echoes.
_IMPEDANCE = _lut(
    {
        M_DEEP: 1.02,
        M_SKIN: 1.15,
        M_FAT: 0.90,
        M_MUSCLE: 1.04,
        M_THYROID: 1.12,
        M_CARTILAGE: 1.18,
        M_AIR: -1.5,
        M_LUMEN: 1.0,
        M_VESSEL_WALL: 1.22,
        M_ESO_WALL: 1.02,
        M_ESO_MUCOSA: 1.10,
        M_BONE: 3.0,
        M_VEIN: 1.0,
    }
)
# Round-trip attenuation in excess of what TGC compensates (dB/mm): fluid < 0 gives enhancement.
_ATTEN = _lut(
    {
        M_DEEP: 0.0,
        M_SKIN: 0.0,
        M_FAT: -0.06,
        M_MUSCLE: 0.06,
        M_THYROID: 0.02,
        M_CARTILAGE: 0.25,
        M_AIR: 0.0,
        M_LUMEN: -1.4,
        M_VESSEL_WALL: 0.1,
        M_ESO_WALL: 0.05,
        M_ESO_MUCOSA: 0.05,
        M_BONE: 14.0,
        M_VEIN: -1.1,
    }
)
assert N_MATERIALS <= 256
# Texture weights (exponent per unit of normalised noise); muscle's are set per view.
_TEX_DOTS = _lut({M_THYROID: 0.42, M_FAT: 0.3, M_DEEP: 0.45, M_ESO_MUCOSA: 0.4, M_ESO_WALL: 0.5})
_TEX_LINES = _lut({M_DEEP: 0.45, M_ESO_WALL: 0.3})
# Impedance offset per structure id (anatomy.STRUCTURES): fascial sheaths and the thyroid capsule.
_SID_IMPEDANCE = _lut(
    {
        2: -0.02,
        4: 0.06,
        5: 0.06,
        6: 0.04,
        7: 0.04,
        10: 0.08,
        11: 0.08,
        12: 0.10,
        13: 0.10,
        8: 0.06,
        16: 0.04,
        17: 0.04,
    }
)
_FASCIA = _lut({M_FAT: 2.5, M_MUSCLE: 0.5, M_DEEP: 0.35})
_BLOB_DARK = _lut({M_THYROID: 0.85})
_TEX_LOW = _lut({M_MUSCLE: 0.25, M_THYROID: 0.28, M_DEEP: 0.45})


@dataclass(frozen=True)
class _Look2:
    """Phantom 2.x: the look of a modern scanner, fitted to the real reference statistics
    (`python -m nnus_core.phantom realism`): brighter, busier tissue around the organs, a
    thyroid brighter than muscle, smooth compounded speckle, a dark deep field."""

    echo: np.ndarray
    tex_dots: np.ndarray
    tex_lines: np.ndarray
    tex_low: np.ndarray
    fascia: np.ndarray
    lobules: np.ndarray
    lines_extra: np.ndarray
    atten: np.ndarray
    deep_from_mm: float = 20.0
    deep_db_per_mm: float = 1.2
    dr_db: tuple[float, float] = (38.0, 46.0)
    gamma: tuple[float, float] = (1.8, 2.3)
    ref_shift_db: float = 3.0
    smooth_lat: tuple[float, float] = (1.3, 2.0)
    lumen_haze: float = 0.0003
    # 2.1: the deep fall-off randomised per frame (where it starts, mm; how steep, dB/mm), as a
    # sonographer's depth gain varies: the deep muscles (longus colli) and the oesophagus are
    # visible in some frames and fade into the dark in others, instead of always lying in the black.
    deep_from_mm_range: tuple[float, float] | None = None
    deep_db_per_mm_range: tuple[float, float] | None = None
    # 2.2 (the defaults keep 2.0 and 2.1 exactly as they were):
    sid_impedance_scale: float = 1.0  # sheath/capsule impedance steps: < 1, fewer cartoon outlines
    spec_gain: float = 7.0  # specular wall brightness
    fascia_extra: float = 0.0  # weight of a second, offset set of fascial planes (more planes)
    ringdown: bool = False  # tracheal wall: bright air line with ring-down lines below it
    haze_amp: float = 0.15  # grey haze of the dirty shadow under the trachea
    deep_spread_px: float = 0.0  # extra lateral blur of shadows/enhancement deep (beam divergence)
    # 2.3: where the frame shows no longus colli, the sonographer's depth gain is drawn from these
    # wider ranges instead (a carotid preset: the deep field often fades early, as in real carotid
    # views); frames with a longus colli keep the ranges above, so that it stays visible.
    deep_from_mm_range_no_lc: tuple[float, float] | None = None
    deep_db_per_mm_range_no_lc: tuple[float, float] | None = None
    # 2.4: a curved fascial web (per-material weights of `web_tiles`): bright, beaded arcs that
    # wrap around structures, brightest where they face the beam, instead of straight streaks.
    web: np.ndarray | None = None
    # 2.5: muscle's perimysium dots (short axis) scaled down from the 2.x weight (a fine starry sky,
    # not gravel), and the near-field clutter as haze rather than bright dashes under the skin.
    muscle_dots: float = 1.0
    clutter_dashes: float = 0.25
    clutter_haze: float = 0.03
    facing_extrapolate: bool = False  # see `_facing`
    web_style: int = 1  # which `web_tiles`
    web_near_mm: float = 0.0  # > 0: the web fades with the distance from outlines (`_near_outlines`)
    spec_frag: tuple[float, float] = (2.1, 2.0)  # walls' fragmentation: exp(a * noise - b)


_LOOK2 = _Look2(
    echo=_lut(
        {
            M_DEEP: 0.035,
            M_SKIN: 0.45,
            M_FAT: 0.03,
            M_MUSCLE: 0.05,
            M_THYROID: 2.2,
            M_CARTILAGE: 0.04,
            M_AIR: 0.0,
            M_LUMEN: 0.0015,
            M_VESSEL_WALL: 0.03,  # no even ring: only the specular near and far walls show
            M_ESO_WALL: 0.05,
            M_ESO_MUCOSA: 0.3,
            M_BONE: 0.4,
            M_VEIN: 0.002,
        }
    ),
    tex_dots=_lut({M_THYROID: 0.32, M_FAT: 0.4, M_DEEP: 0.6, M_ESO_MUCOSA: 0.4, M_ESO_WALL: 0.5}),
    tex_lines=_lut({M_DEEP: 0.4, M_ESO_WALL: 0.3, M_FAT: 0.2}),
    tex_low=_lut({M_MUSCLE: 0.35, M_THYROID: 0.18, M_DEEP: 1.9, M_FAT: 0.8}),
    fascia=_lut({M_FAT: 4.0, M_MUSCLE: 0.6, M_DEEP: 1.4}),
    lobules=_lut({M_DEEP: 1.6, M_FAT: 0.8}),
    lines_extra=_lut({M_DEEP: 0.15, M_FAT: 0.1}),
    # Stronger enhancement below the vessels (real: ~+10 dB below the CCA).
    atten=_lut(
        {
            M_FAT: -0.06,
            M_MUSCLE: 0.06,
            M_THYROID: 0.02,
            M_CARTILAGE: 0.25,
            M_LUMEN: -2.4,
            M_VESSEL_WALL: 0.1,
            M_ESO_WALL: 0.05,
            M_ESO_MUCOSA: 0.05,
            M_BONE: 14.0,
            M_VEIN: -1.8,
        }
    ),
)
_LOOK21 = dataclasses.replace(_LOOK2, deep_from_mm_range=(20.0, 36.0), deep_db_per_mm_range=(0.3, 1.2))
# Phantom 2.2: closer to a real transverse neck scan. Muscle and connective tissue ~10 dB below the
# thyroid (not ~16 dB), a finer, more homogeneous thyroid texture, mild enhancement below the
# vessels (6 mm of blood: ~6-8 dB, not a pillar), more fascial planes, sheath outlines only where
# they face the beam, a bright tracheal air line with ring-down and a grey dirty shadow, and the
# deep field fading earlier (uncompensated attenuation; little comes back behind the spine).
_LOOK22 = dataclasses.replace(
    _LOOK21,
    echo=_lut(
        {
            M_DEEP: 0.008,  # loose connective tissue: dark fat between echogenic septa and fascia
            M_SKIN: 0.45,
            M_FAT: 0.03,
            M_MUSCLE: 0.16,  # muscle ~12 dB below the thyroid
            M_THYROID: 2.4,
            M_CARTILAGE: 0.1,  # hyaline cartilage: hypoechoic, not black
            M_AIR: 0.0,
            M_LUMEN: 0.0015,
            M_VESSEL_WALL: 0.03,
            M_ESO_WALL: 0.07,
            M_ESO_MUCOSA: 0.4,
            M_BONE: 0.4,
            M_VEIN: 0.002,
        }
    ),
    tex_dots=_lut({M_THYROID: 0.18, M_FAT: 0.4, M_DEEP: 0.6, M_ESO_MUCOSA: 0.4, M_ESO_WALL: 0.5}),
    tex_low=_lut({M_MUSCLE: 0.35, M_THYROID: 0.3, M_DEEP: 2.0, M_FAT: 0.8}),
    fascia=_lut({M_FAT: 3.2, M_MUSCLE: 0.6, M_DEEP: 5.0}),
    lines_extra=_lut({M_DEEP: 0.08, M_FAT: 0.05}),
    atten=_lut(
        {
            M_FAT: -0.06,
            M_MUSCLE: 0.06,
            M_THYROID: 0.02,
            M_CARTILAGE: 0.25,
            M_LUMEN: -1.3,
            M_VESSEL_WALL: 0.1,
            M_ESO_WALL: 0.05,
            M_ESO_MUCOSA: 0.05,
            M_BONE: 14.0,
            M_VEIN: -1.0,
        }
    ),
    smooth_lat=(1.8, 2.6),
    lumen_haze=0.005,  # the real lumen is a faint grey, not black
    deep_from_mm_range=(15.0, 22.0),
    deep_db_per_mm_range=(1.2, 2.4),
    sid_impedance_scale=0.5,
    fascia_extra=0.7,
    ringdown=True,
    haze_amp=0.25,
    deep_spread_px=6.0,
)
# Phantom 2.3: 2.2 with the depth gain set for what the frame shows. A frame with a longus colli
# gets a deeper, gentler fall-off (from 22-28 mm at 0.6-1.2 dB/mm), so the muscle on the vertebral
# body stays visible (in 2.2 it faded to black, and a model trained on 2.2 lost the organ); a frame
# without one keeps 2.2's early fall-off or the gentle one (15-28 mm, 0.6-2.4 dB/mm).
_LOOK23 = dataclasses.replace(
    _LOOK22,
    deep_from_mm_range=(22.0, 28.0),
    deep_db_per_mm_range=(0.6, 1.2),
    deep_from_mm_range_no_lc=(15.0, 28.0),
    deep_db_per_mm_range_no_lc=(0.6, 2.4),
)
# Phantom 2.4: 2.3 without the regular horizontal streaks through the deep planes (the sign a
# sonographer reads first): weaker long-axis texture and straight planes in the connective
# tissue, a curved, beaded fascial web in their place, and muscle a little brighter.
_LOOK24 = dataclasses.replace(
    _LOOK23,
    echo=_lut({**{k: float(v) for k, v in enumerate(_LOOK23.echo) if v}, M_MUSCLE: 0.22, M_DEEP: 0.012}),
    tex_lines=_lut({M_DEEP: 0.12, M_ESO_WALL: 0.3, M_FAT: 0.1}),
    lines_extra=_lut({}),
    fascia=_lut({M_FAT: 2.0, M_MUSCLE: 0.4, M_DEEP: 2.2}),
    fascia_extra=0.0,
    web=_lut({M_FAT: 6.0, M_MUSCLE: 0.8, M_DEEP: 7.0}),
    lobules=_lut({M_DEEP: 0.8, M_FAT: 0.4}),
)
# Phantom 2.5: 2.4 with fascia where anatomy puts them. 2.4's short round arcs read as worms and
# its straight planes as streaks through the loose tissue; here a few long, gently curved planes
# (`_plane_tile`) lie under the skin and near the outlines of the muscles, gland and vessels
# (`_near_outlines`) and fade away from them. Also: a slightly uneven thyroid parenchyma, smoother,
# brighter muscle (a fine starry sky, not gravel), less beaded walls and skin line, near-field
# clutter as haze rather than bright dashes, and the tracheal ring-down kept off the ring's steep
# sides (`_facing`).
_LOOK25 = dataclasses.replace(
    _LOOK24,
    echo=_lut({**{k: float(v) for k, v in enumerate(_LOOK24.echo) if v}, M_MUSCLE: 0.30}),
    tex_dots=_lut({M_THYROID: 0.26, M_FAT: 0.25, M_DEEP: 0.5, M_ESO_MUCOSA: 0.4, M_ESO_WALL: 0.5}),
    tex_low=_lut({M_MUSCLE: 0.35, M_THYROID: 0.42, M_DEEP: 2.0, M_FAT: 0.8}),
    tex_lines=_lut({M_DEEP: 0.04, M_ESO_WALL: 0.3, M_FAT: 0.04}),
    fascia=_lut({M_FAT: 1.2, M_MUSCLE: 0.3, M_DEEP: 0.5}),
    web=_lut({M_FAT: 9.0, M_MUSCLE: 1.2, M_DEEP: 10.0}),
    lobules=_lut({M_DEEP: 0.6, M_FAT: 0.12}),
    muscle_dots=0.55,
    clutter_dashes=0.06,
    clutter_haze=0.06,
    facing_extrapolate=True,
    spec_frag=(1.5, 1.1),
    web_style=2,
    web_near_mm=2.5,
)
_LOOKS = {
    2: _LOOK2,
    3: _LOOK21,
    4: _LOOK22,
    5: _LOOK23,
    6: _LOOK24,
    7: _LOOK25,
}  # look number -> parameters (look 1: the original)

_DR_DB, _GAMMA, _REF_DB = 40.0, 2.0, 14.0
_DEPTH_FALLOFF_DB_PER_CM = 1.2
_GAMMA_LUT = (np.linspace(0.0, 1.0, 4096) ** _GAMMA * 255.0).astype(np.float32)


@dataclass(frozen=True)
class Tiles:
    """Precomputed unit-mean speckle intensity and texture noise (normalised, std 1)."""

    speckle_near: np.ndarray  # (N, H, W) narrow lateral PSF (in focus)
    speckle_far: np.ndarray  # (N, H, W) wide lateral PSF (near field and deep)
    dots: np.ndarray  # (N, H, W) short-axis muscle texture
    lines: np.ndarray  # (N, H, W) long-axis fibres / septa
    low: np.ndarray  # (N, H, W) low-frequency variation
    fascia: np.ndarray  # (N, H, W) 0..1 thin wavy, mostly horizontal lines (fascial planes, septa)
    fascia_thick: np.ndarray  # (N, H, W) the same planes, blurred and scaled (phantom 2.x)
    blobs: np.ndarray  # (N, H, W) 0..1 sparse small blobs


def _lut_of(mat: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per-pixel value of a 256-entry material table (cv2.LUT: several times faster than indexing)."""
    return cv2.LUT(mat, table)


def _norm(a: np.ndarray) -> np.ndarray:
    a = a - a.mean()
    return (a / (a.std() + 1e-9)).astype(np.float32)


def _fascia_tile(rng: np.random.Generator) -> np.ndarray:
    """Thin, wavy, broken lines roughly parallel to the skin: fascial planes and fat septa."""
    img = np.zeros((_TILE_H, _TILE_W), np.float32)
    for _ in range(70):
        n_pts = int(rng.integers(8, 60))
        x = rng.uniform(-50, _TILE_W) + np.cumsum(rng.uniform(6.0, 10.0, n_pts))
        slope = rng.normal(0.0, 0.08)
        y = rng.uniform(0, _TILE_H) + slope * (x - x[0]) + np.cumsum(rng.normal(0.0, 0.9, n_pts))
        amp = np.clip(rng.normal(0.7, 0.35, n_pts), 0.0, 1.2)
        # Fade in and out: a plane is seen over a stretch, then leaves the image plane.
        amp *= np.sin(np.linspace(0.0, math.pi, n_pts)) ** 0.5
        for i in range(n_pts - 1):
            if amp[i] > 0.05:
                cv2.line(
                    img,
                    (int(x[i] * 4), int(y[i] * 4)),
                    (int(x[i + 1] * 4), int(y[i + 1] * 4)),
                    float(amp[i]),
                    1,
                    cv2.LINE_AA,
                    shift=2,
                )
    return cv2.GaussianBlur(img, (0, 0), sigmaX=1.2, sigmaY=0.5)


def _draw_beaded(img: np.ndarray, x: np.ndarray, y: np.ndarray, amp: np.ndarray, thick: int) -> None:
    """Draw a polyline of per-segment brightness `amp` (segments under 0.05 left out) into `img`,
    anti-aliased at quarter-pixel precision: the fascial lines of the web tiles."""
    for i in range(len(x) - 1):
        a = float(amp[i])
        if a > 0.05:
            cv2.line(
                img,
                (int(x[i] * 4), int(y[i] * 4)),
                (int(x[i + 1] * 4), int(y[i + 1] * 4)),
                a,
                thick,
                cv2.LINE_AA,
                shift=2,
            )


def _web_tile(rng: np.random.Generator) -> np.ndarray:
    """Curved, beaded fascial arcs (phantom 2.4): planes that wrap around muscles and vessels,
    bright where the arc runs across the beam (a horizontal tangent), fading where it turns."""
    img = np.zeros((_TILE_H, _TILE_W), np.float32)
    for _ in range(50):
        cx, cy = rng.uniform(-60, _TILE_W + 60), rng.uniform(-40, _TILE_H + 40)
        ax, ay = rng.uniform(40, 190), rng.uniform(12, 55)
        rot = math.radians(rng.normal(0.0, 8.0))
        start = rng.uniform(0.0, 2 * math.pi)
        sweep = math.radians(rng.uniform(40, 150))
        n = max(8, int(sweep * max(ax, ay) / 5))
        th = start + np.linspace(0.0, sweep, n)
        ex, ey = ax * np.cos(th), ay * np.sin(th)
        x = cx + ex * math.cos(rot) - ey * math.sin(rot) + np.cumsum(rng.normal(0, 0.6, n))
        y = cy + ex * math.sin(rot) + ey * math.cos(rot) + np.cumsum(rng.normal(0, 0.6, n))
        dx, dy = np.gradient(x), np.gradient(y)
        facing = (np.abs(dx) / (np.hypot(dx, dy) + 1e-6)) ** 3
        amp = np.clip(rng.normal(0.8, 0.3, n), 0.0, 1.3) * facing
        amp *= np.sin(np.linspace(0.0, math.pi, n)) ** 0.5
        beads = np.clip(1.0 + 0.6 * rng.standard_normal(n), 0.2, 2.0)
        thick = 2 if rng.uniform() < 0.6 else 3
        _draw_beaded(img, x, y, amp * beads, thick)
    return cv2.GaussianBlur(img, (0, 0), sigmaX=1.4, sigmaY=0.8)


def _plane_tile(rng: np.random.Generator) -> np.ndarray:
    """Long, gently curved fascial planes (phantom 2.5): thin beaded lines that run across the
    image for a few centimetres, bending a little as they pass over the structures below, brightest
    where they face the beam. 2.4's arcs were short and round and read as worms."""
    img = np.zeros((_TILE_H, _TILE_W), np.float32)
    for _ in range(12):
        length = rng.uniform(160.0, 480.0)
        x0 = rng.uniform(-120.0, _TILE_W - 40.0)
        n = max(12, int(length / 4))
        x = x0 + np.linspace(0.0, length, n)
        xm = x0 + rng.uniform(0.2, 0.8) * length
        bend = rng.normal(0.0, 1.0 / 900.0)  # a shallow arch or sag over the length
        y = (
            rng.uniform(0, _TILE_H)
            + rng.normal(0.0, 0.03) * (x - x0)
            + bend * (x - xm) ** 2
            + np.cumsum(rng.normal(0.0, 0.45, n))
        )
        dx, dy = np.gradient(x), np.gradient(y)
        facing = (np.abs(dx) / (np.hypot(dx, dy) + 1e-6)) ** 4
        amp = np.clip(rng.normal(0.75, 0.3, n), 0.0, 1.3) * facing
        amp *= np.sin(np.linspace(0.0, math.pi, n)) ** 0.35
        beads = np.clip(1.0 + 0.5 * rng.standard_normal(n), 0.25, 1.8)
        thick = 1 if rng.uniform() < 0.55 else 2
        _draw_beaded(img, x, y, amp * beads, thick)
    return cv2.GaussianBlur(img, (0, 0), sigmaX=1.2, sigmaY=0.7) * np.float32(1.6)


@lru_cache(maxsize=2)
def web_tiles(style: int = 1) -> np.ndarray:
    """(N, H, W) fascial web tiles, from their own fixed seed: the older looks' tiles and draws are
    untouched. Style 1 (phantom 2.4): curved arcs around the structures; style 2 (phantom 2.5): long,
    gently curved planes (`_plane_tile`)."""
    if style == 2:
        rng = np.random.default_rng(_TILE_SEED + 25)
        return np.stack([_plane_tile(rng) for _ in range(_N_TILES)])
    rng = np.random.default_rng(_TILE_SEED + 24)
    return np.stack([_web_tile(rng) for _ in range(_N_TILES)])


@lru_cache(maxsize=1)
def tiles() -> Tiles:
    """Build (once per process) the speckle and texture tiles from a fixed seed."""
    rng = np.random.default_rng(_TILE_SEED)
    shp = (_TILE_H, _TILE_W)

    def speckle(sig_ax: float, sig_lat: float) -> np.ndarray:
        re = rng.standard_normal(shp, dtype=np.float32)
        im = rng.standard_normal(shp, dtype=np.float32)
        # PSF: Gaussian envelope, FWHM = 2.355 sigma.
        re = cv2.GaussianBlur(re, (0, 0), sigmaX=sig_lat, sigmaY=sig_ax)
        im = cv2.GaussianBlur(im, (0, 0), sigmaX=sig_lat, sigmaY=sig_ax)
        inten = re * re + im * im
        return (inten / inten.mean()).astype(np.float32)

    def noise(sig_ax: float, sig_lat: float, angle_deg: float = 0.0) -> np.ndarray:
        n = rng.standard_normal(shp, dtype=np.float32)
        n = cv2.GaussianBlur(n, (0, 0), sigmaX=sig_lat, sigmaY=sig_ax)
        if angle_deg:
            m = cv2.getRotationMatrix2D((_TILE_W / 2, _TILE_H / 2), angle_deg, 1.0)
            n = cv2.warpAffine(n, m, (_TILE_W, _TILE_H), borderMode=cv2.BORDER_REFLECT)
        return _norm(n)

    near = np.stack([speckle(1.45, 3.2) for _ in range(_N_TILES)])
    far = np.stack([speckle(1.45, 4.8) for _ in range(_N_TILES)])
    dots = np.stack([noise(0.75, 2.0) for _ in range(_N_TILES)])
    lines = np.stack([noise(0.9, 11.0, a) for a in (-7.0, 0.0, 6.0, 0.0)])
    low = np.stack([noise(22.0, 30.0) for _ in range(_N_TILES)])
    fascia = [_fascia_tile(rng) for _ in range(_N_TILES)]
    blobs = []
    for _ in range(_N_TILES):
        # Sparse small blobs: intraglandular vessels / follicles (dark spots in the thyroid).
        b = noise(2.2, 3.0)
        blobs.append(np.clip((b - 1.9) * 1.5, 0.0, 1.0).astype(np.float32))
    fascia = np.stack(fascia)
    thick = np.stack([cv2.GaussianBlur(f, (0, 0), sigmaX=1.6, sigmaY=1.1) * 2.2 for f in fascia])
    return Tiles(near, far, dots, lines, low, fascia, thick, np.stack(blobs))


@dataclass(frozen=True)
class TileOffsets:
    """Where each frame's crops come from; sweeps move them with the tissue."""

    oy: int
    ox: int
    index: int
    index2: int  # second look / crossfade partner
    mix: float = 0.0  # 0..1 crossfade toward index2 (out-of-plane motion decorrelates speckle)

    @classmethod
    def random(cls, rng: np.random.Generator) -> TileOffsets:
        i = int(rng.integers(0, _N_TILES))
        return cls(
            int(rng.integers(0, _TILE_H - 448)),
            int(rng.integers(0, _TILE_W - 495)),
            i,
            (i + 1 + int(rng.integers(0, _N_TILES - 1))) % _N_TILES,
        )


def _crop(
    stack: np.ndarray, i: int, off: TileOffsets, h: int, w: int, dy: int = 0, dx: int = 0
) -> np.ndarray:
    oy = (off.oy + dy) % (_TILE_H - h)
    ox = (off.ox + dx) % (_TILE_W - w)
    return stack[i % _N_TILES, oy : oy + h, ox : ox + w]


class _Noise:
    """Crops of the tiles at one offset, or a crossfade of two (sweeps: tissue moving through)."""

    def __init__(self, a: TileOffsets, b: TileOffsets | None, mix: float, h: int, w: int) -> None:
        self.a, self.b, self.h, self.w = a, b, h, w
        self.mix = float(mix) if b is not None else 0.0
        # Blending two independent fields shrinks the std: restore it for zero-mean noise.
        self.norm = 1.0 / math.hypot(1.0 - self.mix, self.mix)

    def blend(self, stack: np.ndarray, di: int = 0, dy: int = 0, dx: int = 0) -> np.ndarray:
        """Crossfade of non-negative maps (no std correction)."""
        ca = _crop(stack, self.a.index + di, self.a, self.h, self.w, dy, dx)
        if self.mix <= 0.0:
            return ca
        cb = _crop(stack, self.b.index + di, self.b, self.h, self.w, dy, dx)
        return ca * (1.0 - self.mix) + cb * self.mix

    def zero_mean(self, stack: np.ndarray, di: int = 0, dy: int = 0, dx: int = 0) -> np.ndarray:
        ca = _crop(stack, self.a.index + di, self.a, self.h, self.w, dy, dx)
        if self.mix <= 0.0:
            return ca
        cb = _crop(stack, self.b.index + di, self.b, self.h, self.w, dy, dx)
        return (ca * (1.0 - self.mix) + cb * self.mix) * self.norm

    def speckle(self, stack: np.ndarray, dy: int = 0, dx: int = 0) -> np.ndarray:
        """Compounded looks (unit mean)."""

        def looks(off: TileOffsets) -> np.ndarray:
            # Three compounded looks (spatial compounding): smoother than single-look speckle.
            a = _crop(stack, off.index, off, self.h, self.w, dy, dx)
            b = _crop(stack, off.index2, off, self.h, self.w, dy + 5, dx + 3)
            c = _crop(stack, off.index + off.index2 + 1, off, self.h, self.w, dy + 61, dx + 17)
            return (a + b + c) * np.float32(1.0 / 3.0)

        sa = looks(self.a)
        if self.mix <= 0.0:
            return sa
        return sa * (1.0 - self.mix) + looks(self.b) * self.mix


def _texture_weights(
    v2: _Look2 | None, subject: Subject, long_axis: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-material mean echo and texture exponents (dots, fibre lines, low-frequency)."""
    # One exponent for every texture: per-material weights of dots, fibre lines and low-frequency
    # variation. Muscle: bright perimysium dots (short axis) or pennate lines (long axis) in a dark
    # belly; thyroid: fine homogeneous grain; deep tissue: weak mixed texture.
    cd, cl, co = _TEX_DOTS.copy(), _TEX_LINES.copy(), _TEX_LOW
    cd[M_MUSCLE], cl[M_MUSCLE] = 1.15 * (1.0 - long_axis), 1.3 * long_axis
    base = (v2.echo if v2 else _ECHO).copy()
    if v2:
        cd, cl, co = v2.tex_dots.copy(), v2.tex_lines.copy(), v2.tex_low
        cd[M_MUSCLE] = (1.25 * (1.0 - long_axis) + 0.35) * v2.muscle_dots
        cl[M_MUSCLE] = 1.5 * long_axis + 0.35
        cl += v2.lines_extra  # faint streaks in fat and connective tissue
    base[M_MUSCLE] *= subject.muscle_gain
    base[M_THYROID] *= subject.thyroid_gain
    return base, cd, cl, co


def _diffuse_echo(
    scene: Scene, subject: Subject, v2: _Look2 | None, t: Tiles, nz: _Noise, rows_mm: np.ndarray
) -> np.ndarray:
    """Diffuse backscatter map: textured tissue, fascial planes, thyroid spots, near-field clutter."""
    mat = scene.mat
    a = math.radians(scene.angle_deg)
    long_axis = abs(math.sin(a))  # 0: fibres cut across (dots), 1: along (lines)

    dots = nz.zero_mean(t.dots)
    lines = nz.zero_mean(t.lines, 1, 37, 53)
    low = nz.zero_mean(t.low, 0, 11, 19)

    base, cd, cl, co = _texture_weights(v2, subject, long_axis)
    echo = _lut_of(mat, base) * np.exp(
        _lut_of(mat, cd) * dots + _lut_of(mat, cl) * lines + _lut_of(mat, co) * low
    )
    # Fascial planes and septa: thin bright sheets, strongest in fat, present in muscle and
    # deep tissue, absent inside the thyroid and lumens.
    fas = nz.blend(t.fascia, 0, 23, 71)
    if v2:  # thicker, fewer-looking planes: a blurred copy spreads a line over a wall's thickness
        fas = nz.blend(t.fascia_thick, 0, 23, 71)
        if v2.fascia_extra:  # 2.2: more, longer planes (a second, offset set of the same tiles)
            fas = fas + v2.fascia_extra * nz.blend(t.fascia_thick, 2, 157, 211)
    echo += _lut_of(mat, v2.fascia if v2 else _FASCIA) * fas
    if v2 is not None and v2.web is not None:  # 2.4: the curved fascial web
        web = nz.blend(web_tiles(v2.web_style), 1, 83, 29)
        if v2.web_near_mm:
            web = web * _near_outlines(scene, rows_mm, v2.web_near_mm)
        echo += _lut_of(mat, v2.web) * web
        fas = fas + web
    if v2:
        # Connective tissue between the organs: echogenic streaks and lobules, dark fat between.
        echo += _lut_of(mat, v2.lobules) * nz.blend(t.blobs, 2, 41, 13) * (1.0 + 0.8 * fas)
    # Thyroid: a few small hypoechoic spots (vessels, follicles) in the homogeneous parenchyma.
    echo *= 1.0 - _lut_of(mat, _BLOB_DARK) * nz.blend(t.blobs, 1, 3, 5)
    # Near-field clutter: reverberation between the probe face and the skin.
    if v2:  # clutter: a few streaks and haze in the first millimetres, not a flat bright band
        near = np.exp(-rows_mm / 2.5)[:, None]
        echo = echo + near * (v2.clutter_haze + v2.clutter_dashes * nz.blend(t.fascia, 3, 7, 3))
    else:
        echo = echo + (0.25 * np.exp(-rows_mm / 1.8))[:, None]
    return echo


def _near_outlines(scene: Scene, rows_mm: np.ndarray, near_mm: float) -> np.ndarray:
    """(H, W) 0.2..1: how close each pixel is to a structure's outline or to the superficial
    layers (phantom 2.5). Fascia wrap the muscles, glands and vessels and lie under the skin; the
    loose tissue far from any of them is smooth, not streaked."""
    sid = scene.sid.astype(np.uint8)
    edge = cv2.morphologyEx(sid, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
    dist = cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, 3) * np.float32(scene.mm_per_px)
    near = np.exp(-dist / np.float32(near_mm))
    superficial = np.clip((9.0 - rows_mm) / 4.0, 0.0, 1.0)[:, None]
    return (0.08 + 0.92 * np.maximum(near, superficial)).astype(np.float32)


def _specular(scene: Scene, v2: _Look2 | None, t: Tiles, nz: _Noise) -> np.ndarray:
    """Specular wall reflections, bright where the interface faces the beam, fragmented."""
    mat = scene.mat
    # Specular reflections: bright only where the interface normal points along the beam.
    # Each structure is wrapped in its own fascia/capsule: a per-structure impedance step.
    sheath = _lut_of(scene.sid, _SID_IMPEDANCE)
    if v2 is not None and v2.sid_impedance_scale != 1.0:
        sheath = sheath * np.float32(v2.sid_impedance_scale)
    z = cv2.GaussianBlur(_lut_of(mat, _IMPEDANCE) + sheath, (0, 0), 0.8)
    gy = cv2.Sobel(z, cv2.CV_32F, 0, 1, ksize=3)
    gx = cv2.Sobel(z, cv2.CV_32F, 1, 0, ksize=3)
    g2 = gx * gx + gy * gy + 1e-6
    cos2 = gy * gy / g2
    spec = np.sqrt(g2) * cos2 * cos2 * cos2
    # Fragmented walls: a real fascia is a broken, beaded line, not a pen stroke.
    if v2:  # walls as broken, beaded lines: bright where they face the beam, gone elsewhere
        c4 = cos2 * cos2
        spec = np.sqrt(g2) * c4 * c4 * cos2
        fa, fb = v2.spec_frag
        frag = np.exp(fa * nz.zero_mean(t.lines, 2, 91, 7) - fb)
        spec = spec * frag * v2.spec_gain
    else:
        frag = np.exp(1.5 * nz.zero_mean(t.lines, 2, 91, 7) - 1.1)
        spec = spec * frag * 9.0
    return spec


def _transmission(
    scene: Scene, v2: _Look2 | None, cols: np.ndarray, shift: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel transmission down each column, and the lumen mask: (trans, lumen)."""
    mat = scene.mat
    h, w = mat.shape
    mmpp = scene.mm_per_px
    # Transmission: cumulative excess attenuation down each column, shifted by the pulse length.
    att = _lut_of(mat, v2.atten if v2 else _ATTEN) * np.float32(mmpp)
    lumen = ((mat == M_LUMEN) | (mat == M_VEIN)).astype(np.float32)
    edge = np.abs(cv2.Sobel(cv2.GaussianBlur(lumen, (0, 0), 1.0), cv2.CV_32F, 1, 0, ksize=3))
    att = att + 0.2 * edge  # refraction: a thin dark streak under each side wall of a vessel
    # Below the tracheal air line nothing is transmitted (the dirty shadow is added later as
    # haze and reverberation).
    air_top = scene.air_top_px
    att[np.minimum(air_top[cols] + shift, h - 1), cols] += 40.0
    cum = np.cumsum(att, axis=0)
    cum = np.vstack([np.zeros((shift, w), np.float32), cum[:-shift]])
    trans = np.exp(cum * np.float32(-math.log(10.0) / 10.0))
    # The beam has a width: shadows and enhancement have soft lateral edges.
    trans = cv2.GaussianBlur(trans, (0, 0), sigmaX=3.0, sigmaY=0.1)
    if v2 is not None and v2.deep_spread_px:
        # The beam widens beyond the focus: deep down, shadows and enhancement spread sideways
        # and lose contrast instead of running as sharp pillars to the bottom of the image.
        wide = cv2.GaussianBlur(trans, (0, 0), sigmaX=v2.deep_spread_px, sigmaY=0.1)
        rows_mm = (np.arange(h, dtype=np.float32) + 0.5) * np.float32(mmpp)
        wgt = np.clip((rows_mm - 18.0) / 12.0, 0.0, 1.0)[:, None]
        trans = trans * (1.0 - wgt) + wide * wgt
    return trans, lumen


def _speckle(t: Tiles, nz: _Noise, rows_mm: np.ndarray, focus_mm: float) -> np.ndarray:
    """Unit-mean speckle whose lateral grain widens away from the focus."""
    # Speckle: two compounded looks; lateral grain widens away from the focus (~18 mm).
    wfar = np.clip(np.abs(rows_mm - focus_mm) / 14.0, 0.0, 1.0)[:, None]
    return nz.speckle(t.speckle_near) * (1.0 - wfar) + nz.speckle(t.speckle_far) * wfar


def _intensity(
    echo: np.ndarray, spec: np.ndarray, trans: np.ndarray, speck: np.ndarray, v2: _Look2 | None
) -> np.ndarray:
    """Received intensity: blurred diffuse echo times speckle plus the coherent walls."""
    # v2: soft organ edges, the beam and the compounding blur every boundary by a millimetre or so.
    sig_x, sig_y = (3.6, 2.3) if v2 else (1.6, 0.8)
    diffuse = cv2.GaussianBlur(echo * trans, (0, 0), sigmaX=sig_x, sigmaY=sig_y)
    inten = diffuse * speck
    # Nothing coherent comes back from below the air line (no posterior tracheal wall).
    coherent = cv2.GaussianBlur(spec * trans, (0, 0), sigmaX=1.4, sigmaY=0.7)
    inten += coherent * (0.55 + 0.45 * speck)
    return inten


def _add_dirty_shadow(
    inten: np.ndarray,
    speck: np.ndarray,
    scene: Scene,
    v2: _Look2 | None,
    has_air: np.ndarray,
    cols: np.ndarray,
    shift: int,
    cart_mm: float = 1.8,
) -> None:
    """Add (in place) the reverberations and haze under the tracheal air line."""
    if not cols.size:
        return
    h = scene.mat.shape[0]
    mmpp = scene.mm_per_px
    air_top = scene.air_top_px
    rows = np.arange(h)[:, None]
    # Dirty shadow: reverberation copies of the air line at 2x, 3x, 4x its depth, plus haze.
    c0, c1 = int(cols[0]), int(cols[-1]) + 1
    at = air_top[c0:c1].astype(np.float32)[None, :]
    amp_line = 2.0 * has_air[c0:c1].astype(np.float32)[None, :]
    r = rows.astype(np.float32)
    sig = 0.35 / mmpp
    rev = np.zeros((h, c1 - c0), np.float32)
    for k, amp in ((2, 0.22), (3, 0.08), (4, 0.03)):
        lo = int(max(0, at.min() * k - 4 * sig))
        if lo >= h:
            continue
        d = (r[lo:] - k * at) / sig
        rev[lo:] += amp * np.exp(-0.5 * d * d)
    below = r - (at + shift)
    haze_amp = v2.haze_amp if v2 else 0.003  # v2: a dirty shadow, grey haze with the reverberations
    haze = (below >= 0) * (haze_amp * np.exp(np.clip(below, 0.0, None) * np.float32(-mmpp / 9.0)))
    if v2 is not None and v2.ringdown:
        # The haze is reverberation too: it comes from where the wall faces the beam and builds
        # up over a millimetre, so the steep sides of the ring get no bright rim.
        haze = haze * (0.25 + 0.75 * _facing(at, has_air[c0:c1], v2.facing_extrapolate))
        haze = haze * (1.0 - np.exp(np.clip(below, 0.0, None) * np.float32(-mmpp / 1.2)))
    rev = cv2.GaussianBlur(rev * amp_line, (0, 0), sigmaX=2.5, sigmaY=0.5)
    if v2 is not None and v2.ringdown:
        rev += _ringdown(at, has_air[c0:c1], r, mmpp, cart_mm, v2.facing_extrapolate)
    inten[:, c0:c1] += (rev + haze) * speck[:, c0:c1]


def _facing(at: np.ndarray, has_air: np.ndarray, extrapolate: bool = False) -> np.ndarray:
    """(1, n) how squarely the tracheal air line faces the beam in each column (1 flat, 0 steep).

    `extrapolate` (phantom 2.5): continue the line's slope past the ends of the air line before
    smoothing. The default mirrors it there, which reads the steep ends of the ring as flat and
    draws ring-down as vertical stripes down the trachea's sides.
    """
    a = at.astype(np.float32)
    pad = 12 if extrapolate and a.shape[1] >= 4 else 0
    if pad:
        k = np.arange(1, pad + 1, dtype=np.float32)
        left = a[0, 0] - (a[0, 3] - a[0, 0]) / 3.0 * k[::-1]
        right = a[0, -1] + (a[0, -1] - a[0, -4]) / 3.0 * k
        a = np.concatenate([left, a[0], right])[None, :]
    at_s = cv2.GaussianBlur(a, (0, 0), sigmaX=4.0, sigmaY=0.1)
    slope = np.gradient(at_s[0])[None, :]
    if pad:
        slope = slope[:, pad:-pad]
    return (1.0 / (1.0 + 4.0 * slope * slope)) ** 2 * has_air.astype(np.float32)[None, :]


def _ringdown(
    at: np.ndarray, has_air: np.ndarray, r: np.ndarray, mmpp: float, wall_mm: float, extrapolate: bool = False
) -> np.ndarray:
    """Bright tracheal air line and the ring-down under it (phantom 2.2).

    The pulse bounces between the air-mucosa interface and the front of the cartilage: closely
    spaced copies of the air line, parallel to it and fading, where the wall faces the beam (the
    top of the arc); the steep sides of the ring send little back.
    """
    facing = _facing(at, has_air, extrapolate)
    sig = np.float32(0.28 / mmpp)
    step = max(1.2, wall_mm) / mmpp
    out = np.zeros((r.shape[0], at.shape[1]), np.float32)
    for k, amp in enumerate((2.5, 0.9, 0.5, 0.28, 0.15, 0.08)):
        d = (r - at - k * step) / sig
        out += np.float32(amp) * np.exp(-0.5 * d * d)
    return cv2.GaussianBlur(out * facing, (0, 0), sigmaX=2.0, sigmaY=0.4)


def _scanner_settings(
    pose: Pose,
    v2: _Look2 | None,
    rng: np.random.Generator,
    rows_mm: np.ndarray,
    focus_mm: float,
    shows_longus_colli: bool = True,
) -> tuple[np.ndarray, float, np.ndarray, float]:
    """Depth gain curve and display settings: (gain_db, dr_db, gamma_lut, ref_db)."""
    # Depth gain: residual TGC slope, a focal bump, then the electronic noise floor.
    # Scanners are usually set so the deep neck (behind the vertebrae) falls off a little.
    gain_db = (
        pose.gain_db
        + (pose.tgc_db_per_cm - _DEPTH_FALLOFF_DB_PER_CM) * rows_mm / 10.0
        + 1.5 * np.exp(-(((rows_mm - focus_mm) / 8.0) ** 2))
    )
    dr_db, gamma_lut, ref_db = _DR_DB, _GAMMA_LUT, _REF_DB
    if v2:
        # Behind the vertebrae and the deep muscles little comes back: the deep field goes dark.
        deep_from, deep_slope = v2.deep_from_mm, v2.deep_db_per_mm
        from_range, slope_range = v2.deep_from_mm_range, v2.deep_db_per_mm_range
        if not shows_longus_colli and v2.deep_from_mm_range_no_lc is not None:
            from_range, slope_range = v2.deep_from_mm_range_no_lc, v2.deep_db_per_mm_range_no_lc
        if from_range is not None and slope_range is not None:
            deep_from = float(rng.uniform(*from_range))
            deep_slope = float(rng.uniform(*slope_range))
        gain_db = gain_db - deep_slope * np.clip(rows_mm - deep_from, 0.0, None)
        # Domain randomisation: every frame its own scanner settings (gain, dynamic range, gamma).
        gain_db = gain_db + float(rng.normal(0.0, 1.5))
        dr_db = float(rng.uniform(*v2.dr_db))
        gamma_lut = (np.linspace(0.0, 1.0, 4096) ** float(rng.uniform(*v2.gamma)) * 255.0).astype(np.float32)
        ref_db = _REF_DB + v2.ref_shift_db
    return gain_db, dr_db, gamma_lut, ref_db


def _log_compress(inten: np.ndarray, ref_db: float, dr_db: float, gamma_lut: np.ndarray) -> np.ndarray:
    """Log-compress the intensity through the gamma table to a uint8 image."""
    # Log compression: DR 40 dB with a power law that stretches it toward the scanner's 50-60 dB.
    q = np.log10(inten + 1e-9)
    q = np.clip((q * 10.0 - ref_db + dr_db) * (4095.0 / dr_db), 0.0, 4095.0).astype(np.int16)
    gray = gamma_lut[q]
    gray = cv2.GaussianBlur(gray, (3, 3), 0.55)
    return np.clip(gray + 0.5, 0, 255).astype(np.uint8)


def render_bmode(
    scene: Scene,
    subject: Subject,
    pose: Pose,
    rng: np.random.Generator,
    offsets: TileOffsets | None = None,
    offsets_b: TileOffsets | None = None,
    mix: float = 0.0,
    look: int = 1,
    longus_colli_preset: bool | None = None,
) -> np.ndarray:
    """Render a scene as a log-compressed B-mode image.

    Args:
        scene: the frame's geometry.
        subject: the volunteer (tissue gains).
        pose: probe pose and scanner settings (gain, TGC).
        rng: the frame's generator (fragmentation of walls, noise floor).
        offsets: speckle/texture crop positions; random when None.
        offsets_b: a second set of crop positions to crossfade toward (sweeps).
        mix: 0..1 weight of `offsets_b`.
        look: 1 = the original rendering (phantom 1.x); 2 = the scanner look of phantom 2.0
            (`_Look2`: tissue everywhere, compounded smooth speckle, dark deep field, dirty
            tracheal shadow, randomised scanner settings); 3 = phantom 2.1, the scanner look with
            the deep fall-off randomised per frame; 4 = phantom 2.2 (`_LOOK22`, closer to a scan);
            5 = phantom 2.3 (`_LOOK23`, 2.2 with the depth gain set so a longus colli stays visible);
            6 = phantom 2.4 (`_LOOK24`, 2.3 with a curved fascial web instead of straight streaks);
            7 = phantom 2.5 (`_LOOK25`, 2.4 with long planes near the outlines instead of the arcs).
        longus_colli_preset: 2.3's depth gain for a frame with a longus colli (True) or without
            (False); None decides from `scene` (a still). A sweep keeps one preset throughout, as
            a sonographer does not change it mid-sweep.

    Returns:
        (H, W) uint8 grayscale image.
    """
    t = tiles()
    v2 = _LOOKS.get(look)
    h, w = scene.mat.shape
    mmpp = scene.mm_per_px
    # Random draws, in order: the crop offsets here, then the scanner settings, then the
    # lateral smoothing (v2 only). Keep that order: the generator is seeded.
    off = offsets or TileOffsets.random(rng)
    nz = _Noise(off, offsets_b, mix, h, w)
    rows_mm = (np.arange(h, dtype=np.float32) + 0.5) * mmpp
    focus_mm = 18.0

    echo = _diffuse_echo(scene, subject, v2, t, nz, rows_mm)
    spec = _specular(scene, v2, t, nz)
    # Columns under the tracheal air line, and the pulse length in rows.
    shift = max(1, int(round(0.4 / mmpp)))
    has_air = scene.air_top_px < h
    cols = np.flatnonzero(has_air)
    trans, lumen = _transmission(scene, v2, cols, shift)
    speck = _speckle(t, nz, rows_mm, focus_mm)
    inten = _intensity(echo, spec, trans, speck, v2)
    _add_dirty_shadow(inten, speck, scene, v2, has_air, cols, shift, subject.cartilage_t_mm)

    shows_lc = longus_colli_preset
    if shows_lc is None:  # a still: the depth gain set for what this frame shows
        shows_lc = any(a.organ_id == LONGUS_COLLI_ID for a in scene.annotations)
    gain_db, dr_db, gamma_lut, ref_db = _scanner_settings(pose, v2, rng, rows_mm, focus_mm, shows_lc)
    inten *= np.power(np.float32(10.0), gain_db / 10.0).astype(np.float32)[:, None]
    inten += 2e-5 * _crop(t.speckle_far, off.index + 3, off, h, w, 29, 41)
    if v2:
        # Spatial compounding and speckle-reduction filtering: a smooth, coarser grain; a faint
        # haze inside lumens (the real lumen is not pure black).
        sx = float(rng.uniform(*v2.smooth_lat))
        inten = cv2.GaussianBlur(inten, (0, 0), sigmaX=sx, sigmaY=sx * 0.55)
        inten += v2.lumen_haze * lumen * speck
    return _log_compress(inten, ref_db, dr_db, gamma_lut)
