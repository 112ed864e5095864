"""Question sets and assignments: built, edited, duplicated, assigned, taken through the quiz engine,
late answers flagged; every refusal checked as the wrong user."""

from __future__ import annotations

import pytest

from nnus_core.accounts import Actor
from nnus_core.accounts import service as acc
from nnus_core.classroom import assignments as asg
from nnus_core.classroom import sets
from nnus_core.dataset import load_dataset
from nnus_core.errors import AccessDenied, QuizInputError
from nnus_core.organs import N_ORGANS
from nnus_core.quiz import Kind, QuizService
from nnus_core.quiz.questions import QuestionSpec, QuizSettings
from tests.test_quiz_engine import Clock, right_answer
from tests.test_quiz_questions import varied_nnus_folder

T0 = 1_800_000_000.0
DAY = 86_400.0


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return load_dataset(varied_nnus_folder(tmp_path_factory.mktemp("cls") / "NNUS"))


@pytest.fixture()
def room(engine):
    teacher = acc.create_instructor(
        engine, None, "t@school.edu", "Dr T", "correct horse battery", first_run=True
    )
    t = Actor(teacher, "10.0.0.1")
    other = Actor(
        acc.create_instructor(engine, t, "o@school.edu", "Dr O", "another long password"), "10.0.0.9"
    )
    klass = acc.create_class(engine, t, "Anatomy 101", "Spring")
    other_class = acc.create_class(engine, other, "Other", "")
    a, _ = acc.join_class(engine, Actor(client="10.0.0.2"), klass.join_code, "Ana", "1234")
    b, _ = acc.join_class(engine, Actor(client="10.0.0.3"), klass.join_code, "Ben", "5678")
    c, _ = acc.join_class(engine, Actor(client="10.0.0.4"), other_class.join_code, "Cy", "1111")
    return {
        "t": t,
        "o": other,
        "class": klass,
        "other_class": other_class,
        "a": Actor(a),
        "b": Actor(b),
        "c": Actor(c),
    }


def specs(ds):
    s = ds.samples
    return (
        QuestionSpec(Kind.LOCATE, s[0].stem, 1),
        QuestionSpec(Kind.IDENTIFY, s[9].stem, sorted(s[9].organ_ids)[0]),
        QuestionSpec(Kind.PRESENT, s[1].stem, 6),
        QuestionSpec(Kind.LABEL_ALL, s[2].stem, None),
    )


def test_spec_values_are_checked_and_round_trip():
    with pytest.raises(QuizInputError, match="organ_id"):
        QuestionSpec(Kind.LOCATE, "x", N_ORGANS)
    with pytest.raises(QuizInputError, match="every organ"):
        QuestionSpec(Kind.LABEL_ALL, "x", 2)
    with pytest.raises(QuizInputError, match="organ asked"):
        QuestionSpec(Kind.IDENTIFY, "x", None)
    q = QuestionSpec("locate", "0001", 3)
    assert q.kind is Kind.LOCATE and QuestionSpec.from_dict(q.to_dict()) == q
    st = QuizSettings(n_questions=1, items=(q,), adaptive=False)
    assert QuizSettings.from_dict(st.to_dict()) == st
    assert "items" not in QuizSettings().to_dict()  # practice quizzes are stored as before
    with pytest.raises(QuizInputError, match="items"):
        QuizSettings(n_questions=2, items=(q,))


