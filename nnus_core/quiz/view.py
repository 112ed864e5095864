"""What the feedback image shows: the truth shaded and outlined, the model dashed, the student's box on top."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnus_core.dataset.model import Annotation
from nnus_core.quiz.kinds import kind_of
from nnus_core.quiz.kinds.base import STUDENT_RGB
from nnus_core.quiz.values import Review
from nnus_core.render import Overlay

__all__ = ["SHADE_ALPHA", "STUDENT_RGB", "review_overlays", "shade_targets"]
SHADE_ALPHA = 0.28


def shade_targets(
    image_rgb: np.ndarray, targets: Sequence[Annotation], alpha: float = SHADE_ALPHA
) -> np.ndarray:
    """A copy of the image with each ground-truth box filled in its organ colour at `alpha`.

    The fill keeps the truth visible when a near-perfect student box is drawn over its outline.
    """
    out = image_rgb.copy()
    h, w = out.shape[:2]
    for a in targets:
        b = a.box.clamp(w, h)
        x1, y1, x2, y2 = (int(round(v)) for v in b.as_tuple())
        if x2 > x1 and y2 > y1:
            # Blend only the box, not the whole frame: the feedback view is redrawn on every rerun.
            region = out[y1:y2, x1:x2].astype(np.float32)
            region = region * (1 - alpha) + np.array(a.organ.rgb, np.float32) * alpha
            out[y1:y2, x1:x2] = np.clip(region, 0, 255).astype(np.uint8)
    return out


def review_overlays(rv: Review) -> list[Overlay]:
    """Ground truth (solid, organ colour), the model (dashed, with its confidence), then the
    student's box(es) last so they are never hidden (white with a black outline, no label)."""
    return kind_of(rv.served.question.kind).overlays(rv)
