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


def test_report_sets_each_figure_beside_the_real_range(tmp_path: Path) -> None:
    from nnus_core.geometry import BoxPx
    from nnus_core.phantom.realism import FrameStats, _versus_real, gcnr, ring_stats

    img = np.full((200, 200), 80, np.uint8)
    img[80:120, 80:120] = 2  # a dark lumen in bright tissue: fully separable
    r = ring_stats(img, BoxPx(80, 80, 120, 120))
    assert r is not None and r["gcnr"] == 1.0 and r["core_mean"] == 2 and r["ring_mean"] == 80
    assert gcnr(img[:50], img[:50]) == 0.0
    ph, real = FrameStats("phantom"), FrameStats("real")
    for v in (0.95, 0.97):
        ph.add("cca_gcnr", v)
    for v in (0.7, 0.75, 0.8):
        real.add("cca_gcnr", v)
    lines = "\n".join(_versus_real(ph, real))
    assert "CCA lumen vs surroundings gCNR" in lines and "NO" in lines and "0 of 1" in lines


def test_the_scanner_look_is_a_generator_version_with_the_same_boxes(tmp_path: Path) -> None:
    import json

    import pytest

    from nnus_core.detector import default_model_dir
    from nnus_core.detector.card import read_model_card
    from nnus_core.phantom import plan_dataset, render_frame
    from nnus_core.phantom.generate import GENERATOR_LOOKS, PHANTOM_VERSION

    shipped = default_model_dir()
    if shipped is not None:  # the default phantom is the one the default model was trained on
        assert read_model_card(shipped).generator_version == PHANTOM_VERSION
    spec = plan_dataset(40, 0)[3]
    old, old_boxes = render_frame(spec, "1.1.0")
    frames = {v: render_frame(spec, v) for v in ("2.0.0", "2.1.0")}
    for v, (new, new_boxes) in frames.items():
        again, _ = render_frame(spec, v)
        assert new_boxes == old_boxes and np.array_equal(new, again) and not np.array_equal(new, old), v
        assert new.shape == old.shape == (447, 494) and new.dtype == np.uint8
    assert not np.array_equal(frames["2.0.0"][0], frames["2.1.0"][0])  # the deep fall-off differs
    data = generate_dataset(tmp_path / "v2", n=4, seed=1, jobs=1, version="2.0.0")
    assert json.loads((data / "phantom.json").read_text())["version"] == "2.0.0"
    assert set(GENERATOR_LOOKS) == {"1.1.0", "2.0.0", "2.1.0", "2.2.0", "2.3.0", "2.4.0", "2.5.0"}
    with pytest.raises(ValueError, match="phantom version"):
        generate_dataset(tmp_path / "bad", n=2, version="9")


def test_phantom_2_2_writes_a_valid_dataset_and_moves_toward_the_real_scans(tmp_path: Path) -> None:
    """2.2.0 (look 4) is selectable, writes a valid NNUS folder with boxes on the painted organs,
    and on a few frames moves the way the real scans point: a darker deep field, a fainter
    enhancement column under the CCA and a lumen that is not pure black."""
    import json

    from nnus_core.dataset import load_dataset
    from nnus_core.phantom import plan_dataset, render_frame
    from nnus_core.phantom.generate import PHANTOM_VERSION, frame_annotations, look_of
    from nnus_core.phantom.realism import FrameStats, measure_labelled
    from nnus_core.phantom.scene import slice_scene

    assert look_of("2.2.0") == 4 and PHANTOM_VERSION != "2.2.0"  # selectable, not the default
    data = generate_dataset(tmp_path / "v22", n=6, seed=2, jobs=1, version="2.2.0")
    assert json.loads((data / "phantom.json").read_text())["version"] == "2.2.0"
    ds = load_dataset(data)
    assert len(ds.samples) == 6 and any(s.annotations for s in ds.samples)

    stats = {v: FrameStats(v) for v in ("2.1.0", "2.2.0")}
    for spec in plan_dataset(40, 0)[:40:4]:
        for v, st in stats.items():
            img, anns = render_frame(spec, v)
            assert img.shape == (447, 494) and anns == frame_annotations(spec, v)
            measure_labelled(img, [(a.organ_id, a.box) for a in anns], st)
        # Every 2.2.0 box is the tight box of its organ's painted (wedge-lobe) pixels.
        scene = slice_scene(spec.subject, spec.pose, spec.rng(), wedge_lobes=True)
        for a in scene.annotations:
            assert 0 <= a.box.x1 < a.box.x2 <= 494 and 0 <= a.box.y1 < a.box.y2 <= 447
    old, new = stats["2.1.0"], stats["2.2.0"]
    deep = lambda st: float(np.median(np.stack(st.depth_profile)[:, 7:]))  # noqa: E731
    assert deep(new) < 0.7 * deep(old)
    assert np.median(new.enhancement_db) < np.median(old.enhancement_db)
    assert np.median(new.per_frame["cca_core_mean"]) > np.median(old.per_frame["cca_core_mean"])