def test_sets_are_built_edited_duplicated_and_private(engine, room, ds):
    t, o = room["t"], room["o"]
    s1 = sets.create_set(engine, t, "  Week 1 ", specs(ds)[:2], dataset_key="synthetic:1")
    assert s1.title == "Week 1" and len(s1.items) == 2 and s1.owner_id == t.user_id
    s1 = sets.add_item(engine, t, s1.id, specs(ds)[2])
    s1 = sets.add_item(engine, t, s1.id, specs(ds)[2])  # the same question again: not added twice
    assert s1.items == specs(ds)[:3]
    s1 = sets.remove_item(engine, t, s1.id, 0)
    assert s1.items == specs(ds)[1:3]
    s1 = sets.update_set(engine, t, s1.id, title="Week one", items=specs(ds))
    assert s1.title == "Week one" and s1.items == specs(ds)
    copy = sets.duplicate_set(engine, t, s1.id)
    assert copy.id != s1.id and copy.items == s1.items and copy.copied_from == s1.id
    assert copy.title == "Week one (copy)" and copy.dataset_key == "synthetic:1"
    sets.update_set(engine, t, copy.id, items=specs(ds)[:1])
    assert sets.get_set(engine, t, s1.id).items == specs(ds)  # the original is untouched
    assert [x.id for x in sets.list_sets(engine, t)] == [copy.id, s1.id]
    assert sets.list_sets(engine, o) == []
    for call in (
        lambda: sets.get_set(engine, o, s1.id),
        lambda: sets.add_item(engine, o, s1.id, specs(ds)[0]),
        lambda: sets.update_set(engine, o, s1.id, title="mine"),
        lambda: sets.duplicate_set(engine, o, s1.id),
        lambda: sets.delete_set(engine, o, s1.id),
        lambda: sets.list_sets(engine, room["a"]),
        lambda: sets.create_set(engine, room["a"], "student set"),
        lambda: sets.get_set(engine, t, 9999),
    ):
        with pytest.raises(AccessDenied):
            call()
    assert sets.get_set(engine, t, s1.id).title == "Week one"
    sets.delete_set(engine, t, copy.id)
    assert [x.id for x in sets.list_sets(engine, t)] == [s1.id]
    with pytest.raises(QuizInputError, match="title"):
        sets.create_set(engine, t, "   ")
    with pytest.raises(QuizInputError, match="at most"):
        sets.create_set(engine, t, "big", specs(ds)[:1] * (sets.MAX_SET_ITEMS + 1))


def test_items_are_checked_against_the_dataset(ds):
    sets.check_items(ds, specs(ds))
    no_trachea = next(s for s in ds.samples if 0 not in s.organ_ids)
    with pytest.raises(QuizInputError, match="question 2: Identify"):
        sets.check_items(ds, (specs(ds)[0], QuestionSpec(Kind.IDENTIFY, no_trachea.stem, 0)))
    with pytest.raises(QuizInputError, match="question 1: image 'nope'"):
        sets.check_items(ds, (QuestionSpec(Kind.LOCATE, "nope", 1),))
    # Locate and Present? may ask about an organ that is not there ("not visible" is the answer).
    sets.check_items(
        ds, (QuestionSpec(Kind.LOCATE, no_trachea.stem, 0), QuestionSpec(Kind.PRESENT, no_trachea.stem, 0))
    )


def test_a_balanced_draw_covers_every_organ_from_easy_to_hard(ds):
    from nnus_core.quiz.questions import question_index

    items = sets.balanced_items(ds, per_organ=2, kinds=("locate", "identify"))
    idx = question_index(ds)
    having = {o for o in range(N_ORGANS) if idx.by_organ[o]}
    assert {i.organ_id for i in items} == having
    for o in having:
        assert 1 <= sum(i.organ_id == o for i in items) <= 2
    d = [idx.difficulty(idx.position[i.image_stem], i.organ_id, with_contrast=False) for i in items]
    assert d == sorted(d)  # easy to hard
    assert {i.kind for i in items} == {Kind.LOCATE, Kind.IDENTIFY}
    sets.check_items(ds, items)
    assert sets.balanced_items(ds, per_organ=2, kinds=("locate", "identify")) == items  # reproducible


