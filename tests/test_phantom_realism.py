"""Realism report on a tiny phantom: runs offline, skips absent real references, writes its files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnus_core.phantom import generate_dataset
from nnus_core.phantom.realism import acf_fwhm, env_snr, run_report


def test_report_without_real_references(tmp_path: Path) -> None:
    data = generate_dataset(tmp_path / "ph", n=8, seed=1, jobs=1)
    text = run_report(data, tmp_path / "rep", real_dir=tmp_path / "absent", max_images=8)
    assert "real references: none" in text
    assert "envelope SNR" in text and "Common carotid artery" in text
    assert (tmp_path / "rep" / "realism_report.txt").read_text().strip() == text
    assert (tmp_path / "rep" / "contact_sheet.png").stat().st_size > 1000


def test_speckle_measures_on_known_fields() -> None:
    rng = np.random.default_rng(0)
    # Rayleigh envelope displayed with a linear 50 dB map: the SNR recovers ~1.91.
    env = np.abs(rng.normal(size=200_000) + 1j * rng.normal(size=200_000))
    gray = np.clip((20 * np.log10(env / env.max()) + 50) / 50 * 255, 0, 255)
    assert 1.8 < env_snr(gray) < 2.0
    # Noise stretched along x has a wider autocovariance across than along depth.
    import cv2

    field = cv2.GaussianBlur(rng.normal(size=(64, 64)).astype(np.float32), (0, 0), sigmaX=3.0, sigmaY=1.0)
    axial, lateral = acf_fwhm(field)
    assert lateral > 2 * axial
