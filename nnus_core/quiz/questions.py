"""Quiz settings, the question value, the per-dataset question index and the choices shared by the kinds
(organ weights, difficulty, distractors); each kind generates its own question (`quiz.kinds`)."""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

import numpy as np

from nnus_core.dataset.images import read_image
from nnus_core.dataset.model import Dataset, Sample
from nnus_core.errors import QuizInputError
from nnus_core.geometry import BoxPx
from nnus_core.organs import N_ORGANS
from nnus_core.quiz.scoring import PASS_IOU_DEFAULT


class Kind(StrEnum):
    """The key of a question kind, stored with every question and answer (never rename a value)."""

    LOCATE = "locate"
    IDENTIFY = "identify"
    PRESENT = "present"
    LABEL_ALL = "label_all"

    @property
    def title(self) -> str:
        """As the setup and the badges name it."""
        return KIND_TITLES[self]


# How each kind words its question. `nnus_core.quiz.kinds` fills it when imported, and importing
# `nnus_core.quiz` (or anything of it that makes questions) imports the kinds: no import runs back.
PROMPTS: dict[Kind, Callable[[Question], str]] = {}

KIND_TITLES: dict[Kind, str] = {
    Kind.LOCATE: "Locate",
    Kind.IDENTIFY: "Identify",
    Kind.PRESENT: "Present?",
    Kind.LABEL_ALL: "Label all",
}


DIFFICULTIES = ("mixed", "easy", "hard")
MAX_QUESTIONS = 50
MAX_TIME_LIMIT_S = 600

# Organs a student is likely to mistake for each other (teaching cards' "confused with"), first
# choices for Identify distractors.
CONFUSABLE: dict[int, tuple[int, ...]] = {
    0: (4, 1, 6),
    1: (6, 0, 7),
    2: (3, 1, 7),
    3: (2, 7, 1),
    4: (0, 5, 1),
    5: (4, 1, 2),
    6: (7, 1, 0),
    7: (6, 3, 2),
}


@dataclass(frozen=True)
class QuestionSpec:
    """A question fixed in advance (a question set's item): its kind, image and organ.

    Every kind can generate its question from one (`QuestionKind.from_spec`); the rest (Identify's
    choices, whether the organ is in the image) follows from the image, as when drawn at random.
    """

    kind: Kind
    image_stem: str
    organ_id: int | None  # None for Label all (every organ of the image)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))
        if self.organ_id is not None and not 0 <= int(self.organ_id) < N_ORGANS:
            raise QuizInputError(f"organ_id: expected 0..{N_ORGANS - 1} or none, got {self.organ_id}")
        if self.kind is Kind.LABEL_ALL and self.organ_id is not None:
            raise QuizInputError("Label all asks about every organ of the image: organ_id must be none")
        if self.kind is not Kind.LABEL_ALL and self.organ_id is None:
            raise QuizInputError(f"{self.kind.value}: expected the organ asked about, got none")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "image_stem": self.image_stem, "organ_id": self.organ_id}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QuestionSpec:
        oid = d.get("organ_id")
        return cls(Kind(d["kind"]), str(d["image_stem"]), None if oid is None else int(oid))


