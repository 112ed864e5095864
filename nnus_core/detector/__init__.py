"""Organ detector: loading and fast CPU inference, metrics, training and model cards."""

from __future__ import annotations

from nnus_core.detector.card import ModelCard, read_model_card, write_model_card
from nnus_core.detector.detector import (
    Detector,
    default_model_dir,
    default_weights,
    load_default_detector,
)

__all__ = [
    "Detector",
    "ModelCard",
    "default_model_dir",
    "default_weights",
    "load_default_detector",
    "read_model_card",
    "write_model_card",
]
