"""Virtual subjects: a 3-D neck model (tubes along the cranio-caudal axis) sliced by a probe pose.

World frame, millimetres: x lateral (+ = patient's LEFT), y depth below the skin, z cranio-caudal
(+ = caudal, 0 = mid thyroid level). A pose is a plane through the neck: image column u runs along
(cos a, sin a) in the x-z plane, so a = 0 is transverse (image-left = patient-right) and a = 90 is
longitudinal (image-left = cranial), the usual display conventions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Materials: what the B-mode renderer needs to know about a pixel.
M_DEEP, M_SKIN, M_FAT, M_MUSCLE, M_THYROID, M_CARTILAGE, M_AIR = 0, 1, 2, 3, 4, 5, 6
M_LUMEN, M_VESSEL_WALL, M_ESO_WALL, M_ESO_MUCOSA, M_BONE, M_VEIN = 7, 8, 9, 10, 11, 12
N_MATERIALS = 13

# Structure ids in the label map (0 = none). Bilateral organs get one id per side.
_R, _L = -1, 1


@dataclass(frozen=True)
class StructureSpec:
    """A named structure: organ id (None = unlabelled tissue) and side (-1 right, +1 left, 0 mid)."""

    sid: int
    name: str
    organ_id: int | None
    side: int


STRUCTURES: tuple[StructureSpec, ...] = (
    StructureSpec(1, "skin", None, 0),
    StructureSpec(2, "fat", None, 0),
    StructureSpec(3, "vertebra", None, 0),
    StructureSpec(4, "longus_colli_r", 5, _R),
    StructureSpec(5, "longus_colli_l", 5, _L),
    StructureSpec(6, "thyroid_r", 1, _R),
    StructureSpec(7, "thyroid_l", 1, _L),
    StructureSpec(8, "esophagus", 4, _L),
    StructureSpec(9, "trachea", 0, 0),
    StructureSpec(10, "strap_r", 6, _R),
    StructureSpec(11, "strap_l", 6, _L),
    StructureSpec(12, "scm_r", 7, _R),
    StructureSpec(13, "scm_l", 7, _L),
    StructureSpec(14, "cca_r", 2, _R),
    StructureSpec(15, "cca_l", 2, _L),
    StructureSpec(16, "ijv_r", 3, _R),
    StructureSpec(17, "ijv_l", 3, _L),
    StructureSpec(18, "transverse_process", None, 0),
)
SPEC_BY_SID = {s.sid: s for s in STRUCTURES}
N_SIDS = max(SPEC_BY_SID) + 2
TRACHEA_HIDDEN_SID = N_SIDS - 1  # posterior part of the tracheal lumen: never labelled


@dataclass(frozen=True)
class Subject:
    """One virtual volunteer's anatomy (millimetres) and tissue gains."""

    name: str
    skin_mm: float
    fat_mm: float
    strap_t_mm: float
    strap_lat_mm: float
    scm_x_mm: float
    scm_half_w_mm: float
    scm_half_t_mm: float
    lobe_half_w_mm: tuple[float, float]  # (right, left)
    lobe_half_ap_mm: tuple[float, float]
    lobe_half_len_mm: float
    isthmus_t_mm: float
    trachea_r_mm: float
    cartilage_t_mm: float
    cca_x_mm: float
    cca_y_mm: float
    cca_r_mm: float
    ijv_offset_mm: float
    ijv_half_w_mm: float
    ijv_half_h_mm: float
    eso_x_mm: float
    eso_half_w_mm: float
    eso_half_h_mm: float
    vert_y_mm: float
    lc_x_mm: float
    lc_half_w_mm: float
    lc_half_t_mm: float
    muscle_gain: float
    thyroid_gain: float
    shape_seed: int

    @property
    def fat_bottom_mm(self) -> float:
        return self.skin_mm + self.fat_mm

    @property
    def strap_bottom_mm(self) -> float:
        return self.fat_bottom_mm + self.strap_t_mm

    @property
    def trachea_y_mm(self) -> float:
        """Depth of the tracheal centre."""
        return self.strap_bottom_mm + self.isthmus_t_mm + 0.6 + self.trachea_r_mm


