"""Every awkward input gets a clear message or is processed with a note; nothing crashes, nothing is left behind."""

from __future__ import annotations

import av
import numpy as np
import pytest

from nnus_core.errors import VideoError
from nnus_core.video import VideoOptions, probe_video, process_video
from nnus_core.video.workspace import SessionWorkspace, save_upload
from tests.synthetic_video import BlobDetector, write_test_clip

RAW = VideoOptions(tracker="none", preset="ultrafast")


def text_renamed(path):
    path.write_text("These are my lecture notes, not a video.\n" * 40)


def empty(path):
    path.write_bytes(b"")


def truncated_index_at_end(path):
    """An MP4 cut in half whose index (moov) was to be written last: an interrupted copy."""
    full = path.with_name("full.mp4")
    write_test_clip(full, width=96, height=64, n_frames=30, faststart=False)
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: len(data) // 2])


def zero_frames(path):
    """A Matroska file with a declared video track that holds no frame (and some audio)."""
    write_test_clip(path, width=64, height=48, n_frames=0, audio=True)


def audio_only(path):
    with av.open(str(path), "w") as out:
        a = out.add_stream("aac", rate=48000)
        for start in range(0, 48000, 1024):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            f.sample_rate, f.pts = 48000, start
            out.mux(a.encode(f))
        out.mux(a.encode(None))


def random_bytes(path):
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())


REFUSED = [
    ("notes.mp4", text_renamed, "could not be opened as a video"),
    ("empty.mp4", empty, "is empty"),
    ("cut.mp4", truncated_index_at_end, "truncated"),
    ("zero.mkv", zero_frames, "contains no video frames"),
    ("sound.m4a.mp4", audio_only, r"contains no video frames \(only audio\)"),
    ("noise.avi", random_bytes, "could not be opened as a video"),
]


@pytest.mark.parametrize(("name", "make", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_unreadable_inputs_are_refused_with_a_clear_message(tmp_path, name, make, message):
    src = tmp_path / "in" / name
    src.parent.mkdir()
    make(src)
    out_dir = tmp_path / "out"
    with pytest.raises(VideoError, match=message) as err:
        process_video(src, out_dir / "o.mp4", BlobDetector(), RAW, csv_path=out_dir / "d.csv")
    assert name in str(err.value)  # the message names the file
    assert not out_dir.exists() or not any(out_dir.iterdir())  # no partial output, no CSV


def test_truncated_file_with_index_first_is_processed_up_to_the_damage(tmp_path):
    full = tmp_path / "full.mp4"
    write_test_clip(full, width=160, height=120, n_frames=60)
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    res = process_video(cut, tmp_path / "o.mp4", BlobDetector(), RAW)
    assert 10 < res.frames_out < 60
    assert any("truncated" in w for w in res.warnings), res.warnings
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.mp4", "full.mp4", "o.mp4"]


NOTED = [
    ("grey.mkv", {"codec": "ffv1", "pix_fmt": "gray"}, "Grayscale"),
    ("grey.avi", {"codec": "rawvideo", "pix_fmt": "gray"}, "Grayscale"),
    ("deep.mp4", {"pix_fmt": "yuv420p10le"}, "10-bit"),
    ("voice.mp4", {"audio": True}, "audio track is not kept"),
    ("voice.mkv", {"audio": True}, "audio track is not kept"),
]


@pytest.mark.parametrize(("name", "kwargs", "note"), NOTED, ids=[n[0] for n in NOTED])
def test_unusual_but_valid_inputs_are_processed_with_a_note(tmp_path, name, kwargs, note):
    src = tmp_path / name
    write_test_clip(src, width=120, height=90, n_frames=8, **kwargs)
    info = probe_video(src)
    assert any(note in n for n in info.notes), info.notes
    res = process_video(src, tmp_path / "o.mp4", BlobDetector(), RAW, info=info)
    assert res.frames_out == 8
    with av.open(str(tmp_path / "o.mp4")) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert not c.streams.audio  # the output carries video only
    assert note in " ".join(res.warnings)


def test_over_the_size_cap_is_refused_before_decoding(tmp_path, monkeypatch):
    src = tmp_path / "big.mp4"
    write_test_clip(src, width=64, height=48, n_frames=3)
    with src.open("ab") as fh:  # pad past 1 MB (trailing junk after the moov is ignored by readers)
        fh.write(b"\0" * 1_100_000)
    monkeypatch.setenv("NNUS_VIDEO_MAX_MB", "1")
    with pytest.raises(
        VideoError,
        match=r"big.mp4 is 1 MB; the limit is 1 MB \(an administrator can raise it with NNUS_VIDEO_MAX_MB\)",
    ):
        probe_video(src)
    with pytest.raises(VideoError, match="the limit is 1 MB"):
        process_video(src, tmp_path / "o.mp4", BlobDetector(), RAW)
    assert not (tmp_path / "o.mp4").exists()


def test_upload_over_the_cap_writes_nothing(tmp_path):
    with SessionWorkspace("t", root=tmp_path) as ws:
        with pytest.raises(VideoError, match="limit is 2 MB"):
            save_upload(ws, "lecture.mp4", b"x" * (3 * 1024 * 1024), 3 * 1024 * 1024, max_mb=2)
        assert list(ws.path.iterdir()) == []


def test_bad_cap_setting_is_reported(monkeypatch, tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    monkeypatch.setenv("NNUS_VIDEO_MAX_MB", "lots")
    with pytest.raises(VideoError, match="NNUS_VIDEO_MAX_MB must be a positive whole number"):
        probe_video(tmp_path / "a.mp4")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(VideoError, match="video not found"):
        probe_video(tmp_path / "nope.mp4")
