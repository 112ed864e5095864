"""Property-based fuzzing of every loader: whatever the bytes, only the project's own errors come out,
each case within 5 s, and nothing is written outside the import folder.

About 3,600 generated cases in ~30 s on two cores; each test's budget is set by `max_examples`
(`NNUS_FUZZ_SCALE=20` runs twenty times as many).
"""

from __future__ import annotations

import math
import os
import shutil
import struct
import tempfile
import zipfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from nnus_core.dataset import load_dataset  # noqa: E402
from nnus_core.dataset.labels import (  # noqa: E402
    parse_class_names_yaml,
    parse_voc_xml,
    parse_yolo_text,
)
from nnus_core.dataset.splits import contiguous_subjects, read_subjects_csv  # noqa: E402
from nnus_core.dataset.zipimport import import_archive  # noqa: E402
from nnus_core.errors import DatasetError, NnusError, VideoError  # noqa: E402
from tests.fixtures import make_nnus_folder  # noqa: E402

CASE_S = 5.0


def fuzz(n: int):
    """Settings of one fuzz test: n cases (times $NNUS_FUZZ_SCALE for a longer hunt), each within
    CASE_S, no example database on disk."""
    return settings(
        max_examples=n * max(1, int(os.environ.get("NNUS_FUZZ_SCALE", "1") or 1)),
        deadline=CASE_S * 1000,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# Tokens a hostile label or config file is made of: numbers in every spelling Python's float()
# accepts or refuses, non-ASCII digits, separators, markup.
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10, 20).map(str),
    st.sampled_from(
        ["nan", "inf", "-inf", "1e999", "-0", "0x10", "1_0", "٣", "²", "𝟙", "0.5e", ".", "+", "1e-400"]
    ),
)
TOKENS = st.one_of(
    NUMBERS, st.text(max_size=8), st.sampled_from([" ", "\t", "\r", "\x00", "\ufeff", ",", "#", "<", ">"])
)
LINES = st.lists(st.lists(TOKENS, max_size=7).map(" ".join), max_size=40).map("\n".join)


@fuzz(1200)
@given(text=st.one_of(LINES, st.text(max_size=400)), n_classes=st.one_of(st.none(), st.integers(0, 10)))
def test_label_parser_never_raises_and_keeps_only_sound_boxes(text, n_classes):
    boxes, problems = parse_yolo_text(text, n_classes)
    n_lines = len(text.split("\n"))
    assert len(boxes) + len(problems) <= n_lines
    for b in boxes:
        assert all(math.isfinite(v) for v in (b.cx, b.cy, b.w, b.h))
        assert 0 <= b.cx - b.w / 2 - 1e-9 and b.cx + b.w / 2 <= 1 + 1e-9 and b.w > 0 and b.h > 0
        assert b.class_id >= 0 and (n_classes is None or b.class_id < n_classes)
    for p in problems:
        assert 1 <= p.line <= n_lines and p.message


YAML_SCALARS = st.one_of(
    NUMBERS,
    st.sampled_from(
        [
            "Thyroid",
            "CCA",
            "~",
            "null",
            "yes",
            "''",
            '"x"',
            "&a x",
            "*a",
            "!!python/object:os.system",
            "!!binary AA==",
        ]
    ),
)
YAML_TEXT = st.recursive(
    YAML_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(st.sampled_from(["names", "nc", "0", "1", "a", "? x"]), inner), max_size=4).map(
            lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"
        ),
    ),
    max_leaves=30,
)


@fuzz(400)
@given(
    body=st.one_of(
        YAML_TEXT.map(lambda t: f"names: {t}\n"),
        st.tuples(st.integers(1, 60), st.sampled_from(["[", "{a: ", "- "])).map(
            lambda d: "names: " + d[1] * d[0]
        ),
        st.text(max_size=300),
    )
)
def test_yaml_class_names_are_names_or_a_dataset_error(body):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "data.yaml"
        p.write_text(body, encoding="utf-8", errors="surrogatepass")
        try:
            names = parse_class_names_yaml(p)
        except DatasetError as exc:
            assert "data.yaml" in str(exc)
            return
        assert names is None or all(isinstance(n, str) for n in names)