def make_subject(rng: np.random.Generator, name: str) -> Subject:
    """Draw one volunteer's anatomy (slim young adults; sizes from the reference notes)."""
    u = rng.uniform
    skin = u(1.0, 1.5)
    fat = u(1.2, 3.8)
    strap_t = u(2.2, 3.6)
    trachea_r = u(7.6, 9.2)
    isthmus = u(2.2, 4.0)
    lobe_w = u(6.5, 8.5)
    lobe_ap = u(5.5, 7.3)
    asym = u(0.9, 1.12)
    strap_bottom = skin + fat + strap_t
    trachea_y = strap_bottom + isthmus + 0.6 + trachea_r
    cca_r = u(3.2, 3.8)  # lumen + wall
    cca_y = max(u(15.5, 19.5), strap_bottom + cca_r + 4.0)
    eso_hh = u(3.2, 4.2)
    vert_y = max(
        trachea_y + trachea_r + u(5.0, 8.0), trachea_y + 0.5 * trachea_r + 2 * eso_hh, cca_y + cca_r + 3.0
    )
    lc_t = u(2.6, 3.6)
    return Subject(
        name=name,
        skin_mm=skin,
        fat_mm=fat,
        strap_t_mm=strap_t,
        strap_lat_mm=u(19.0, 24.0),
        scm_x_mm=u(27.0, 31.0),
        scm_half_w_mm=u(10.0, 12.5),
        scm_half_t_mm=u(2.8, 4.2),
        lobe_half_w_mm=(lobe_w * asym, lobe_w / asym),
        lobe_half_ap_mm=(lobe_ap * asym, lobe_ap / asym),
        lobe_half_len_mm=u(21.0, 27.0),
        isthmus_t_mm=isthmus,
        trachea_r_mm=trachea_r,
        cartilage_t_mm=u(1.5, 2.1),
        cca_x_mm=max(u(23.0, 27.0), trachea_r + 2 * lobe_w * 0.8 + cca_r),
        cca_y_mm=cca_y,
        cca_r_mm=cca_r,
        ijv_offset_mm=u(3.5, 5.5),
        ijv_half_w_mm=u(4.5, 6.5),
        ijv_half_h_mm=u(3.0, 4.2),
        eso_x_mm=trachea_r * u(0.3, 0.75),
        eso_half_w_mm=u(5.0, 6.5),
        eso_half_h_mm=eso_hh,
        vert_y_mm=vert_y,
        lc_x_mm=u(11.0, 14.0),
        lc_half_w_mm=u(5.5, 7.5),
        lc_half_t_mm=lc_t,
        muscle_gain=u(0.8, 1.25),
        thyroid_gain=u(0.85, 1.2),
        shape_seed=int(rng.integers(0, 2**31 - 1)),
    )


@dataclass(frozen=True)
class Pose:
    """A probe position and the scanner settings for one frame."""

    view: str  # trans_lobe, trans_mid, trans_lat, long_carotid, long_lobe, oblique, sweep
    x_mm: float  # centre of the footprint, + = patient's left
    z_mm: float  # + = caudal
    angle_deg: float  # 0 transverse, 90 longitudinal
    depth_mm: float  # displayed depth over the image height
    gain_db: float
    tgc_db_per_cm: float  # residual depth gain slope
    pressure: float  # 0..1, flattens superficial tissue
    ijv_open: float  # 0 collapsed .. 1 fully open
    pulse: float = 0.0  # -1..1 cardiac phase (vessel calibre)


_K = 256  # samples per outline table (nearest lookup: a 1.4 degree step is finer than a pixel)


def _radius_table(rng: np.random.Generator, k: int = _K, amp: float = 0.06) -> np.ndarray:
    """Radius multiplier over angle: low harmonics give organic, non-geometric outlines."""
    th = np.linspace(-math.pi, math.pi, k, endpoint=False)
    r = np.ones(k)
    for h, a in ((2, amp), (3, amp * 0.7), (4, amp * 0.45), (5, amp * 0.3)):
        r += rng.normal(0, a) * np.cos(h * th + rng.uniform(0, 2 * math.pi))
    return r.astype(np.float32)


