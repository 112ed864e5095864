"""Knowing when it doesn't know: a frame unlike the model's training images gets fewer boxes and a note.

The signal is the model's own: on its held-out phantom images the most confident box of an image
scores at least 0.82 in 99 % of them (100 images; 0.89 for the former 1.1.0 model); on the 104 real
carotid views of bench/sim2real.py the median is 0.67 (0.34 for the 1.1.0 model). A frame whose best box stays below
FAMILIAR_TOP_CONF is "unfamiliar": the model recognises nothing there the way it does on its
training data, so only its surest box per organ (at GATED_CONF or more) is kept, and pages say so.
On every frame, familiar or not, an organ a view shows once (one trachea, CCA, IJV, oesophagus:
`organs.ONE_PER_VIEW`) keeps only its surest box: a second "carotid" is always a false one.
"""

from __future__ import annotations

import numpy as np

from nnus_core.detection import Detection, Detections
from nnus_core.organs import ONE_PER_VIEW

FAMILIAR_TOP_CONF = 0.6
GATED_CONF = 0.4

UNFAMILIAR_NOTE = (
    "This image looks unlike the images the model was trained on (its surest box scores below "
    f"{FAMILIAR_TOP_CONF:.1f}): only its best box per organ is drawn, and even those are guesses."
)


def top_confidence(detections: Detections | list[Detection]) -> float:
    """The most confident box's score (0 when there is none)."""
    if isinstance(detections, Detections):
        return float(detections.confidence.max()) if len(detections) else 0.0
    return max((d.confidence for d in detections), default=0.0)


def is_familiar(detections: Detections | list[Detection]) -> bool:
    """Whether the frame looks like the training data to the model (its best box >= FAMILIAR_TOP_CONF).

    `detections` must hold every box above a low floor (the pages' and the evaluation's), not only
    those above a display threshold.
    """
    return top_confidence(detections) >= FAMILIAR_TOP_CONF


def _best_per_organ(detections: Detections, organs: frozenset[int] | None = None) -> np.ndarray:
    """Indices to keep: the most confident box of each organ in `organs` (every organ when None),
    every box of the others."""
    order = np.argsort(-detections.confidence, kind="stable")
    _, first = np.unique(detections.class_id[order], return_index=True)
    best = np.zeros(len(detections), dtype=bool)
    best[order[first]] = True
    if organs is not None:
        best |= ~np.isin(detections.class_id, list(organs))
    return np.flatnonzero(best)


def one_per_view(detections: Detections) -> Detections:
    """At most one box of each organ a view shows once (`organs.ONE_PER_VIEW`: trachea, CCA, IJV,
    oesophagus): the most confident; the order is kept."""
    if not len(detections):
        return detections
    return detections[_best_per_organ(detections, ONE_PER_VIEW)]


def gate(detections: Detections) -> Detections:
    """The boxes to keep (fewer, never more): at most one of each organ a view shows once
    (`one_per_view`); on an unfamiliar frame, only the best box per organ scoring GATED_CONF or more."""
    if not len(detections):
        return detections
    if is_familiar(detections):
        return one_per_view(detections)
    keep = _best_per_organ(detections)
    keep = keep[detections.confidence[keep] >= GATED_CONF]
    return detections[keep[np.argsort(-detections.confidence[keep], kind="stable")]]


def unfamiliar_note(detections: Detections | list[Detection]) -> str | None:
    """UNFAMILIAR_NOTE for a frame the model does not recognise, else None."""
    return None if is_familiar(detections) else UNFAMILIAR_NOTE
