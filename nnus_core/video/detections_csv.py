"""The per-frame detections CSV: its writer (one run's partial file, renamed into place) and its readers."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from nnus_core.dataset.model import Annotation
from nnus_core.detection import Detection
from nnus_core.errors import VideoError
from nnus_core.geometry import BoxPx

CSV_COLUMNS = (
    "frame",
    "time_s",
    "organ_id",
    "organ",
    "confidence",
    "x1",
    "y1",
    "x2",
    "y2",
    "track_id",
    "detected",
)
GT_COLUMNS = ("frame", "organ_id", "x1", "y1", "x2", "y2")  # what scoring needs of either CSV
TIME_TOL_S = 1e-3  # rows of one frame share its exact time (written to 4 decimals)


class DetectionsCsvWriter:
    """The CSV of one run, written to `.NAME.partTAG` beside `final`; `commit` renames it into place.

    Boxes are clamped to the working frame (`size`) and written in original pixels (divided by
    `scale`, the working pixels per original pixel).
    """

    def __init__(self, final: Path, run_tag: str, size: tuple[int, int], scale: float) -> None:
        self.final = final
        self.part = final.with_name(f".{final.name}.part{run_tag}")
        self._w, self._h = size
        self._inv = 1.0 / scale
        self._file = self.part.open("w", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(CSV_COLUMNS)

    def write(self, frame: int, time_s: float, shown: Sequence[Detection], detected: bool) -> None:
        """The rows of one frame: the boxes shown on it, and whether the detector ran on it."""
        inv = self._inv
        for d in shown:
            b = d.box.clamp(self._w, self._h).scale(inv, inv)
            self._writer.writerow(
                (
                    frame,
                    f"{time_s:.4f}",
                    d.organ_id,
                    d.organ_name,
                    f"{d.confidence:.4f}",
                    f"{b.x1:.1f}",
                    f"{b.y1:.1f}",
                    f"{b.x2:.1f}",
                    f"{b.y2:.1f}",
                    "" if d.track_id is None else d.track_id,
                    int(detected),
                )
            )

    def commit(self) -> None:
        self._file.close()
        os.replace(self.part, self.final)

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.part.unlink(missing_ok=True)


def read_csv_checked(path: str | Path, required: tuple[str, ...]) -> pd.DataFrame:
    """A CSV as a frame, with the columns we need.

    Raises:
        VideoError: when it cannot be read or lacks a column.
    """
    try:
        df = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise VideoError(f"{Path(path).name}: cannot read CSV ({exc})") from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise VideoError(
            f"{Path(path).name}: expected columns {', '.join(required)}; missing {', '.join(missing)}"
        )
    return df


def read_detections(csv_path: str | Path) -> pd.DataFrame:
    """The per-frame detections CSV written by `process_video`.

    Raises:
        VideoError: when it cannot be read or lacks a column.
    """
    return read_csv_checked(csv_path, CSV_COLUMNS)


def read_ground_truth(csv_path: str | Path) -> pd.DataFrame:
    """A phantom sweep's per-frame ground truth (frame, time_s, organ_id, box in original pixels).

    Raises:
        VideoError: when it cannot be read or lacks a column.
    """
    return read_csv_checked(csv_path, ("time_s", *GT_COLUMNS))


def rows_at(df: pd.DataFrame, time_s: float, tol_s: float = TIME_TOL_S) -> pd.DataFrame:
    """The rows of the frame shown at time_s (exact frame time, as `read_frame_at` returns)."""
    return df[(df.time_s - time_s).abs() <= tol_s]


def frame_boxes(csv_rows: Sequence[dict], scale: float = 1.0) -> list[Detection]:
    """Detections from rows of the per-frame CSV (dicts), boxes multiplied by `scale`."""
    out = []
    for r in csv_rows:
        box = BoxPx(
            float(r["x1"]) * scale, float(r["y1"]) * scale, float(r["x2"]) * scale, float(r["y2"]) * scale
        )
        tid = r.get("track_id")
        track = (
            int(tid) if tid not in (None, "") and not (isinstance(tid, float) and math.isnan(tid)) else None
        )
        out.append(Detection(int(r["organ_id"]), float(r["confidence"]), box, track))
    return out


def detections_at(df: pd.DataFrame, time_s: float) -> list[Detection]:
    """The detections shown on the frame at time_s, from the per-frame CSV."""
    return frame_boxes(rows_at(df, time_s).to_dict("records"))


def truth_at(gt: pd.DataFrame, time_s: float) -> list[Annotation]:
    """The ground-truth boxes of the frame at time_s, from a sweep's ground-truth CSV."""
    return [
        Annotation(int(r.organ_id), BoxPx(r.x1, r.y1, r.x2, r.y2)) for r in rows_at(gt, time_s).itertuples()
    ]


def detections_table(detections: Sequence[Detection]) -> pd.DataFrame:
    """Detections as a table to show: organ, confidence and box corners, rounded for reading."""
    return pd.DataFrame(
        [
            {
                "organ": d.organ_name,
                "confidence": round(d.confidence, 3),
                **dict(zip(("x1", "y1", "x2", "y2"), (round(v, 1) for v in d.box.as_tuple()), strict=True)),
            }
            for d in detections
        ]
    )
