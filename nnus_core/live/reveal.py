"""What the projector shows after a question, and the standings: pure functions over stored answers.

- Locate: every box together, a density heatmap, the truth and the model's box, the IoU
  distribution, and the most common wrong place named with anatomy.
- Identify / Present?: the answer distribution with the right answer marked.
- Label all: how many of the class found each organ.
- The leaderboard: accuracy and speed in separate columns (points combine them only when the
  instructor chose that speed counts).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from nnus_core.dataset.model import Annotation, Sample
from nnus_core.detection import Detection
from nnus_core.geometry import BoxPx, iou
from nnus_core.live.model import LiveAnswer, LiveQuestion, Participant
from nnus_core.organs import ORGANS
from nnus_core.quiz import feedback as fb
from nnus_core.quiz.model_answer import model_locate
from nnus_core.quiz.questions import Kind, gt_boxes
from nnus_core.render import Overlay, draw_overlays

IOU_BINS = (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0001)
HEAT_CELL_PX = 4  # the density grid's cell: fine enough to see a cluster, cheap for 200 boxes
WRONG_OVERLAP_MIN = 0.3  # a wrong box "is on" another organ when this share of it lies on that organ
_FRACTIONS = (
    (1 / 4, "a quarter"),
    (1 / 3, "a third"),
    (1 / 2, "half"),
    (2 / 3, "two thirds"),
    (3 / 4, "three quarters"),
)


@dataclass(frozen=True)
class WrongPlace:
    """Where the wrong boxes went most: on another organ (its id), or on no organ (None)."""

    organ_id: int | None
    count: int
    share: float  # of all answers to the question
    sentence: str


@dataclass(frozen=True)
class LocateReveal:
    boxes: tuple[BoxPx, ...]  # every student's box
    not_visible: int  # students who answered "not visible"
    ious: tuple[float, ...]  # per box, with the best ground-truth instance
    passed: int
    truth: tuple[Annotation, ...]
    model: Detection | None
    model_iou: float | None
    heat: np.ndarray  # (h, w) float32 in 0..1 at HEAT_CELL_PX cells: share of boxes covering a cell
    iou_hist: tuple[tuple[float, float, int], ...]  # (low, high, count)
    wrong_place: WrongPlace | None


@dataclass(frozen=True)
class ChoiceReveal:
    """Identify and Present?: each option, how many chose it, and which one is right."""

    options: tuple[tuple[str, int, bool], ...]  # (label, count, correct)
    passed: int


@dataclass(frozen=True)
class LabelAllReveal:
    found: tuple[tuple[int, int], ...]  # (organ id in the image, students who found it)
    mean_credit: float
    boxes: tuple[tuple[int, BoxPx], ...]  # every student's labelled box


@dataclass(frozen=True)
class Reveal:
    """The projector's view of one question, after it closed."""

    question: LiveQuestion
    sample: Sample
    n_answers: int
    n_participants: int
    detail: LocateReveal | ChoiceReveal | LabelAllReveal

    @property
    def share_passed(self) -> float:
        return (
            self.detail.passed / self.n_answers if self.n_answers and hasattr(self.detail, "passed") else 0.0
        )


@dataclass(frozen=True)
class LeaderRow:
    """One line of the leaderboard: accuracy and speed apart, points as chosen."""

    rank: int
    participant_id: int
    display_name: str
    points: float
    correct: int  # questions passed
    answered: int
    credit: float  # sum of credits (what the gradebook exports)
    mean_s: float | None  # mean answer time over answered questions
    asked: int  # questions opened so far

    @property
    def accuracy(self) -> float:
        """Share of the asked questions passed (an unanswered question counts as missed)."""
        return self.correct / self.asked if self.asked else 0.0


# --- the reveal -----------------------------------------------------------------------------------


def share_words(count: int, total: int) -> str:
    """ "a third of you", "half of you", "4 of 30 of you"."""
    if total <= 0:
        return "none of you"
    if count == total:
        return "all of you"
    share = count / total
    for value, words in _FRACTIONS:
        if abs(share - value) <= 0.04:
            return f"{words} of you"
    return f"{count} of {total} of you"


def pair_sentence(asked: int, other: int) -> str:
    """Why one organ is taken for another: where each lies, and the teaching card's tell when it
    names the other organ."""
    a, o = ORGANS[asked], ORGANS[other]
    out = (
        f"the {fb.short(asked)} {fb.lies(asked)} {fb.LANDMARKS[asked]}; the {fb.short(other)} "
        f"{fb.lies(other)} {fb.LANDMARKS[other]}."
    )
    for card_of, named in ((a, o), (o, a)):
        tell = card_of.card.confused_with
        if named.name.lower() in tell.lower() or named.short.lower() in tell.lower().split():
            return f"{out} {card_of.name} or {named.name}? {tell}"
    return out


