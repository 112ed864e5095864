"""What the feedback image shows: the truth shaded and outlined, the model dashed, the student's box on top."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nnus_core.dataset.model import Annotation
from nnus_core.quiz.engine import Review
from nnus_core.quiz.questions import Kind
from nnus_core.render import Overlay

STUDENT_RGB = (255, 255, 255)  # the student's box: white with a black outline, whatever the organ
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
    q, m = rv.served.question, rv.model
    if q.kind is Kind.LABEL_ALL:
        out = [Overlay(a.organ_id, a.box, a.organ.short, "solid") for a in rv.targets]
        out += [Overlay(d.organ_id, d.box, f"model {d.confidence:.2f}", "dashed") for d in m.detections]
        out += [Overlay(o, b, "", "student", STUDENT_RGB) for o, b in rv.answer.labels]
        return out
    # One organ asked: the truth needs no tag (the legend names its colour); its tag would sit
    # exactly under the model's when both boxes agree.
    out = [Overlay(a.organ_id, a.box, "", "solid") for a in rv.targets]
    if m.detection is not None:
        d = m.detection
        name = "" if d.organ_id == q.organ_id else f" {d.organ.short}"  # Identify: the organ it says
        out.append(Overlay(d.organ_id, d.box, f"model{name} {d.confidence:.2f}", "dashed"))
    if rv.answer.box is not None:
        out.append(Overlay(None, rv.answer.box, "", "student", STUDENT_RGB))
    return out
