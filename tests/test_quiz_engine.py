"""The quiz service: resume after reload, exactly-once answers, timer, model comparison, summary, adaptivity."""

from __future__ import annotations

import pytest

from nnus_core.accounts import Actor, Role, User
from nnus_core.dataset import load_dataset
from nnus_core.detection import Detection
from nnus_core.errors import AccessDenied, QuizInputError
from nnus_core.geometry import BoxPx
from nnus_core.quiz import Answer, Kind, QuizService, QuizSettings
from nnus_core.quiz.questions import gt_boxes
from nnus_core.store import get_engine, get_or_create_student
from nnus_core.store.attempts import count_attempts, student_attempts
from tests.fixtures import Clock
from tests.test_quiz_questions import varied_nnus_folder


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return load_dataset(varied_nnus_folder(tmp_path_factory.mktemp("e") / "NNUS"))


@pytest.fixture
def db(tmp_path):
    return get_engine(f"sqlite:///{tmp_path / 'quiz.db'}")


def learner(db, name: str) -> Actor:
    """A student acting for their own progress record (made under this name)."""
    rec = get_or_create_student(db, name)
    return Actor(User(rec.id, Role.STUDENT, rec.display_name, rec.id))


def fake_model(sample):
    """A 'detector' that returns each ground-truth box shifted by 6 px, confidence 0.9."""
    return [
        Detection(a.organ_id, 0.9, BoxPx(a.box.x1 + 6, a.box.y1 + 6, a.box.x2 + 6, a.box.y2 + 6))
        for a in sample.annotations
    ]


def right_answer(served):
    q, s = served.question, served.sample
    if q.kind is Kind.LOCATE:
        return Answer(box=gt_boxes(s, q.organ_id)[0]) if q.expected_present else Answer(not_visible=True)
    if q.kind is Kind.IDENTIFY:
        return Answer(choice=q.organ_id)
    if q.kind is Kind.PRESENT:
        return Answer(present=q.expected_present)
    return Answer(labels=tuple((a.organ_id, a.box) for a in s.annotations))


def test_a_reload_mid_question_resumes_the_same_question(ds, db):
    clock = Clock()
    svc = QuizService(db, ds, clock=clock)
    st = learner(db, "Ana")
    sess = svc.start(st, QuizSettings(n_questions=3))
    first = svc.next_question(sess.id, st)
    clock.t += 30
    # a reload: a brand-new service (new Streamlit session) finds the same stored question
    again = QuizService(db, ds, clock=clock).next_question(sess.id, st)
    assert again.id == first.id and again.question == first.question
    assert again.instance.served_s == first.instance.served_s  # the timer is not reset by reloading


def test_each_answer_is_stored_exactly_once(ds, db):
    svc = QuizService(db, ds, predict=fake_model, clock=Clock())
    st = learner(db, "Ben")
    sess = svc.start(st, QuizSettings(n_questions=2, kinds=("locate",), absent_rate=0))
    served = svc.next_question(sess.id, st)
    good = right_answer(served)
    rv1, wrote1 = svc.submit(served, good, st)
    # double click, reload-and-resubmit, and another tab with a different answer: all ignored
    rv2, wrote2 = svc.submit(served, good, st)
    rv3, wrote3 = QuizService(db, ds, clock=Clock()).submit(served, Answer(box=BoxPx(0, 0, 20, 20)), st)
    assert (wrote1, wrote2, wrote3) == (True, False, False)
    assert count_attempts(db) == 1
    assert rv3.score.passed and rv3.attempt.id == rv1.attempt.id
    # after the answer, the state shows its review; "next" serves position 1 exactly once
    state = svc.state(sess.id, st)
    assert state.awaiting_answer is None and state.answered == 1
    nxt1, nxt2 = svc.next_question(sess.id, st), svc.next_question(sess.id, st)
    assert nxt1.id == nxt2.id and nxt1.position == 1


@pytest.mark.parametrize("kind", ["locate", "identify", "present", "label_all"])
def test_every_kind_scores_and_compares_with_the_model(ds, db, kind):
    svc = QuizService(db, ds, predict=fake_model, clock=Clock())
    st = learner(db, f"kind {kind}")
    sess = svc.start(st, QuizSettings(n_questions=3, kinds=(kind,), absent_rate=0))
    for _ in range(3):
        served = svc.next_question(sess.id, st)
        rv, wrote = svc.submit(served, right_answer(served), st)
        assert wrote and rv.score.passed and rv.attempt.credit == 1.0
        assert rv.model.available and rv.model.passed
        assert rv.feedback
        if kind == "locate":
            assert rv.headline.startswith("you 1.00, model 0.")
            assert rv.model.detection.confidence == pytest.approx(0.9)
            assert rv.attempt.model_iou == pytest.approx(rv.model.iou, abs=1e-4)
    assert svc.next_question(sess.id, st) is None
    summary = svc.summary(sess.id, st)
    assert summary.answered == 3 and summary.passes == 3 and not summary.mistakes


