"""Hostile dataset folders and zips: each family of the input probe ends in a report issue or the
project's own error, within a time bound, and nothing changes silently."""

from __future__ import annotations

import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnus_core.dataset import Severity, load_dataset
from nnus_core.dataset.labels import parse_class_names_yaml
from nnus_core.dataset.zipimport import extract_zip, import_archive
from nnus_core.errors import DatasetError, ZipImportError
from tests.fixtures import make_nnus_folder, write_image
from tests.hostile import (
    corrupt_jpeg_body,
    dataset_members,
    distinct_boxes,
    jpeg_declaring,
    make_zip,
    patch_member,
    png_header,
    yaml_alias_bomb,
)


def _codes(ds, file_part: str = "") -> set[str]:
    return {i.code for i in ds.report.issues if file_part in i.file}


# ---------------------------------------------------------------- inputs that escaped as tracebacks
@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_decompression_bomb_header_is_a_report_issue(tmp_path, kind):
    root = make_nnus_folder(tmp_path / "NNUS", n=2)
    if kind == "png":
        (root / "images" / "0001.jpg").unlink()
        (root / "images" / "0001.png").write_bytes(png_header(20000, 20000))
    else:
        (root / "images" / "0001.jpg").write_bytes(jpeg_declaring(20000, 20000))
    ds = load_dataset(root)
    bad = [i for i in ds.report.errors if "0001" in i.file]
    assert [i.code for i in bad] == ["image-too-large"] and "pixels" in bad[0].message
    assert [s.stem for s in ds] == ["0002"]


def test_header_under_pillows_limit_but_over_ours_is_refused_without_decoding(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    (root / "images" / "0001.jpg").write_bytes(jpeg_declaring(9000, 9000))  # 81 MP, Pillow only warns
    ds = load_dataset(root)
    assert _codes(ds, "0001.jpg") == {"image-too-large"}
    assert "9000x9000" in ds.report.errors[0].message


@pytest.mark.parametrize("stems", [["0001²"], ["١٢٣", "12"], ["𝟙𝟚"], ["0003③", "0004"], ["٣a", "a٣", "a3"]])
def test_non_ascii_digits_in_stems_sort_and_split(tmp_path, stems):
    root = make_nnus_folder(tmp_path / "NNUS", n=2)
    for s in stems:
        write_image(root / "images" / f"{s}.jpg")
        (root / "labels" / f"{s}.txt").write_text("1 0.5 0.5 0.2 0.2\n")
    ds = load_dataset(root)
    assert len(ds) == 2 + len(stems) and ds.report.ok
    assert all(s.subject and s.split for s in ds)


VOC = (
    "<annotation><size><width>{w}</width><height>{h}</height></size><object><name>Thyroid</name>"
    "<bndbox><xmin>{x1}</xmin><ymin>10</ymin><xmax>{x2}</xmax><ymax>100</ymax></bndbox></object></annotation>"
)


@pytest.mark.parametrize(
    "fields",
    [
        {"x1": "nan"},
        {"x2": "inf"},
        {"x2": "-inf"},
        {"w": "inf"},
        {"h": "nan"},
        {"x1": "1e999"},
        {"x1": "0x10"},
    ],
    ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()),
)
def test_voc_numbers_must_be_finite(tmp_path, fields):
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    (root / "labels" / "0001.txt").unlink()
    values = {"w": "494", "h": "447", "x1": "10", "x2": "100", **fields}
    (root / "labels" / "0001.xml").write_text(VOC.format(**values))
    ds = load_dataset(root)
    issues = [i for i in ds.report.errors if i.file.endswith("0001.xml")]
    assert [i.code for i in issues] == ["malformed-xml"]
    assert "number" in issues[0].message and ds.get("0001").annotations == ()


