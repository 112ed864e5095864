"""NNUS Tutor core: dataset, phantom, detector, quiz and video logic (no Streamlit here)."""

from __future__ import annotations

__version__ = "0.1.0"
