"""Plain-language feedback from the geometry of an answer: depth, side, size, and the organ confused with."""

from __future__ import annotations

from collections.abc import Sequence

from nnus_core.dataset.model import Annotation
from nnus_core.geometry import BoxPx, iou
from nnus_core.organs import ORGANS

# Where each organ sits, in the words a sonographer uses (from the teaching cards in organs.py).
LANDMARKS: dict[int, str] = {
    0: "in the midline, medial to the thyroid lobe, with a bright air line and reverberations below",
    1: "between the trachea (medial) and the common carotid artery (lateral), under the strap muscles",
    2: "lateral to the thyroid lobe, under the sternocleidomastoid",
    3: "lateral to the common carotid artery, under the sternocleidomastoid",
    4: "behind the left thyroid lobe, beside the trachea",
    5: "on the vertebral body: the deepest labelled structure",
    6: "directly over the thyroid, just under the skin",
    7: "just under the skin, lateral to the strap muscles, over the carotid sheath",
}
PLURAL_ORGANS = frozenset({6})  # "Strap muscles"


def short(organ_id: int) -> str:
    """The name used in feedback sentences, written out for students ("common carotid artery").

    Abbreviations (CCA, TRA) are what the image tags show; in a sentence a student needs the word.
    """
    return ORGANS[organ_id].name.lower()


def lies(organ_id: int) -> str:
    """ "lies", or "lie" for an organ named in the plural."""
    return "lie" if organ_id in PLURAL_ORGANS else "lies"


def is_(organ_id: int) -> str:
    """ "is", or "are" for an organ named in the plural."""
    return "are" if organ_id in PLURAL_ORGANS else "is"


# Pairs (medial organ, lateral organ) whose order across the screen reveals the image's lateral side.
_MEDIAL_LATERAL_PAIRS = ((0, 1), (1, 2), (0, 2), (2, 3), (6, 7), (4, 2), (1, 7))

# Offsets beyond this fraction of the organ's size are worth a sentence.
OFFSET_FRACTION = 0.5
GOOD_IOU = 0.75
TOO_BIG_AREA_RATIO = 2.0
TOO_SMALL_AREA_RATIO = 0.5


def lateral_direction(annotations: Sequence[Annotation]) -> int | None:
    """+1 when lateral is to the right on screen, -1 to the left, None when the image cannot tell.

    NNUS views are transverse scans of one side of the neck; which screen side is lateral depends
    on the side scanned, so it is read from organ pairs with a known medial-lateral order.
    """
    centre: dict[int, float] = {}
    for a in annotations:
        centre.setdefault(a.organ_id, a.box.center[0])
    votes = 0
    for med, lat in _MEDIAL_LATERAL_PAIRS:
        if med in centre and lat in centre and abs(centre[lat] - centre[med]) > 1.0:
            votes += 1 if centre[lat] > centre[med] else -1
    if votes == 0:
        return None
    return 1 if votes > 0 else -1


def locate_feedback(
    organ_id: int,
    box: BoxPx,
    gt_box: BoxPx,
    others: Sequence[Annotation] = (),
    lateral: int | None = None,
) -> list[str]:
    """Sentences telling the student how their box differs from the organ and where it really lies.

    Args:
        organ_id: the organ asked for.
        box: the student's box (image pixels).
        gt_box: the best-matching ground-truth box of that organ.
        others: ground truth of the other organs in the image (to name a confusion).
        lateral: +1/-1 screen direction of lateral (see `lateral_direction`), None if unknown.

    Returns:
        One to three sentences, most important first.
    """
    o = ORGANS[organ_id]
    value = iou(box, gt_box)
    out: list[str] = []
    confused = max(
        ((iou(box, a.box), a.organ_id) for a in others if a.organ_id != organ_id),
        default=(0.0, -1),
    )
    if confused[0] >= 0.3 and confused[0] > value:
        c = ORGANS[confused[1]]
        out.append(
            f"Your box fits the {c.name} (IoU {confused[0]:.2f}) better than the {o.name}. "
            f"{short(organ_id)} vs {short(c.id)}: {o.card.confused_with}"
        )
    if value >= GOOD_IOU:
        out.append(f"Well placed: the {short(organ_id)} {lies(organ_id)} {LANDMARKS[organ_id]}.")
        return out

    (sx, sy), (gx, gy) = box.center, gt_box.center
    dy = (sy - gy) / max(gt_box.height, 1.0)
    dx = (sx - gx) / max(gt_box.width, 1.0)
    wrong: list[str] = []
    truth: list[str] = []
    if dy < -OFFSET_FRACTION:
        wrong.append("too superficial")
        truth.append("deeper")
    elif dy > OFFSET_FRACTION:
        wrong.append("too deep")
        truth.append("more superficial")
    if abs(dx) > OFFSET_FRACTION:
        if lateral is None:
            wrong.append(f"too far {'right' if dx > 0 else 'left'} on the screen")
            truth.append(f"further {'left' if dx > 0 else 'right'}")
        elif dx * lateral > 0:
            wrong.append("too lateral")
            truth.append("more medial")
        else:
            wrong.append("too medial")
            truth.append("more lateral")
    if wrong:
        out.append(
            f"{' and '.join(wrong).capitalize()}: the {short(organ_id)} {lies(organ_id)} {' and '.join(truth)}, "
            f"{LANDMARKS[organ_id]}."
        )

    ratio = box.area / max(gt_box.area, 1.0)
    if ratio > TOO_BIG_AREA_RATIO:
        out.append(f"Your box is {ratio:.1f}x the organ's area: fit it to the organ's borders.")
    elif ratio < TOO_SMALL_AREA_RATIO:
        out.append(
            f"Your box covers {ratio:.0%} of the organ's area: include its whole outline, walls included."
        )
    if not out:
        out.append(
            f"Close: tighten the box on the {short(organ_id)}, which {lies(organ_id)} {LANDMARKS[organ_id]}."
        )
    return out


def absent_feedback(organ_id: int) -> str:
    """Why an organ can be missing from a view, and where to look for it."""
    o = ORGANS[organ_id]
    return f"The {o.name} {is_(organ_id)} not in this view. Where to look: {o.card.position} Tip: {o.card.scanning_tip}"


def present_missed_feedback(organ_id: int) -> str:
    """For a student who said "not visible" to an organ that is there."""
    o = ORGANS[organ_id]
    return (
        f"The {o.name} {is_(organ_id)} in this image (outlined): look {LANDMARKS[organ_id]}. "
        f"{o.card.echogenicity}"
    )


def identify_feedback(correct: int, chosen: int) -> str:
    """Why the highlighted structure is `correct` and not `chosen`."""
    c, w = ORGANS[correct], ORGANS[chosen]
    if correct == chosen:
        return f"The {short(correct)} {lies(correct)} {LANDMARKS[correct]}."
    return (
        f"It is the {c.name}: {c.card.echogenicity} It {lies(correct)} {LANDMARKS[correct]}; "
        f"the {w.name} {lies(chosen)} {LANDMARKS[chosen]}."
    )