def test_no_model_still_scores_and_says_so(ds, db):
    svc = QuizService(db, ds, clock=Clock())
    st = learner(db, "Cleo")
    sess = svc.start(st, QuizSettings(n_questions=1, absent_rate=0))
    served = svc.next_question(sess.id, st)
    rv, _ = svc.submit(served, Answer(box=BoxPx(0, 0, 30, 30)), st)
    assert not rv.model.available and "no model available" in rv.headline
    assert not rv.score.passed and rv.attempt.feedback


def test_bad_answers_are_refused_without_writing(ds, db):
    svc = QuizService(db, ds, clock=Clock())
    st = learner(db, "Dan")
    sess = svc.start(st, QuizSettings(n_questions=2, kinds=("locate", "identify"), absent_rate=0))
    served = svc.next_question(sess.id, st)
    for bad in (Answer(), Answer(box=BoxPx(10, 10, 10, 40))):
        with pytest.raises(QuizInputError):
            svc.submit(served, bad, st)
    assert count_attempts(db) == 0
    svc.submit(served, right_answer(served), st)
    ident = svc.next_question(sess.id, st)
    with pytest.raises(QuizInputError, match="offered"):
        svc.submit(ident, Answer(choice=next(o for o in range(8) if o not in ident.question.choices)), st)
    with pytest.raises(QuizInputError, match="Pick one"):
        svc.submit(ident, Answer(), st)


def test_timer_zeroes_a_late_answer_and_the_review_keeps_saying_why(ds, db):
    clock = Clock()
    svc = QuizService(db, ds, clock=clock)
    st = learner(db, "Eve")
    sess = svc.start(st, QuizSettings(n_questions=1, time_limit_s=20, absent_rate=0))
    served = svc.next_question(sess.id, st)
    clock.t += 45
    rv, _ = svc.submit(served, right_answer(served), st)
    assert rv.timed_out and rv.attempt.credit == 0.0 and not rv.attempt.passed
    assert "Time's up: answered after 45 s (limit 20 s)" in rv.score.verdict
    again = svc.review(served, rv.attempt)
    assert again.timed_out and "Time's up" in again.score.verdict


def test_summary_per_organ_beside_model_ap_and_mistakes(ds, db):
    svc = QuizService(db, ds, model_ap={2: 0.81, 1: 0.9}, model_ap_label="AP@0.5 (synthetic)", clock=Clock())
    st = learner(db, "Fay")
    sess = svc.start(st, QuizSettings(n_questions=4, absent_rate=0))
    for i in range(4):
        served = svc.next_question(sess.id, st)
        svc.submit(served, right_answer(served) if i % 2 == 0 else Answer(box=BoxPx(0, 0, 20, 20)), st)
    sm = svc.summary(sess.id, st)
    assert sm.answered == 4 and sm.passes == 2 and len(sm.mistakes) == 2
    assert sm.model_ap_label == "AP@0.5 (synthetic)"
    by = {r.organ_id: r for r in sm.per_organ}
    assert by[2].model_ap50 == 0.81 and sum(r.answers for r in sm.per_organ) == 4


def _ijv_count_after_a_miss(ds, db, adaptive: bool) -> list[int]:
    clock = Clock()
    svc = QuizService(db, ds, clock=clock)
    st = learner(db, f"Gus {adaptive}")
    # first quizzes: the IJV is missed, every other organ answered perfectly
    for oid in range(8):
        sess = svc.start(st, QuizSettings(n_questions=1, organ_ids=(oid,), absent_rate=0))
        served = svc.next_question(sess.id, st)
        svc.submit(served, Answer(box=BoxPx(0, 0, 15, 15)) if oid == 3 else right_answer(served), st)
        clock.t += 1
    clock.t += 200  # the miss is due again, the passes are not
    # a fixed session id fixes the random draws, so both runs differ only by the scheduler
    sess = svc.start(st, QuizSettings(n_questions=12, absent_rate=0, adaptive=adaptive), f"fixed{adaptive}")
    organs = []
    for _ in range(12):
        served = svc.next_question(sess.id, st)
        organs.append(served.question.organ_id)
        missed = served.question.organ_id == 3
        svc.submit(served, Answer(box=BoxPx(0, 0, 15, 15)) if missed else right_answer(served), st)
        clock.t += 15  # a realistic pace: a missed organ is due again a few questions later
    return organs


def test_missed_organ_comes_back_sooner(ds, db):
    """Adaptive practice: an organ answered badly returns far more often than by chance (1.5 of 12)."""
    adaptive = _ijv_count_after_a_miss(ds, db, True)
    plain = _ijv_count_after_a_miss(ds, db, False)
    assert adaptive.count(3) >= 3 and adaptive.count(3) > plain.count(3), (adaptive, plain)
    # after each miss the IJV is back within a few questions (due 60 s later, 15 s per question)
    where = [i for i, o in enumerate(adaptive) if o == 3]
    assert max(b - a for a, b in zip(where, where[1:], strict=False)) <= 6, adaptive


