"""Realism report: speckle, texture, artifact and label statistics of phantom vs real frames.

Measures (numpy/OpenCV only) follow the reference notes: first-order speckle statistics after
undoing the log compression, speckle size from the autocovariance, enhancement below vessels,
shadow below the trachea, per-organ gray levels, and box sizes/frequencies vs the NNUS counts.
Real reference images are read in place (never copied) and are optional.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from nnus_core.geometry import BoxPx
from nnus_core.organs import ORGANS
from nnus_core.settings import REFERENCE_ENV, get_settings

# Published NNUS box instances (label_instances figure) over 790 images.
PUBLISHED_COUNTS = {0: 242, 1: 552, 2: 622, 3: 32, 4: 76, 5: 311, 6: 548, 7: 585}
PUBLISHED_IMAGES = 790
# Gray -> dB: a display dynamic range assumed for both sources, so the numbers compare.
ASSUMED_DR_DB = 50.0
_WIN = 32  # homogeneous-window size (px)


@dataclass
class FrameStats:
    """Accumulated statistics of one image source."""

    name: str
    n_images: int = 0
    organ_gray: dict[int, list[float]] = field(default_factory=dict)  # pooled pixel samples
    lumen_gray: list[float] = field(default_factory=list)
    env_snr: list[float] = field(default_factory=list)
    log_std: list[float] = field(default_factory=list)
    skew: list[float] = field(default_factory=list)
    acf_axial: list[float] = field(default_factory=list)
    acf_lateral: list[float] = field(default_factory=list)
    enhancement_db: list[float] = field(default_factory=list)
    shadow_db: list[float] = field(default_factory=list)
    depth_profile: list[np.ndarray] = field(default_factory=list)  # rows with echoes only
    depth_profile_frame: list[np.ndarray] = field(default_factory=list)  # whole frame (old figure)
    box_wh: dict[int, list[tuple[float, float]]] = field(default_factory=dict)
    organ_count: dict[int, int] = field(default_factory=dict)
    # Per-frame figures of a structure against a ring of tissue around its box (see `ring_stats`).
    per_frame: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float | None) -> None:
        if value is not None and np.isfinite(value):
            self.per_frame.setdefault(key, []).append(float(value))


def env_snr(values: np.ndarray, dr_db: float = ASSUMED_DR_DB) -> float:
    """Envelope SNR (mean/std) after inverting a linear dB-to-gray map (1.91 = Rayleigh)."""
    env = 10 ** ((values.astype(np.float64) / 255.0 - 1.0) * dr_db / 20.0)
    return float(env.mean() / (env.std() + 1e-12))


def acf_fwhm(patch: np.ndarray) -> tuple[float, float]:
    """Speckle size: FWHM (px) of the normalised autocovariance along depth and across."""
    x = patch.astype(np.float64)
    x -= x.mean()
    f = np.fft.rfft2(x, s=(2 * x.shape[0], 2 * x.shape[1]))
    ac = np.fft.irfft2(np.abs(f) ** 2)
    ac /= ac[0, 0] + 1e-12

    def width(profile: np.ndarray) -> float:
        below = np.flatnonzero(profile < 0.5)
        if below.size == 0:
            return float(len(profile))
        i = int(below[0])
        # Linear interpolation of the half-maximum crossing, then both sides.
        y0, y1 = profile[i - 1], profile[i]
        return 2.0 * ((i - 1) + (y0 - 0.5) / max(y0 - y1, 1e-9))

    return width(ac[: x.shape[0], 0]), width(ac[0, : x.shape[1]])


def homogeneous_windows(
    img: np.ndarray, exclude: np.ndarray | None = None, k: int = 4
) -> list[tuple[int, int]]:
    """Top-left corners of the k most homogeneous tissue windows (speckle, not structure)."""
    h, w = img.shape
    out: list[tuple[float, int, int]] = []
    for y in range(int(h * 0.15), h - _WIN, _WIN // 2):
        for x in range(0, w - _WIN, _WIN // 2):
            p = img[y : y + _WIN, x : x + _WIN].astype(np.float32)
            m = float(p.mean())
            if not 25.0 <= m <= 200.0:
                continue
            if exclude is not None and exclude[y : y + _WIN, x : x + _WIN].any():
                continue
            # Homogeneity: the 8x8 block means vary little relative to the mean.
            blocks = p.reshape(4, 8, 4, 8).mean(axis=(1, 3))
            out.append((float(blocks.std() / m), y, x))
    out.sort()
    return [(y, x) for _, y, x in out[:k]]


def _speckle_stats(st: FrameStats, img: np.ndarray, exclude: np.ndarray | None) -> None:
    for y, x in homogeneous_windows(img, exclude):
        p = img[y : y + _WIN, x : x + _WIN]
        v = p.astype(np.float64).ravel()
        st.env_snr.append(env_snr(v))
        st.log_std.append(float(v.std()))
        st.skew.append(float(((v - v.mean()) ** 3).mean() / (v.std() ** 3 + 1e-12)))
        ax, lat = acf_fwhm(p)
        st.acf_axial.append(ax)
        st.acf_lateral.append(lat)


def gcnr(a: np.ndarray, b: np.ndarray) -> float:
    """Generalised contrast-to-noise ratio: 1 - the overlap of the two gray histograms (0..1)."""
    ha = np.bincount(a.ravel(), minlength=256)[:256] / max(1, a.size)
    hb = np.bincount(b.ravel(), minlength=256)[:256] / max(1, b.size)
    return float(1.0 - np.minimum(ha, hb).sum())


def ring_stats(img: np.ndarray, box: BoxPx, inner: float = 0.3) -> dict[str, float] | None:
    """A structure's core (the box's inner part) against a ring of tissue around its box.

    The ring runs from 5 % to 40 % of the box's size outside it, within the image: what a reader
    compares an organ with. Returns core and ring mean, ring std and their gCNR.
    """
    h, w = img.shape
    ys, xs = _inner(box, inner)
    core = img[ys, xs]
    dx, dy = box.width, box.height

    def rect(k: float) -> tuple[int, int, int, int]:
        return (
            max(0, int(box.x1 - k * dx)),
            max(0, int(box.y1 - k * dy)),
            min(w, int(box.x2 + k * dx)),
            min(h, int(box.y2 + k * dy)),
        )

    ox0, oy0, ox1, oy1 = rect(0.4)
    ix0, iy0, ix1, iy1 = rect(0.05)
    ring_mask = np.zeros((h, w), bool)
    ring_mask[oy0:oy1, ox0:ox1] = True
    ring_mask[iy0:iy1, ix0:ix1] = False
    ring = img[ring_mask]
    if core.size < 20 or ring.size < 50:
        return None
    return {
        "core_mean": float(core.mean()),
        "ring_mean": float(ring.mean()),
        "ring_std": float(ring.std()),
        "gcnr": gcnr(core, ring),
    }


def _db(a: float, b: float) -> float:
    return (a - b) / 255.0 * ASSUMED_DR_DB


def _below_contrast(img: np.ndarray, box: BoxPx, depth_px: int = 40) -> float | None:
    """dB difference between the column under a structure and its neighbours at the same depth."""
    h, w = img.shape
    x1, x2 = int(box.x1 + box.width * 0.25), int(box.x2 - box.width * 0.25)
    y1, y2 = int(box.y2) + 3, min(h, int(box.y2) + 3 + depth_px)
    bw = x2 - x1
    if y2 - y1 < 10 or bw < 4:
        return None
    left = img[y1:y2, max(0, x1 - 2 * bw) : max(0, x1 - bw)]
    right = img[y1:y2, min(w, x2 + bw) : min(w, x2 + 2 * bw)]
    ref = [r for r in (left, right) if r.size > 20]
    if not ref:
        return None
    return _db(float(img[y1:y2, x1:x2].mean()), float(np.mean([r.mean() for r in ref])))


def _inner(box: BoxPx, frac: float = 0.3) -> tuple[slice, slice]:
    dx, dy = box.width * frac, box.height * frac
    return slice(int(box.y1 + dy), max(int(box.y1 + dy) + 1, int(box.y2 - dy))), slice(
        int(box.x1 + dx), max(int(box.x1 + dx) + 1, int(box.x2 - dx))
    )


# A row carries echoes when some pixel in it is brighter than this: the rows a scanner leaves
# black below its imaging depth (the real Momot frames end at ~75 % of their height) are not
# tissue and would count as "dark deep tissue" in a whole-frame profile.
ECHO_ROW_MIN_GRAY = 8


def _profile(img: np.ndarray) -> np.ndarray:
    """Mean gray per depth decile of the whole frame."""
    return np.array([b.mean() for b in np.array_split(img.astype(np.float32), 10, axis=0)])


def echo_rows(img: np.ndarray) -> int:
    """Rows from the top down to the deepest row with any echo (the same rule for every source)."""
    rows = np.flatnonzero(img.max(axis=1) > ECHO_ROW_MIN_GRAY)
    return int(rows[-1]) + 1 if rows.size else img.shape[0]


def echo_profile(img: np.ndarray) -> np.ndarray:
    """Mean gray per depth decile over the rows with echoes (black rows below them left out)."""
    return _profile(img[: max(10, echo_rows(img))])


def measure_labelled(img: np.ndarray, boxes: list[tuple[int, BoxPx]], st: FrameStats) -> None:
    """Add one labelled frame (organ id, pixel box) to a source's statistics."""
    st.n_images += 1
    st.depth_profile.append(echo_profile(img))
    st.depth_profile_frame.append(_profile(img))
    exclude = np.zeros(img.shape, bool)
    for oid, box in boxes:
        st.organ_count[oid] = st.organ_count.get(oid, 0) + 1
        st.box_wh.setdefault(oid, []).append((box.width, box.height))
        ys, xs = _inner(box)
        region = img[ys, xs]
        if oid in (1, 2):  # thyroid and CCA against their surroundings
            r = ring_stats(img, box)
            if r is not None:
                tag = "cca" if oid == 2 else "thyroid"
                for k, v in r.items():
                    st.add(f"{tag}_{k}", v)
        if oid == 2:  # CCA: the inner part of the box is lumen
            st.lumen_gray.extend(region.ravel()[::7].tolist())
            c = _below_contrast(img, box)
            if c is not None:
                st.enhancement_db.append(c)
        else:
            st.organ_gray.setdefault(oid, []).extend(region.ravel()[::7].tolist())
        if oid == 0:
            c = _below_contrast(img, box, depth_px=80)
            if c is not None:
                st.shadow_db.append(c)
        if oid in (2, 3, 0):
            exclude[int(box.y1) : int(box.y2) + 60, int(box.x1) : int(box.x2)] = True
    _speckle_stats(st, img, exclude)


