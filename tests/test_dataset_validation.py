"""Table-driven validation: every bad input yields exactly the expected report entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnus_core.dataset import Severity, load_dataset
from nnus_core.errors import DatasetError
from tests.fixtures import AUTHORS_CLASSES, DEFAULT_BOXES, make_nnus_folder, write_image, yolo_lines

E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


def _write(root: Path, rel: str, data: bytes) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


def _truncate(root: Path, rel: str) -> None:
    p = root / rel
    p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])


# (id, mutation(root), expected [(severity, code, "file:line" location)], expected boxes in 0002)
CASES = [
    ("clean", lambda r: None, [], 4),
    (
        "label-without-image",
        lambda r: _write(r, "labels/0099.txt", b"1 0.5 0.5 0.1 0.1\n"),
        [(W, "label-without-image", "labels/0099.txt")],
        4,
    ),
    (
        "image-without-label",
        lambda r: (r / "labels" / "0002.txt").unlink(),
        [(INFO, "no-label-file", "images/0002.jpg")],
        0,
    ),
    (
        "malformed-line-fields",
        lambda r: _write(r, "labels/0002.txt", yolo_lines(DEFAULT_BOXES) + b"1 0.5 0.5 0.1\r\n"),
        [(E, "malformed-line", "labels/0002.txt:5")],
        4,
    ),
    (
        "malformed-line-text",
        lambda r: _write(r, "labels/0002.txt", b"thyroid 0.5 0.5 0.1 0.1\n" + yolo_lines(DEFAULT_BOXES[:1])),
        [(E, "malformed-line", "labels/0002.txt:1")],
        1,
    ),
    (
        "malformed-line-float-class",
        lambda r: _write(r, "labels/0002.txt", b"1.5 0.5 0.5 0.1 0.1\n"),
        [(E, "malformed-line", "labels/0002.txt:1")],
        0,
    ),
    (
        "malformed-line-nan",
        lambda r: _write(r, "labels/0002.txt", b"1 nan 0.5 0.1 0.1\n"),
        [(E, "malformed-line", "labels/0002.txt:1")],
        0,
    ),
    (
        "class-out-of-range",
        lambda r: _write(
            r, "labels/0002.txt", yolo_lines(DEFAULT_BOXES[:2]) + b"8 0.5 0.5 0.1 0.1\n-1 0.5 0.5 0.1 0.1\n"
        ),
        [(E, "class-out-of-range", "labels/0002.txt:3"), (E, "class-out-of-range", "labels/0002.txt:4")],
        2,
    ),
    (
        "coords-outside",
        lambda r: _write(r, "labels/0002.txt", b"1 1.2 0.5 0.1 0.1\n2 0.95 0.5 0.2 0.1\n"),
        [(E, "coords-out-of-range", "labels/0002.txt:1"), (E, "coords-out-of-range", "labels/0002.txt:2")],
        0,
    ),
    (
        "coords-rounding-noise-accepted",
        lambda r: _write(r, "labels/0002.txt", b"1 0.9500004 0.5 0.1 0.1\n"),
        [],
        1,
    ),
    (
        "zero-and-negative-size",
        lambda r: _write(r, "labels/0002.txt", b"1 0.5 0.5 0 0.1\n2 0.5 0.5 0.1 -0.2\n"),
        [(E, "non-positive-size", "labels/0002.txt:1"), (E, "non-positive-size", "labels/0002.txt:2")],
        0,
    ),
    (
        "duplicate-box",
        lambda r: _write(r, "labels/0002.txt", yolo_lines(DEFAULT_BOXES + DEFAULT_BOXES[:1])),
        [(W, "duplicate-box", "labels/0002.txt:5")],
        4,
    ),
    (
        "unreadable-image",
        lambda r: _write(r, "images/0002.jpg", b"this is not a jpeg"),
        [(E, "unreadable-image", "images/0002.jpg")],
        None,
    ),
    (
        "truncated-image",
        lambda r: _truncate(r, "images/0002.jpg"),
        [(E, "truncated-image", "images/0002.jpg")],
        None,
    ),
    (
        "unexpected-size",
        lambda r: write_image(r / "images" / "0002.jpg", width=640, height=480),
        [(INFO, "unexpected-size", "images/0002.jpg")],
        4,
    ),
    (
        "crlf-bom-trailing-blanks-accepted",
        lambda r: _write(
            r,
            "labels/0002.txt",
            b"\xef\xbb\xbf" + yolo_lines(DEFAULT_BOXES).replace(b"\r\n", b"   \r\n") + b"\r\n\r\n  \r\n",
        ),
        [],
        4,
    ),
    (
        "unknown-class-name",
        lambda r: _write(r, "labels/classes.txt", "\n".join(AUTHORS_CLASSES[:7] + ["Parotid"]).encode()),
        [(E, "unknown-class-name", "labels/classes.txt:8")],
        3,  # the SCM box (class 7) is ignored: its name is unknown
    ),
    (
        "missing-classes-file",
        lambda r: (r / "labels" / "classes.txt").unlink(),
        [(W, "no-classes-file", "labels/classes.txt")],
        4,
    ),
    (
        "many-problems-in-one-file",
        lambda r: _write(
            r, "labels/0002.txt", b"x\n9 0.5 0.5 0.1 0.1\n1 0.5 0.5 0 0.1\n1 2 2 0.1 0.1\n1 0.5 0.5 0.2 0.2\n"
        ),
        [
            (E, "malformed-line", "labels/0002.txt:1"),
            (E, "class-out-of-range", "labels/0002.txt:2"),
            (E, "non-positive-size", "labels/0002.txt:3"),
            (E, "coords-out-of-range", "labels/0002.txt:4"),
        ],
        1,
    ),
]


@pytest.mark.parametrize("name,mutate,expected,boxes_0002", CASES, ids=[c[0] for c in CASES])
def test_validation_report_entries(tmp_path, name, mutate, expected, boxes_0002):
    root = make_nnus_folder(tmp_path / "NNUS", n=3)
    mutate(root)
    ds = load_dataset(root)
    got = [(i.severity, i.code, i.location) for i in ds.report.issues]
    assert got == expected, ds.report.format()
    sample = ds.get("0002")
    if boxes_0002 is None:
        assert sample is None  # an unreadable image is reported and left out of the index
    else:
        assert sample is not None and len(sample.annotations) == boxes_0002
    # Every other image is indexed regardless of the problems in 0002.
    assert ds.get("0001") is not None and ds.get("0003") is not None


def test_report_collects_problems_across_many_files(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=6)
    _write(root, "labels/0001.txt", b"1 0.5\n")
    _write(root, "labels/0003.txt", b"1 0.5 0.5 0.1 0.1\n12 0.5 0.5 0.1 0.1\n")
    _write(root, "images/0005.jpg", b"")
    ds = load_dataset(root)
    codes = [(i.code, i.location) for i in ds.report.errors]
    assert codes == [
        ("malformed-line", "labels/0001.txt:1"),
        ("class-out-of-range", "labels/0003.txt:2"),
        ("unreadable-image", "images/0005.jpg"),
    ]
    assert len(ds) == 5


def test_authors_exact_format_loads_with_zero_errors(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=8, crlf=True)
    ds = load_dataset(root)
    assert ds.report.issues == ()
    assert len(ds) == 8 and ds.n_boxes == 32
    s = ds.get("0001")
    assert (s.width, s.height) == (494, 447)
    # Class ids follow the file's order; the authors' spellings map onto the catalogue.
    assert {a.organ.name for a in s.annotations} == {
        "Thyroid",
        "Common carotid artery",
        "Strap muscles",
        "Sternocleidomastoid",
    }
    thyroid = next(a for a in s.annotations if a.organ_id == 1)
    assert thyroid.box.x1 == pytest.approx((0.412348 - 0.323887 / 2) * 494, abs=1e-3)
    assert not ds.synthetic and ds.kind == "real NNUS"


def test_class_order_of_the_file_gives_the_ids(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=2)
    # A file listing the organs in another order: id 0 is now the SCM.
    names = list(reversed(AUTHORS_CLASSES))
    _write(root, "labels/classes.txt", "\n".join(names).encode())
    _write(root, "labels/0001.txt", b"0 0.5 0.5 0.2 0.2\n")
    ds = load_dataset(root)
    assert [a.organ.name for a in ds.get("0001").annotations] == ["Sternocleidomastoid"]


def test_not_a_dataset_raises_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images found"):
        load_dataset(tmp_path / "empty")
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DatasetError, match="expected a folder or a .zip"):
        load_dataset(tmp_path / "notes.txt")
