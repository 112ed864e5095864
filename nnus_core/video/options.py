"""Settings of a video run, shared by the page and the command line, and the working frame size."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from nnus_core.errors import VideoError
from nnus_core.organs import N_ORGANS
from nnus_core.video.tracking import TRACKERS

LABEL_STYLES = ("name_conf", "name", "short_conf", "short", "none")
PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")


@dataclass(frozen=True)
class VideoOptions:
    """Settings shared by the page and the command line (the defaults are the app's defaults).

    Attributes:
        conf: confidence a box needs to be shown.
        iou: NMS IoU threshold within an organ.
        organs: canonical ids of the organs shown (all 8 by default).
        stride: run the detector on every n-th frame; the frames between keep (tracked) boxes.
        tracker: "smooth" (IoU + alpha-beta + hysteresis), "bytetrack" (ultralytics) or "none".
        label_style: "name_conf", "name", "short_conf", "short" or "none".
        side_by_side: write original | annotated next to each other.
        max_side_px: larger frames are scaled down to this for detection and output.
        preset: libx264 speed preset.
        crf: libx264 quality (lower is better and bigger).
        caption: text burnt into a corner of every frame (e.g. "SYNTHETIC PHANTOM"), so that a
            downloaded video keeps its label.
        trim_borders: detect inside the scan area of a screen recording (its dark borders
            trimmed, see `nnus_core.video.borders`); the output keeps the whole frame.
    """

    conf: float = 0.25
    iou: float = 0.7
    organs: tuple[int, ...] = tuple(range(N_ORGANS))
    stride: int = 1
    tracker: str = "smooth"
    label_style: str = "name_conf"
    side_by_side: bool = False
    max_side_px: int = 1280
    # ultrafast: 2.4 ms CPU a frame against 5.3 for superfast (one x264 thread, phantom sweeps), for
    # files ~2.5x larger; it is what keeps 494x447 video above 60 fps end to end on two cores.
    preset: str = "ultrafast"
    crf: int = 23
    caption: str = ""
    trim_borders: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.conf <= 1.0:
            raise VideoError(f"conf must be in (0, 1], got {self.conf}")
        if not 0.0 < self.iou <= 1.0:
            raise VideoError(f"iou must be in (0, 1], got {self.iou}")
        bad = [o for o in self.organs if not 0 <= o < N_ORGANS]
        if bad or not self.organs:
            raise VideoError(
                f"organs must be 1 to {N_ORGANS} ids in 0..{N_ORGANS - 1}, got {list(self.organs)}"
            )
        if not 1 <= self.stride <= 60:
            raise VideoError(f"stride must be 1..60, got {self.stride}")
        if self.tracker not in TRACKERS:
            raise VideoError(f"tracker must be one of {', '.join(TRACKERS)}, got {self.tracker!r}")
        if self.label_style not in LABEL_STYLES:
            raise VideoError(
                f"label_style must be one of {', '.join(LABEL_STYLES)}, got {self.label_style!r}"
            )
        if not 64 <= self.max_side_px <= 4096:
            raise VideoError(f"max_side_px must be 64..4096, got {self.max_side_px}")
        if self.preset not in PRESETS:
            raise VideoError(f"preset must be one of {', '.join(PRESETS)}, got {self.preset!r}")
        if not 0 <= self.crf <= 51:
            raise VideoError(f"crf must be 0..51, got {self.crf}")
        if len(self.caption) > 80 or not self.caption.isascii():
            raise VideoError(f"caption must be at most 80 ASCII characters, got {self.caption!r}")

    def update(self, **changes: object) -> VideoOptions:
        """A copy with some settings changed.

        Raises:
            VideoError: for an unknown setting name or an invalid value.
        """
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise VideoError(
                f"unknown video option(s) {', '.join(unknown)}; expected some of {', '.join(sorted(known))}"
            )
        return replace(self, **changes)


def working_size(width: int, height: int, max_side_px: int) -> tuple[int, int, float]:
    """Size frames are processed and written at, and its scale from the original.

    The shorter side never shrinks below 16 px (the probe's minimum): a long thin frame is scaled
    less rather than written as a video 2 px high.
    """
    scale = min(1.0, max_side_px / max(width, height))
    scale = max(scale, min(1.0, 16 / min(width, height)))
    if scale >= 1.0:
        return width, height, 1.0
    return max(2, int(round(width * scale))), max(2, int(round(height * scale))), scale
