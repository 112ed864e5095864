"""Annotated video for teaching: probe an input, detect organs frame by frame, write H.264 that browsers play."""

from __future__ import annotations

from nnus_core.video.detecting import FrameDetector, detection_size
from nnus_core.video.detections_csv import CSV_COLUMNS
from nnus_core.video.drawing import annotate
from nnus_core.video.options import LABEL_STYLES, VideoOptions
from nnus_core.video.pipeline import ImageResult, Progress, VideoResult, process_image, process_video
from nnus_core.video.probe import VideoInfo, check_size, max_upload_mb, probe_video
from nnus_core.video.seek import read_frame_at
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