def _on_organ(box: BoxPx, annotations: Sequence[Annotation], asked: int) -> int | None:
    """The other organ that most of a wrong box lies on (None: no organ covers enough of it)."""
    best, best_share = None, 0.0
    for a in annotations:
        if a.organ_id == asked:
            continue
        ix = max(0.0, min(box.x2, a.box.x2) - max(box.x1, a.box.x1))
        iy = max(0.0, min(box.y2, a.box.y2) - max(box.y1, a.box.y1))
        share = ix * iy / max(box.area, 1.0)
        if share > best_share:
            best, best_share = a.organ_id, share
    return best if best_share >= WRONG_OVERLAP_MIN else None


def wrong_place(
    boxes: Sequence[BoxPx], ious: Sequence[float], sample: Sample, asked: int, pass_iou: float, n_answers: int
) -> WrongPlace | None:
    """The most common place of the wrong boxes, explained (None when no box was wrong)."""
    wrong = [b for b, v in zip(boxes, ious, strict=True) if v < pass_iou]
    if not wrong:
        return None
    places = Counter(_on_organ(b, sample.annotations, asked) for b in wrong)
    (organ, count), *_ = sorted(places.items(), key=lambda kv: (-kv[1], kv[0] is None, kv[0] or 0))
    who = share_words(count, n_answers)
    if organ is None:
        sentence = (
            f"{who.capitalize()} boxed a place that is no labelled organ: the {fb.short(asked)} "
            f"{fb.lies(asked)} {fb.LANDMARKS[asked]}."
        )
    else:
        sentence = f"{who.capitalize()} boxed the {fb.short(organ)}: {pair_sentence(asked, organ)}"
    return WrongPlace(organ, count, count / max(n_answers, 1), sentence)


