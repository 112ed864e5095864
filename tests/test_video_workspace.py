"""Per-session folders: private, replaced on a new upload, removed when done or stale."""

from __future__ import annotations

import gc
import io
import os
import time

import pytest

from nnus_core.errors import VideoError
from nnus_core.video.workspace import SessionWorkspace, input_suffix, save_upload, sweep_stale


def test_two_sessions_never_share_a_file(tmp_path):
    a, b = SessionWorkspace("same-id", root=tmp_path), SessionWorkspace("same-id", root=tmp_path)
    pa = save_upload(a, "scan.mp4", b"first", 5, max_mb=1)
    pb = save_upload(b, "scan.mp4", b"second", 6, max_mb=1)
    assert pa != pb and pa.read_bytes() == b"first" and pb.read_bytes() == b"second"


def test_a_new_upload_replaces_the_old_input_and_results(tmp_path):
    ws = SessionWorkspace("s", root=tmp_path)
    save_upload(ws, "a.mov", io.BytesIO(b"old"), 3, max_mb=1)
    ws.file("a_annotated.mp4").write_bytes(b"result")
    new = save_upload(ws, "b.webm", io.BytesIO(b"new video"), 9, max_mb=1)
    assert sorted(p.name for p in ws.path.iterdir()) == ["input.webm"]
    assert new.read_bytes() == b"new video"


def test_cleanup_explicit_and_on_garbage_collection(tmp_path):
    ws = SessionWorkspace("s", root=tmp_path)
    path = ws.path
    ws.file("x.mp4").write_bytes(b"x")
    ws.cleanup()
    assert not path.exists() and not ws.alive
    ws2 = SessionWorkspace("s", root=tmp_path)
    path2 = ws2.path
    del ws2  # a UI session that ends drops its workspace
    gc.collect()
    assert not path2.exists()


def test_stale_folders_are_swept_and_fresh_ones_kept(tmp_path):
    old = SessionWorkspace("old", root=tmp_path)
    old.file("input.mp4").write_bytes(b"x")
    fresh = SessionWorkspace("fresh", root=tmp_path)
    past = time.time() - 7 * 3600
    for p in (old.path / "input.mp4", old.path):
        os.utime(p, (past, past))
    assert sweep_stale(tmp_path) == 1
    assert not old.path.exists() and fresh.path.exists()


def test_file_names_are_made_safe(tmp_path):
    ws = SessionWorkspace("../../etc", root=tmp_path)
    assert ws.path.parent == tmp_path
    assert ws.file("../../passwd").parent == ws.path


@pytest.mark.parametrize("name", ["a.exe", "noext", "clip.mp4.zip"])
def test_unaccepted_types_are_refused(name):
    with pytest.raises(VideoError, match="expected one of mp4, mov, avi, mkv, webm"):
        input_suffix(name)


def test_folders_of_ended_sessions_go_after_the_reconnect_grace(tmp_path):
    import os

    from nnus_core.video.workspace import sweep_ended

    ended = SessionWorkspace("ended-session", root=tmp_path)
    live = SessionWorkspace("live-session", root=tmp_path)
    just_closed = SessionWorkspace("just-closed", root=tmp_path)
    old = time.time() - 3600
    for ws in (ended, live):
        os.utime(ws.path, (old, old))
    alive = {"live-session"}.__contains__
    assert sweep_ended(alive, root=tmp_path) == 1
    assert not ended.path.exists() and live.path.is_dir() and just_closed.path.is_dir()


def test_a_start_removes_what_a_dead_server_left_but_not_a_live_ones(tmp_path):
    import os
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = tmp_path / f"p{gone.stdout.strip()}"
    SessionWorkspace("s1", root=dead)
    mine = SessionWorkspace("s2", root=tmp_path / f"p{os.getpid()}")
    assert sweep_stale(tmp_path) == 1
    assert not dead.exists() and mine.path.is_dir()