def test_phantom_2_3_keeps_the_longus_colli_visible_and_the_rest_of_2_2() -> None:
    """2.3.0 is 2.2.0 with the depth gain set for what the frame shows: where there is a longus
    colli the fall-off starts deeper, so the muscle on the vertebra is as visible as in 2.1.0 (in
    2.2.0 it faded to black); frames without one may fade early, as real carotid views do. The
    shallower tissue renders as in 2.2.0 and the boxes are 2.2.0's."""
    from nnus_core.organs import ORGAN_NAMES
    from nnus_core.phantom import plan_dataset, render_frame

    lc = ORGAN_NAMES.index("Longus colli")
    means: dict[str, list[float]] = {"2.1.0": [], "2.2.0": [], "2.3.0": []}
    deep_without_lc = []
    for spec in plan_dataset(40, 0)[:40:2]:
        frames = {v: render_frame(spec, v) for v in means}
        if all(a.organ_id != lc for a in frames["2.3.0"][1]):
            deep_without_lc.append(float(frames["2.3.0"][0][380:].mean()))
        assert frames["2.3.0"][1] == frames["2.2.0"][1]
        assert np.array_equal(frames["2.3.0"][0][:150], frames["2.2.0"][0][:150])  # top 12 mm
        for a in frames["2.3.0"][1]:
            if a.organ_id == lc:
                x1, y1, x2, y2 = (int(round(v)) for v in (a.box.x1, a.box.y1, a.box.x2, a.box.y2))
                for v, (img, _) in frames.items():
                    means[v].append(float(img[y1:y2, x1:x2].mean()))
    assert len(means["2.3.0"]) >= 3
    med = {v: float(np.median(m)) for v, m in means.items()}
    assert med["2.2.0"] < 3 and med["2.3.0"] > 12 and med["2.3.0"] > 0.6 * med["2.1.0"], med
    assert len(deep_without_lc) >= 3 and min(deep_without_lc) < 10  # some fade early (carotid preset)


def test_phantom_2_4_keeps_2_3_s_boxes_and_trades_the_regular_streaks_for_a_curved_web() -> None:
    """2.4.0 draws 2.3.0's frames (same boxes, deterministic) with fewer straight streaks and a
    curved fascial web in the tissue between the organs: on a few frames the CCA lumen is less
    distinct from the tissue around it (gCNR down, toward the real carotid views' 0.69-0.83)."""
    from nnus_core.phantom import plan_dataset, render_frame
    from nnus_core.phantom.bmode import web_tiles
    from nnus_core.phantom.generate import look_of
    from nnus_core.phantom.realism import FrameStats, measure_labelled

    assert look_of("2.4.0") == 6
    tiles = web_tiles()
    assert tiles.shape[0] >= 2 and tiles.dtype == np.float32 and 0.0 < tiles.mean() < 0.2
    stats = {v: FrameStats(v) for v in ("2.3.0", "2.4.0")}
    for spec in plan_dataset(40, 3)[:40:2]:
        frames = {v: render_frame(spec, v) for v in stats}
        assert frames["2.4.0"][1] == frames["2.3.0"][1]
        assert not np.array_equal(frames["2.4.0"][0], frames["2.3.0"][0])
        for v, (img, anns) in frames.items():
            measure_labelled(img, [(a.organ_id, a.box) for a in anns], stats[v])
    again, _ = render_frame(plan_dataset(40, 3)[0], "2.4.0")
    assert np.array_equal(again, render_frame(plan_dataset(40, 3)[0], "2.4.0")[0])
    med = {v: {k: float(np.median(st.per_frame[k])) for k in ("cca_gcnr",)} for v, st in stats.items()}
    assert med["2.4.0"]["cca_gcnr"] < med["2.3.0"]["cca_gcnr"], med


def test_phantom_2_5_keeps_2_4_s_boxes_and_fixes_the_trachea_sides_and_the_flecks_under_the_skin() -> None:
    """2.5.0 draws 2.4.0's frames (same boxes, deterministic). Its tracheal ring-down follows the
    part of the air line that faces the beam: the line's slope is continued past its ends instead of
    mirrored, which read the steep ends of the ring as flat and drew vertical stripes down the
    trachea's sides. Under the skin it has fewer bright flecks (beaded walls and clutter dashes)."""
    from nnus_core.phantom import plan_dataset, render_frame
    from nnus_core.phantom.bmode import _facing
    from nnus_core.phantom.generate import look_of

    assert look_of("2.5.0") == 7
    # A half ring of air, as a transverse trachea shows it: its ends are vertical.
    x = np.arange(-90, 91, dtype=np.float32)
    at = (200.0 - np.sqrt(np.clip(95.0**2 - x**2, 0.0, None)))[None, :]
    has_air = np.ones(at.shape[1], bool)
    mirrored, continued = _facing(at, has_air)[0], _facing(at, has_air, extrapolate=True)[0]
    assert mirrored[0] > 0.5  # the old reading: a vertical end taken for a flat wall
    assert continued[0] < 0.05 and continued[-1] < 0.05 and continued[90] > 0.99

    flecks = {"2.4.0": [], "2.5.0": []}
    for spec in plan_dataset(40, 3)[:40:2]:
        frames = {v: render_frame(spec, v) for v in flecks}
        assert frames["2.5.0"][1] == frames["2.4.0"][1]
        for v, (img, _) in frames.items():
            flecks[v].append(float((img[:45] > 200).mean()))  # the first 4 mm
    assert np.mean(flecks["2.5.0"]) < np.mean(flecks["2.4.0"]), flecks
    spec = plan_dataset(40, 3)[0]
    assert np.array_equal(render_frame(spec, "2.5.0")[0], render_frame(spec, "2.5.0")[0])