def _lobe_table(k: int = _K) -> np.ndarray:
    """Polar outline of a thyroid lobe (wedge: broad medial-anterior, tapering laterally).

    In normalised lobe coordinates (+x = lateral, +y = deep); the trachea and CCA carve the rest.
    """
    th = np.linspace(-math.pi, math.pi, k, endpoint=False)
    # A blunt triangle: wide medially, pointed toward the lateral tip and slightly posterior.
    r = 1.0 + 0.16 * np.cos(th - 0.25) - 0.10 * np.cos(2 * th) + 0.05 * np.cos(3 * th + 0.4)
    return (r / r.max() * 1.05).astype(np.float32)


# Corners of a transverse lobe (phantom 2.2), in normalised lobe coordinates (+x lateral, +y deep):
# the lateral tip in front of the carotid, the anteromedial corner under the straps beside the
# trachea, the posteromedial corner beside the oesophagus / longus colli.
_WEDGE_CORNERS = ((1.70, -0.36), (-1.12, -0.95), (-0.95, 1.12))


def _wedge_table(k: int = _K) -> np.ndarray:
    """Polar outline of a wedge-shaped lobe: a triangle with rounded corners (phantom 2.2).

    A straight anterior border under the straps, a medial border along the trachea and a long
    posterolateral border along the carotid, tapering to a lateral tip, as a transverse lobe
    looks on a scan (the older round outline reads as a disc).
    """
    th = np.linspace(-math.pi, math.pi, k, endpoint=False)
    d = np.stack([np.cos(th), np.sin(th)], axis=1)
    r = np.full(k, np.inf)
    pts = np.asarray(_WEDGE_CORNERS)
    for i in range(3):  # ray from the origin against each edge of the triangle
        p, q = pts[i], pts[(i + 1) % 3]
        e = q - p
        den = d[:, 0] * e[1] - d[:, 1] * e[0]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (p[0] * e[1] - p[1] * e[0]) / den
            u = (p[0] * d[:, 1] - p[1] * d[:, 0]) / den
        hit = (t > 0) & (u >= -1e-9) & (u <= 1 + 1e-9)
        r = np.where(hit, np.minimum(r, t), r)
    # Round the corners: a circular low-pass of the radius over angle.
    kern = np.exp(-0.5 * (np.arange(-24, 25) / 9.0) ** 2)
    r = np.convolve(np.concatenate([r[-24:], r, r[:24]]), kern / kern.sum(), mode="valid")
    return r.astype(np.float32)


def _lens_table(k: int = _K, sharp: float = 0.6) -> np.ndarray:
    """A lens: unit radius along x, thin along y, pointed ends."""
    th = np.linspace(-math.pi, math.pi, k, endpoint=False)
    c, s = np.abs(np.cos(th)), np.abs(np.sin(th))
    # Superellipse with exponent < 2 gives the pointed ends of a muscle belly.
    p = 1.0 + sharp
    return ((c**p + s**p) ** (-1.0 / p)).astype(np.float32)


def _lookup(table: np.ndarray, theta: np.ndarray) -> np.ndarray:
    idx = ((theta + math.pi) * (_K / (2 * math.pi))).astype(np.int32)
    return table[idx & (_K - 1)]


@dataclass
class _Tube:
    """A tube along z with a star-shaped cross-section (semi-axes a, b) and tapered ends."""

    sid: int
    material: int
    cx: float
    cy: float
    a: float
    b: float
    table: np.ndarray
    kx: float = 0.0  # dx/dz drift of the centre
    ky: float = 0.0
    zc: float = 0.0
    half_len: float = 1e9
    inner: float = 0.0  # inner fraction (ring structures), inner material below
    inner_material: int = 0
    rot: float = 0.0  # rotation of the cross-section (radians)

    def bounds(
        self, zlo: float = -60.0, zhi: float = 60.0
    ) -> tuple[float, float, float, float, float, float]:
        """World box (x0, x1, y0, y1, z0, z1) of the part over the slab zlo..zhi."""
        r = float(self.table.max()) * max(self.a, self.b) * 1.05
        z0 = self.zc - self.half_len if self.half_len < 1e8 else -1e9
        z1 = self.zc + self.half_len if self.half_len < 1e8 else 1e9
        za, zb = max(z0, zlo) - self.zc, min(z1, zhi) - self.zc
        xs = (self.cx + self.kx * za, self.cx + self.kx * zb)
        ys = (self.cy + self.ky * za, self.cy + self.ky * zb)
        return (min(xs) - r, max(xs) + r, min(ys) - r, max(ys) + r, z0, z1)

    def evaluate(self, x: np.ndarray, y: np.ndarray, z: np.ndarray):
        dz = z - self.zc
        if self.half_len < 1e8:
            t = np.clip(1.0 - (dz / self.half_len) ** 2, 0.0, 1.0)
            taper = np.sqrt(np.sqrt(t)).astype(np.float32) + 1e-4
        else:
            taper = np.float32(1.0)
        dx = (x - (self.cx + self.kx * dz)) / (self.a * taper)
        dy = (y - (self.cy + self.ky * dz)) / (self.b * taper)
        if self.rot:
            c, s = math.cos(self.rot), math.sin(self.rot)
            dx, dy = c * dx + s * dy, -s * dx + c * dy
        rho = np.sqrt(dx * dx + dy * dy)
        rr = _lookup(self.table, np.arctan2(dy, dx))
        inside = rho < rr
        mat = np.full(rho.shape, self.material, np.uint8)
        if self.inner > 0:
            mat[rho < rr * self.inner] = self.inner_material
        return inside, mat


