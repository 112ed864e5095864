"""Live class session: a state machine stored in the database (lobby, questions, reveal, leaderboard)."""

from __future__ import annotations

from nnus_core.live.model import LiveQuestion, LiveSession, LiveSetup, LiveState, MyResult, Participant, Pulse
from nnus_core.live.reveal import ChoiceReveal, LabelAllReveal, LeaderRow, LocateReveal, Reveal, reveal_image
from nnus_core.live.service import LiveService, SessionReport

__all__ = [
    "ChoiceReveal",
    "LabelAllReveal",
    "LeaderRow",
    "LiveQuestion",
    "LiveService",
    "LiveSession",
    "LiveSetup",
    "LiveState",
    "LocateReveal",
    "MyResult",
    "Participant",
    "Pulse",
    "Reveal",
    "SessionReport",
    "reveal_image",
]
