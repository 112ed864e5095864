"""Live class session service on SQLite and PostgreSQL: the state machine, answers once, the attack cases,
the reveal, the leaderboard, the report and the exports."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from nnus_core.accounts import Actor, allowed
from nnus_core.accounts import service as acc
from nnus_core.accounts.policy import Action
from nnus_core.dataset import load_dataset
from nnus_core.detection import Detection
from nnus_core.errors import AccessDenied, AnswersLocked, QuizInputError, SignInError
from nnus_core.geometry import BoxPx
from nnus_core.live import LiveService, LiveSetup, LiveState, LocateReveal
from nnus_core.live.model import points_for
from nnus_core.live.reveal import ChoiceReveal, density, leaderboard, share_words
from nnus_core.quiz import Answer, Kind
from nnus_core.quiz.questions import gt_boxes
from nnus_core.store.live_tables import live_answers, live_participants
from tests.fixtures import Clock
from tests.test_quiz_questions import varied_nnus_folder


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return load_dataset(varied_nnus_folder(tmp_path_factory.mktemp("live") / "NNUS"))


def shifted(sample):
    """A 'detector': every ground-truth box moved 4 px, confidence 0.9."""
    return [
        Detection(a.organ_id, 0.9, BoxPx(a.box.x1 + 4, a.box.y1 + 4, a.box.x2 + 4, a.box.y2 + 4))
        for a in sample.annotations
    ]


@pytest.fixture()
def room(engine, ds):
    """An instructor with a class (Ana, Ben in it), Cy in another class, a second instructor, a guest."""
    t_user = acc.create_instructor(
        engine, None, "t@school.edu", "Dr T", "correct horse battery", first_run=True
    )
    t = Actor(t_user, "10.0.0.1")
    o_user = acc.create_instructor(engine, t, "o@school.edu", "Dr O", "another long password")
    o = Actor(o_user, "10.0.0.9")
    klass = acc.create_class(engine, t, "Anatomy 101", "Spring")
    other = acc.create_class(engine, o, "Physiology", "")
    a, _ = acc.join_class(engine, Actor(client="10.0.0.2"), klass.join_code, "Ana", "1234")
    b, _ = acc.join_class(engine, Actor(client="10.0.0.3"), klass.join_code, "Ben", "5678")
    c, _ = acc.join_class(engine, Actor(client="10.0.0.4"), other.join_code, "Cy", "9012")
    g, _ = acc.create_guest(engine)
    clock = Clock()
    svc = LiveService(engine, ds, predict=shifted, clock=clock)
    return {
        "svc": svc,
        "clock": clock,
        "t": t,
        "o": o,
        "class": klass,
        "a": Actor(a, "10.0.0.2"),
        "b": Actor(b, "10.0.0.3"),
        "c": Actor(c, "10.0.0.4"),
        "g": Actor(g, "10.0.0.5"),
    }


SETUP = LiveSetup(
    title="Neck <b>week 3</b>", n_questions=3, kinds=("locate", "identify"), time_limit_s=20, seed=7
)


def right(svc, sess_id, pos):
    q, sample = svc.question(sess_id, pos)
    question = q.question
    if question.kind is Kind.LOCATE:
        gts = gt_boxes(sample, question.organ_id)
        return Answer(box=gts[0]) if gts else Answer(not_visible=True)
    if question.kind is Kind.IDENTIFY:
        return Answer(choice=question.organ_id)
    if question.kind is Kind.PRESENT:
        return Answer(present=question.organ_id in sample.organ_ids)
    return Answer(labels=tuple((a.organ_id, a.box) for a in sample.annotations))


def wrong(svc, sess_id, pos):
    q, sample = svc.question(sess_id, pos)
    question = q.question
    if question.kind is Kind.LOCATE:
        other = next(a for a in sample.annotations if a.organ_id != question.organ_id)
        return Answer(box=other.box)
    if question.kind is Kind.IDENTIFY:
        return Answer(choice=next(c for c in question.choices if c != question.organ_id))
    return Answer(present=question.organ_id not in sample.organ_ids)


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_whole_session_lobby_questions_reveal_leaderboard_finish(room):
    svc, clock, t = room["svc"], room["clock"], room["t"]
    sess = svc.create(t, SETUP, class_id=room["class"].id)
    assert sess.state is LiveState.LOBBY and sess.current_index == -1 and sess.n_questions == 3
    assert sess.title == "Neck <b>week 3</b>" and "&lt;b&gt;" in sess.title_html
    pa = svc.join(room["a"], sess.join_code.lower())
    pb = svc.join(room["b"], sess.join_code)
    assert pa.display_name == "Ana" and svc.pulse(t, sess.id).joined == 2
    # Everyone gets the same question, generated once: reading it twice gives the same one.
    sess = svc.open_next(t, sess.id, after=-1)
    assert sess.state is LiveState.QUESTION_OPEN and sess.deadline_s == clock.t + 20
    q0 = svc.question(sess.id, 0)[0]
    assert svc.current_question(room["a"], pa.id)[1] == svc.current_question(room["b"], pb.id)[1] == q0
    clock.t += 3
    ans_a, wrote = svc.submit(room["a"], pa.id, 0, right(svc, sess.id, 0))
    assert wrote and ans_a.passed and ans_a.elapsed_s == 3.0
    clock.t += 5
    svc.submit(room["b"], pb.id, 0, wrong(svc, sess.id, 0))
    assert svc.pulse(t, sess.id).answered == 2
    sess = svc.close(t, sess.id)
    assert sess.state is LiveState.QUESTION_CLOSED
    sess = svc.reveal(t, sess.id)
    assert sess.state is LiveState.REVEAL
    rv = svc.reveal_data(t, sess.id, 0)
    assert rv.n_answers == 2 and rv.n_participants == 2
    board = svc.standings(t, sess.id)
    assert [r.display_name for r in board] == ["Ana", "Ben"] and board[0].rank == 1
    assert board[0].correct == 1 and board[0].accuracy == 1.0 and board[1].accuracy == 0.0
    mine = svc.my_result(room["b"], pb.id, 0)
    assert mine.answer is not None and not mine.answer.passed and mine.rank == 2 and mine.of == 2
    # Next, twice (two instructor tabs): one step only.
    sess = svc.open_next(t, sess.id, after=0)
    again = svc.open_next(t, sess.id, after=0)
    assert sess.current_index == again.current_index == 1 and again.version == sess.version
    clock.t += 1
    svc.submit(room["a"], pa.id, 1, right(svc, sess.id, 1))
    sess = svc.open_next(t, sess.id, after=1)  # next while open: the open question closes with it
    svc.submit(room["b"], pb.id, 2, right(svc, sess.id, 2))
    sess = svc.finish(t, sess.id)
    assert sess.state is LiveState.FINISHED and sess.finished_s is not None
    with pytest.raises(SignInError):  # a finished session's code no longer joins
        svc.join(room["g"], sess.join_code, "Late")
    rep = svc.report(t, sess.id)
    assert [q.answers for q in rep.questions] == [2, 1, 1]
    assert rep.hardest[0].position == 0 and rep.hardest[0].accuracy == 0.5
    assert sum(o.answers for o in rep.per_organ) == 4


def test_double_tap_and_reload_store_one_answer(room):
    svc, t = room["svc"], room["t"]
    sess = svc.create(t, SETUP, class_id=room["class"].id)
    pa = svc.join(room["a"], sess.join_code)
    assert svc.join(room["a"], sess.join_code) == pa  # a reload joins as the same participant
    svc.open_next(t, sess.id, after=-1)
    first, wrote1 = svc.submit(room["a"], pa.id, 0, right(svc, sess.id, 0))
    second, wrote2 = svc.submit(room["a"], pa.id, 0, wrong(svc, sess.id, 0))
    assert wrote1 and not wrote2 and second == first and second.passed
    assert _count(svc.db, live_answers) == 1
    # The reload comes back to the current question with the answer kept.
    sess2, q, _ = svc.current_question(room["a"], pa.id)
    assert q.position == 0 and svc.my_answer(pa.id, 0) == first


def test_answers_after_the_deadline_or_the_close_are_refused(room):
    svc, clock, t = room["svc"], room["clock"], room["t"]
    sess = svc.create(t, SETUP, class_id=room["class"].id)
    pa, pb = svc.join(room["a"], sess.join_code), svc.join(room["b"], sess.join_code)
    with pytest.raises(AnswersLocked, match="not open yet"):
        svc.submit(room["a"], pa.id, 0, right(svc, sess.id, 0))
    svc.open_next(t, sess.id, after=-1)
    clock.t += 20 + 2.5  # past the time and the network grace
    assert svc.session(sess.id).state is LiveState.QUESTION_CLOSED  # closed by the clock, no write
    with pytest.raises(AnswersLocked, match="closed"):
        svc.submit(room["a"], pa.id, 0, right(svc, sess.id, 0))
    svc.open_next(t, sess.id, after=0)
    clock.t += 1
    svc.close(t, sess.id)
    clock.t += 1  # within the grace: an answer sent just before the close still counts
    assert svc.submit(room["b"], pb.id, 1, right(svc, sess.id, 1))[1]
    svc.reveal(t, sess.id)
    with pytest.raises(AnswersLocked):  # never once the right answer is on the projector
        svc.submit(room["a"], pa.id, 1, right(svc, sess.id, 1))
    with pytest.raises(AnswersLocked):  # an earlier question stays closed
        svc.submit(room["a"], pa.id, 0, right(svc, sess.id, 0))
    assert _count(svc.db, live_answers) == 1


@pytest.mark.parametrize(
    "attack, error",
    [
        (lambda s, sess, p, r: s.join(r["c"], sess.join_code), AccessDenied),
        (lambda s, sess, p, r: s.submit(r["a"], p["b"].id, 0, Answer(choice=1)), AccessDenied),
        (lambda s, sess, p, r: s.submit(r["g"], p["a"].id, 0, Answer(choice=1)), AccessDenied),
        (lambda s, sess, p, r: s.open_next(r["a"], sess.id, 0), AccessDenied),
        (lambda s, sess, p, r: s.open_next(r["o"], sess.id, 0), AccessDenied),
        (lambda s, sess, p, r: s.reveal_data(r["o"], sess.id, 0), AccessDenied),
        (lambda s, sess, p, r: s.reveal_data(r["a"], sess.id, 0), AccessDenied),
        (lambda s, sess, p, r: s.standings(r["a"], sess.id), AccessDenied),
        (lambda s, sess, p, r: s.my_result(r["a"], p["b"].id, 0), AccessDenied),
        (lambda s, sess, p, r: s.gradebook(r["o"], sess.id), AccessDenied),
        (lambda s, sess, p, r: s.answers_export(r["a"], sess.id), AccessDenied),
        (lambda s, sess, p, r: s.create(r["a"], SETUP), AccessDenied),
        (lambda s, sess, p, r: s.create(r["o"], SETUP, class_id=r["class"].id), AccessDenied),
        (lambda s, sess, p, r: s.student_pulse(r["a"], p["b"].id), AccessDenied),
        (lambda s, sess, p, r: s.join(r["g"], "QQQQQQ", "Gus"), SignInError),
    ],
    ids=[
        "student of another class joins a class session",
        "student answers as another participant",
        "guest answers with another's participant id",
        "student advances the session",
        "another instructor advances the session",
        "another instructor opens the reveal",
        "student opens the reveal",
        "student reads the leaderboard data",
        "student reads another's result",
        "another instructor exports the grades",
        "student exports the answers",
        "student starts a session",
        "instructor starts a session for another's class",
        "student polls as another participant",
        "wrong code",
    ],
)
def test_attack_is_refused_and_writes_nothing(room, attack, error):
    svc, t = room["svc"], room["t"]
    sess = svc.create(t, SETUP, class_id=room["class"].id)
    parts = {"a": svc.join(room["a"], sess.join_code), "b": svc.join(room["b"], sess.join_code)}
    svc.open_next(t, sess.id, after=-1)
    before = (_count(svc.db, live_answers), _count(svc.db, live_participants), svc.session(sess.id).version)
    with pytest.raises(error):
        attack(svc, sess, parts, room)
    assert (
        _count(svc.db, live_answers),
        _count(svc.db, live_participants),
        svc.session(sess.id).version,
    ) == before


def test_open_session_guests_join_by_code_with_unique_names(room):
    svc, t = room["svc"], room["t"]
    sess = svc.create(t, LiveSetup(n_questions=1, kinds=("present",), seed=1))
    g = svc.join(room["g"], sess.join_code, "  Gus  ")
    assert g.display_name == "Gus"
    assert svc.join(room["c"], sess.join_code, "Cy").display_name == "Cy"  # anyone with the code
    with pytest.raises(SignInError, match="already uses the name"):
        svc.join(room["a"], sess.join_code, "gus")
    with pytest.raises(AccessDenied):  # an anonymous visitor becomes a guest first (the page does)
        svc.join(Actor(client="10.0.0.7"), sess.join_code, "Nobody")
    assert not allowed(svc.db, room["t"], Action.JOIN_LIVE, sess.id)  # instructors run, never answer


def test_reveal_locate_overlay_heatmap_model_and_wrong_place(room, ds):
    svc, t = room["svc"], room["t"]
    sess = svc.create(
        t, LiveSetup(n_questions=1, kinds=("locate",), organ_ids=(1,), seed=3), class_id=room["class"].id
    )
    pa, pb = svc.join(room["a"], sess.join_code), svc.join(room["b"], sess.join_code)
    svc.open_next(t, sess.id, after=-1)
    q, sample = svc.question(sess.id, 0)
    thyroid = gt_boxes(sample, 1)[0]
    other = next(a for a in sample.annotations if a.organ_id != 1)
    svc.submit(room["a"], pa.id, 0, Answer(box=thyroid))
    svc.submit(room["b"], pb.id, 0, Answer(box=other.box))
    rv = svc.reveal_data(t, sess.id, 0)
    d = rv.detail
    assert isinstance(d, LocateReveal) and len(d.boxes) == 2 and d.passed == 1
    assert sorted(round(v, 2) for v in d.ious)[1] == 1.0
    assert d.model is not None and d.model_iou is not None and d.model_iou > 0.7
    assert d.heat.max() == pytest.approx(1.0) or d.heat.max() == pytest.approx(0.5)
    assert d.wrong_place is not None and d.wrong_place.organ_id == other.organ_id
    assert d.wrong_place.sentence.startswith("Half of you boxed the ")
    assert sum(c for _, _, c in d.iou_hist) == 2
    from nnus_core.browse import load_rgb
    from nnus_core.live import reveal_image

    img = reveal_image(load_rgb(sample.image_path), rv)
    assert img.shape[:2] == (sample.height, sample.width)


def test_reveal_identify_distribution_marks_the_right_answer(room):
    svc, t = room["svc"], room["t"]
    sess = svc.create(t, LiveSetup(n_questions=1, kinds=("identify",), seed=5), class_id=room["class"].id)
    pa, pb = svc.join(room["a"], sess.join_code), svc.join(room["b"], sess.join_code)
    svc.open_next(t, sess.id, after=-1)
    svc.submit(room["a"], pa.id, 0, right(svc, sess.id, 0))
    svc.submit(room["b"], pb.id, 0, wrong(svc, sess.id, 0))
    d = svc.reveal_data(t, sess.id, 0).detail
    assert isinstance(d, ChoiceReveal) and d.passed == 1
    assert sum(n for _, n, _ in d.options) == 2 and sum(ok for _, _, ok in d.options) == 1
    assert next(n for _, n, ok in d.options if ok) == 1


def test_exports_go_through_the_gradebook_writer(room):
    svc, t = room["svc"], room["t"]
    sess = svc.create(t, SETUP, class_id=room["class"].id)
    pa = svc.join(room["a"], sess.join_code)
    svc.join(room["b"], sess.join_code)
    svc.open_next(t, sess.id, after=-1)
    svc.submit(room["a"], pa.id, 0, right(svc, sess.id, 0))
    canvas = list(csv.reader(io.StringIO(svc.gradebook(t, sess.id, "canvas"))))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[0][5].startswith("Neck <b>week 3</b> (") and canvas[1][5] == "3"
    assert [r[0] for r in canvas[2:]] == ["Ana", "Ben"] and canvas[2][5] == "1" and canvas[3][5] == ""
    moodle = list(csv.reader(io.StringIO(svc.gradebook(t, sess.id, "moodle"))))
    assert moodle[0][:2] == ["First name", "Last name"]
    per = list(csv.reader(io.StringIO(svc.answers_export(t, sess.id))))
    assert per[0][0] == "student" and len(per) == 2 and per[1][0] == "Ana" and per[1][7] == "yes"


def test_pure_parts_points_density_share_words_ties():
    assert points_for(1.0, 0.0, 20, False) == points_for(1.0, 20.0, 20, False) == 1000
    assert points_for(1.0, 0.0, 20, True) == 1000 and points_for(1.0, 20.0, 20, True) == 500
    heat = density([BoxPx(0, 0, 8, 8), BoxPx(4, 4, 12, 12)], 16, 16, cell=4)
    assert heat.shape == (4, 4) and heat[1, 1] == 1.0 and heat[0, 0] == 0.5 and heat[3, 3] == 0.0
    assert share_words(10, 30) == "a third of you" and share_words(15, 30) == "half of you"
    assert share_words(4, 30) == "4 of 30 of you" and share_words(3, 3) == "all of you"
    from nnus_core.live.model import LiveAnswer, Participant

    ps = [Participant(i, 1, i, n, 0.0) for i, n in ((1, "Zed"), (2, "Amy"), (3, "Bo"))]
    ans = [
        LiveAnswer(1, 1, 0, 1, Answer(choice=1), 1.0, True, None, 1000, 4.0, 0.0),
        LiveAnswer(2, 1, 0, 2, Answer(choice=1), 1.0, True, None, 1000, 4.0, 0.0),
    ]
    rows = leaderboard(ps, ans, 1)
    assert [(r.rank, r.display_name) for r in rows] == [(1, "Amy"), (1, "Zed"), (3, "Bo")]
    assert rows[2].mean_s is None and rows[2].accuracy == 0.0


def test_setup_is_checked():
    with pytest.raises(QuizInputError, match="time_limit_s"):
        LiveSetup(time_limit_s=1)
    with pytest.raises(QuizInputError, match="n_questions"):
        LiveSetup(n_questions=0)


def test_reveal_present_and_label_all(room):
    svc, t = room["svc"], room["t"]
    sess = svc.create(
        t, LiveSetup(n_questions=2, kinds=("present", "label_all"), seed=2), class_id=room["class"].id
    )
    pa, pb = svc.join(room["a"], sess.join_code), svc.join(room["b"], sess.join_code)
    svc.open_next(t, sess.id, after=-1)
    svc.submit(room["a"], pa.id, 0, right(svc, sess.id, 0))
    svc.submit(room["b"], pb.id, 0, wrong(svc, sess.id, 0))
    d = svc.reveal_data(t, sess.id, 0).detail
    assert isinstance(d, ChoiceReveal) and [n for _, n, _ in d.options] == [1, 1] and d.passed == 1
    svc.open_next(t, sess.id, after=0)
    _, sample = svc.question(sess.id, 1)
    svc.submit(room["a"], pa.id, 1, right(svc, sess.id, 1))
    first = sample.annotations[0]
    svc.submit(room["b"], pb.id, 1, Answer(labels=((first.organ_id, first.box),)))
    rv = svc.reveal_data(t, sess.id, 1)
    found = dict(rv.detail.found)
    assert found[first.organ_id] == 2 and all(n >= 1 for n in found.values())
    assert len(rv.detail.boxes) == len(sample.annotations) + 1


def test_a_reload_finds_the_place_again_even_after_the_end(room):
    svc, t = room["svc"], room["t"]
    sess = svc.create(t, SETUP, class_id=room["class"].id)
    pa = svc.join(room["a"], sess.join_code)
    assert svc.rejoin(room["a"], sess.join_code.lower()) == pa
    assert svc.rejoin(room["b"], sess.join_code) is None  # not joined: nothing, and no failure counted
    svc.finish(t, sess.id)
    assert svc.rejoin(room["a"], sess.join_code) == pa


def test_a_saved_set_runs_live_in_its_order_and_only_for_its_owner(room, ds):
    from nnus_core.classroom import sets
    from nnus_core.quiz.questions import QuestionSpec

    svc, t, o = room["svc"], room["t"], room["o"]
    s0, s1 = ds.samples[0], ds.samples[1]
    items = (
        QuestionSpec(Kind.IDENTIFY, s1.stem, s1.annotations[0].organ_id),
        QuestionSpec(Kind.LOCATE, s0.stem, s0.annotations[0].organ_id),
        QuestionSpec(Kind.LABEL_ALL, s0.stem, None),
    )
    qs = sets.create_set(svc.db, t, "Week 3 set", items, dataset_key=svc.dataset_key)
    sess = svc.create(t, LiveSetup(title="From a set", n_questions=1, set_id=qs.id))
    assert sess.n_questions == 3
    asked = [svc.question(sess.id, p)[0].question for p in range(3)]
    assert [(q.kind, q.image_stem, q.organ_id) for q in asked] == [
        (i.kind, i.image_stem, i.organ_id) for i in items
    ]
    n_before = len(svc.instructor_sessions(o, include_finished=True))
    with pytest.raises(AccessDenied):  # another instructor's set
        svc.create(o, LiveSetup(set_id=qs.id))
    assert len(svc.instructor_sessions(o, include_finished=True)) == n_before
    empty = sets.create_set(svc.db, t, "Empty", (), dataset_key=svc.dataset_key)
    with pytest.raises(QuizInputError, match="no questions"):
        svc.create(t, LiveSetup(set_id=empty.id))
    elsewhere = sets.create_set(svc.db, t, "Other data", items, dataset_key="real:/elsewhere")
    with pytest.raises(QuizInputError, match="other images"):
        svc.create(t, LiveSetup(set_id=elsewhere.id))
