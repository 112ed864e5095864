"""Per-session temporary folders for uploads and results, and the sweep of what ended sessions and killed runs left.

Layout: <root>/p<pid>/<session id>-<random>/. A server process owns its p<pid> folder, so a start
can remove what a dead process left (a crash, a kill) without touching another live server's files.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path

from nnus_core.errors import VideoError
from nnus_core.settings import get_settings
from nnus_core.video.probe import IMAGE_SUFFIXES, VIDEO_SUFFIXES, check_size

STALE_AFTER_S = 6 * 3600  # a folder untouched this long belongs to a session that is gone
# A closed tab's session lives on for 120 s in case it reconnects (Streamlit's default); its folder is
# kept a little longer than that.
ENDED_GRACE_S = 180
_PROCESS_DIR = re.compile(r"^p(\d+)$")
_PART_RE = re.compile(r"^\..+\.part(\d+)-[0-9a-f]{8}(\.mp4)?$")  # a run's partial output
_CHUNK = 1 << 20


def default_root() -> Path:
    """Parent of the session folders: $NNUS_VIDEO_TMP, else <system temp>/nnus-video."""
    return get_settings().video_tmp_dir


def process_root(root: Path | None = None) -> Path:
    """This server process's folder under the root: <root>/p<pid>."""
    return (root or default_root()) / f"p{os.getpid()}"


class SessionWorkspace:
    """A private temporary folder for one browser session (or one CLI run).

    Two sessions never share a file: each gets a fresh `mkdtemp` folder. The folder is deleted by
    `cleanup()`, when the object is garbage-collected (a UI session that ends drops it), or by
    `sweep_stale()` after a crash.
    """

    def __init__(self, session_id: str = "cli", root: Path | None = None) -> None:
        base = root or process_root()
        base.mkdir(parents=True, exist_ok=True)
        tag = re.sub(r"[^A-Za-z0-9_-]", "", session_id)[:40] or "session"
        self.session_id = tag
        self.path = Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=base))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), True)

    @property
    def alive(self) -> bool:
        return self._finalizer.alive and self.path.is_dir()

    def file(self, name: str) -> Path:
        """A path inside the folder (the name is reduced to a safe file name)."""
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name).lstrip(".") or "file"
        if not self.path.is_dir():  # swept while the session slept: start again, empty
            self.path.mkdir(parents=True, exist_ok=True)
        return self.path / safe

    def reset(self, keep: Iterable[Path] = ()) -> None:
        """Delete everything in the folder (a new upload replaces the old input and its results)."""
        kept = {Path(p).resolve() for p in keep}
        if not self.path.is_dir():
            return
        for child in self.path.iterdir():
            if child.resolve() in kept:
                continue
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    def cleanup(self) -> None:
        """Delete the folder now."""
        self._finalizer()

    def __enter__(self) -> SessionWorkspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def input_suffix(name: str) -> str:
    """The lower-case suffix of an upload, checked against the accepted video and image types.

    Raises:
        VideoError: for any other suffix.
    """
    suffix = Path(name).suffix.lower()
    if suffix not in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
        accepted = ", ".join(s.lstrip(".") for s in VIDEO_SUFFIXES + IMAGE_SUFFIXES)
        raise VideoError(f"{name}: expected one of {accepted}, got {suffix or 'no extension'}")
    return suffix


def save_upload(
    workspace: SessionWorkspace, name: str, data, size_bytes: int, max_mb: int | None = None
) -> Path:
    """Copy an uploaded file into the workspace, replacing the previous input and its results.

    Args:
        workspace: the session's folder.
        name: the file name the user gave (only its suffix is kept).
        data: a binary file object (read in chunks) or bytes.
        size_bytes: its size, checked against the cap before anything is written.
        max_mb: the cap; default $NNUS_VIDEO_MAX_MB or 500.

    Returns:
        The saved file, named input<suffix>.

    Raises:
        VideoError: over the cap, empty, of an unaccepted type, or when the disk write fails
            (nothing is left behind then).
    """
    suffix = input_suffix(name)
    check_size(size_bytes, name, max_mb)
    workspace.reset()
    target = workspace.file(f"input{suffix}")
    try:
        with target.open("wb") as out:
            if isinstance(data, (bytes, bytearray, memoryview)):
                out.write(data)
            else:
                if hasattr(data, "seek"):
                    data.seek(0)
                shutil.copyfileobj(data, out, _CHUNK)
    except OSError as exc:
        target.unlink(missing_ok=True)
        raise VideoError(f"could not store the upload {name}: {exc.strerror or exc}") from exc
    return target


def _newest_mtime(folder: Path) -> float:
    return max([folder.stat().st_mtime] + [f.stat().st_mtime for f in folder.iterdir()])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, another user's
        return True
    return True


def sweep_part_files(folder: Path) -> int:
    """Delete partial outputs (`.NAME.partPID-XXXXXXXX[.mp4]`) of runs whose process is gone.

    A run removes its own partial files on an error, a cancel or SIGTERM; only a process killed
    outright (SIGKILL, a crash, a power cut) leaves them, and the next run in the folder sweeps
    them. Returns how many were deleted.
    """
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        m = _PART_RE.match(e.name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            try:
                os.unlink(e.path)
                removed += 1
            except OSError:
                pass
    return removed


def sweep_stale(root: Path | None = None, max_age_s: float = STALE_AFTER_S) -> int:
    """Delete what ended sessions left: folders of dead server processes, and session folders nobody
    touched for max_age_s. Returns how many folders went."""
    base = root or default_root()
    if not base.is_dir():
        return 0
    now = time.time()
    removed = 0
    for child in base.iterdir():
        if not child.is_dir():
            continue
        m = _PROCESS_DIR.match(child.name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            shutil.rmtree(child, ignore_errors=True)  # a crashed or killed server's sessions
            removed += 1
            continue
        if m:
            removed += sweep_stale(child, max_age_s)
            continue
        try:
            newest = _newest_mtime(child)
        except OSError:
            continue
        if now - newest > max_age_s:
            shutil.rmtree(child, ignore_errors=True)
            removed += 1
    return removed


def sweep_ended(
    is_alive: Callable[[str], bool], root: Path | None = None, grace_s: float = ENDED_GRACE_S
) -> int:
    """Delete this process's session folders whose session has ended; returns how many.

    Args:
        is_alive: answers whether a session id is still connected.
        root: parent of the session folders (default this process's folder).
        grace_s: an ended session's folder idle less than this is kept (the tab may reconnect).
    """
    base = root or process_root()
    if not base.is_dir():
        return 0
    now = time.time()
    removed = 0
    for child in base.iterdir():
        session_id = child.name.rsplit("-", 1)[0]
        try:
            idle_s = now - _newest_mtime(child)
        except OSError:
            continue
        if child.is_dir() and idle_s > grace_s and not is_alive(session_id):
            shutil.rmtree(child, ignore_errors=True)
            removed += 1
    return removed