def test_an_assignment_is_taken_through_the_quiz_engine_and_late_answers_are_marked(engine, room, ds):
    t, a, b, c = room["t"], room["a"], room["b"], room["c"]
    clock = Clock(T0)
    svc = QuizService(engine, ds, clock=clock)
    qs = sets.create_set(engine, t, "Homework 1", specs(ds), dataset_key=svc.dataset_key)
    with pytest.raises(AccessDenied):
        asg.assign(engine, room["o"], qs.id, room["class"].id, T0, T0 + DAY)
    with pytest.raises(AccessDenied):  # the other instructor's class
        asg.assign(engine, t, qs.id, room["other_class"].id, T0, T0 + DAY)
    with pytest.raises(QuizInputError, match="due date"):
        asg.assign(engine, t, qs.id, room["class"].id, T0, T0 - 1)
    hw = asg.assign(engine, t, qs.id, room["class"].id, T0 - 60, T0 + DAY)
    later = asg.assign(engine, t, qs.id, room["class"].id, T0 + DAY, T0 + 2 * DAY, title="Next week")
    sets.update_set(engine, t, qs.id, items=specs(ds)[:1])  # editing the set changes no given assignment
    assert asg.get_assignment(engine, t, hw.id).items == specs(ds)

    # Home: only opened assignments, only for members of the class.
    assert [x.assignment.id for x in asg.my_assignments(engine, a, T0)] == [hw.id]
    assert asg.my_assignments(engine, c, T0) == []
    with pytest.raises(AccessDenied):
        asg.start_assignment(svc, c, hw.id)
    with pytest.raises(AccessDenied):
        asg.get_assignment(engine, c, hw.id)
    with pytest.raises(QuizInputError, match="opens later"):
        asg.start_assignment(svc, a, later.id)

    # Ana answers everything in time, fixed questions in the set's order.
    sid = asg.start_assignment(svc, a, hw.id)
    assert asg.start_assignment(svc, a, hw.id) == sid  # resumes, never a second quiz
    assert asg.assignment_of_session(engine, sid).id == hw.id
    seen = []
    while (served := svc.next_question(sid, a)) is not None:
        seen.append((served.question.kind, served.question.image_stem, served.question.organ_id))
        clock.t += 30
        svc.submit(served, right_answer(served), a)
    assert seen == [(s.kind, s.image_stem, s.organ_id) for s in specs(ds)]
    ana = asg.my_assignments(engine, a, clock.t)[0]
    assert ana.done and ana.answered == 4 and ana.late == 0

    # Ben answers two in time; the due date is moved into the past; his last two are late.
    sid_b = asg.start_assignment(svc, b, hw.id)
    for _ in range(2):
        served = svc.next_question(sid_b, b)
        svc.submit(served, right_answer(served), b)
    asg.set_dates(engine, t, hw.id, due_s=clock.t + 1)  # his first two stay in time
    with pytest.raises(AccessDenied):
        asg.set_dates(engine, room["o"], hw.id, due_s=T0 + DAY)
    clock.t += 60
    for _ in range(2):
        served = svc.next_question(sid_b, b)
        svc.submit(served, right_answer(served), b)
    ben = asg.my_assignments(engine, b, clock.t)[0]
    assert ben.done and ben.answered == 4 and ben.late == 2
    assert [x.id for x in asg.class_assignments(engine, t, room["class"].id)] == [later.id, hw.id]
    with pytest.raises(AccessDenied):
        asg.class_assignments(engine, room["o"], room["class"].id)


def test_an_assignment_on_other_images_is_refused_plainly(engine, room, ds):
    t = room["t"]
    svc = QuizService(engine, ds, clock=Clock(T0))
    qs = sets.create_set(engine, t, "Real images", specs(ds), dataset_key="real:elsewhere")
    hw = asg.assign(engine, t, qs.id, room["class"].id, T0 - 1, T0 + DAY)
    with pytest.raises(QuizInputError, match="other images"):
        asg.start_assignment(svc, room["a"], hw.id)
    empty = sets.create_set(engine, t, "Empty")
    with pytest.raises(QuizInputError, match="no questions"):
        asg.assign(engine, t, empty.id, room["class"].id, T0, T0 + DAY)
