"""The typed result of running a detector on one image."""

from __future__ import annotations

from dataclasses import dataclass

from nnus_core.geometry import BoxPx
from nnus_core.organs import ORGANS, Organ


@dataclass(frozen=True)
class Detection:
    """One detected organ: canonical organ id, confidence in [0, 1], box in image pixels."""

    organ_id: int
    confidence: float
    box: BoxPx
    track_id: int | None = None  # set by video tracking only

    def __post_init__(self) -> None:
        if not 0 <= self.organ_id < len(ORGANS):
            raise ValueError(f"organ_id must be 0..{len(ORGANS) - 1}, got {self.organ_id}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")

    @property
    def organ(self) -> Organ:
        return ORGANS[self.organ_id]

    @property
    def organ_name(self) -> str:
        return ORGANS[self.organ_id].name

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "organ_id": self.organ_id,
            "organ": self.organ_name,
            "confidence": round(self.confidence, 4),
            "box": [round(v, 1) for v in self.box.as_tuple()],
        }
        if self.track_id is not None:
            d["track_id"] = self.track_id
        return d