@dataclass
class _Trachea:
    """Tracheal ring: cartilage arc (hypoechoic, rings along z) around an air column."""

    sid: int
    cy: float
    r: float
    cart_t: float

    def bounds(self, zlo: float = -60.0, zhi: float = 60.0):
        return (-self.r - 0.5, self.r + 0.5, self.cy - self.r - 0.5, self.cy + self.r + 0.5, -1e9, 1e9)

    def evaluate(self, x, y, z):
        yc = y - self.cy
        rho = np.sqrt(x * x + yc * yc)
        # Cartilage rings every ~4 mm with thin intercartilaginous membranes between them.
        ring = (np.mod(z + 100.0, 4.2) < 2.9).astype(np.float32)
        t = self.cart_t * (0.35 + 0.65 * ring)
        inside = rho < self.r
        mat = np.full(rho.shape, M_AIR, np.uint8)
        mat[rho >= self.r - t] = M_CARTILAGE
        # Only the anterior arc is ever seen (the air line hides the rest): label that part.
        sid = np.where(y < self.cy + 0.1 * self.r, self.sid, TRACHEA_HIDDEN_SID).astype(np.uint8)
        return inside, mat, sid


@dataclass
class _Band:
    """A ribbon under the fat (strap muscles): from the midline raphe to a tapered lateral end."""

    sid: int
    side: int
    top: float
    t: float
    lat: float
    z_half: float = 40.0

    def bounds(self, zlo: float = -60.0, zhi: float = 60.0):
        xs = sorted((self.side * 0.6, self.side * self.lat))
        return (xs[0], xs[1], self.top - 1.0, self.top + self.t + 1.5, -self.z_half, self.z_half)

    def evaluate(self, x, y, z):
        ax = x * self.side
        frac = np.clip((ax - 0.6) / (self.lat - 0.6), 0.0, 1.0)
        # Thickest over the lobe, thinning to a point laterally where it slips under the SCM.
        thick = self.t * np.clip(1.25 - frac**2, 0.0, 1.0) * np.clip(ax / 2.5, 0.0, 1.0)
        top = self.top + 0.6 * frac
        inside = (ax > 0.6) & (ax < self.lat) & (y > top) & (y < top + thick) & (np.abs(z) < self.z_half)
        return inside, np.full(x.shape, M_MUSCLE, np.uint8)


@dataclass
class _Isthmus:
    """The isthmus draped over the front of the trachea, split at the midline into two halves."""

    sid: int
    side: int
    tr_cy: float
    tr_r: float
    t: float
    zc: float
    half_len: float

    def bounds(self, zlo: float = -60.0, zhi: float = 60.0):
        r = self.tr_r + self.t + 1.0
        xs = sorted((0.0, self.side * r))
        return (xs[0], xs[1], self.tr_cy - r, self.tr_cy, self.zc - self.half_len, self.zc + self.half_len)

    def evaluate(self, x, y, z):
        yc = y - self.tr_cy
        rho = np.sqrt(x * x + yc * yc)
        ang = np.abs(np.arctan2(x, self.tr_cy - y))  # 0 at the top of the trachea
        zt = np.clip(1.0 - ((z - self.zc) / self.half_len) ** 2, 0.0, 1.0)
        t = self.t * np.sqrt(zt) * (1.0 + 0.5 * ang)
        inside = (rho > self.tr_r) & (rho < self.tr_r + 0.4 + t) & (ang < 1.2) & (x * self.side >= 0)
        return inside, np.full(x.shape, M_THYROID, np.uint8)


