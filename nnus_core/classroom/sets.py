"""Question sets: an instructor's saved list of questions (kind, image, organ), built by hand or drawn
balanced, edited, duplicated, and reused in assignments and live sessions.

Every call takes the acting user; only the instructor who made a set reads or changes it
(`Action.EDIT_QUESTION_SET`). A set's items are `QuestionSpec`s, which every quiz kind can generate
its question from (`QuestionKind.from_spec`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, func, select, update

from nnus_core.accounts import Action, Actor, require
from nnus_core.dataset.model import Dataset
from nnus_core.errors import QuizInputError
from nnus_core.organs import N_ORGANS
from nnus_core.quiz.questions import MAX_QUESTIONS, Kind, QuestionSpec, QuizSettings, question_index
from nnus_core.store.classroom_tables import SET_TITLE_MAX, question_set_items, question_sets
from nnus_core.store.db import read_conn, write_tx
from nnus_core.text import plain

MAX_SET_ITEMS = MAX_QUESTIONS  # a set is answered as one quiz


@dataclass(frozen=True)
class QuestionSet:
    """A saved set of questions, in order."""

    id: int
    owner_id: int
    title: str
    dataset_key: str  # the data its images come from ("synthetic:..." or "real:<folder>")
    items: tuple[QuestionSpec, ...]
    created_s: float
    updated_s: float
    copied_from: int | None = None

    @property
    def organs(self) -> set[int]:
        return {i.organ_id for i in self.items if i.organ_id is not None}

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.kind.value for i in self.items))


def _title(raw: str) -> str:
    t = " ".join(plain(raw or "").split())
    if not t:
        raise QuizInputError(
            f"set title: expected 1 to {SET_TITLE_MAX} visible characters, got an empty value"
        )
    if len(t) > SET_TITLE_MAX:
        raise QuizInputError(f"set title: expected at most {SET_TITLE_MAX} characters, got {len(t)}")
    return t


def _check_count(items: Sequence[QuestionSpec]) -> None:
    if len(items) > MAX_SET_ITEMS:
        raise QuizInputError(f"question set: expected at most {MAX_SET_ITEMS} questions, got {len(items)}")


def check_items(ds: Dataset, items: Sequence[QuestionSpec]) -> None:
    """Every item can be asked on this dataset (the image is there; Identify's organ is in it).

    Raises:
        QuizInputError: naming the first item that cannot, by its position (1-based).
    """
    from nnus_core.quiz.kinds import Request, kind_of

    idx = question_index(ds)
    settings = QuizSettings()
    for n, spec in enumerate(items, start=1):
        req = Request(idx, settings, n - 1, random.Random(n), tuple(range(N_ORGANS)))
        try:
            kind_of(spec.kind).from_spec(req, spec)
        except QuizInputError as exc:
            raise QuizInputError(f"question {n}: {exc}") from None


def balanced_items(
    ds: Dataset, *, per_organ: int = 2, kinds: Sequence[str] = (Kind.LOCATE.value,), seed: int = 0
) -> tuple[QuestionSpec, ...]:
    """A balanced draw: every organ that has images, `per_organ` questions each, spread from its
    easiest image to its hardest, the whole set ordered easy to hard; kinds alternate.

    Label all is left out (it asks about every organ at once): pass single-organ kinds.
    """
    kinds = [Kind(k) for k in kinds if Kind(k) is not Kind.LABEL_ALL] or [Kind.LOCATE]
    idx = question_index(ds)
    rng = random.Random(seed)
    drawn: list[tuple[float, QuestionSpec]] = []
    for oid in range(N_ORGANS):
        cands = idx.by_organ[oid]
        if not cands:
            continue
        ranked = sorted(cands, key=lambda si, o=oid: (idx.difficulty(si, o, with_contrast=False), si))
        k = min(per_organ, len(ranked))
        # Evenly spaced ranks: the easiest, the hardest, and between them (a little jitter).
        picks = sorted({round(j * (len(ranked) - 1) / max(k - 1, 1)) for j in range(k)})
        for j, r in enumerate(picks):
            r = min(len(ranked) - 1, max(0, r + rng.choice((-1, 0, 1)) if 0 < r < len(ranked) - 1 else r))
            si = ranked[r]
            d = idx.difficulty(si, oid, with_contrast=False)
            kind = kinds[(oid + j) % len(kinds)]
            drawn.append((d, QuestionSpec(kind, ds.samples[si].stem, oid)))
    drawn.sort(key=lambda t: (t[0], t[1].organ_id or 0))
    out: list[QuestionSpec] = []
    for _, spec in drawn:
        if spec not in out:
            out.append(spec)
    return tuple(out[:MAX_SET_ITEMS])


def _write_items(conn: Connection, set_id: int, items: Sequence[QuestionSpec]) -> None:
    conn.execute(delete(question_set_items).where(question_set_items.c.set_id == set_id))
    if items:
        conn.execute(
            question_set_items.insert(),
            [
                {
                    "set_id": set_id,
                    "position": p,
                    "kind": s.kind.value,
                    "image_stem": s.image_stem,
                    "organ_id": s.organ_id,
                }
                for p, s in enumerate(items)
            ],
        )


def _load(conn: Connection, set_id: int) -> QuestionSet | None:
    row = conn.execute(select(question_sets).where(question_sets.c.id == set_id)).first()
    if row is None:
        return None
    items = conn.execute(
        select(question_set_items)
        .where(question_set_items.c.set_id == set_id)
        .order_by(question_set_items.c.position)
    ).all()
    return QuestionSet(
        int(row.id),
        int(row.owner_id),
        str(row.title),
        str(row.dataset_key),
        tuple(QuestionSpec(Kind(i.kind), i.image_stem, i.organ_id) for i in items),
        float(row.created_s),
        float(row.updated_s),
        row.copied_from,
    )


def create_set(
    engine: Engine,
    actor: Actor,
    title: str,
    items: Sequence[QuestionSpec] = (),
    *,
    dataset_key: str = "",
    copied_from: int | None = None,
) -> QuestionSet:
    """A new set owned by the acting instructor."""
    require(engine, actor, Action.BUILD_QUESTION_SETS)
    title = _title(title)
    _check_count(items)
    now = time.time()
    with write_tx(engine, "save a question set") as conn:
        res = conn.execute(
            question_sets.insert().values(
                owner_id=actor.user_id,
                title=title,
                dataset_key=dataset_key,
                copied_from=copied_from,
                created_s=now,
                updated_s=now,
            )
        )
        set_id = int(res.inserted_primary_key[0])
        _write_items(conn, set_id, items)
        out = _load(conn, set_id)
    assert out is not None
    return out


def list_sets(engine: Engine, actor: Actor) -> list[QuestionSet]:
    """The acting instructor's sets, most recently changed first."""
    require(engine, actor, Action.BUILD_QUESTION_SETS)
    with read_conn(engine) as conn:
        ids = conn.execute(
            select(question_sets.c.id)
            .where(question_sets.c.owner_id == actor.user_id)
            .order_by(question_sets.c.updated_s.desc(), question_sets.c.id.desc())
        ).scalars()
        return [s for s in (_load(conn, int(i)) for i in list(ids)) if s is not None]


def get_set(engine: Engine, actor: Actor, set_id: int) -> QuestionSet:
    """One set with its questions (its owner only).

    Raises:
        AccessDenied: for another instructor's set, or one that does not exist (the same refusal).
    """
    require(engine, actor, Action.EDIT_QUESTION_SET, set_id)
    with read_conn(engine) as conn:
        out = _load(conn, set_id)
    assert out is not None  # the policy found it
    return out


def update_set(
    engine: Engine,
    actor: Actor,
    set_id: int,
    *,
    title: str | None = None,
    items: Sequence[QuestionSpec] | None = None,
) -> QuestionSet:
    """Rename a set and/or replace its questions (assignments already given keep their copy)."""
    require(engine, actor, Action.EDIT_QUESTION_SET, set_id)
    values: dict[str, object] = {"updated_s": time.time()}
    if title is not None:
        values["title"] = _title(title)
    if items is not None:
        _check_count(items)
    with write_tx(engine, "save a question set") as conn:
        conn.execute(update(question_sets).where(question_sets.c.id == set_id).values(**values))
        if items is not None:
            _write_items(conn, set_id, items)
        out = _load(conn, set_id)
    assert out is not None
    return out


def add_item(engine: Engine, actor: Actor, set_id: int, spec: QuestionSpec) -> QuestionSet:
    """Append a question (Browse's and Compare's "add to set"); one already in the set is not added twice."""
    qs = get_set(engine, actor, set_id)
    if spec in qs.items:
        return qs
    return update_set(engine, actor, set_id, items=(*qs.items, spec))


def remove_item(engine: Engine, actor: Actor, set_id: int, position: int) -> QuestionSet:
    """Take out the question at `position` (0-based)."""
    qs = get_set(engine, actor, set_id)
    if not 0 <= position < len(qs.items):
        raise QuizInputError(f"question position: expected 0..{len(qs.items) - 1}, got {position}")
    return update_set(engine, actor, set_id, items=qs.items[:position] + qs.items[position + 1 :])


def duplicate_set(engine: Engine, actor: Actor, set_id: int, title: str | None = None) -> QuestionSet:
    """A copy of a set to change without touching the original."""
    qs = get_set(engine, actor, set_id)
    new_title = title or f"{qs.title} (copy)"[:SET_TITLE_MAX]
    return create_set(engine, actor, new_title, qs.items, dataset_key=qs.dataset_key, copied_from=qs.id)


def delete_set(engine: Engine, actor: Actor, set_id: int) -> None:
    """Delete a set (assignments made from it keep their own copy of its questions)."""
    require(engine, actor, Action.EDIT_QUESTION_SET, set_id)
    with write_tx(engine, "delete a question set") as conn:
        conn.execute(delete(question_set_items).where(question_set_items.c.set_id == set_id))
        conn.execute(delete(question_sets).where(question_sets.c.id == set_id))


def count_sets(engine: Engine) -> int:
    with read_conn(engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(question_sets)) or 0)
