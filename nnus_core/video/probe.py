"""Check that a file is a video we can process and describe it (size, rate, frames, quirks) with PyAV."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from nnus_core.errors import VideoError
from nnus_core.settings import DEFAULT_VIDEO_MAX_MB, VIDEO_MAX_MB_ENV, get_settings

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
MAX_MB_ENV = VIDEO_MAX_MB_ENV
DEFAULT_MAX_MB = DEFAULT_VIDEO_MAX_MB
MAX_SIDE_PX = 8192  # above 8K a frame alone is >200 MB as BGR: refuse rather than swap
MIN_SIDE_PX = 16
# A scan recording is 4:3 to 21:9, a phone held upright 9:16; 8:1 is no screen at all, and scaled
# to the 1280-px working size its short side would shrink to a few pixels (8192x16 became 1280x2).
MAX_ASPECT = 8.0
_VFR_PACKETS = 240  # packets inspected for frame-interval jitter (demux only, no decoding)
_VFR_JITTER = 0.2  # interval spread beyond which the rate is called variable
# Demuxers that accept almost any bytes (text shown as terminal art): never a scan recording.
_REFUSED_FORMATS = {"tty", "bin", "txt"}
_REFUSED_CODECS = {"ansi", "text", "bintext", "xbin", "idf"}


def max_upload_mb() -> int:
    """The upload size cap in MB: $NNUS_VIDEO_MAX_MB, default 500.

    Raises:
        VideoError: when the variable is set to something other than a positive integer.
    """
    s = get_settings()
    if s.video_max_mb is None:
        raise VideoError(s.problem(MAX_MB_ENV) or f"{MAX_MB_ENV} is not a positive whole number of MB")
    return s.video_max_mb


def check_size(size_bytes: int, name: str, max_mb: int | None = None) -> None:
    """Refuse a file over the size cap before anything is written or decoded.

    Raises:
        VideoError: when size_bytes exceeds the cap or is zero.
    """
    cap = max_upload_mb() if max_mb is None else max_mb
    if size_bytes <= 0:
        raise VideoError(f"{name} is empty (0 bytes): expected a video file")
    if size_bytes > cap * 1024 * 1024:
        raise VideoError(
            f"{name} is {size_bytes / 1024 / 1024:.0f} MB; the limit is {cap} MB "
            f"(an administrator can raise it with {MAX_MB_ENV})"
        )


@dataclass(frozen=True)
class VideoInfo:
    """What a readable video file holds; `notes` are user-facing remarks on its quirks."""

    path: Path
    size_bytes: int
    container: str
    codec: str
    pix_fmt: str
    width_px: int  # as displayed (after rotation metadata)
    height_px: int
    rotation_deg: int  # clockwise rotation applied to decoded frames to display them upright
    fps: float  # average frame rate
    frames_estimate: int | None  # from the container; None when it does not say
    duration_s: float | None
    has_audio: bool
    variable_frame_rate: bool
    bit_depth: int
    notes: tuple[str, ...] = ()
    name: str = ""  # what the user calls the file (an upload's own name); default the path's name

    @property
    def display_name(self) -> str:
        """The file's name for messages: the upload's name, not the workspace copy's."""
        return self.name or self.path.name

    @property
    def portrait(self) -> bool:
        return self.height_px > self.width_px

    def summary(self) -> str:
        """One line for a page or a log."""
        frames = f"{self.frames_estimate} frames" if self.frames_estimate else "unknown frame count"
        dur = f"{self.duration_s:.1f} s" if self.duration_s else "unknown duration"
        return (
            f"{self.width_px}x{self.height_px} {self.codec} {self.pix_fmt}, {self.fps:.2f} fps"
            f"{' (variable)' if self.variable_frame_rate else ''}, {frames}, {dur}"
        )


