"""Seeking: the frame a video shows at a given time, for the page's frame viewer."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from nnus_core.errors import VideoError
from nnus_core.video.codec import rotate


def read_frame_at(path: str | Path, time_s: float, rotation_deg: int = 0) -> tuple[np.ndarray, float]:
    """The RGB frame shown at `time_s` in a video, and its exact time (seek, then decode forward).

    Times count from the first frame, as in the per-frame CSV; `rotation_deg` turns the frame
    upright as the pipeline did (VideoInfo.rotation_deg).

    Raises:
        VideoError: when the video cannot be read.
    """
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            tb = stream.time_base
            start = stream.start_time or 0
            target = start + int(max(0.0, time_s) / tb)
            container.seek(target, stream=stream, backward=True, any_frame=False)
            best = None
            for frame in container.decode(stream):
                if best is not None and frame.pts is not None and frame.pts > target:
                    break
                best = frame
                if frame.pts is not None and frame.pts >= target:
                    break
            if best is None:
                raise VideoError(f"{Path(path).name}: no frame at {time_s:.2f} s")
            t = float((best.pts - start) * tb) if best.pts is not None else time_s
            return rotate(best.to_ndarray(format="rgb24"), rotation_deg), t
    except av.error.FFmpegError as exc:
        raise VideoError(f"{Path(path).name}: cannot read the frame at {time_s:.2f} s ({exc})") from exc
