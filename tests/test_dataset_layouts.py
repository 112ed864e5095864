"""Every accepted layout (NNUS, YOLOv5 sono/, images/<split>, flat, VOC xml, zip) loads the same boxes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nnus_core.dataset import load_dataset, stats
from nnus_core.dataset.splits import contiguous_subjects, subject_split
from tests.fixtures import AUTHORS_CLASSES, DEFAULT_BOXES, make_nnus_folder, write_image, yolo_lines

ROOT = Path(__file__).resolve().parents[1]


def _organs(ds):
    return sorted((s.stem, a.organ_id, round(a.box.x1, 2)) for s in ds.samples for a in s.annotations)


def test_yolov5_sono_layout_with_yaml(tmp_path):
    sono = tmp_path / "export" / "sono"
    for split, stems in (("train", ["0001", "0002", "0003"]), ("valid", ["0004"])):
        for stem in stems:
            write_image(sono / split / "images" / f"{stem}.jpg")
            (sono / split / "labels").mkdir(parents=True, exist_ok=True)
            (sono / split / "labels" / f"{stem}.txt").write_bytes(yolo_lines(DEFAULT_BOXES))
    (sono / "sono.yaml").write_text(
        "train: ../sono/train/images\nval: ../sono/valid/images\nnc: 8\nnames: " + str(AUTHORS_CLASSES) + "\n"
    )
    ds = load_dataset(tmp_path / "export")
    assert ds.report.ok, ds.report.format()
    assert len(ds) == 4 and ds.n_boxes == 16
    assert {s.source_split for s in ds.samples} == {"train", "valid"}
    assert "Logus coli muscle" in ds.class_names


def test_ultralytics_images_split_layout_and_data_yaml_dict_names(tmp_path):
    root = tmp_path / "ds"
    for split in ("train", "val"):
        write_image(root / "images" / split / f"{split}1.png")
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split / f"{split}1.txt").write_bytes(yolo_lines(DEFAULT_BOXES[:2]))
    (root / "data.yaml").write_text(
        "names:\n" + "".join(f"  {i}: {n}\n" for i, n in enumerate(AUTHORS_CLASSES))
    )
    ds = load_dataset(root)
    assert ds.report.ok, ds.report.format()
    assert len(ds) == 2 and ds.n_boxes == 4


def test_classes_txt_at_root_and_flat_files(tmp_path):
    root = tmp_path / "flat"
    write_image(root / "0001.jpg")
    (root / "0001.txt").write_bytes(yolo_lines(DEFAULT_BOXES))
    (root / "classes.txt").write_text("\n".join(n.upper().replace(" ", "_") for n in AUTHORS_CLASSES))
    ds = load_dataset(root)
    assert ds.report.ok, ds.report.format()
    assert ds.n_boxes == 4


def test_labelimg_voc_xml(tmp_path):
    root = tmp_path / "voc"
    write_image(root / "images" / "0001.jpg")
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "0001.xml").write_text(
        "<annotation><filename>0001.jpg</filename><size><width>494</width><height>447</height><depth>3</depth></size>"
        "<object><name>Common carotid artery</name><bndbox><xmin>330</xmin><ymin>180</ymin><xmax>410</xmax><ymax>255</ymax></bndbox></object>"
        "<object><name>Internal juglar vein</name><bndbox><xmin>400</xmin><ymin>150</ymin><xmax>460</xmax><ymax>175</ymax></bndbox></object>"
        "<object><name>Parotid</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object>"
        "</annotation>"
    )
    ds = load_dataset(root)
    s = ds.get("0001")
    assert [a.organ.short for a in s.annotations] == ["CCA", "IJV"]
    assert s.annotations[0].box.as_tuple() == (330, 180, 410, 255)
    assert [(i.code, i.location) for i in ds.report.errors] == [
        ("unknown-class-name", "annotations/0001.xml")
    ]


def test_zip_of_nnus_folder_and_zip_of_sono(tmp_path):
    src = make_nnus_folder(tmp_path / "NNUS", n=5)
    zpath = tmp_path / "nnus.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        for p in sorted(src.rglob("*")):
            zf.write(p, Path("NNUS") / p.relative_to(src))
    ds_zip = load_dataset(zpath, extract_to=tmp_path / "out" / "x")
    ds_dir = load_dataset(src)
    assert ds_zip.report.ok and _organs(ds_zip) == _organs(ds_dir)
    assert (tmp_path / "out" / "x").is_dir()


def test_subjects_from_sidecar_csv_and_split_is_subject_wise(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=30)
    rows = ["image,subject"] + [f"{i:04d}.jpg,P{(i - 1) // 5 + 1:02d}" for i in range(1, 31)]
    (root / "subjects.csv").write_text("\n".join(rows) + "\n")
    ds = load_dataset(root)
    assert ds.subjects == tuple(f"P{k:02d}" for k in range(1, 7))
    per_subject = {}
    for s in ds.samples:
        per_subject.setdefault(s.subject, set()).add(s.split)
    assert all(len(v) == 1 for v in per_subject.values())  # nobody in two splits
    assert {s.split for s in ds.samples} == {"train", "val", "test"}
    # Deterministic: same split on a reload.
    assert [s.split for s in load_dataset(root).samples] == [s.split for s in ds.samples]


def test_contiguous_blocks_when_no_sidecar():
    stems = [f"{i:04d}" for i in range(1, 791)]
    subj = contiguous_subjects(stems)
    assert len(set(subj.values())) == 25
    # Consecutive frames share a subject; blocks are contiguous and ~31-32 frames long.
    order = [subj[s] for s in stems]
    assert order == sorted(order)
    sizes = {v: order.count(v) for v in set(order)}
    assert set(sizes.values()) <= {31, 32}
    split = subject_split(list(set(order)))
    assert sorted(split.values()).count("test") == 4 and sorted(split.values()).count("val") == 4


def test_stats_frames(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=4)
    ds = load_dataset(root)
    inst = stats.instances_per_organ(ds)
    assert list(inst["instances"]) == [0, 4, 4, 0, 0, 0, 4, 4]
    assert inst.loc[inst.organ == "Common carotid artery", "published_instances"].item() == 622
    co = stats.cooccurrence(ds)
    assert co.loc["Thyroid", "Common carotid artery"] == 4 and co.loc["Trachea", "Thyroid"] == 0
    assert stats.boxes_per_image(ds).to_dict("records") == [{"boxes": 4, "images": 4}]
    hm = stats.position_heatmap(ds, organ_id=2)
    assert hm.max() == pytest.approx(1.0) and hm[0, 0] == 0
    assert len(stats.boxes_frame(ds)) == 16


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "nnus_core.dataset", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_check_exit_codes(tmp_path):
    root = make_nnus_folder(tmp_path / "NNUS", n=3)
    ok = _cli("check", str(root))
    assert ok.returncode == 0, ok.stderr
    assert "0 error(s)" in ok.stdout
    (root / "labels" / "0002.txt").write_bytes(b"1 0.5 0.5\n")
    bad = _cli("check", str(root))
    assert bad.returncode == 1
    assert "labels/0002.txt:1" in bad.stdout and "malformed-line" in bad.stdout
    missing = _cli("check", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    st = _cli("stats", str(root))
    assert st.returncode == 0 and "Instances per organ" in st.stdout and "Co-occurrence" in st.stdout


def test_cli_check_on_zip(tmp_path):
    src = make_nnus_folder(tmp_path / "NNUS", n=2)
    z = shutil.make_archive(str(tmp_path / "nnus"), "zip", src)
    res = _cli("check", z)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 images" in res.stdout