@dataclass(frozen=True)
class QuizSettings:
    """What the student chose for a quiz session."""

    n_questions: int = 10
    kinds: tuple[str, ...] = (Kind.LOCATE.value,)
    organ_ids: tuple[int, ...] = ()  # empty: every organ
    difficulty: str = "mixed"  # "mixed" | "easy" (large, common, clear) | "hard" (small, rare, low contrast)
    pass_iou: float = PASS_IOU_DEFAULT
    time_limit_s: int | None = None  # per question; None: untimed
    adaptive: bool = True  # weak organs and badly answered images come back sooner
    absent_rate: float = 0.15  # share of Locate questions whose organ is not in the image
    focus_stem: str | None = None  # a quiz on one image (from Browse)
    # Fixed questions, one per position (an assignment of a question set); empty: drawn as set above.
    items: tuple[QuestionSpec, ...] = ()

    def __post_init__(self) -> None:
        problems = []
        if self.items and len(self.items) != self.n_questions:
            problems.append(f"items: expected {self.n_questions} fixed questions, got {len(self.items)}")
        if not 1 <= self.n_questions <= MAX_QUESTIONS:
            problems.append(f"n_questions: expected 1..{MAX_QUESTIONS}, got {self.n_questions}")
        bad = [k for k in self.kinds if k not in {k.value for k in Kind}]
        if not self.kinds or bad:
            problems.append(f"kinds: expected some of {[k.value for k in Kind]}, got {list(self.kinds)}")
        if any(not 0 <= o < N_ORGANS for o in self.organ_ids):
            problems.append(f"organ_ids: expected ids 0..{N_ORGANS - 1}, got {list(self.organ_ids)}")
        if self.difficulty not in DIFFICULTIES:
            problems.append(f"difficulty: expected one of {DIFFICULTIES}, got {self.difficulty!r}")
        if not 0.0 < self.pass_iou <= 1.0:
            problems.append(f"pass_iou: expected a value in (0, 1], got {self.pass_iou}")
        if self.time_limit_s is not None and not 5 <= self.time_limit_s <= MAX_TIME_LIMIT_S:
            problems.append(
                f"time_limit_s: expected 5..{MAX_TIME_LIMIT_S} s or none, got {self.time_limit_s}"
            )
        if not 0.0 <= self.absent_rate <= 1.0:
            problems.append(f"absent_rate: expected 0..1, got {self.absent_rate}")
        if problems:
            raise QuizInputError("quiz settings: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kinds"], d["organ_ids"] = list(self.kinds), list(self.organ_ids)
        d["items"] = [i.to_dict() for i in self.items]
        if not self.items:
            del d["items"]  # practice quizzes are stored as before
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QuizSettings:
        """Settings from a stored dict; unknown keys are refused by name."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise QuizInputError(f"quiz settings: unknown key(s) {unknown}; expected some of {sorted(known)}")
        d = dict(d)
        if "kinds" in d:
            d["kinds"] = tuple(d["kinds"])
        if "organ_ids" in d:
            d["organ_ids"] = tuple(int(o) for o in d["organ_ids"])
        if "items" in d:
            d["items"] = tuple(QuestionSpec.from_dict(i) for i in d["items"])
        return cls(**d)


@dataclass(frozen=True)
class Question:
    """One question about one image (the served instance id lives in the store)."""

    kind: Kind
    image_stem: str
    organ_id: int | None  # the asked organ (Identify: the correct answer); None for Label all
    target_index: int | None = None  # Identify: index of the outlined annotation in the sample
    choices: tuple[int, ...] = ()  # Identify: organ ids offered
    expected_present: bool | None = None  # Locate / Present?: is the organ in the image
    difficulty: float = 0.0  # 0 easy .. 1 hard
    reason: str = ""  # why this question now ("review", "weak organ", "new", ...)

    @property
    def prompt(self) -> str:
        return PROMPTS[self.kind](self)

    def to_payload(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["choices"] = list(self.choices)
        return d

    @classmethod
    def from_payload(cls, d: dict[str, Any]) -> Question:
        d = dict(d)
        d["kind"] = Kind(d["kind"])
        d["choices"] = tuple(d.get("choices") or ())
        return cls(**d)


@dataclass
class QuestionIndex:
    """What question generation needs from a dataset, computed once per dataset."""

    ds: Dataset
    by_organ: dict[int, list[int]] = field(default_factory=dict)  # sample indices with the organ
    without_organ: dict[int, list[int]] = field(default_factory=dict)
    frequency: dict[int, float] = field(default_factory=dict)  # share of images with the organ
    area_pct: dict[tuple[int, int], float] = field(default_factory=dict)  # (sample, ann) -> 0 small..1 big
    mean_x: dict[int, float] = field(default_factory=dict)  # mean normalised centre per organ
    position: dict[str, int] = field(default_factory=dict)  # stem -> sample index
    _contrast: dict[tuple[int, int], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        areas: list[tuple[float, int, int]] = []
        xs: dict[int, list[float]] = {}
        for si, s in enumerate(self.ds.samples):
            self.position[s.stem] = si
            present = s.organ_ids
            for o in range(N_ORGANS):
                (self.by_organ if o in present else self.without_organ).setdefault(o, []).append(si)
            for ai, a in enumerate(s.annotations):
                areas.append((a.box.area / max(s.width * s.height, 1), si, ai))
                xs.setdefault(a.organ_id, []).append(a.box.center[0] / max(s.width, 1))
        areas.sort()
        for rank, (_, si, ai) in enumerate(areas):
            self.area_pct[(si, ai)] = rank / max(len(areas) - 1, 1)
        n = max(len(self.ds.samples), 1)
        for o in range(N_ORGANS):
            self.by_organ.setdefault(o, [])
            self.without_organ.setdefault(o, [])
            self.frequency[o] = len(self.by_organ[o]) / n
            self.mean_x[o] = float(np.mean(xs[o])) if xs.get(o) else 0.5

    def sample(self, stem: str) -> Sample | None:
        return self.ds.get(stem)

    def contrast(self, si: int, ai: int) -> float:
        """Local contrast of an annotation: |mean inside - mean of a surrounding ring| / ring std."""
        key = (si, ai)
        with self._lock:
            if key in self._contrast:
                return self._contrast[key]
        s = self.ds.samples[si]
        b = s.annotations[ai].box
        try:
            img = read_image(s.image_path, grayscale=True).astype(np.float32)
        except ValueError:
            value = 1.0  # unreadable: neither easy nor hard; the page reports the image itself
        else:
            h, w = img.shape
            x1, y1, x2, y2 = (int(round(v)) for v in b.clamp(w, h).as_tuple())
            pad = max(4, int(0.25 * max(x2 - x1, y2 - y1)))
            ox1, oy1, ox2, oy2 = max(x1 - pad, 0), max(y1 - pad, 0), min(x2 + pad, w), min(y2 + pad, h)
            outer = img[oy1:oy2, ox1:ox2]
            inner = img[y1:y2, x1:x2]
            ring_n = outer.size - inner.size
            if inner.size == 0 or ring_n <= 0:
                value = 1.0
            else:
                ring_mean = (outer.sum() - inner.sum()) / ring_n
                value = float(abs(inner.mean() - ring_mean) / (outer.std() + 1.0))
        with self._lock:
            self._contrast[key] = value
        return value

    def difficulty(self, si: int, organ_id: int, *, with_contrast: bool = True) -> float:
        """0 (large, common, clear) .. 1 (small, rare, low contrast) for an organ in an image."""
        s = self.ds.samples[si]
        idx = [ai for ai, a in enumerate(s.annotations) if a.organ_id == organ_id]
        top = max(self.frequency.values()) or 1.0
        rare = 1.0 - self.frequency[organ_id] / top
        if not idx:
            return rare
        ai = max(idx, key=lambda i: self.area_pct[(si, i)])
        small = 1.0 - self.area_pct[(si, ai)]
        if not with_contrast:
            return (rare + small) / 2
        low_contrast = 1.0 / (1.0 + 2.0 * self.contrast(si, ai))
        return (rare + small + low_contrast) / 3


_index_cache: dict[int, tuple[Dataset, QuestionIndex]] = {}
_index_lock = threading.Lock()


def question_index(ds: Dataset) -> QuestionIndex:
    """The (process-wide, memoised) QuestionIndex of a dataset."""
    with _index_lock:
        hit = _index_cache.get(id(ds))
        if hit is not None and hit[0] is ds:
            return hit[1]
        if len(_index_cache) >= 4:
            _index_cache.pop(next(iter(_index_cache)))
        idx = QuestionIndex(ds)
        _index_cache[id(ds)] = (ds, idx)
        return idx


CANDIDATES_PER_QUESTION = 12


def weighted_choice(rng: random.Random, weights: dict[int, float]) -> int:
    items = [(k, w) for k, w in weights.items() if w > 0]
    if not items:
        raise QuizInputError("no organ can be asked with these settings")
    total = sum(w for _, w in items)
    r = rng.random() * total
    for k, w in items:
        r -= w
        if r <= 0:
            return k
    return items[-1][0]


def pick_by_difficulty(
    idx: QuestionIndex, rng: random.Random, cands: Sequence[int], organ_id: int, level: str
) -> tuple[int, float]:
    pool = list(cands)
    if len(pool) > CANDIDATES_PER_QUESTION:
        pool = rng.sample(pool, CANDIDATES_PER_QUESTION)
    if level == "mixed":
        si = rng.choice(pool)
        return si, idx.difficulty(si, organ_id, with_contrast=False)
    scored = [(idx.difficulty(si, organ_id), si) for si in pool]
    d, si = (max if level == "hard" else min)(scored)
    return si, d


def organ_bias(idx: QuestionIndex, organ_id: int, level: str) -> float:
    # "hard" favours rare and small organs, "easy" common ones; "mixed" leaves the weights alone.
    if level == "mixed":
        return 1.0
    top = max(idx.frequency.values()) or 1.0
    rare = 1.0 - idx.frequency[organ_id] / top
    return 0.3 + rare if level == "hard" else 0.3 + (1.0 - rare)


def distractors(
    idx: QuestionIndex, sample: Sample, target_ai: int, rng: random.Random, n: int = 3
) -> tuple[int, ...]:
    """Plausible wrong answers for an outlined organ: confusable organs, then its neighbours in the image."""
    target = sample.annotations[target_ai]
    tx, ty = target.box.center
    near = sorted(
        {a.organ_id for a in sample.annotations if a.organ_id != target.organ_id},
        key=lambda o: min(math.dist((tx, ty), a.box.center) for a in sample.annotations if a.organ_id == o),
    )
    by_position = sorted(
        (o for o in range(N_ORGANS) if o != target.organ_id),
        key=lambda o: abs(idx.mean_x[o] - idx.mean_x[target.organ_id]),
    )
    out: list[int] = []
    for o in (*CONFUSABLE[target.organ_id][:2], *near, *CONFUSABLE[target.organ_id][2:], *by_position):
        if o != target.organ_id and o not in out:
            out.append(o)
        if len(out) == n:
            break
    return tuple(out)


def gt_boxes(sample: Sample, organ_id: int) -> list[BoxPx]:
    """Ground-truth boxes of one organ in a sample."""
    return [a.box for a in sample.annotations if a.organ_id == organ_id]