VOC_OBJECT = st.tuples(
    st.sampled_from(["Thyroid", "CCA", "", "x"]), st.lists(NUMBERS, min_size=4, max_size=4)
).map(
    lambda o: (
        f"<object><name>{o[0]}</name><bndbox>"
        + "".join(f"<{t}>{v}</{t}>" for t, v in zip(("xmin", "ymin", "xmax", "ymax"), o[1], strict=True))
        + "</bndbox></object>"
    )
)
VOC_DOC = st.tuples(st.lists(NUMBERS, min_size=2, max_size=2), st.lists(VOC_OBJECT, max_size=3)).map(
    lambda d: (
        f"<annotation><size><width>{d[0][0]}</width><height>{d[0][1]}</height></size>{''.join(d[1])}</annotation>"
    )
)
XML_JUNK = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "<annotation>",
                "</annotation>",
                "<object>",
                "</object>",
                "<bndbox>",
                "</bndbox>",
                "<size>",
                "</size>",
                "<name>Thyroid</name>",
                "<!DOCTYPE a [<!ENTITY e 'x'>]>",
                "&e;",
                "<![CDATA[x]]>",
            ]
        ),
        st.tuples(st.sampled_from(["xmin", "ymin", "xmax", "ymax", "width", "height"]), NUMBERS).map(
            lambda t: f"<{t[0]}>{t[1]}</{t[0]}>"
        ),
        st.text(max_size=10),
    ),
    max_size=40,
).map("".join)
XML_TEXT = st.one_of(VOC_DOC, XML_JUNK)


@fuzz(400)
@given(body=XML_TEXT)
def test_voc_parser_gives_finite_boxes_or_a_value_error(body):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "0001.xml"
        p.write_text(body, encoding="utf-8", errors="surrogatepass")
        try:
            voc = parse_voc_xml(p)
        except ValueError as exc:  # DatasetError is a ValueError too
            assert str(exc)
            return
        for o in voc.objects:
            assert all(math.isfinite(v) for v in (o.x1, o.y1, o.x2, o.y2))


@fuzz(300)
@given(
    rows=st.lists(
        st.lists(
            st.one_of(st.text(max_size=12), st.sampled_from(['"', '""', "\x00", "0001.jpg", "x" * 140_000])),
            max_size=4,
        ),
        max_size=20,
    ),
    header=st.booleans(),
    stems=st.lists(
        st.one_of(
            st.text(alphabet=st.characters(codec="utf-8"), max_size=8),
            st.sampled_from(["0001²", "١٢", "③1", "𝟙", "12"]),
        ),
        max_size=30,
    ),
)
def test_subjects_csv_and_natural_sort_never_raise(rows, header, stems):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "subjects.csv"
        lines = (["image,subject"] if header else []) + [",".join(r) for r in rows]
        p.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        mapping, problems = read_subjects_csv(p)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
    groups = contiguous_subjects(stems)
    assert set(groups) == set(stems)


# ---------------------------------------------------------------- the folder loader
@pytest.fixture(scope="module")
def base_folder(tmp_path_factory):
    return make_nnus_folder(tmp_path_factory.mktemp("fuzz") / "NNUS", n=3)


def _mutate_bytes(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    b = bytearray(data)
    for pos, val in edits:
        if b:
            b[pos % len(b)] = val
    if cut is not None and b:
        b = b[: cut % len(b)]
    return bytes(b)


FILE_TARGETS = [
    "labels/0001.txt",
    "labels/0002.TXT",
    "labels/classes.txt",
    "data.yaml",
    "subjects.csv",
    "phantom.json",
    "labels/0003.xml",
    "images/0001.jpg",
    "images/0002.png",
    "images/0003.jpg",
    "images/٣٣.jpg",
    "labels/٣٣.txt",
]
CONTENTS = st.one_of(
    LINES.map(lambda t: t.encode("utf-8", "surrogatepass")),
    YAML_TEXT.map(lambda t: f"names: {t}\n".encode("utf-8", "surrogatepass")),
    XML_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=600),
    st.sampled_from([b"[" * 5000, b"{}", b"[]", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b""]),
)


@fuzz(400)
@given(
    writes=st.lists(st.tuples(st.sampled_from(FILE_TARGETS), CONTENTS), max_size=4),
    image_edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    image_cut=st.one_of(st.none(), st.integers(0, 10**6)),
    drop_label=st.booleans(),
)
def test_folder_loader_reports_or_raises_dataset_error(
    base_folder, writes, image_edits, image_cut, drop_label
):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "NNUS"
        shutil.copytree(base_folder, root)
        img = root / "images" / "0002.jpg"
        img.write_bytes(_mutate_bytes(img.read_bytes(), image_edits, image_cut))
        if drop_label:
            (root / "labels" / "0003.txt").unlink()
        for rel, data in writes:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        try:
            ds = load_dataset(root)
        except DatasetError as exc:
            assert str(exc)
            return
        ds.report.format(max_lines=50)
        for s in ds:
            for a in s.annotations:
                assert all(math.isfinite(v) for v in a.box.as_tuple())
        assert len({s.stem for s in ds}) == len(ds)  # every sample has its own key