def test_voc_size_unlike_the_image_is_a_warning(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    (root / "labels" / "0001.txt").unlink()
    (root / "labels" / "0001.xml").write_text(VOC.format(w="988", h="894", x1="10", x2="100"))
    ds = load_dataset(root)
    assert _codes(ds, "0001.xml") == {"voc-size-mismatch"}
    assert len(ds.get("0001").annotations) == 1


def test_oversized_subjects_field_is_a_row_warning(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=3)
    (root / "subjects.csv").write_bytes(
        b"image,subject\n0001.jpg," + b"x" * 200_000 + b"\n0002.jpg,S7\n0003.jpg,S7\n"
    )
    ds = load_dataset(root)
    assert _codes(ds, "subjects.csv") == {"malformed-subjects-row"}
    assert ds.get("0002").subject == ds.get("0003").subject == "S7"


def test_deeply_nested_phantom_marker_is_a_warning(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    (root / "phantom.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    ds = load_dataset(root)
    assert _codes(ds, "phantom.json") == {"bad-phantom-marker"}


@pytest.mark.parametrize(
    "text,reason",
    [
        (b"names: " + b"[" * 50_000 + b"]" * 50_000, "nested"),
        (b"names:\n" + b"".join(b" " * i + b"a:\n" for i in range(1, 200)), "nested"),
        (b"names: [[Thyroid], {a: b}]\n", "list of class names"),
        (b"names: {zero: Thyroid}\n", "whole numbers"),
        (b"names: [Thyroid\n", "not a readable YAML"),
    ],
    ids=["deep-list", "deep-map", "nested-names", "bad-keys", "syntax"],
)
def test_unreadable_data_yaml_is_refused_with_a_reason(tmp_path, text, reason):
    p = tmp_path / "data.yaml"
    p.write_bytes(text)
    with pytest.raises(DatasetError, match=reason):
        parse_class_names_yaml(p)
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    (root / "labels" / "classes.txt").unlink()
    (root / "data.yaml").write_bytes(text)
    ds = load_dataset(root)
    assert "unreadable-yaml" in _codes(ds, "data.yaml") and "no-classes-file" in _codes(ds)


# ---------------------------------------------------------------- inputs that hung
def test_duplicate_box_check_is_linear(tmp_path):
    """8,000 distinct boxes took 11.7 s with the pairwise check; duplicates are still found."""
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    boxes = distinct_boxes(8000)
    first = boxes.split(b"\n", 3)[:3]
    (root / "labels" / "0001.txt").write_bytes(boxes + b"\n".join(first) + b"\n")  # 3 exact repeats
    # CPU time, not the clock: ~0.4 s alone, and other workers' load must not fail it (the clock
    # read 3.3 s once with three pytest workers on two cores).
    t0 = time.process_time()
    ds = load_dataset(root)
    elapsed = time.process_time() - t0
    dups = ds.report.by_code("duplicate-box")
    assert len(dups) >= 3 and {d.line for d in dups} >= {8001, 8002, 8003}
    assert elapsed < 3.0, f"8,000 boxes took {elapsed:.1f} s of CPU"


def test_dedupe_finds_every_near_duplicate_the_pairwise_check_finds(tmp_path):
    """The grid is exact: on boxes crowded around a few shapes it keeps what comparing all pairs keeps."""
    from nnus_core.dataset.loader import DUPLICATE_IOU, _Collector, _dedupe
    from nnus_core.dataset.model import Annotation
    from nnus_core.geometry import BoxPx, iou

    rng = np.random.default_rng(3)
    anns = []
    for _ in range(600):
        x1, y1 = rng.uniform(0, 400, 2) if rng.random() < 0.3 else rng.uniform(100, 101, 2)
        w, h = rng.uniform(40, 41, 2) * (rng.uniform(1, 1.04))
        anns.append(Annotation(int(rng.integers(0, 2)), BoxPx(x1, y1, x1 + w, y1 + h)))
    kept_pairwise: list = []
    for a in anns:
        if not any(k.organ_id == a.organ_id and iou(k.box, a.box) >= DUPLICATE_IOU for k in kept_pairwise):
            kept_pairwise.append(a)
    kept = _dedupe(anns, [None] * len(anns), tmp_path, _Collector(tmp_path))
    assert kept == kept_pairwise and len(kept) < len(anns) / 2


@pytest.mark.parametrize(
    "rel,data",
    [
        ("labels/0001.txt", b"1 0.5 0.5 0.1 0.1\n" * 70_000),
        ("labels/classes.txt", b"Thyroid\n" * 200_000),
        ("data.yaml", b"names: [Thyroid]\nx: [" + b"1," * 600_000 + b"1]\n"),
        ("subjects.csv", b"image,subject\n" + b"0001.jpg,S1\n" * 400_000),
        ("labels/0001.xml", b"<annotation>" + b"<object><name>x</name></object>" * 40_000 + b"</annotation>"),
    ],
    ids=["label", "classes", "yaml", "subjects", "voc"],
)
def test_oversized_small_files_are_refused_quickly_with_the_cap_named(tmp_path, rel, data):
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    if rel.endswith(".xml"):
        (root / "labels" / "0001.txt").unlink()
    (root / rel).write_bytes(data)
    t0 = time.process_time()  # CPU time: other workers' load does not count
    ds = load_dataset(root)
    assert time.process_time() - t0 < 2.0
    issues = [i for i in ds.report.issues if i.file.endswith(Path(rel).name) and "larger than" in i.message]
    assert len(issues) == 1 and "KB" in issues[0].message and "NNUS" in issues[0].message, [
        str(i) for i in ds.report.issues
    ]


def test_yaml_alias_bomb_is_refused(tmp_path):
    p = tmp_path / "data.yaml"
    p.write_bytes(yaml_alias_bomb())
    t0 = time.process_time()  # CPU time: other workers' load does not count
    with pytest.raises(DatasetError, match="aliases"):
        parse_class_names_yaml(p)
    assert time.process_time() - t0 < 1.0


def test_many_bad_lines_are_summed_up(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    (root / "labels" / "0001.txt").write_bytes(b"x y z\n" * 500)
    ds = load_dataset(root)
    issues = [i for i in ds.report.issues if i.file.endswith("0001.txt")]
    assert len(issues) == 21 and "480 more" in issues[-1].message


# ---------------------------------------------------------------- zips that crashed
@pytest.mark.parametrize(
    "patch,message",
    [({"flag_bits": 1}, "encrypted"), ({"method": 9}, "Deflate64"), ({"method": 99}, "AES")],
    ids=["encrypted", "deflate64", "aes"],
)
def test_encrypted_or_unsupported_members_are_refused(tmp_path, patch, message):
    z = make_zip(tmp_path / "d.zip", dataset_members(tmp_path))
    patch_member(z, 1, **patch)
    with pytest.raises(ZipImportError, match=message):
        extract_zip(z, tmp_path / "out" / "t")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize(
    "extra,first,message",
    [
        ([("NNUS/images", b"x")], False, "both a file and a folder"),
        ([("NNUS/labels", b"x")], True, "both a file and a folder"),
        ([("NNUS/" + "a" * 300 + ".txt", b"x")], False, "bytes"),
        ([("NNUS/" + "d/" * 400 + "x.txt", b"x")], False, "deep"),
        ([("NNUS/" + ("b" * 200 + "/") * 25 + "x.txt", b"x")], False, "character path"),
        ([("NNUS/labels/0001.txt", b"")], False, "appears twice"),
    ],
    ids=["file-then-folder", "folder-then-file", "long-name", "deep", "long-path", "duplicate"],
)
def test_ambiguous_or_unwritable_members_are_refused_before_writing(tmp_path, extra, first, message):
    members = dataset_members(tmp_path)
    z = tmp_path / "d.zip"
    with (
        zipfile.ZipFile(z, "w") as zf,
        pytest.warns(UserWarning) if message == "appears twice" else _nothing(),
    ):
        for name, data in extra + members if first else members + extra:
            zf.writestr(name, data)
    with pytest.raises(ZipImportError, match=message):
        import_archive(z, tmp_path / "imports")
    assert not (tmp_path / "imports").exists() or not any((tmp_path / "imports").iterdir())


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_nul_in_a_member_name_is_refused(tmp_path):
    z = make_zip(tmp_path / "d.zip", [*dataset_members(tmp_path), ("NNUS/aQb.txt", b"x")])
    z.write_bytes(z.read_bytes().replace(b"NNUS/aQb.txt", b"NNUS/a\x00b.txt"))
    with pytest.raises(ZipImportError, match="NUL"):
        extract_zip(z, tmp_path / "t")


def test_corrupt_compressed_data_is_a_zip_error(tmp_path):
    z = make_zip(tmp_path / "d.zip", dataset_members(tmp_path))
    raw = bytearray(z.read_bytes())
    with zipfile.ZipFile(z) as zf:
        info = zf.infolist()[1]
    start = info.header_offset + 30 + len(info.filename.encode()) + 10
    raw[start : start + 40] = bytes(range(40))
    z.write_bytes(bytes(raw))
    with pytest.raises(ZipImportError, match="corrupt"):
        extract_zip(z, tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_two_imports_of_one_zip_at_once_give_one_folder(tmp_path):
    z = make_zip(tmp_path / "d.zip", dataset_members(tmp_path, n=20))
    results: list[object] = [None] * 4
    barrier = threading.Barrier(4)

    def work(k: int) -> None:
        barrier.wait()
        try:
            results[k] = import_archive(z, tmp_path / "imports")
        except BaseException as exc:  # noqa: BLE001 - asserted below
            results[k] = exc

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(isinstance(r, Path) for r in results), results
    assert len(set(results)) == 1
    assert [p.name for p in (tmp_path / "imports").iterdir()] == [results[0].name]  # no .import- left
    assert len(load_dataset(results[0])) == 20


# ---------------------------------------------------------------- silent changes
def test_jpg_and_png_of_one_stem_are_reported(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=2)
    write_image(root / "images" / "0001.png")
    ds = load_dataset(root)
    shared = ds.report.by_code("images-share-label")
    assert len(shared) == 1 and "0001.jpg and 0001.png" in shared[0].message
    assert sorted(s.stem for s in ds) == ["0001", "0001.png", "0002"]  # both kept, keys distinct


def test_upper_case_txt_label_is_read(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=2)
    (root / "labels" / "0001.txt").rename(root / "labels" / "0001.TXT")
    ds = load_dataset(root)
    assert len(ds.get("0001").annotations) == 4 and ds.report.ok
    assert not ds.report.by_code("no-label-file")


def test_two_label_files_of_one_stem_are_reported(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    (root / "labels" / "0001.TXT").write_text("1 0.5 0.5 0.2 0.2\n")
    ds = load_dataset(root)
    dup = ds.report.by_code("duplicate-label-file")
    assert len(dup) == 1 and "0001.txt and 0001.TXT both label 0001; 0001.txt is used" in dup[0].message
    assert dup[0].file == "labels/0001.TXT"
    assert len(ds.get("0001").annotations) == 4  # the lower-case file wins, and the report says so


def test_disagreeing_classes_txt_and_data_yaml_are_an_error(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    (root / "data.yaml").write_text(
        "names: [Thyroid, Trachea, Common carotid artery, Internal jugular vein, Esophagus, "
        "Longus colli, Strap muscle, Sternocleidomastoid]\n"
    )
    ds = load_dataset(root)
    issues = ds.report.by_code("class-files-disagree")
    assert len(issues) == 1 and issues[0].severity is Severity.ERROR
    assert "class 0 is 'Thyroid' here but 'Trachea' in classes.txt" in issues[0].message


def test_same_classes_in_other_spellings_agree(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    (root / "data.yaml").write_text(
        "names: [trachea, thyroid, CCA, IJV, oesophagus, longus colli muscle, strap muscles, SCM]\n"
    )
    assert not load_dataset(root).report.by_code("class-files-disagree")


@pytest.mark.parametrize("kind", ["flip", "garbage", "cut", "zeros"])
def test_corrupted_jpeg_bodies_are_refused(tmp_path, kind):
    """Header and end marker intact: only a full decode can tell. 5 seeds each, all refused."""
    root = make_nnus_folder(tmp_path / "NNUS", n=5)
    for i in range(1, 6):
        p = root / "images" / f"{i:04d}.jpg"
        p.write_bytes(corrupt_jpeg_body(p.read_bytes(), kind, seed=i))
    ds = load_dataset(root)
    refused = {i.file for i in ds.report.errors if i.code == "unreadable-image"}
    assert refused == {f"images/{i:04d}.jpg" for i in range(1, 6)}
    assert "damaged" in ds.report.errors[0].message


@pytest.mark.parametrize("n", [10, 100, 5000])
def test_bytes_after_the_jpeg_end_marker_are_accepted(tmp_path, n):
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    p = root / "images" / "0001.jpg"
    p.write_bytes(p.read_bytes() + bytes(range(256)) * (n // 256) + b"x" * (n % 256))
    ds = load_dataset(root)
    assert ds.report.ok and len(ds.get("0001").annotations) == 4


def test_png_with_a_damaged_chunk_is_refused(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    (root / "images" / "0001.jpg").unlink()
    write_image(root / "images" / "0001.png")
    p = root / "images" / "0001.png"
    b = bytearray(p.read_bytes())
    i = b.find(b"IDAT") + 50
    b[i : i + 20] = bytes(20)
    p.write_bytes(bytes(b))
    ds = load_dataset(root)
    assert _codes(ds, "0001.png") == {"unreadable-image"}


def test_an_image_of_another_format_under_a_jpg_name_is_refused(tmp_path):
    from PIL import Image

    root = make_nnus_folder(tmp_path / "NNUS", n=1)
    Image.new("L", (494, 447), 80).save(root / "images" / "0001.jpg", format="GIF")
    ds = load_dataset(root)
    assert [(i.code, "GIF" in i.message) for i in ds.report.errors] == [("unreadable-image", True)]