@dataclass
class _Vertebra:
    """Vertebral body (midline) and anterior tubercles: bone with a bright cortex and shadow."""

    sid: int
    y: float
    half_w: float
    table: np.ndarray

    def bounds(self, zlo: float = -60.0, zhi: float = 60.0):
        return (-32.0, 32.0, self.y - 2.0, self.y + 25.0, -1e9, 1e9)

    def evaluate(self, x, y, z):
        ax = np.abs(x)
        # Anterior surface: a shallow arch over the body, a deep gap beside it (the foramina),
        # then the anterior tubercles of the transverse processes.
        body = self.y + 2.2 * (ax / self.half_w) ** 2
        tub = self.y + 3.0 + 2.0 * ((ax - 23.0) / 4.0) ** 2
        surf = np.where(
            ax < self.half_w, body, np.where(ax < 18.5, self.y + 8.0, np.minimum(tub, self.y + 8.0))
        )
        # Vertebral bodies about 15 mm apart, separated by slightly deeper disc spaces.
        ph = np.mod(z + 100.0, 15.0) / 15.0
        surf = surf + 1.2 * np.exp(-(((ph - 0.5) / 0.07) ** 2)) + 0.25 * np.sin(z * 0.41)
        inside = (y > surf) & (ax < 30.0)
        return inside, np.full(x.shape, M_BONE, np.uint8)


