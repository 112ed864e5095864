"""Synthetic neck-ultrasound phantom: virtual volunteers rendered as NNUS-format B-mode images."""

from __future__ import annotations

from nnus_core.phantom.generate import (
    GENERATOR_NAME,
    PHANTOM_VERSION,
    frame_annotations,
    generate_dataset,
    render_frame,
)
from nnus_core.phantom.sweep import SWEEP_KINDS, iter_sweep_frames, write_sweep
from nnus_core.phantom.views import FrameSpec, plan_dataset

__all__ = [
    "GENERATOR_NAME",
    "PHANTOM_VERSION",
    "SWEEP_KINDS",
    "FrameSpec",
    "frame_annotations",
    "generate_dataset",
    "iter_sweep_frames",
    "plan_dataset",
    "render_frame",
    "write_sweep",
]
