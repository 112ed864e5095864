"""The gradebook exports: the columns Canvas and Moodle import, formula-safe cells, empty for no answer."""

import csv
import io

from nnus_core.classroom.gradebook import AnswerRow, Flavour, GradeItem, GradeRow, answers_csv, gradebook_csv

ROWS = [
    GradeRow("Zoe Adams", "zoe@school.example", 7, 8.5),
    GradeRow("=HYPERLINK(1)", None, 3, None),
    GradeRow("ann", "ann", 5, 10.0),
]


def parse(text):
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text)))


def test_canvas_layout_points_row_and_sorted_students():
    rows = parse(gradebook_csv(GradeItem("Live quiz 3 Dec", 10), ROWS, Flavour.CANVAS))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Live quiz 3 Dec"]
    assert rows[1] == ["Points Possible", "", "", "", "", "10"]
    assert [r[0] for r in rows[2:]] == ["'=HYPERLINK(1)", "ann", "Zoe Adams"]
    assert rows[2][5] == ""  # no answer: an empty cell, not a zero
    assert rows[4][3] == "zoe@school.example" and rows[4][5] == "8.5"


def test_moodle_layout_email_only_when_login_is_one():
    rows = parse(gradebook_csv(GradeItem("Homework", 4), ROWS, "moodle"))
    assert rows[0] == ["First name", "Last name", "Username", "Email address", "ID number", "Homework"]
    by_id = {r[4]: r for r in rows[1:]}
    assert by_id["7"][:4] == ["Zoe", "Adams", "zoe@school.example", "zoe@school.example"]
    assert by_id["5"][3] == "" and by_id["5"][5] == "10"


def test_answers_csv_one_row_per_answer():
    a = AnswerRow(
        "B",
        "b",
        1,
        "0001.jpg",
        "Thyroid",
        "locate",
        "box 1,2,3,4",
        True,
        0.8123,
        0.734,
        4.25,
        "2026-12-02T10:00:00Z",
        late=True,
    )
    rows = parse(answers_csv([a, a]))
    assert len(rows) == 3
    assert rows[1][7:] == ["yes", "0.812", "0.734", "4.2", "2026-12-02T10:00:00Z", "yes"]
