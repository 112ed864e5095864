"""Shared fixtures: offline ultralytics, small NNUS-format datasets built in tmp folders."""

from __future__ import annotations

import os

os.environ.setdefault("YOLO_OFFLINE", "1")
