"""Shared fixtures: offline ultralytics, small NNUS-format datasets built in tmp folders."""

from __future__ import annotations

import os

os.environ.setdefault("YOLO_OFFLINE", "1")
# Unexpected errors propagate with their traceback in tests (the app shows a reference id instead).
os.environ.setdefault("NNUS_ERROR_DETAILS", "1")
os.environ.setdefault("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", "full")