# ---------------------------------------------------------------- the zip loader
MEMBER_NAMES = st.one_of(
    st.sampled_from(
        [
            "NNUS/images/0001.jpg",
            "NNUS/labels/0001.txt",
            "NNUS/labels/classes.txt",
            "NNUS/images",
            "NNUS/labels/",
            "../evil.txt",
            "/abs.txt",
            "C:/win.txt",
            "NNUS\\..\\x.txt",
            "NNUS/" + "d/" * 40 + "x",
            "NNUS/" + "n" * 260,
            "NNUS/images/0001.jpg/inner.txt",
            "__MACOSX/NNUS/._0001.jpg",
            "NNUS/images/٣.jpg",
            "",
        ]
    ),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=30),
)


def _patch_headers(path: Path, index: int, flag_bits: int, method: int) -> None:
    raw = bytearray(path.read_bytes())
    local = [i for i in range(len(raw) - 3) if raw.startswith(b"PK\x03\x04", i)]
    central = [i for i in range(len(raw) - 3) if raw.startswith(b"PK\x01\x02", i)]
    if not local or not central:
        return
    lo, ce = local[index % len(local)], central[index % len(central)]
    raw[lo + 6 : lo + 8] = raw[ce + 8 : ce + 10] = struct.pack("<H", flag_bits)
    raw[lo + 8 : lo + 10] = raw[ce + 10 : ce + 12] = struct.pack("<H", method)
    path.write_bytes(bytes(raw))


@pytest.fixture(scope="module")
def dataset_members(tmp_path_factory):
    """A small NNUS folder's files (64x48 frames: compressing them anew for every case stays cheap)."""
    from tests.fixtures import write_image

    root = make_nnus_folder(tmp_path_factory.mktemp("zipsrc") / "NNUS", n=3)
    for img in root.glob("images/*.jpg"):
        write_image(img, width=64, height=48)
    return [
        (p.relative_to(root.parent).as_posix(), p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    ]


@fuzz(600)
@given(
    extra=st.lists(st.tuples(MEMBER_NAMES, st.binary(max_size=64)), max_size=4),
    keep=st.integers(0, 8),
    method=st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]),
    patch=st.one_of(
        st.none(),
        st.tuples(
            st.integers(0, 9),
            st.sampled_from([0, 1, 8, 0x41]),
            st.sampled_from([0, 8, 9, 12, 14, 93, 99, 1234]),
        ),
    ),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_zip_import_refuses_or_loads_and_never_escapes(
    dataset_members, extra, keep, method, patch, edits, cut
):
    import warnings

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        z = tmp / "upload.zip"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate names are part of the fuzz
            with zipfile.ZipFile(z, "w", compression=method) as zf:
                for name, data in dataset_members[:keep] + extra:
                    if name:
                        zf.writestr(name, data)
        if patch is not None:
            _patch_headers(z, *patch)
        z.write_bytes(_mutate_bytes(z.read_bytes(), edits, cut))
        try:
            folder = import_archive(z, tmp / "imports")
            load_dataset(folder)
        except NnusError as exc:
            assert str(exc)
        assert {p.name for p in tmp.iterdir()} <= {"upload.zip", "imports"}
        if (tmp / "imports").is_dir():
            assert not [p for p in (tmp / "imports").iterdir() if p.name.startswith(".import-")]


# ---------------------------------------------------------------- the video probe and pipeline
@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    from tests.synthetic_video import write_test_clip

    d = tmp_path_factory.mktemp("clips")
    out = {}
    for name, kw in {
        "a.mp4": {},
        "b.mkv": {"codec": "ffv1", "pix_fmt": "gray"},
        "c.avi": {"codec": "mjpeg", "pix_fmt": "yuvj420p"},
    }.items():
        write_test_clip(d / name, width=64, height=48, n_frames=4, **kw)
        out[name] = (d / name).read_bytes()
    return out


@fuzz(300)
@given(
    which=st.sampled_from(["a.mp4", "b.mkv", "c.avi"]),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=30),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
    run=st.integers(0, 3),
)
def test_video_probe_and_pipeline_give_a_video_error_or_a_result(clips, which, edits, cut, run):
    from nnus_core.video.pipeline import VideoOptions, process_video
    from nnus_core.video.probe import probe_video
    from tests.synthetic_video import BlobDetector

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / which
        src.write_bytes(_mutate_bytes(clips[which], edits, cut))
        try:
            info = probe_video(src, name="my scan" + src.suffix)
        except VideoError as exc:
            assert "my scan" in str(exc) or "empty" in str(exc)
            return
        assert 16 <= min(info.width_px, info.height_px) and info.fps > 0
        if run == 0:  # a quarter of the readable ones go through the whole pipeline
            try:
                res = process_video(
                    src, Path(tmp) / "o.mp4", BlobDetector(), VideoOptions(tracker="none"), info=info
                )
            except VideoError as exc:
                assert "my scan" in str(exc)
                assert not list(Path(tmp).glob(".*part*"))
                return
            assert res.frames_out >= 1 and res.output_path.is_file()
