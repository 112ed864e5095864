"""The typed result of running a detector on one image: `Detections` (columns) of `Detection`s."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

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


@dataclass(frozen=True, eq=False)  # arrays: equality is defined below, element by element
class Detections:
    """The boxes of one image as columns (in the spirit of supervision's `Detections`).

    xyxy: (N, 4) float64 corners in image pixels; confidence: (N,) float64 in [0, 1];
    class_id: (N,) int64 canonical organ ids; track_id: (N,) int64 or None (video tracking only).
    Ground truth is a `Detections` with confidence 1. Iterating yields one `Detection` per box.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray
    track_id: np.ndarray | None = None

    def __post_init__(self) -> None:
        # Normalise once, so every consumer can trust the shapes and dtypes.
        xyxy = np.asarray(self.xyxy, dtype=np.float64)
        if xyxy.size == 0:
            xyxy = xyxy.reshape(0, 4)
        if xyxy.ndim != 2 or xyxy.shape[1] != 4:
            raise ValueError(f"xyxy: expected an (N, 4) array, got shape {xyxy.shape}")
        confidence = np.asarray(self.confidence, dtype=np.float64).reshape(-1)
        class_id = np.asarray(self.class_id, dtype=np.int64).reshape(-1)
        track_id = None if self.track_id is None else np.asarray(self.track_id, dtype=np.int64).reshape(-1)
        n = len(xyxy)
        if len(confidence) != n or len(class_id) != n or (track_id is not None and len(track_id) != n):
            raise ValueError(
                f"expected one confidence, class_id (and track_id) per box, got {n} boxes, "
                f"{len(confidence)} confidences, {len(class_id)} class ids"
                + ("" if track_id is None else f", {len(track_id)} track ids")
            )
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "confidence", confidence)
        object.__setattr__(self, "class_id", class_id)
        object.__setattr__(self, "track_id", track_id)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64))

    @classmethod
    def from_boxes(cls, boxes: Iterable[tuple[int, BoxPx]], confidence: float = 1.0) -> Detections:
        """From (organ id, box) pairs, such as ground truth or a student's labels."""
        items = list(boxes)
        return cls(
            np.array([b.as_tuple() for _, b in items], dtype=np.float64).reshape(-1, 4),
            np.full(len(items), confidence, dtype=np.float64),
            np.array([o for o, _ in items], dtype=np.int64),
        )

    @classmethod
    def from_detections(cls, detections: Iterable[Detection]) -> Detections:
        items = list(detections)
        tracks = [d.track_id for d in items]
        return cls(
            np.array([d.box.as_tuple() for d in items], dtype=np.float64).reshape(-1, 4),
            np.array([d.confidence for d in items], dtype=np.float64),
            np.array([d.organ_id for d in items], dtype=np.int64),
            None if not items or any(t is None for t in tracks) else np.array(tracks, dtype=np.int64),
        )

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> Detections:
        """From `to_rows` rows ({"organ_id", "confidence", "box": [x1, y1, x2, y2]}, optional "track_id").

        Raises:
            ValueError: for a row without those keys or with a malformed box.
        """
        return cls.from_detections(_detection_from_row(r) for r in rows)

    def to_rows(self) -> list[dict[str, object]]:
        """One JSON-ready row per box (`Detection.to_dict`): for the detect CLI, CSV and pages."""
        return [d.to_dict() for d in self]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Detections):
            return NotImplemented
        same_tracks = (self.track_id is None) == (other.track_id is None) and (
            self.track_id is None or np.array_equal(self.track_id, other.track_id)
        )
        return (
            np.array_equal(self.xyxy, other.xyxy)
            and np.array_equal(self.confidence, other.confidence)
            and np.array_equal(self.class_id, other.class_id)
            and same_tracks
        )

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside

    def __len__(self) -> int:
        return len(self.class_id)

    def __iter__(self) -> Iterator[Detection]:
        conf = np.clip(self.confidence, 0.0, 1.0)  # float noise of a runtime may pass 1.0
        for i in range(len(self)):
            yield Detection(
                int(self.class_id[i]),
                float(conf[i]),
                BoxPx(*map(float, self.xyxy[i])),
                None if self.track_id is None else int(self.track_id[i]),
            )

    def __getitem__(self, index: int | slice | np.ndarray | Sequence[int]) -> Detections:
        """The boxes at an index, a slice, an index array or a boolean mask (always a `Detections`)."""
        if isinstance(index, int | np.integer):
            index = [int(index)]
        return Detections(
            self.xyxy[index],
            self.confidence[index],
            self.class_id[index],
            None if self.track_id is None else self.track_id[index],
        )


def _detection_from_row(row: Mapping[str, Any]) -> Detection:
    try:
        box = [float(v) for v in row["box"]]
        if len(box) != 4:
            raise ValueError(f"box: expected 4 numbers, got {len(box)}")
        track = row.get("track_id")
        return Detection(
            int(row["organ_id"]), float(row["confidence"]), BoxPx(*box), None if track is None else int(track)
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"detection row: expected organ_id, confidence and box, got {dict(row)!r}") from exc
