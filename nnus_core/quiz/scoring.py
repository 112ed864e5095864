"""Pure scoring of quiz answers: the student's drag as a box, IoU credit, choices, label-all matching."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nnus_core.detection import Detections
from nnus_core.errors import QuizInputError
from nnus_core.geometry import BoxPx, iou
from nnus_core.matching import pair_boxes
from nnus_core.organs import ORGANS

PASS_IOU_DEFAULT = 0.5
MIN_BOX_SIDE_PX = 3.0  # a "box" thinner than this is a click, not a drag

MSG_NO_BOX = "Draw a box first: press on the image, drag to the opposite corner and release."
MSG_ZERO_AREA = (
    "Your box has no area (a click, not a drag). Press on one corner of the organ, drag to the "
    "opposite corner and release."
)
MSG_OUTSIDE = "Your box lies entirely outside the image. Draw it over the organ."


@dataclass(frozen=True)
class DragResult:
    """A drag from the image component turned into an image-pixel box, or the reason it is not one."""

    box: BoxPx | None
    problem: str | None = None  # a message for the student when `box` is None
    clipped: bool = False  # part of the drag fell outside the image
    reversed: bool = False  # dragged from right to left or bottom to top (corners were sorted)

    @property
    def notes(self) -> tuple[str, ...]:
        """What was done to an accepted drag, for the student (clipped to the image, corners sorted)."""
        if self.box is None:
            return ()
        out = []
        if self.clipped:
            out.append("Your box went past the image edge: it was clipped to the image.")
        if self.reversed:
            out.append("Dragged backwards: the corners were sorted for you.")
        return tuple(out)


def box_from_drag(
    value: Mapping[str, object] | None, image_w: int, image_h: int, *, min_side_px: float = MIN_BOX_SIDE_PX
) -> DragResult:
    """Convert a click-and-drag value in displayed pixels into a box in image pixels.

    The component reports `x1, y1` (press), `x2, y2` (release) and the displayed `width, height`;
    the release may lie outside the image and before the press.

    Args:
        value: the component's value, or None when nothing was drawn.
        image_w: natural image width in pixels.
        image_h: natural image height in pixels.
        min_side_px: smallest accepted box side, in image pixels.

    Returns:
        A DragResult: a sorted, clamped box, or None with a message.
    """
    if not value:
        return DragResult(None, MSG_NO_BOX)
    try:
        x1, y1, x2, y2 = (float(value[k]) for k in ("x1", "y1", "x2", "y2"))  # type: ignore[arg-type]
        # Without the displayed size (older component versions) the image is at its natural size.
        disp_w = float(value["width"]) if value.get("width") is not None else float(image_w)  # type: ignore[arg-type]
        disp_h = float(value["height"]) if value.get("height") is not None else float(image_h)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        return DragResult(None, MSG_NO_BOX)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2, disp_w, disp_h)) or disp_w <= 0 or disp_h <= 0:
        return DragResult(None, MSG_NO_BOX)
    sx, sy = image_w / disp_w, image_h / disp_h
    rev = x2 < x1 or y2 < y1
    raw = BoxPx.from_corners(x1 * sx, y1 * sy, x2 * sx, y2 * sy)
    box = raw.clamp(image_w, image_h)
    clipped = box != raw
    if raw.width < min_side_px or raw.height < min_side_px:
        return DragResult(None, MSG_ZERO_AREA, clipped, rev)
    if box.width < min_side_px or box.height < min_side_px:
        return DragResult(None, MSG_OUTSIDE, clipped, rev)
    return DragResult(box, None, clipped, rev)


def credit_for_iou(value: float, pass_iou: float = PASS_IOU_DEFAULT) -> float:
    """Credit in [0, 1]: full at IoU >= pass_iou, proportional below (IoU 0.25 at pass 0.5 -> 0.5)."""
    _check_pass_iou(pass_iou)
    if value >= pass_iou:
        return 1.0
    return max(0.0, value) / pass_iou


def _check_pass_iou(pass_iou: float) -> None:
    if not 0.0 < pass_iou <= 1.0:
        raise QuizInputError(f"pass IoU: expected a value in (0, 1], got {pass_iou}")


@dataclass(frozen=True)
class Score:
    """The outcome of one answer."""

    credit: float  # 0..1
    passed: bool
    outcome: str  # "pass" | "partial" | "miss" | "correct" | "wrong"
    verdict: str  # one plain sentence for the student
    iou: float | None = None  # locate: IoU with the best-matching ground-truth instance
    matched_index: int | None = None  # index into the ground-truth boxes given


def score_locate(
    box: BoxPx | None,
    gt_boxes: Sequence[BoxPx],
    *,
    not_visible: bool = False,
    pass_iou: float = PASS_IOU_DEFAULT,
) -> Score:
    """Score a Locate answer against every ground-truth instance of the organ.

    Args:
        box: the student's box in image pixels (None when answering "not visible").
        gt_boxes: ground-truth boxes of the asked organ in this image (empty when absent).
        not_visible: the student answered that the organ is not in the image.
        pass_iou: IoU at and above which the answer passes.

    Raises:
        QuizInputError: no box and not "not visible", a zero-area box, or a bad pass_iou.
    """
    _check_pass_iou(pass_iou)
    if not_visible:
        if gt_boxes:
            return Score(
                0.0, False, "miss", "It is visible in this image: look again at the outlined box.", 0.0
            )
        return Score(1.0, True, "correct", "Correct: it is not in this view.")
    if box is None:
        raise QuizInputError(MSG_NO_BOX)
    if box.width <= 0 or box.height <= 0:
        raise QuizInputError(MSG_ZERO_AREA)
    if not gt_boxes:
        return Score(0.0, False, "miss", 'Not in this image: the right answer was "not visible".', 0.0)
    ious = [iou(box, g) for g in gt_boxes]
    best = max(range(len(ious)), key=ious.__getitem__)
    value = ious[best]
    credit = credit_for_iou(value, pass_iou)
    if value >= pass_iou:
        outcome, verdict = "pass", f"Pass: IoU {value:.2f} (pass at {pass_iou:.2f})."
    elif value > 0:
        outcome, verdict = "partial", f"Partly right: IoU {value:.2f}, pass at {pass_iou:.2f}."
    else:
        outcome, verdict = "miss", "Missed: your box does not overlap the organ."
    return Score(credit, value >= pass_iou, outcome, verdict, value, best)


def score_choice(choice: int | None, correct: int) -> Score:
    """Score an Identify answer (an organ id among the offered choices).

    Raises:
        QuizInputError: when no choice was made.
    """
    if choice is None:
        raise QuizInputError("Pick one of the organs before submitting.")
    if choice == correct:
        return Score(1.0, True, "correct", f"Correct: this is the {ORGANS[correct].name}.")
    return Score(
        0.0, False, "wrong", f"Not quite: this is the {ORGANS[correct].name}, not the {ORGANS[choice].name}."
    )


def score_presence(answer: bool | None, truth: bool, organ_id: int) -> Score:
    """Score a Present? answer.

    Raises:
        QuizInputError: when neither yes nor no was chosen.
    """
    if answer is None:
        raise QuizInputError("Answer yes or no before submitting.")
    name = ORGANS[organ_id].name
    verb = "are" if name.endswith("muscles") else "is"
    seen = "visible" if truth else "not visible"
    if answer == truth:
        return Score(1.0, True, "correct", f"Correct: the {name} {verb} {seen} here.")
    return Score(0.0, False, "wrong", f"Not quite: the {name} {verb} {seen} in this image.")


@dataclass(frozen=True)
class LabelMatch:
    """One pairing of a student box with a ground-truth box of the same organ (either may be missing)."""

    organ_id: int
    student_index: int | None
    gt_index: int | None
    iou: float


@dataclass(frozen=True)
class LabelAllScore:
    """Label-all outcome: the score plus every pairing, missed organ and extra box."""

    score: Score
    matches: tuple[LabelMatch, ...]

    @property
    def missed(self) -> tuple[LabelMatch, ...]:
        return tuple(m for m in self.matches if m.student_index is None)

    @property
    def extra(self) -> tuple[LabelMatch, ...]:
        return tuple(m for m in self.matches if m.gt_index is None)


def score_label_all(
    student: Sequence[tuple[int, BoxPx]],
    gt: Sequence[tuple[int, BoxPx]],
    *,
    pass_iou: float = PASS_IOU_DEFAULT,
) -> LabelAllScore:
    """Score a Label-all answer by matching boxes of the same organ, greedily by IoU.

    Credit is the summed per-box credit over max(#ground truth, #student boxes), so both missed
    organs and extra boxes cost; it passes when every organ is found at pass_iou and nothing is extra.

    Raises:
        QuizInputError: when no box was labelled.
    """
    _check_pass_iou(pass_iou)
    if not student:
        raise QuizInputError("Label at least one organ: draw a box, pick its name and press Add.")
    # The one matcher, students' boxes as rows: same organ, any overlap, highest IoU first.
    m = pair_boxes(Detections.from_boxes(student), Detections.from_boxes(gt), 0.0, strict=True)
    used_s = {si for si, _ in m.pairs}
    used_g = {gi for _, gi in m.pairs}
    matches = [LabelMatch(gt[gi][0], si, gi, float(m.iou[si, gi])) for si, gi in m.pairs]
    matches += [LabelMatch(o, None, gi, 0.0) for gi, (o, _) in enumerate(gt) if gi not in used_g]
    matches += [LabelMatch(o, si, None, 0.0) for si, (o, _) in enumerate(student) if si not in used_s]
    denom = max(len(gt), len(student))
    credit = (
        sum(
            credit_for_iou(m.iou, pass_iou)
            for m in matches
            if m.gt_index is not None and m.student_index is not None
        )
        / denom
    )
    found = sum(
        1 for m in matches if m.gt_index is not None and m.student_index is not None and m.iou >= pass_iou
    )
    extra = sum(1 for m in matches if m.gt_index is None)
    passed = found == len(gt) and extra == 0
    verdict = (
        f"{found} of {len(gt)} organs found at IoU >= {pass_iou:.2f}"
        + (f", {extra} extra box(es)" if extra else "")
        + "."
    )
    outcome = "pass" if passed else ("partial" if credit > 0 else "miss")
    return LabelAllScore(Score(min(credit, 1.0), passed, outcome, verdict), tuple(matches))
