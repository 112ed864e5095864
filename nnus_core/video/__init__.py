"""Annotated video for teaching: probe an input, detect organs frame by frame, write H.264 that browsers play."""

from __future__ import annotations

from nnus_core.video.pipeline import (
    CSV_COLUMNS,
    LABEL_STYLES,
    FrameDetector,
    ImageResult,
    Progress,
    VideoOptions,
    VideoResult,
    annotate,
    detection_size,
    process_image,
    process_video,
    read_frame_at,
)
from nnus_core.video.probe import VideoInfo, check_size, max_upload_mb, probe_video
from nnus_core.video.tracking import TRACKERS, FlickerStats, flicker_stats

__all__ = [
    "CSV_COLUMNS",
    "LABEL_STYLES",
    "TRACKERS",
    "FlickerStats",
    "FrameDetector",
    "ImageResult",
    "Progress",
    "VideoInfo",
    "VideoOptions",
    "VideoResult",
    "annotate",
    "check_size",
    "detection_size",
    "flicker_stats",
    "max_upload_mb",
    "probe_video",
    "process_image",
    "process_video",
    "read_frame_at",
]