def _load_labelled_folder(root: Path, max_images: int):
    """(gray image, [(organ id, box)]) from an NNUS-format folder, evenly sampled."""
    from nnus_core.dataset import load_dataset

    ds = load_dataset(root)
    samples = ds.samples
    step = max(1, len(samples) // max_images)
    for s in samples[::step][:max_images]:
        img = cv2.imread(str(s.image_path), cv2.IMREAD_GRAYSCALE)
        if img is not None:
            yield s.name, img, [(a.organ_id, a.box) for a in s.annotations]


def _autocrop(img: np.ndarray) -> tuple[slice, slice]:
    """The B-mode area of a full scanner screen: the largest blob once text is opened away."""
    if img.shape[1] < 900:  # already an image-only crop
        return slice(None), slice(None)
    on = (img > 6).astype(np.uint8)
    on = cv2.morphologyEx(on, cv2.MORPH_OPEN, np.ones((25, 25), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(on)
    if n < 2:
        return slice(None), slice(None)
    i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h = (int(v) for v in stats[i, :4])
    return slice(y, y + h), slice(x, x + w)


# A CCA (lumen + walls) of ~7 mm spans this many pixels at the phantom's 0.0895 mm/px: real
# frames are resampled to that scale so speckle sizes in pixels compare.
_CCA_PX_AT_NNUS_SCALE = 78.0


def _real_frames(real_dir: Path):
    """(name, gray image, CCA box or None) per real image, cropped and resampled to NNUS scale."""
    raw = []
    for p in sorted(real_dir.glob("*/images/*")):
        if p.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            continue
        img = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        if img is None:
            continue
        mask_path = p.parent.parent / "masks" / p.name
        box = None
        if mask_path.exists():
            m = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
            if m is not None and m.shape == img.shape and (m > 127).any():
                ys, xs = np.nonzero(m > 127)
                box = BoxPx(float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        else:
            ys_, xs_ = _autocrop(img)
            img = img[ys_, xs_]
        raw.append((p.name, img, box))
    scales = [_CCA_PX_AT_NNUS_SCALE / b.width for _, _, b in raw if b is not None]
    default = float(np.median(scales)) if scales else 1.0
    for name, img, box in raw:
        s = _CCA_PX_AT_NNUS_SCALE / box.width if box is not None else default
        img = cv2.resize(
            img,
            (max(1, round(img.shape[1] * s)), max(1, round(img.shape[0] * s))),
            interpolation=cv2.INTER_AREA,
        )
        yield name, img, (box.scale(s, s) if box is not None else None)


def default_real_dir() -> Path | None:
    """The real reference images named by $NNUS_REFERENCE_DIR; None (no default) when unset.

    They live outside the repository and are never copied into it, so a dev bench passes the
    folder explicitly (`--real`) or through the variable.
    """
    return get_settings().reference_dir


def _fmt(v: list[float], nd: int = 2) -> str:
    if not v:
        return "n/a"
    a = np.asarray(v, dtype=np.float64)
    return (
        f"{np.median(a):.{nd}f} (IQR {np.percentile(a, 25):.{nd}f}-{np.percentile(a, 75):.{nd}f}, n={a.size})"
    )


def _gray(v: list[float]) -> str:
    if not v:
        return "n/a"
    a = np.asarray(v)
    return f"mean {a.mean():6.1f}  median {np.median(a):6.1f}  p5-p95 {np.percentile(a, 5):5.1f}-{np.percentile(a, 95):5.1f}"


def contact_sheet(frames: list[tuple[str, np.ndarray]], path: Path, tile_h: int = 224, cols: int = 6) -> Path:
    """Grid of labelled thumbnails (same height), saved as PNG."""
    thumbs = []
    for name, img in frames:
        s = tile_h / img.shape[0]
        t = cv2.resize(img, (max(1, int(img.shape[1] * s)), tile_h), interpolation=cv2.INTER_AREA)
        t = cv2.copyMakeBorder(t, 0, 0, 0, max(0, 260 - t.shape[1]), cv2.BORDER_CONSTANT, value=0)[:, :260]
        t = cv2.cvtColor(t, cv2.COLOR_GRAY2BGR)
        cv2.putText(
            t, name[:34], (4, tile_h - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 220, 255), 1, cv2.LINE_AA
        )
        thumbs.append(t)
    while len(thumbs) % cols:
        thumbs.append(np.zeros_like(thumbs[0]))
    rows = [np.hstack(thumbs[i : i + cols]) for i in range(0, len(thumbs), cols)]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.vstack(rows))
    return path


def run_report(data_dir: Path, out_dir: Path, real_dir: Path | None = None, max_images: int = 120) -> str:
    """Measure a phantom (or any NNUS-format) folder, and real references when present.

    Args:
        data_dir: NNUS-format folder to measure (labels give organ regions).
        out_dir: folder for `realism_report.txt` and `contact_sheet.png`.
        real_dir: real reference images; default `default_real_dir()` ($NNUS_REFERENCE_DIR), skipped when absent.
        max_images: at most this many frames are measured from `data_dir`.

    Returns:
        The report text (also written to out_dir).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    ph = FrameStats("phantom")
    sheet: list[tuple[str, np.ndarray]] = []
    others: list[tuple[str, np.ndarray]] = []  # other views: fill the sheet when too few transverse
    for name, img, boxes in _load_labelled_folder(Path(data_dir), max_images):
        measure_labelled(img, boxes, ph)
        # The sheet compares like with like: transverse phantom views (a round CCA) beside the
        # real transverse carotid views.
        round_cca = any(o == 2 and b.width < 1.5 * b.height for o, b in boxes)
        (sheet if round_cca else others).append((f"phantom {name}", img))
    sheet = (sheet + others)[:12]
    real_dir = default_real_dir() if real_dir is None else Path(real_dir)
    rl: FrameStats | None = None
    if real_dir is not None and real_dir.is_dir():
        rl = FrameStats("real")
        real_sheet: list[tuple[str, np.ndarray]] = []
        for name, img, box in _real_frames(real_dir):
            measure_labelled(img, [(2, box)] if box is not None else [], rl)
            rl.organ_count.clear()
            rl.box_wh.clear()
            if len(real_sheet) < 12:
                real_sheet.append((f"real {name}", img))
        sheet += real_sheet
    lines = _report_lines(ph, rl, real_dir)
    if sheet:
        p = contact_sheet(sheet, out_dir / "contact_sheet.png")
        lines.append(f"contact sheet: {p}")
    text = "\n".join(lines)
    (out_dir / "realism_report.txt").write_text(text + "\n")
    return text


def _report_lines(ph: FrameStats, rl: FrameStats | None, real_dir: Path | None) -> list[str]:
    srcs = [ph] + ([rl] if rl is not None else [])
    L = [f"Realism report (gray->dB assumes a {ASSUMED_DR_DB:.0f} dB display range)", ""]
    L.append("images: " + ", ".join(f"{s.name} {s.n_images}" for s in srcs))
    if rl is None:
        where = f"at {real_dir}" if real_dir is not None else f"given (--real or ${REFERENCE_ENV})"
        L.append(f"real references: none {where} (skipped)")
    L += ["", "Speckle in the most homogeneous 32x32 tissue windows (median, IQR):"]
    targets = {
        "envelope SNR (1.91 single look, 2.75 two, 3.40 three)": "env_snr",
        "gray std": "log_std",
        "skewness (-1.14 single look)": "skew",
        "speckle size axial, px": "acf_axial",
        "speckle size lateral, px": "acf_lateral",
    }
    for label, attr in targets.items():
        L.append(f"  {label}")
        for s in srcs:
            L.append(f"    {s.name:8s} {_fmt(getattr(s, attr))}")
    L += ["", "Artifacts (dB, column below vs neighbours at the same depth):"]
    L.append("  enhancement below the CCA (+3..+8 expected)")
    for s in srcs:
        L.append(f"    {s.name:8s} {_fmt(s.enhancement_db, 1)}")
    L.append("  shadow below the trachea (<= -15 expected)")
    for s in srcs:
        L.append(f"    {s.name:8s} {_fmt(s.shadow_db, 1)}")
    L += ["", "Gray levels (0-255):"]
    L.append("  CCA lumen")
    for s in srcs:
        L.append(f"    {s.name:8s} {_gray(s.lumen_gray)}")
    for oid in (1, 6, 7, 5, 4, 0):
        if ph.organ_gray.get(oid):
            L.append(f"  {ORGANS[oid].name} (inner box, phantom)  {_gray(ph.organ_gray[oid])}")
    for title, attr in (
        ("whole frame, mean per depth decile (old figure)", "depth_profile_frame"),
        ("rows with echoes only, mean per depth decile", "depth_profile"),
    ):
        L.append(f"  {title}")
        for s in srcs:
            if getattr(s, attr):
                prof = np.mean(np.stack(getattr(s, attr)), axis=0)
                L.append(f"    {s.name:8s} " + " ".join(f"{v:5.1f}" for v in prof))
    L += _versus_real(ph, rl)
    L += ["", "Boxes per image vs published NNUS counts (phantom):"]
    L.append(f"  {'organ':26s} {'phantom':>8s} {'NNUS':>6s}  {'median w x h (px)':>18s}")
    n = max(1, ph.n_images)
    for o in ORGANS:
        wh = ph.box_wh.get(o.id, [])
        size = f"{np.median([w for w, _ in wh]):.0f} x {np.median([h for _, h in wh]):.0f}" if wh else "-"
        L.append(
            f"  {o.name:26s} {ph.organ_count.get(o.id, 0) / n:8.2f} {PUBLISHED_COUNTS[o.id] / PUBLISHED_IMAGES:6.2f}  {size:>18s}"
        )
    return L


# Real figures of structures the local reference does not show (transverse thyroid views,
# measured on real scans that are not stored here): median per frame, as a range.
REAL_THYROID = {
    "thyroid_core_mean": (110.0, 130.0),
    "thyroid_ring_mean": (65.0, 85.0),
    "thyroid_gcnr": (0.55, 0.75),
}


def _real_range(rl: FrameStats | None, key: str, values: list[float] | None = None):
    """(lo, hi, source) of a figure on real frames: their interquartile range, or REAL_THYROID."""
    vals = values if values is not None else (rl.per_frame.get(key) if rl is not None else None)
    if vals:
        lo, hi = np.percentile(vals, [25, 75])
        return float(lo), float(hi), f"real IQR n={len(vals)}"
    if key in REAL_THYROID:
        lo, hi = REAL_THYROID[key]
        return lo, hi, "real thyroid scans (not stored)"
    return None


def versus_real(
    ph: FrameStats, rl: FrameStats | None, profile: str = "depth_profile"
) -> list[tuple[str, float, tuple | None]]:
    """(figure, phantom median, real (lo, hi, source) or None) for every compared figure.

    `profile` names the depth profile compared: "depth_profile" (rows with echoes, the default)
    or "depth_profile_frame" (the whole frame, the figure before black rows were left out).
    """
    rows: list[tuple[str, float, tuple | None]] = []
    keys = [
        ("CCA lumen mean gray", "cca_core_mean"),
        ("CCA surroundings mean gray", "cca_ring_mean"),
        ("CCA surroundings std", "cca_ring_std"),
        ("CCA lumen vs surroundings gCNR", "cca_gcnr"),
        ("thyroid mean gray", "thyroid_core_mean"),
        ("thyroid surroundings mean gray", "thyroid_ring_mean"),
        ("thyroid vs surroundings gCNR", "thyroid_gcnr"),
    ]
    for label, key in keys:
        v = ph.per_frame.get(key)
        if v:
            rows.append((label, float(np.median(v)), _real_range(rl, key)))
    for label, attr in (("speckle size axial, px", "acf_axial"), ("speckle size lateral, px", "acf_lateral")):
        v = getattr(ph, attr)
        if v:
            real = _real_range(rl, attr, getattr(rl, attr) if rl is not None else None)
            rows.append((label, float(np.median(v)), real))
    if getattr(ph, profile):
        pp = np.stack(getattr(ph, profile))
        rp = np.stack(getattr(rl, profile)) if rl is not None and getattr(rl, profile) else None
        for i in range(pp.shape[1]):
            real = _real_range(rl, "", rp[:, i].tolist()) if rp is not None else None
            rows.append((f"depth decile {i + 1} mean gray", float(np.median(pp[:, i])), real))
    return rows


def _versus_real(ph: FrameStats, rl: FrameStats | None) -> list[str]:
    rows = versus_real(ph, rl)
    L = ["", "Phantom vs the real range (median per frame; real: interquartile range):"]
    L.append(f"  {'figure':34s} {'phantom':>8s} {'real range':>15s}  inside  source")
    inside = 0
    for label, v, real in rows:
        if real is None:
            L.append(f"  {label:34s} {v:8.2f} {'-':>15s}  -")
            continue
        lo, hi, src = real
        ok = lo <= v <= hi
        inside += ok
        L.append(f"  {label:34s} {v:8.2f} {lo:7.2f}-{hi:<7.2f}  {'yes' if ok else 'NO':6s}  {src}")
    compared = sum(r is not None for _, _, r in rows)
    L.append(f"  figures inside the real range: {inside} of {compared}")
    old = versus_real(ph, rl, "depth_profile_frame")
    if old and any(r is not None for _, _, r in old):
        n_old = sum(r is not None and r[0] <= v <= r[1] for _, v, r in old)
        n_cmp = sum(r is not None for _, _, r in old)
        L.append(f"  (with whole-frame depth deciles, black rows included: {n_old} of {n_cmp})")
    return L
