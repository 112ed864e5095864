"""Knowing when it doesn't know: a frame unlike the model's training images gets fewer boxes and a note.

The signal is the model's own, read off its held-out phantom images (790 images of 25 new
volunteers, phantom 2.5.0 seed 1; `python bench/familiar_thresholds.py`): for the shipped model
the most confident box of an image scores at least 0.83 in 99 % of them, and the surest box of a
second organ at least 0.61; the thresholds are those quantiles rounded down to 0.05. A frame whose
best box stays below FAMILIAR_TOP_CONF, or whose second organ stays below FAMILIAR_SECOND_CONF, is
"unfamiliar": the model recognises less there than on nearly all of its training-like images, so
only its surest box per organ scoring GATED_CONF or more is kept, and pages say so. GATED_CONF was
chosen on half of the real carotid views of bench/sim2real.py (8 of 15 patients) and reported on
the other half.
On every frame, familiar or not, an organ a view shows once (one trachea, CCA, IJV, oesophagus:
`organs.ONE_PER_VIEW`) keeps only its surest box: a second "carotid" is always a false one.
"""

from __future__ import annotations

import numpy as np

from nnus_core.detection import Detection, Detections
from nnus_core.organs import ONE_PER_VIEW

FAMILIAR_TOP_CONF = 0.8
FAMILIAR_SECOND_CONF = 0.6
GATED_CONF = 0.55

UNFAMILIAR_NOTE = (
    "This image looks unlike the images the model was trained on (it is less sure of what it sees "
    "than on nearly all of its own test images): only its best box per organ is drawn, and even "
    "those are guesses."
)


def organ_confidences(detections: Detections | list[Detection]) -> list[float]:
    """The surest box's score of each organ found, highest first."""
    best: dict[int, float] = {}
    if isinstance(detections, Detections):
        pairs = zip(detections.class_id.tolist(), detections.confidence.tolist(), strict=True)
    else:
        pairs = ((d.organ_id, d.confidence) for d in detections)
    for organ, score in pairs:
        best[organ] = max(score, best.get(organ, 0.0))
    return sorted(best.values(), reverse=True)


def is_familiar(detections: Detections | list[Detection]) -> bool:
    """Whether the frame looks like the training data to the model: its best box scores at least
    FAMILIAR_TOP_CONF and a second organ's best at least FAMILIAR_SECOND_CONF.

    `detections` must hold every box above a low floor (the pages' and the evaluation's), not only
    those above a display threshold.
    """
    scores = organ_confidences(detections) + [0.0, 0.0]
    return scores[0] >= FAMILIAR_TOP_CONF and scores[1] >= FAMILIAR_SECOND_CONF


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