class NeckModel:
    """The structures of one subject at one probe pressure and vessel state, in paint order."""

    def __init__(self, subj: Subject, pose: Pose, wedge_lobes: bool = False) -> None:
        """`wedge_lobes`: wedge-shaped thyroid lobes (phantom 2.2) instead of the rounder outline."""
        self.wedge_lobes = wedge_lobes
        rng = np.random.default_rng(subj.shape_seed)
        s = subj
        p = pose.pressure
        # Probe pressure flattens the superficial layers a little.
        fat = s.fat_mm * (1.0 - 0.25 * p)
        fat_bottom = s.skin_mm + fat
        self.skin_mm = s.skin_mm
        self.fat_bottom_mm = fat_bottom
        self.fat_wobble = (rng.uniform(0.05, 0.12), rng.uniform(0, 6.28), rng.uniform(0.2, 0.5))
        strap_bottom = fat_bottom + s.strap_t_mm
        tr_cy = strap_bottom + s.isthmus_t_mm + 0.6 + s.trachea_r_mm
        self.parts: list = []
        # Paint order, and the order of the shape draws from `rng`: keep it (the seed fixes shapes).
        self._add_spine(rng, s, p)
        self._add_thyroid(rng, s, strap_bottom, tr_cy)
        self._add_airway(rng, s, tr_cy)
        self._add_neck_muscles(rng, s, fat_bottom)
        self._add_vessels(rng, s, pose)

    def _add_spine(self, rng: np.random.Generator, s: Subject, p: float) -> None:
        """Add the vertebra and the two longus colli muscles in front of it."""
        add = self.parts.append
        add(_Vertebra(3, s.vert_y_mm - 0.6 * p, 13.0, _radius_table(rng)))
        for sid, side in ((4, _R), (5, _L)):
            add(
                _Tube(
                    sid,
                    M_MUSCLE,
                    side * s.lc_x_mm,
                    s.vert_y_mm + 1.5 - s.lc_half_t_mm * 0.85,
                    s.lc_half_w_mm,
                    s.lc_half_t_mm,
                    _radius_table(rng, amp=0.08) * _lens_table(sharp=0.15),
                    rot=-side * 0.12,
                )
            )

    def _add_thyroid(self, rng: np.random.Generator, s: Subject, strap_bottom: float, tr_cy: float) -> None:
        """Add the two thyroid lobes, each followed by its half of the isthmus."""
        add = self.parts.append
        for sid, side, i in ((6, _R, 0), (7, _L, 1)):
            a, b = s.lobe_half_w_mm[i], s.lobe_half_ap_mm[i]
            wobble = _radius_table(rng, amp=0.05)
            if self.wedge_lobes:  # a wedge, with twice the organic irregularity of its outline
                tab = _wedge_table() * (1.0 + 2.0 * (wobble - 1.0))
            else:
                tab = _lobe_table() * wobble
            if side == _R:  # mirror the outline: the table is drawn for the lateral direction +x
                tab = np.roll(tab[::-1], 1)
            add(
                _Tube(
                    sid,
                    M_THYROID,
                    side * (s.trachea_r_mm + a * 0.75),
                    strap_bottom + b * 0.95,
                    a,
                    b,
                    tab,
                    zc=rng.uniform(-2, 2),
                    half_len=s.lobe_half_len_mm,
                    kx=side * 0.05,
                )
            )
            add(_Isthmus(sid, side, tr_cy, s.trachea_r_mm, s.isthmus_t_mm, 3.0, 8.0))

    def _add_airway(self, rng: np.random.Generator, s: Subject, tr_cy: float) -> None:
        """Add the oesophagus (wall and mucosa) and the trachea."""
        add = self.parts.append
        eso_tab = _radius_table(rng, amp=0.05)
        add(
            _Tube(
                8,
                M_ESO_WALL,
                s.eso_x_mm,
                tr_cy + s.trachea_r_mm * 0.5,
                s.eso_half_w_mm,
                s.eso_half_h_mm,
                eso_tab,
                kx=0.08,
                inner=0.55,
                inner_material=M_ESO_MUCOSA,
            )
        )
        add(_Trachea(9, tr_cy, s.trachea_r_mm, s.cartilage_t_mm))

    def _add_neck_muscles(self, rng: np.random.Generator, s: Subject, fat_bottom: float) -> None:
        """Add the strap muscles and the two sternocleidomastoids under the fat."""
        add = self.parts.append
        for sid, side in ((10, _R), (11, _L)):
            add(_Band(sid, side, fat_bottom, s.strap_t_mm, s.strap_lat_mm))
        for sid, side in ((12, _R), (13, _L)):
            add(
                _Tube(
                    sid,
                    M_MUSCLE,
                    side * s.scm_x_mm,
                    fat_bottom + s.scm_half_t_mm * 0.92,
                    s.scm_half_w_mm,
                    s.scm_half_t_mm,
                    _lens_table() * _radius_table(rng, amp=0.05),
                    kx=-side * 0.3,
                    rot=side * 0.1,
                )
            )

    def _add_vessels(self, rng: np.random.Generator, s: Subject, pose: Pose) -> None:
        """Add the common carotid arteries, then the internal jugular veins beside them."""
        add = self.parts.append
        p = pose.pressure
        # Systolic expansion of the CCA is ~6 % of its diameter.
        cca_r = s.cca_r_mm * (1.0 + 0.03 * pose.pulse)
        for sid, side in ((14, _R), (15, _L)):
            add(
                _Tube(
                    sid,
                    M_VESSEL_WALL,
                    side * s.cca_x_mm,
                    s.cca_y_mm - 0.5 * p,
                    cca_r,
                    cca_r,
                    _radius_table(rng, amp=0.012),
                    kx=-side * 0.08,
                    inner=1.0 - 0.65 / cca_r,
                    inner_material=M_LUMEN,
                )
            )
        # IJV: lateral and slightly anterior to the CCA; flattened by pressure, sitting, breathing.
        for sid, side in ((16, _R), (17, _L)):
            open_ = float(np.clip(pose.ijv_open, 0.0, 1.0))
            size = 1.12 if side == _R else 0.92  # right IJV usually larger
            hw = s.ijv_half_w_mm * size * (1.0 + 0.25 * (1 - open_))
            hh = max(0.25, s.ijv_half_h_mm * size * open_)
            cx = side * (s.cca_x_mm + cca_r + s.ijv_offset_mm + hw * 0.55)
            cy = s.cca_y_mm - 1.2 - 0.5 * p - (s.ijv_half_h_mm * size - hh) * 0.6
            tri = _radius_table(rng, amp=0.07)
            add(_Tube(sid, M_VEIN, cx, cy, hw, hh, tri, kx=-side * 0.1, rot=side * 0.15))

    def fat_bottom(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        amp, ph, fr = self.fat_wobble
        return self.fat_bottom_mm + amp * 3 * np.sin(x * fr * 0.3 + ph) + amp * 2 * np.sin(z * 0.2 + ph * 2)
