"""Question generation: settings validation, each kind, plausible distractors, filters, difficulty, focus."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from nnus_core.dataset import load_dataset
from nnus_core.errors import QuizInputError
from nnus_core.quiz.kinds import generate_question
from nnus_core.quiz.questions import (
    Kind,
    Question,
    QuizSettings,
    distractors,
    question_index,
)
from tests.fixtures import DEFAULT_BOXES, make_nnus_folder, yolo_lines

IJV = (3, 0.90, 0.48, 0.07, 0.10)
TRA = (0, 0.12, 0.45, 0.20, 0.25)
ESO = (4, 0.20, 0.62, 0.10, 0.08)
LCO = (5, 0.45, 0.75, 0.30, 0.08)


def varied_nnus_folder(root: Path) -> Path:
    """16 images: 8 plain right-lobe frames, 3 with the (rare) IJV, 3 midline with trachea and
    oesophagus, 2 with the longus colli."""
    make_nnus_folder(root, n=16)
    sets = {9: [IJV], 10: [IJV], 11: [IJV], 12: [TRA, ESO], 13: [TRA, ESO], 14: [TRA], 15: [LCO], 16: [LCO]}
    for i, extra in sets.items():
        (root / "labels" / f"{i:04d}.txt").write_bytes(yolo_lines([*DEFAULT_BOXES, *extra]))
    return root


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return load_dataset(varied_nnus_folder(tmp_path_factory.mktemp("q") / "NNUS"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_questions": 0}, "n_questions"),
        ({"n_questions": 51}, "n_questions"),
        ({"kinds": ()}, "kinds"),
        ({"kinds": ("draw",)}, "kinds"),
        ({"organ_ids": (8,)}, "organ_ids"),
        ({"difficulty": "brutal"}, "difficulty"),
        ({"pass_iou": 0.0}, "pass_iou"),
        ({"time_limit_s": 1}, "time_limit_s"),
        ({"absent_rate": 2.0}, "absent_rate"),
    ],
)
def test_settings_refuse_bad_values(kwargs, message):
    with pytest.raises(QuizInputError, match=message):
        QuizSettings(**kwargs)


def test_settings_round_trip_and_unknown_keys():
    s = QuizSettings(n_questions=5, kinds=("locate", "identify"), organ_ids=(2, 3), time_limit_s=30)
    assert QuizSettings.from_dict(s.to_dict()) == s
    with pytest.raises(QuizInputError, match="unknown key.*'colour'"):
        QuizSettings.from_dict({**s.to_dict(), "colour": "red"})


def gen(ds, settings, n=40, **kw):
    idx = question_index(ds)
    return [generate_question(idx, settings, p, random.Random(p), **kw) for p in range(n)]


def test_locate_questions_target_present_organs_and_sometimes_absent_ones(ds):
    qs = gen(ds, QuizSettings(kinds=("locate",), absent_rate=0.3), n=60)
    assert all(q.kind is Kind.LOCATE and q.organ_id is not None for q in qs)
    for q in qs:
        assert (q.organ_id in ds.get(q.image_stem).organ_ids) is q.expected_present
    assert 0 < sum(not q.expected_present for q in qs) < 40
    assert qs[0].prompt.startswith("Draw a box around the ")


def test_identify_offers_the_answer_and_plausible_neighbours(ds):
    for q in gen(ds, QuizSettings(kinds=("identify",)), n=40):
        s = ds.get(q.image_stem)
        assert s.annotations[q.target_index].organ_id == q.organ_id
        assert q.organ_id in q.choices and len(set(q.choices)) == 4
    # the CCA's first distractors are the IJV and the thyroid (its lateral and medial neighbours)
    s = ds.get("0009")
    cca = next(i for i, a in enumerate(s.annotations) if a.organ_id == 2)
    assert distractors(question_index(ds), s, cca, random.Random(0))[:2] == (3, 1)


def test_present_questions_ask_both_ways(ds):
    qs = gen(ds, QuizSettings(kinds=("present",)), n=40)
    truths = Counter(q.expected_present for q in qs)
    assert truths[True] > 5 and truths[False] > 5
    for q in qs:
        assert (q.organ_id in ds.get(q.image_stem).organ_ids) is q.expected_present
    strap = [q for q in qs if q.organ_id == 6]
    assert all(q.prompt == "Are the strap muscles visible in this image?" for q in strap)


def test_label_all_picks_images_with_several_organs(ds):
    qs = gen(ds, QuizSettings(kinds=("label_all",), difficulty="hard"), n=10)
    assert all(q.organ_id is None and len(ds.get(q.image_stem).organ_ids) >= 5 for q in qs)


def test_kinds_cycle_with_position(ds):
    qs = gen(ds, QuizSettings(kinds=("locate", "identify", "present")), n=6)
    assert [q.kind.value for q in qs] == ["locate", "identify", "present"] * 2


def test_organ_filter_is_respected(ds):
    qs = gen(ds, QuizSettings(kinds=("locate", "identify"), organ_ids=(3, 4)), n=30)
    assert {q.organ_id for q in qs} == {3, 4}


def test_organ_in_no_image_fails_clearly(tmp_path):
    plain = load_dataset(make_nnus_folder(tmp_path / "NNUS", n=4))
    with pytest.raises(QuizInputError, match="no image contains the chosen organs"):
        gen(plain, QuizSettings(kinds=("locate",), organ_ids=(3,)), n=1)


def test_hard_prefers_rare_small_organs_and_easy_common_ones(ds):
    hard = Counter(q.organ_id for q in gen(ds, QuizSettings(difficulty="hard", absent_rate=0), n=80))
    easy = Counter(q.organ_id for q in gen(ds, QuizSettings(difficulty="easy", absent_rate=0), n=80))
    rare = {0, 3, 4, 5}
    assert sum(hard[o] for o in rare) > sum(easy[o] for o in rare)
    assert sum(q.difficulty for q in gen(ds, QuizSettings(difficulty="hard"), n=20)) > sum(
        q.difficulty for q in gen(ds, QuizSettings(difficulty="easy"), n=20)
    )


def test_spaced_repetition_weights_and_review_images_steer_the_choice(ds):
    weights = {o: (20.0 if o == 3 else 0.01) for o in range(8)}
    qs = gen(ds, QuizSettings(absent_rate=0), n=20, organ_weights=weights)
    assert Counter(q.organ_id for q in qs)[3] >= 17
    reviews = gen(ds, QuizSettings(absent_rate=0), n=40, review=[("0012", 4)])
    assert any(q.image_stem == "0012" and q.organ_id == 4 and q.reason.startswith("review") for q in reviews)


def test_focused_quiz_stays_on_one_image_and_walks_its_organs(ds):
    settings = QuizSettings(n_questions=4, focus_stem="0012")
    idx = question_index(ds)
    asked: list = []
    for p in range(4):
        q = generate_question(idx, settings, p, random.Random(p), asked=asked)
        assert q.image_stem == "0012"
        asked.append((q.image_stem, q.organ_id))
    assert len({o for _, o in asked}) == 4
    with pytest.raises(QuizInputError, match="not in the active dataset"):
        generate_question(idx, QuizSettings(focus_stem="nope"), 0, random.Random(0))


def test_same_seed_same_question_and_payload_round_trip(ds):
    idx = question_index(ds)
    a = generate_question(idx, QuizSettings(kinds=("identify",)), 3, random.Random("s:3"))
    b = generate_question(idx, QuizSettings(kinds=("identify",)), 3, random.Random("s:3"))
    assert a == b
    assert Question.from_payload(a.to_payload()) == a


def test_every_kind_is_registered_under_its_stored_key():
    from nnus_core.quiz.kinds import REGISTRY, kind_of

    # The keys are stored with every question and answer: renaming one orphans stored quizzes.
    assert [k.value for k in Kind] == ["locate", "identify", "present", "label_all"]
    assert list(REGISTRY) == list(Kind)
    assert all(spec.kind is k for k, spec in REGISTRY.items())
    assert [k.title for k in Kind] == ["Locate", "Identify", "Present?", "Label all"]
    assert kind_of("label_all") is REGISTRY[Kind.LABEL_ALL]
    with pytest.raises(QuizInputError, match="question kind: expected one of"):
        kind_of("draw")


def test_a_stored_question_payload_reads_back_the_same():
    payload = {
        "kind": "identify",
        "image_stem": "0001",
        "organ_id": 2,
        "target_index": 0,
        "choices": [2, 3, 1, 7],
        "expected_present": True,
        "difficulty": 0.25,
        "reason": "practice",
    }
    q = Question.from_payload(payload)
    assert q.kind is Kind.IDENTIFY and q.prompt == "Which organ is outlined?"
    assert q.to_payload() == payload
