"""The dashboard's aggregations on SQLite and PostgreSQL, each figure recounted by hand from a seeded
class of 30 students x 40 answers; the exports; the refusals."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict

import pytest

from nnus_core.classroom import dashboard as dash
from nnus_core.classroom.dashboard import BEHIND_CREDIT
from nnus_core.dataset import load_dataset
from nnus_core.errors import AccessDenied
from nnus_core.store import db as dbm
from tests.classroom_seed import T0, seed_class
from tests.test_quiz_questions import varied_nnus_folder

NOW = T0 + 3600.0


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return load_dataset(varied_nnus_folder(tmp_path_factory.mktemp("dash") / "NNUS"))


@pytest.fixture()
def seeded(store_url, ds):
    eng = dbm.make_engine(store_url)
    dbm.migrate(eng)
    yield eng, seed_class(eng, ds, 30, 40)
    eng.dispose()


def _close(a, b):
    return abs(a - b) < 1e-9


def _check(d, answers, names, due_missed):
    """Every figure of `d` against a recount of `answers`."""
    by_student = defaultdict(list)
    for a in answers:
        by_student[a.student_id].append(a)
    assert [s.student_id for s in d.students] == sorted(names, key=lambda i: names[i].casefold())
    for s in d.students:
        mine = by_student[s.student_id]
        assert s.answers == len(mine)
        assert s.passes == sum(a.passed for a in mine)
        assert _close(s.credit, sum(a.credit for a in mine))
        assert _close(s.seconds, sum(a.seconds for a in mine))
        assert s.late == sum(a.late for a in mine)
        assert s.last_s == (max(a.created_s for a in mine) if mine else None)
        missed = due_missed(s.student_id)
        assert s.due_missed == missed
        weak = bool(mine) and sum(a.credit for a in mine) / len(mine) < BEHIND_CREDIT
        assert s.behind == (not mine or weak or missed > 0)
    # mastery cells: (student, organ), Label all left out
    cells = defaultdict(list)
    for a in answers:
        if a.organ_id is not None and a.kind != "label_all":
            cells[(a.student_id, a.organ_id)].append(a)
    assert {(c.student_id, c.organ_id) for c in d.cells} == set(cells)
    for c in d.cells:
        mine = cells[(c.student_id, c.organ_id)]
        assert (c.answers, c.passes) == (len(mine), sum(a.passed for a in mine))
        assert _close(c.credit, sum(a.credit for a in mine)) and _close(
            c.seconds, sum(a.seconds for a in mine)
        )
    # per question, hardest first
    qs = defaultdict(list)
    for a in answers:
        qs[(a.kind, a.image_stem, a.organ_id)].append(a)
    ranked = sorted(
        qs.items(),
        key=lambda kv: (
            (sum(a.passed for a in kv[1]) + 1.0) / (len(kv[1]) + 2.0),
            -len(kv[1]),
            kv[0][0],
            kv[0][1],
            kv[0][2] if kv[0][2] is not None else -1,
        ),
    )
    assert [(q.kind, q.image_stem, q.organ_id) for q in d.questions] == [
        k for k, _ in ranked[: dash.QUESTIONS_SHOWN]
    ]
    for q in d.questions:
        mine = qs[(q.kind, q.image_stem, q.organ_id)]
        assert (q.answers, q.passes) == (len(mine), sum(a.passed for a in mine))
        assert _close(q.seconds, sum(a.seconds for a in mine))
    # Identify confusion
    conf = Counter(
        (a.organ_id, a.choice)
        for a in answers
        if a.kind == "identify" and a.organ_id is not None and a.choice is not None
    )
    assert d.confusion == dict(conf)
    # Locate centres
    pts = [
        (a.organ_id, a.image_stem, (a.box[0] + a.box[2]) / 2, (a.box[1] + a.box[3]) / 2, a.passed)
        for a in answers
        if a.kind == "locate" and a.box is not None and a.organ_id is not None
    ]
    assert sorted((p.organ_id, p.image_stem, p.x, p.y, p.passed) for p in d.locate_points) == sorted(pts)
    # per-organ accuracy, by dataset
    acc = defaultdict(list)
    for a in answers:
        if a.organ_id is not None and a.kind != "label_all":
            acc[(a.organ_id, a.dataset_key)].append(a.passed)
    assert {(o.organ_id, o.dataset_key): (o.answers, o.passes) for o in d.organ_accuracy} == {
        k: (len(v), sum(v)) for k, v in acc.items()
    }


def test_every_dashboard_figure_matches_a_hand_count(seeded):
    engine, sc = seeded
    assert len(sc.answers) == 1200 and len(sc.names) == 30
    d = dash.class_dashboard(engine, sc.teacher, sc.class_id, now=NOW)
    assert d.answers == 1200
    started = {a.student_id for a in sc.answers if a.assignment}
    n_items = sc.assignment.n_questions
    done = Counter(a.student_id for a in sc.answers if a.assignment)
    _check(d, sc.answers, sc.names, lambda sid: int(done[sid] < n_items))
    assert len(started) == 10 and all(done[s] == n_items for s in started)
    assert any(s.behind for s in d.students) and not all(s.behind for s in d.students)
    # Before the due date nobody has missed it.
    early = dash.class_dashboard(engine, sc.teacher, sc.class_id, now=T0 - 1)
    assert all(s.due_missed == 0 for s in early.students)


def test_one_assignment_scope_counts_only_its_answers_and_marks_the_late_ones(seeded):
    engine, sc = seeded
    d = dash.class_dashboard(engine, sc.teacher, sc.class_id, sc.assignment.id, now=NOW)
    mine = [a for a in sc.answers if a.assignment]
    assert d.answers == len(mine) == 50
    assert (
        sum(s.late for s in d.students) == sum(a.late for a in mine) == 9
    )  # the 5th answer, past the due time
    done = Counter(a.student_id for a in mine)
    _check(d, mine, sc.names, lambda sid: int(done[sid] < sc.assignment.n_questions))


def test_drill_down_lists_the_answers_behind_a_cell_with_the_students_box(seeded):
    engine, sc = seeded
    sid = next(iter(sc.names))
    organ = next(a.organ_id for a in sc.answers if a.student_id == sid and a.kind == "locate" and a.box)
    want = [a for a in sc.answers if a.student_id == sid and a.organ_id == organ]
    got = dash.drill_down(engine, sc.teacher, sc.class_id, student_id=sid, organ_id=organ)
    assert len(got) == len(want)
    assert [g.created_s for g in got] == sorted((a.created_s for a in want), reverse=True)
    by_time = {a.created_s: a for a in want}
    for g in got:
        a = by_time[g.created_s]
        assert (g.kind, g.image_stem, g.passed, g.box, g.late) == (
            a.kind,
            a.image_stem,
            a.passed,
            a.box,
            a.late,
        )
        assert g.choice == a.choice and g.name == sc.names[sid]
    q = sc.answers[5]
    per_q = dash.drill_down(
        engine, sc.teacher, sc.class_id, kind=q.kind, image_stem=q.image_stem, organ_id=q.organ_id
    )
    assert len(per_q) == sum(
        (a.kind, a.image_stem, a.organ_id) == (q.kind, q.image_stem, q.organ_id) for a in sc.answers
    )


def test_exports_gradebook_and_per_answer(seeded):
    engine, sc = seeded
    canvas = list(
        csv.reader(io.StringIO(dash.gradebook_export(engine, sc.teacher, sc.assignment.id, "canvas")))
    )
    assert canvas[0][5] == "Homework" and canvas[1][5] == "5"
    points = defaultdict(float)
    for a in sc.answers:
        if a.assignment:
            points[a.name] += a.credit
    got = {r[0]: r[5] for r in canvas[2:]}
    assert len(got) == 30
    for name, value in got.items():
        if name in points:
            assert _close(float(value), round(points[name], 2))
        else:
            assert value == ""  # not started: an empty cell, not a zero
    moodle = list(
        csv.reader(io.StringIO(dash.gradebook_export(engine, sc.teacher, sc.assignment.id, "moodle")))
    )
    assert moodle[0][:4] == ["First name", "Last name", "Username", "Email address"] and len(moodle) == 31
    rows = list(
        csv.DictReader(io.StringIO(dash.answers_export(engine, sc.teacher, sc.class_id, sc.assignment.id)))
    )
    assert len(rows) == 50
    assert sum(r["late"] == "yes" for r in rows) == 9
    assert len(list(csv.reader(io.StringIO(dash.answers_export(engine, sc.teacher, sc.class_id))))) == 1201


def test_only_the_classs_instructor_sees_it(seeded):
    engine, sc = seeded
    for who in (sc.other, sc.student):
        with pytest.raises(AccessDenied):
            dash.class_dashboard(engine, who, sc.class_id)
        with pytest.raises(AccessDenied):
            dash.drill_down(engine, who, sc.class_id, student_id=next(iter(sc.names)))
        with pytest.raises(AccessDenied):
            dash.gradebook_export(engine, who, sc.assignment.id)
        with pytest.raises(AccessDenied):
            dash.answers_export(engine, who, sc.class_id)


def test_the_figures_show_the_counted_values(seeded, ds):
    import math

    import numpy as np

    from nnus_core.classroom import figures
    from nnus_core.dataset import stats as dstats

    engine, sc = seeded
    d = dash.class_dashboard(engine, sc.teacher, sc.class_id, now=NOW)
    heat = np.stack([dstats.position_heatmap(ds, o, figures.HEAT_BINS) for o in range(8)])
    fig_m, fig_c, fig_l, fig_v = figures.dashboard_figures(d, ds, heat, {1: 0.9}, "Model AP@0.5 (synthetic)")
    # mastery: row per student in the table's order, a cell's colour = its answers' mean credit
    z = np.array(fig_m.data[0].z, dtype=float)
    order = [s.student_id for s in d.students]
    for i, sid in enumerate(order):
        for o in range(8):
            mine = [
                a.credit
                for a in sc.answers
                if a.student_id == sid and a.organ_id == o and a.kind != "label_all"
            ]
            assert (math.isnan(z[i, o]) and not mine) or abs(z[i, o] - sum(mine) / len(mine)) < 1e-9
    assert list(fig_m.data[0].customdata[2][5]) == [order[2], 5]
    # confusion: the counts as text
    m = np.array(fig_c.data[0].text)
    for t in range(8):
        for c in range(8):
            assert m[t, c] == sum(
                1 for a in sc.answers if a.kind == "identify" and a.organ_id == t and a.choice == c
            )
    # locate: every box centre drawn once, right or wrong, in its organ's panel
    drawn = sum(len(tr.x) for tr in fig_l.data if tr.type == "scatter" and tr.name != "ground-truth centre")
    assert drawn == sum(1 for a in sc.answers if a.kind == "locate" and a.box is not None)
    truth = sum(len(tr.x) for tr in fig_l.data if tr.name == "ground-truth centre")
    assert truth == ds.n_boxes
    # class beside model: one series per dataset, each bar its pass rate; the model's AP labelled
    names = [tr.name for tr in fig_v.data]
    assert any("synthetic:test" in n for n in names) and any("real:NNUS" in n for n in names)
    assert names[-1] == "Model AP@0.5 (synthetic)" and fig_v.data[-1].y[1] == 0.9
    real = next(tr for tr in fig_v.data if "real:NNUS" in tr.name)
    for o in range(8):
        mine = [
            a.passed
            for a in sc.answers
            if a.organ_id == o and a.kind != "label_all" and a.dataset_key == "real:NNUS"
        ]
        assert abs(real.y[o] - sum(mine) / len(mine)) < 1e-9