def _open_error(name: str, exc: Exception) -> VideoError:
    reason = str(exc).split(":")[0] if str(exc) else type(exc).__name__
    return VideoError(
        f"{name} could not be opened as a video ({reason}): expected an MP4, MOV, AVI, MKV or "
        "WebM recording. The file may be truncated (an interrupted copy or download) or not a video "
        "at all."
    )


def _bit_depth(pix_fmt: str) -> int:
    for depth in (16, 14, 12, 10, 9):
        if f"p{depth}" in pix_fmt or f"{depth}le" in pix_fmt or f"{depth}be" in pix_fmt:
            return depth
    return 8


def _rotation_deg(frame: av.VideoFrame) -> int:
    """Clockwise degrees to turn a decoded frame upright, from the display matrix (phone videos)."""
    try:
        rot = int(round(getattr(frame, "rotation", 0) or 0))
    except (TypeError, ValueError):
        return 0
    # FFmpeg reports the display matrix angle counter-clockwise; snap to quarter turns.
    return (-int(round(rot / 90.0)) * 90) % 360


def _is_vfr(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> bool:
    pts = []
    try:
        for packet in container.demux(stream):
            if packet.pts is not None:
                pts.append(packet.pts)
            if len(pts) >= _VFR_PACKETS:
                break
    except av.error.FFmpegError:
        pass  # a damaged tail is reported by the decoder; the rate check uses what came
    if len(pts) < 4:
        return False
    pts.sort()  # B-frames arrive out of presentation order
    gaps = [b - a for a, b in zip(pts, pts[1:], strict=False) if b > a]
    if len(gaps) < 3:
        return False
    gaps.sort()
    med = gaps[len(gaps) // 2]
    # Ignore the outer 5 %: one dropped frame in a recording is not a variable rate.
    lo, hi = gaps[len(gaps) // 20], gaps[-1 - len(gaps) // 20]
    return med > 0 and (hi - lo) / med > _VFR_JITTER


def _first_frame(container, stream, shown: str) -> av.VideoFrame:  # noqa: ANN001 - PyAV objects
    """The first decoded frame, or a VideoError saying why there is none."""
    try:
        for frame in container.decode(stream):
            return frame
    except av.error.FFmpegError as exc:
        raise VideoError(
            f"{shown}: the first frame could not be decoded ({exc.strerror or exc}); "
            "the file is damaged or truncated"
        ) from exc
    raise VideoError(f"{shown} contains no video frames (zero frames decoded)")


def _check_frame_size(w: int, h: int, shown: str) -> None:
    """A VideoError for frames outside MIN_SIDE_PX..MAX_SIDE_PX a side or longer than MAX_ASPECT:1."""
    if min(w, h) < MIN_SIDE_PX or max(w, h) > MAX_SIDE_PX:
        raise VideoError(
            f"{shown} has {w}x{h} frames; expected between {MIN_SIDE_PX} and {MAX_SIDE_PX} pixels a side"
        )
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise VideoError(
            f"{shown} has {w}x{h} frames, {max(w, h) / min(w, h):.0f} times longer than wide; "
            f"expected a screen or scan recording (at most {MAX_ASPECT:.0f}:1)"
        )


def _notes(
    has_audio: bool, vfr: bool, depth: int, pix_fmt: str, rotation: int, w: int, h: int
) -> tuple[str, ...]:
    """What the user should know about how this video will be processed."""
    notes = []
    if has_audio:
        notes.append("The audio track is not kept in the annotated video.")
    if vfr:
        notes.append("Variable frame rate: each frame keeps its original timestamp.")
    if depth > 8:
        notes.append(f"{depth}-bit video ({pix_fmt}) is converted to 8 bits for detection and display.")
    if pix_fmt.startswith("gray"):
        notes.append("Grayscale video: shown in grey with coloured boxes.")
    if rotation:
        notes.append(f"Rotated {rotation}° to display upright, as the recording's metadata asks.")
    if max(w, h) > 1280:
        notes.append(
            f"Large frames ({w}x{h}) are scaled down for detection and output; boxes in the CSV are in the original pixels."
        )
    return tuple(notes)


def probe_video(path: str | Path, max_mb: int | None = None, *, name: str | None = None) -> VideoInfo:
    """Open a video, decode its first frame and describe it.

    Args:
        path: the video file.
        max_mb: size cap in MB; default $NNUS_VIDEO_MAX_MB or 500.
        name: what to call the file in messages (an upload's own name, when `path` is the
            workspace's copy); default the path's file name. Kept in `VideoInfo.name`.

    Returns:
        The video's description, with notes on audio, variable rate, bit depth, rotation and size.

    Raises:
        VideoError: for a missing, empty, oversized, unreadable or frameless file, a file without
            a video track, frames outside 16..8192 pixels or more than 8 times wider than high
            (or higher than wide).
    """
    path = Path(path)
    shown = name or path.name
    if not path.is_file():
        raise VideoError(f"video not found: {name or path}")
    size = path.stat().st_size
    check_size(size, shown, max_mb)
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise _open_error(shown, exc) from exc
    try:
        fmt = container.format.name
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams})
            held = f"only {', '.join(kinds)}" if kinds else "no tracks at all"
            raise VideoError(f"{shown} contains no video frames ({held})")
        stream = container.streams.video[0]
        codec = stream.codec_context.name if stream.codec_context is not None else None
        if not codec:  # a track FFmpeg has no decoder for (a damaged header or an unknown codec)
            raise VideoError(
                f"{shown}: its video track uses a codec that cannot be decoded; expected H.264, HEVC, VP9 or similar"
            )
        if fmt in _REFUSED_FORMATS or codec in _REFUSED_CODECS:
            raise VideoError(f"{shown} is not a video recording (FFmpeg reads it as {fmt}/{codec} text)")
        first = _first_frame(container, stream, shown)
        w, h = first.width, first.height
        _check_frame_size(w, h, shown)
        rotation = _rotation_deg(first)
        if rotation in (90, 270):
            w, h = h, w
        pix_fmt = first.format.name
        depth = _bit_depth(pix_fmt)
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        duration_s = None
        if stream.duration and stream.time_base:
            duration_s = float(stream.duration * stream.time_base)
        elif container.duration:
            duration_s = container.duration / av.time_base
        if fps <= 0 or fps > 1000:
            fps = 30.0  # a missing or absurd rate; timestamps still drive the output
        frames = int(stream.frames) if stream.frames else None
        if frames is None and duration_s:
            frames = max(1, int(round(duration_s * fps)))
        has_audio = bool(container.streams.audio)
        try:
            container.seek(0)
            vfr = _is_vfr(container, stream)
        except av.error.FFmpegError:
            vfr = False  # an unseekable stream still decodes from the start; timestamps are kept anyway
    except VideoError:
        raise
    # PyAV on a damaged header can also fail with AttributeError/TypeError on a missing field.
    except (av.error.FFmpegError, OSError, ValueError, AttributeError, TypeError, ZeroDivisionError) as exc:
        raise _open_error(shown, exc) from exc
    finally:
        container.close()
    notes = _notes(has_audio, vfr, depth, pix_fmt, rotation, w, h)
    return VideoInfo(
        path=path,
        size_bytes=size,
        container=fmt,
        codec=codec,
        pix_fmt=pix_fmt,
        width_px=w,
        height_px=h,
        rotation_deg=rotation,
        fps=fps,
        frames_estimate=frames,
        duration_s=duration_s,
        has_audio=has_audio,
        variable_frame_rate=vfr,
        bit_depth=depth,
        notes=notes,
        name=name or "",
    )


def is_image_path(path: str | Path) -> bool:
    """True for a still-image file name (processed as a one-frame input)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def fraction_rate(fps: float) -> Fraction:
    """A frame rate as a small fraction the encoder accepts (29.97 -> 30000/1001)."""
    return Fraction(fps).limit_denominator(1001)