def test_unknown_or_foreign_sessions_are_reported(ds, db, tmp_path):
    svc = QuizService(db, ds, clock=Clock())
    hal = learner(db, "Hal")
    with pytest.raises(QuizInputError, match="not found"):
        svc.state("nope", hal)
    other = load_dataset(varied_nnus_folder(tmp_path / "OTHER"))
    sess = QuizService(db, other, clock=Clock()).start(hal, QuizSettings())
    with pytest.raises(QuizInputError, match="another dataset"):
        svc.state(sess.id, hal)
    with pytest.raises(QuizInputError, match="not in the active dataset"):
        svc.start(hal, QuizSettings(focus_stem="9999"))


def test_history_records_what_the_progress_page_needs(ds, db):
    svc = QuizService(db, ds, predict=fake_model, clock=Clock())
    st = learner(db, "Ivy")
    sess = svc.start(st, QuizSettings(n_questions=1, absent_rate=0))
    served = svc.next_question(sess.id, st)
    svc.submit(served, right_answer(served), st)
    (a,) = student_attempts(db, st.student_id)
    assert a.session_id == sess.id and a.instance_id == served.id and a.kind == "locate"
    assert a.iou == 1.0 and a.model_conf == 0.9 and a.dataset_key.startswith("real:")


def test_feedback_image_keeps_the_truth_visible_under_a_perfect_box(ds, db):
    import numpy as np

    from nnus_core.quiz.view import review_overlays, shade_targets

    svc = QuizService(db, ds, predict=fake_model, clock=Clock())
    joy = learner(db, "Joy")
    sess = svc.start(joy, QuizSettings(n_questions=1, absent_rate=0))
    served = svc.next_question(sess.id, joy)
    rv, _ = svc.submit(served, right_answer(served), joy)
    styles = [o.style for o in review_overlays(rv)]
    assert styles == ["solid", "dashed", "student"]  # the student's box is drawn last, on top
    assert review_overlays(rv)[1].label == "model 0.90"
    img = np.zeros((served.sample.height, served.sample.width, 3), np.uint8)
    shaded = shade_targets(img, rv.targets)
    b = rv.targets[0].box
    inside = shaded[int(b.y1) + 2, int(b.x1) + 2]
    assert inside.any() and not shaded[0, 0].any()  # tinted in the organ colour inside the truth only


def test_the_unfinished_quiz_on_this_dataset_is_offered_and_a_quiz_knows_its_student(ds, db):
    clock = Clock()
    svc = QuizService(db, ds, clock=clock)
    ana = learner(db, "Ana")
    assert svc.unfinished(ana) is None
    done = svc.start(ana, QuizSettings(n_questions=1))
    svc.submit(svc.next_question(done.id, ana), Answer(not_visible=True), ana)
    assert svc.unfinished(ana) is None  # a finished quiz is not offered
    clock.t += 10
    open_one = svc.start(ana, QuizSettings(n_questions=3))
    svc.submit(svc.next_question(open_one.id, ana), Answer(not_visible=True), ana)
    offer = svc.unfinished(ana)
    assert offer is not None and offer.session.id == open_one.id and offer.answered == 1
    bob = learner(db, "Bob")  # another student: neither offered Ana's quiz nor allowed into it
    assert svc.unfinished(bob) is None
    with pytest.raises(AccessDenied, match="private"):
        svc.state(open_one.id, bob)
    with pytest.raises(AccessDenied, match="own record"):
        svc.submit(svc.next_question(open_one.id, ana), Answer(not_visible=True), bob)
    assert svc.state(open_one.id, ana).answered == 1  # nothing was written into Ana's record


def test_a_kept_answer_counts_its_tries_and_is_not_retried_twice_in_a_row():
    from nnus_core.errors import StoreBusyError, StoreError
    from nnus_core.quiz.pending import RETRY_EVERY_S, PendingAnswer

    busy = StoreBusyError("locked")
    first = PendingAnswer.kept(None, {"box": None}, 100.0, busy, now_s=100.5)
    assert first.tries == 1 and first.busy and first.problem == busy.plain and first.answered_s == 100.0
    second = PendingAnswer.kept(first, first.answer, first.answered_s, StoreError("read-only"), now_s=104.0)
    assert second.tries == 2 and not second.busy and second.answered_s == 100.0
    assert not second.due(104.0 + RETRY_EVERY_S - 1) and second.due(104.0 + RETRY_EVERY_S)


def test_the_summary_shows_the_evaluation_files_ap_else_the_cards_labelled_by_their_data():
    from types import SimpleNamespace

    from nnus_core.quiz.report import summary_model_ap

    card = SimpleNamespace(metrics={"per_class": [{"name": "Thyroid", "ap50": 0.8}]}, synthetic=False)
    ap, label = summary_model_ap({1: 0.9}, True, card, data_synthetic=False)
    assert ap == {1: 0.9} and "SYNTHETIC" in label
    ap, label = summary_model_ap({}, None, card, data_synthetic=True)
    assert ap == {1: 0.8} and "real NNUS" in label  # the card's figures, and the card's data
    assert summary_model_ap({}, None, None, data_synthetic=True) == ({}, "")
    ap, label = summary_model_ap({1: 0.9}, None, None, data_synthetic=False)
    assert "real NNUS" in label  # the evaluation does not say: the active dataset's kind
