"""Exam plans: which volunteer, view and scanner settings each dataset frame uses (no rendering)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnus_core.phantom.anatomy import Pose, Subject, make_subject

# Views and how often an exam uses them. Tuned so the organ box frequencies land near the
# published NNUS instance counts (see tests/test_phantom_frequencies.py).
VIEW_WEIGHTS: dict[str, float] = {
    "trans_lobe": 0.19,
    "trans_mid": 0.06,
    "trans_lat": 0.05,
    "trans_low": 0.02,
    "long_carotid": 0.38,
    "long_lobe": 0.19,
    "oblique": 0.11,
}
TRANSVERSE_VIEWS = frozenset({"trans_lobe", "trans_mid", "trans_lat", "trans_low"})
FRAMES_PER_SUBJECT = 31.6  # 790 / 25, as in NNUS
# Probability that the IJV is open in a frame: the NNUS labels imply it is mostly collapsed.
IJV_OPEN_P = 0.25


@dataclass(frozen=True)
class FrameSpec:
    """Everything needed to render one dataset frame deterministically."""

    index: int  # 0-based position in the dataset
    subject: Subject
    pose: Pose
    seed: int  # the dataset seed; the frame's generator is seeded from (seed, index)

    @property
    def stem(self) -> str:
        return f"{self.index + 1:04d}"

    def rng(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, 2, self.index])


def subject_counts(n: int, rng: np.random.Generator) -> list[int]:
    """Frames per volunteer: ~31.6 on average (30-40 in NNUS), summing to n."""
    n_subj = max(1, int(round(n / FRAMES_PER_SUBJECT)))
    w = rng.uniform(30.0, 40.0, n_subj)
    counts = np.floor(w / w.sum() * n).astype(int)
    for i in range(n - int(counts.sum())):
        counts[i % n_subj] += 1
    return [int(c) for c in counts if c > 0]


def sample_pose(
    subject: Subject, rng: np.random.Generator, left_bias: float = 0.5, view: str | None = None
) -> Pose:
    """Draw one frame's view (unless given), probe position and scanner settings for a volunteer."""
    views = list(VIEW_WEIGHTS)
    p = np.array([VIEW_WEIGHTS[v] for v in views])
    chosen = views[int(rng.choice(len(views), p=p / p.sum()))]
    view = view or chosen
    side = 1.0 if rng.random() < left_bias else -1.0
    u, nrm = rng.uniform, rng.normal
    s = subject
    if view == "trans_lobe":
        x, z, ang = side * u(11.0, 22.0), u(-14.0, 14.0), nrm(0.0, 4.0)
    elif view == "trans_mid":
        x, z, ang = u(-5.0, 5.0), u(-4.0, 12.0), nrm(0.0, 4.0)
    elif view == "trans_low":  # below the lower poles: no thyroid
        x, z, ang = side * u(8.0, 26.0), u(26.0, 34.0), nrm(0.0, 4.0)
    elif view == "trans_lat":
        x, z, ang = side * u(24.0, 34.0), u(-18.0, 18.0), nrm(0.0, 5.0)
    elif view == "long_carotid":
        x, z, ang = side * (s.cca_x_mm + nrm(0.0, 1.2)), u(-15.0, 15.0), 90.0 + nrm(0.0, 5.0)
    elif view == "long_lobe":
        lobe = s.trachea_r_mm + s.lobe_half_w_mm[0 if side < 0 else 1] * 0.8
        x, z, ang = side * (lobe + nrm(0.0, 1.5)), u(-6.0, 6.0), 90.0 + nrm(0.0, 5.0)
    else:  # oblique: the transverse layout rotated 20-45 degrees
        x, z = side * u(12.0, 28.0), u(-10.0, 10.0)
        ang = float(rng.choice([-1.0, 1.0])) * u(20.0, 45.0)
    depth = float(rng.choice([30.0, 35.0, 40.0, 45.0], p=[0.42, 0.3, 0.18, 0.1])) + u(-1.0, 1.0)
    ijv_open = u(0.6, 1.0) if rng.random() < IJV_OPEN_P else u(0.0, 0.25)
    return Pose(
        view=view,
        x_mm=float(x),
        z_mm=float(z),
        angle_deg=float(ang),
        depth_mm=depth,
        gain_db=float(nrm(0.0, 1.5)),
        tgc_db_per_cm=float(nrm(0.0, 0.8)),
        pressure=float(u(0.0, 1.0)),
        ijv_open=float(ijv_open),
        pulse=float(u(-1.0, 1.0)),
    )


def plan_dataset(n: int, seed: int = 0) -> tuple[FrameSpec, ...]:
    """The frames of an n-image dataset: volunteers in consecutive blocks, one view per frame.

    Args:
        n: number of images.
        seed: dataset seed; the same seed gives the same plan.

    Returns:
        n FrameSpecs in file order.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng([seed, 0])
    specs: list[FrameSpec] = []
    for k, count in enumerate(subject_counts(n, rng)):
        srng = np.random.default_rng([seed, 1, k])
        subj = make_subject(srng, f"P{k + 1:02d}")
        left_bias = float(srng.uniform(0.35, 0.65))
        for _ in range(count):
            idx = len(specs)
            pose = sample_pose(subj, np.random.default_rng([seed, 3, idx]), left_bias)
            specs.append(FrameSpec(idx, subj, pose, seed))
    return tuple(specs)
