"""Built-in inputs: the phantom's sweep clips, generated once into a shared cache with their ground truth."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nnus_core.errors import VideoError
from nnus_core.settings import get_settings

SWEEP_FPS = 25.0


def sweep_cache_root() -> Path:
    """Where generated sweep clips are kept: $NNUS_SWEEP_CACHE, else data/cache/sweeps."""
    return get_settings().sweep_cache_dir


def sweep_kinds() -> tuple[str, ...]:
    """The sweep kinds the phantom can render; empty when the phantom package lacks sweeps."""
    try:
        from nnus_core.phantom import sweep
    except ImportError:
        return ()
    return tuple(getattr(sweep, "SWEEP_KINDS", ()))


@dataclass(frozen=True)
class SweepClip:
    """A phantom sweep video (synthetic) and its per-frame ground-truth CSV."""

    path: Path
    gt_csv: Path | None
    kind: str
    seconds: float
    fps: float
    seed: int


def sweep_clip(
    kind: str,
    seconds: float,
    seed: int = 0,
    fps: float = SWEEP_FPS,
    cache: Path | None = None,
    jobs: int | None = 1,
) -> SweepClip:
    """A phantom sweep clip, rendered on first request and reused afterwards (by every session).

    `jobs` defaults to rendering in-process: a web server must not spawn worker processes per request.

    Raises:
        VideoError: when the phantom cannot render sweeps or the kind is unknown.
    """
    try:
        from nnus_core.phantom import write_sweep
    except ImportError as exc:
        raise VideoError("the built-in phantom cannot render sweep clips in this installation") from exc
    kinds = sweep_kinds()
    if kinds and kind not in kinds:
        raise VideoError(f"sweep kind must be one of {', '.join(kinds)}, got {kind!r}")
    root = cache or sweep_cache_root()
    from nnus_core.phantom import PHANTOM_VERSION

    # The generator version is part of the name: a clip cached by an older release is not reused.
    folder = root / f"{kind}_{seconds:g}s_{fps:g}fps_seed{seed}_v{PHANTOM_VERSION}"
    found = sorted(folder.glob("*.mp4")) if folder.is_dir() else []
    if not found:
        root.mkdir(parents=True, exist_ok=True)
        # Render into a private folder and rename it: two sessions asking at once never see half a clip.
        work = Path(tempfile.mkdtemp(prefix=".render-", dir=root))
        try:
            write_sweep(work, kind, seconds, fps, seed, jobs=jobs)
            try:
                os.replace(work, folder)
            except OSError:
                if not folder.is_dir():
                    raise
        except ValueError as exc:
            raise VideoError(f"cannot render the {kind} sweep: {exc}") from exc
        finally:
            shutil.rmtree(work, ignore_errors=True)
        found = sorted(folder.glob("*.mp4"))
    if not found:
        raise VideoError(f"the phantom wrote no video into {folder}")
    video = found[0]
    gt = video.with_suffix(".csv")
    return SweepClip(video, gt if gt.is_file() else None, kind, seconds, fps, seed)
