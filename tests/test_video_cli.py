"""`python -m nnus_core.video IN OUT.mp4`: the page's pipeline from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import cv2
import pandas as pd
import pytest

from nnus_core.video import runtime
from nnus_core.video.__main__ import main, parse_organs
from tests.synthetic_video import BlobDetector, write_random_model, write_test_clip

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def blob_model(monkeypatch):
    """The CLI loads the shipped model; here a model-free detector stands in for it."""
    seen = {}

    def load(weights_path=None, n=None, imgsz=None, frame_size=None):
        seen["weights"], seen["n"], seen["frame_size"] = weights_path, n, frame_size
        return [BlobDetector()] * (n or 2)

    monkeypatch.setattr(runtime, "load_video_detectors", load)
    return seen


def test_video_to_annotated_mp4_and_csv(tmp_path, blob_model, capsys):
    src = tmp_path / "lecture.mov"
    write_test_clip(src, width=240, height=180, n_frames=15)
    out, csv = tmp_path / "out" / "lecture.mp4", tmp_path / "out" / "lecture.csv"
    code = main(
        [
            str(src),
            str(out),
            "--csv",
            str(csv),
            "--organs",
            "Thyroid,CCA",
            "--side-by-side",
            "--no-track",
            "--quiet",
        ]
    )
    assert code == 0
    # The shipped model, one stream per core, its input cut to the clip's aspect.
    assert blob_model == {"weights": None, "n": None, "frame_size": (240, 180)}
    assert f"wrote {out}" in capsys.readouterr().out
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.codec_context.pix_fmt, s.width, s.height) == (
            "h264",
            "yuv420p",
            480,
            180,
        )
        assert sum(1 for _ in c.decode(s)) == 15
    df = pd.read_csv(csv)
    assert set(df.organ) == {"Thyroid", "Common carotid artery"}
    assert df.track_id.isna().all()  # --no-track


def test_bad_input_exits_2_with_the_reason(tmp_path, blob_model, capsys):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    assert main([str(bad), str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: notes.mp4 could not be opened as a video")
    assert "weights" not in blob_model  # refused before loading a model
    assert not (tmp_path / "o.mp4").exists()


def test_options_are_checked(tmp_path, blob_model, capsys):
    src = tmp_path / "a.mp4"
    write_test_clip(src, width=64, height=48, n_frames=2)
    assert main([str(src), str(tmp_path / "o.avi")]) == 2
    assert "output must be an .mp4" in capsys.readouterr().err
    assert main([str(src), str(tmp_path / "o.mp4"), "--organs", "liver"]) == 2
    assert "unknown organ 'liver'" in capsys.readouterr().err
    assert main([str(src), str(tmp_path / "o.mp4"), "--conf", "1.5"]) == 2
    assert "conf must be in (0, 1]" in capsys.readouterr().err
    assert parse_organs("all") == tuple(range(8)) and parse_organs("7, scm,0") == (7, 0)


def test_image_in_annotated_image_out(tmp_path, blob_model, capsys):
    write_test_clip(tmp_path / "x.mp4", width=200, height=150, n_frames=1)
    with av.open(str(tmp_path / "x.mp4")) as c:
        cv2.imwrite(str(tmp_path / "frame.png"), next(c.decode(video=0)).to_ndarray(format="bgr24"))
    assert main([str(tmp_path / "frame.png"), str(tmp_path / "frame_annotated.png")]) == 0
    assert cv2.imread(str(tmp_path / "frame_annotated.png")).shape == (150, 200, 3)
    assert "Thyroid" in capsys.readouterr().out


def test_module_entry_point_help():
    r = subprocess.run(
        [sys.executable, "-m", "nnus_core.video", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "--side-by-side" in r.stdout and "--stride" in r.stdout


@pytest.mark.slow
def test_real_model_end_to_end_subprocess(tmp_path):
    """The real detector path (OpenVINO export of an untrained 8-organ model) from a fresh process."""
    # A small input: this checks the path (export, runtime choice, decode, detect, encode), not speed.
    weights = write_random_model(tmp_path / "model" / "best.pt", imgsz=160)
    src = tmp_path / "in.mp4"
    write_test_clip(src, width=494, height=447, n_frames=20)
    env = {**os.environ, "NNUS_MODEL": str(weights), "YOLO_OFFLINE": "1"}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnus_core.video",
            str(src),
            str(tmp_path / "o.mp4"),
            "--quiet",
            "--csv",
            str(tmp_path / "d.csv"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    with av.open(str(tmp_path / "o.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 20


def test_ground_truth_scores_are_printed(tmp_path, blob_model, capsys):
    src = tmp_path / "sweep.mp4"
    truth = write_test_clip(src, width=160, height=120, n_frames=10)
    gt = tmp_path / "sweep_gt.csv"
    pd.DataFrame(
        [
            {
                "frame": t.index,
                "time_s": t.time_s,
                "organ_id": oid,
                "organ": "",
                **dict(zip("x1 y1 x2 y2".split(), b.as_tuple(), strict=True)),
            }
            for t in truth
            for oid, b in t.boxes.items()
        ]
    ).to_csv(gt, index=False)
    assert main([str(src), str(tmp_path / "o.mp4"), "--gt", str(gt), "--no-track", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert (tmp_path / "o.csv").is_file()  # scoring wrote the per-frame detections beside the video
    assert "detection rate" in out and "mean IoU" in out
    rates = {
        line.split()[0]: float(line.split()[-3])
        for line in out.splitlines()
        if line.strip().startswith(("Thyroid", "Common"))
    }
    assert set(rates) == {"Thyroid", "Common"} and min(rates.values()) >= 0.9, out