def density(boxes: Sequence[BoxPx], width: int, height: int, cell: int = HEAT_CELL_PX) -> np.ndarray:
    """Share of the boxes covering each cell of the image (0..1), on a grid of `cell`-pixel cells."""
    gh, gw = max(1, -(-height // cell)), max(1, -(-width // cell))
    acc = np.zeros((gh + 1, gw + 1), np.float32)
    for b in boxes:
        c = b.clamp(width, height)
        x1, y1 = int(c.x1 // cell), int(c.y1 // cell)
        x2, y2 = int(-(-c.x2 // cell)), int(-(-c.y2 // cell))
        # A 2-D difference array: four writes per box, one cumulative sum for all of them.
        acc[y1, x1] += 1
        acc[y1, x2] -= 1
        acc[y2, x1] -= 1
        acc[y2, x2] += 1
    heat = acc.cumsum(0).cumsum(1)[:gh, :gw]
    return heat / max(len(boxes), 1)


def _histogram(ious: Sequence[float]) -> tuple[tuple[float, float, int], ...]:
    counts, _ = np.histogram(np.asarray(ious, dtype=float), bins=np.asarray(IOU_BINS))
    return tuple((IOU_BINS[i], min(IOU_BINS[i + 1], 1.0), int(c)) for i, c in enumerate(counts))


def locate_reveal(
    q: LiveQuestion,
    sample: Sample,
    answers: Sequence[LiveAnswer],
    pass_iou: float,
    dets: Sequence[Detection] | None,
) -> LocateReveal:
    organ = q.question.organ_id
    assert organ is not None
    gts = gt_boxes(sample, organ)
    boxes = tuple(a.answer.box for a in answers if a.answer.box is not None and not a.answer.not_visible)
    ious = tuple(max((iou(b, g) for g in gts), default=0.0) for b in boxes)
    model = model_locate(dets, organ, gts, pass_iou) if dets is not None else None
    return LocateReveal(
        boxes=boxes,
        not_visible=sum(1 for a in answers if a.answer.not_visible),
        ious=ious,
        passed=sum(1 for a in answers if a.passed),
        truth=tuple(a for a in sample.annotations if a.organ_id == organ),
        model=model.detection if model else None,
        model_iou=model.iou if model else None,
        heat=density(boxes, sample.width, sample.height),
        iou_hist=_histogram(ious),
        wrong_place=wrong_place(boxes, ious, sample, organ, pass_iou, len(answers)) if gts else None,
    )


def choice_reveal(q: LiveQuestion, sample: Sample, answers: Sequence[LiveAnswer]) -> ChoiceReveal:
    question = q.question
    if question.kind is Kind.IDENTIFY:
        counts = Counter(a.answer.choice for a in answers)
        options = tuple((ORGANS[o].name, counts.get(o, 0), o == question.organ_id) for o in question.choices)
    else:
        truth = question.organ_id in sample.organ_ids
        counts = Counter(a.answer.present for a in answers)
        options = (
            ("Yes, visible", counts.get(True, 0), truth),
            ("No, not here", counts.get(False, 0), not truth),
        )
    return ChoiceReveal(options, sum(1 for a in answers if a.passed))


def label_all_reveal(sample: Sample, answers: Sequence[LiveAnswer], pass_iou: float) -> LabelAllReveal:
    organs = sorted(sample.organ_ids)
    found = Counter()
    for a in answers:
        for o in organs:
            if any(
                lo == o and any(iou(b, g) >= pass_iou for g in gt_boxes(sample, o))
                for lo, b in a.answer.labels
            ):
                found[o] += 1
    credits = [a.credit for a in answers]
    return LabelAllReveal(
        tuple((o, found.get(o, 0)) for o in organs),
        float(np.mean(credits)) if credits else 0.0,
        tuple(lb for a in answers for lb in a.answer.labels),
    )


def build_reveal(
    q: LiveQuestion,
    sample: Sample,
    answers: Sequence[LiveAnswer],
    n_participants: int,
    pass_iou: float,
    dets: Sequence[Detection] | None,
) -> Reveal:
    """The reveal of one question from its stored answers (and the model's detections, if any)."""
    kind = q.question.kind
    if kind is Kind.LOCATE:
        detail: LocateReveal | ChoiceReveal | LabelAllReveal = locate_reveal(
            q, sample, answers, pass_iou, dets
        )
    elif kind is Kind.LABEL_ALL:
        detail = label_all_reveal(sample, answers, pass_iou)
    else:
        detail = choice_reveal(q, sample, answers)
    return Reveal(q, sample, len(answers), n_participants, detail)


def reveal_image(rgb: np.ndarray, r: Reveal) -> np.ndarray:
    """The question's image with the class's boxes (translucent), their density, the truth and the model."""
    img = np.ascontiguousarray(rgb.copy())
    h, w = img.shape[:2]
    d = r.detail
    if isinstance(d, LocateReveal):
        if d.boxes:
            heat = cv2.resize(d.heat, (w, h), interpolation=cv2.INTER_LINEAR)
            colour = cv2.cvtColor(
                cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB
            )
            alpha = (0.55 * np.clip(heat * 1.5, 0, 1))[..., None]
            img = (img * (1 - alpha) + colour * alpha).astype(np.uint8)
            layer = img.copy()
            for b in d.boxes:
                c = b.clamp(w - 1, h - 1)
                cv2.rectangle(
                    layer, (int(c.x1), int(c.y1)), (int(c.x2), int(c.y2)), (255, 255, 255), 1, cv2.LINE_AA
                )
            img = cv2.addWeighted(layer, 0.45, img, 0.55, 0)
        overlays = [Overlay(a.organ_id, a.box, "truth", "solid") for a in d.truth]
        if d.model is not None:
            overlays.append(
                Overlay(d.model.organ_id, d.model.box, f"model {d.model.confidence:.2f}", "dashed")
            )
        return draw_overlays(img, overlays, thickness=3)
    if isinstance(d, LabelAllReveal):
        layer = img.copy()
        for o, b in d.boxes:
            c = b.clamp(w - 1, h - 1)
            cv2.rectangle(
                layer, (int(c.x1), int(c.y1)), (int(c.x2), int(c.y2)), ORGANS[o].rgb, 1, cv2.LINE_AA
            )
        img = cv2.addWeighted(layer, 0.5, img, 0.5, 0)
        return draw_overlays(
            img, [Overlay(a.organ_id, a.box, a.organ.short, "solid") for a in r.sample.annotations]
        )
    q = r.question.question
    if q.kind is Kind.IDENTIFY and q.target_index is not None:
        t = r.sample.annotations[q.target_index]
        return draw_overlays(img, [Overlay(t.organ_id, t.box, t.organ.short, "solid")], thickness=3)
    return draw_overlays(
        img,
        [
            Overlay(a.organ_id, a.box, a.organ.short, "solid")
            for a in r.sample.annotations
            if a.organ_id == q.organ_id
        ],
    )


# --- standings ------------------------------------------------------------------------------------


def leaderboard(
    participants: Sequence[Participant], answers: Sequence[LiveAnswer], asked: int
) -> list[LeaderRow]:
    """Everyone who joined, by points (then the faster mean time, then the name); ties share a rank."""
    by_p: dict[int, list[LiveAnswer]] = {p.id: [] for p in participants}
    for a in answers:
        by_p.setdefault(a.participant_id, []).append(a)
    rows = []
    for p in participants:
        mine = by_p.get(p.id, [])
        times = [a.elapsed_s for a in mine]
        rows.append(
            (
                round(sum(a.points for a in mine), 1),
                sum(1 for a in mine if a.passed),
                len(mine),
                round(sum(a.credit for a in mine), 4),
                round(sum(times) / len(times), 2) if times else None,
                p,
            )
        )
    rows.sort(key=lambda r: (-r[0], r[4] if r[4] is not None else float("inf"), r[5].display_name.casefold()))
    out: list[LeaderRow] = []
    for i, (points, correct, answered, credit, mean_s, p) in enumerate(rows):
        rank = out[-1].rank if out and out[-1].points == points else i + 1
        out.append(LeaderRow(rank, p.id, p.display_name, points, correct, answered, credit, mean_s, asked))
    return out
