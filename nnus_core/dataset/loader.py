"""Index an NNUS-format dataset (folder or zip) and collect every problem into a validation report."""

from __future__ import annotations

import atexit
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from nnus_core.dataset.images import IMAGE_SUFFIXES, probe_images
from nnus_core.dataset.labels import (
    RawBox,
    parse_class_names_txt,
    parse_class_names_yaml,
    parse_voc_xml,
    parse_yolo_text,
    read_text,
)
from nnus_core.dataset.model import (
    NNUS_IMAGE_SIZE,
    PHANTOM_MARKER,
    SUBJECTS_CSV,
    Annotation,
    Dataset,
    Sample,
    Severity,
    ValidationIssue,
    ValidationReport,
)
from nnus_core.dataset.splits import contiguous_subjects, read_subjects_csv, subject_split
from nnus_core.dataset.zipimport import extract_zip
from nnus_core.errors import DatasetError
from nnus_core.geometry import BoxPx, iou
from nnus_core.organs import ORGAN_NAMES, organ_id_for

DUPLICATE_IOU = 0.98
# Problems listed per label file before the rest are summed up in one line: a broken 1 MB file
# must not turn the report into 30,000 lines.
MAX_ISSUES_PER_FILE = 20
_SPLIT_DIRS = ("train", "valid", "val", "test")
_IGNORED_DIRS = {"__MACOSX"}


@dataclass(frozen=True)
class _Part:
    """One folder of images with the folder holding their label files."""

    images_dir: Path
    labels_dir: Path
    split: str


class _Collector:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.issues: list[ValidationIssue] = []

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.base).as_posix()
        except ValueError:
            return path.as_posix()

    def add(self, sev: Severity, code: str, path: Path, line: int | None, msg: str) -> None:
        self.issues.append(ValidationIssue(sev, code, self.rel(path), line, msg))


def _listdir(path: Path) -> list[os.DirEntry]:
    try:
        return sorted(os.scandir(path), key=lambda e: e.name)
    except OSError:
        return []


def _has_images(path: Path) -> bool:
    return any(e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES) for e in _listdir(path))


def _find_parts(root: Path) -> tuple[Path, list[_Part]]:
    """Locate image folders in the NNUS, YOLOv5 (train/valid) and flat layouts, descending
    through single wrapper folders (e.g. the authors' `sono/` or a zip's top folder)."""
    for _ in range(4):
        images = root / "images"
        if images.is_dir():
            parts = []
            if _has_images(images):
                parts.append(_Part(images, root / "labels", ""))
            for e in _listdir(images):
                if e.is_dir() and _has_images(Path(e.path)):
                    parts.append(_Part(Path(e.path), root / "labels" / e.name, e.name))
            if parts:
                return root, parts
        parts = []
        for e in _listdir(root):
            sub = Path(e.path)
            if e.is_dir() and (sub / "images").is_dir() and _has_images(sub / "images"):
                parts.append(_Part(sub / "images", sub / "labels", e.name))
        if parts:
            parts.sort(key=lambda p: (_SPLIT_DIRS.index(p.split) if p.split in _SPLIT_DIRS else 9, p.split))
            return root, parts
        if _has_images(root):
            labels = root / "labels" if (root / "labels").is_dir() else root
            return root, [_Part(root, labels, "")]
        subdirs = [
            Path(e.path)
            for e in _listdir(root)
            if e.is_dir() and not e.name.startswith(".") and e.name not in _IGNORED_DIRS
        ]
        if len(subdirs) != 1:
            break
        root = subdirs[0]
    return root, []


def _yaml_names(c: Path, col: _Collector) -> list[str] | None:
    try:
        return parse_class_names_yaml(c)
    except DatasetError as exc:
        if c.is_relative_to(col.base):  # a yaml beside the dataset folder may be anything
            col.add(Severity.WARNING, "unreadable-yaml", c, None, f"{exc}; its class names are not used")
        return None


def _find_class_names(
    root: Path, parts: list[_Part], col: _Collector
) -> tuple[list[str] | None, Path | None]:
    candidates = [root / "labels" / "classes.txt", root / "classes.txt", root / "obj.names"]
    candidates += [p.labels_dir / "classes.txt" for p in parts]
    found: tuple[list[str], Path] | None = None
    for c in dict.fromkeys(candidates):
        if c.is_file():
            try:
                names = parse_class_names_txt(c)
            except DatasetError as exc:
                col.add(Severity.ERROR, "file-too-large", c, None, str(exc))
                continue
            if names:
                found = names, c
                break
            col.add(Severity.ERROR, "empty-classes-file", c, None, "classes file holds no names")
    yamls = sorted([*root.glob("*.yaml"), *root.glob("*.yml")]) + sorted(root.parent.glob("*.yaml"))
    for c in dict.fromkeys(yamls):
        if not c.is_file() or (found is not None and not c.is_relative_to(col.base)):
            continue  # beside the dataset, a yaml only stands in for a missing classes file
        names = _yaml_names(c, col)
        if not names:
            continue
        if found is None:
            return names, c
        txt_names, txt = found
        # Spellings may differ ("Internal juglar vein"); what matters is which organ each id means.
        ids_txt = [organ_id_for(n) for n in txt_names]
        ids_yaml = [organ_id_for(n) for n in names]
        if ids_txt != ids_yaml:
            i = next((k for k in range(min(len(ids_txt), len(ids_yaml))) if ids_txt[k] != ids_yaml[k]), None)
            where = (
                f"class {i} is {names[i]!r} here but {txt_names[i]!r} in {txt.name}"
                if i is not None
                else f"{len(names)} classes here, {len(txt_names)} in {txt.name}"
            )
            col.add(
                Severity.ERROR,
                "class-files-disagree",
                c,
                None,
                f"{c.name} and {col.rel(txt)} disagree ({where}); the labels are read with {txt.name}",
            )
        break
    return found if found is not None else (None, None)


def _voc_for(stem: str, part: _Part, root: Path) -> Path | None:
    for d in (part.labels_dir, part.images_dir, root / "annotations", root / "Annotations"):
        p = d / f"{stem}.xml"
        if p.is_file():
            return p
    return None


def index_folder(path: Path | str, *, split_seed: int = 0) -> Dataset:
    """Index an NNUS-format folder and validate it, collecting every problem.

    Args:
        path: the dataset folder (NNUS `images/` + `labels/`, YOLOv5 train/valid, flat, or VOC xml).
        split_seed: seed of the subject-wise split.

    Returns:
        The dataset; problems are in `dataset.report` (the call itself does not fail on bad files).

    Raises:
        DatasetError: when the path is not a folder or holds no images at all.
    """
    base = Path(path)
    if not base.is_dir():
        raise DatasetError(f"{base}: not a folder (expected an NNUS folder with images/ and labels/)")
    col = _Collector(base)
    root, parts = _find_parts(base)
    if not parts:
        raise DatasetError(
            f"{base}: no images found (expected images/*.jpg with labels/*.txt, as in the NNUS release)"
        )
    names, id_map = _class_map(root, parts, col)
    subjects_map = _subjects(base, root, col)
    samples: list[Sample] = []
    seen_stems: set[str] = set()
    for part in parts:
        samples += _index_part(part, root, names, id_map, col, seen_stems)
    samples = _assign_subjects(samples, subjects_map, split_seed)
    synthetic, version = _phantom_marker(base, root, col)
    return Dataset(
        root=base,
        samples=tuple(samples),
        class_names=tuple(names),
        report=ValidationReport(tuple(col.issues)),
        synthetic=synthetic,
        generator_version=version,
    )


def _class_map(root: Path, parts: list[_Part], col: _Collector) -> tuple[list[str], dict[int, int]]:
    """The dataset's class names and the map from its class ids to NNUS organ ids (unknown names dropped)."""
    names, names_file = _find_class_names(root, parts, col)
    id_map: dict[int, int] = {}
    if names is None:
        names = list(ORGAN_NAMES)
        has_txt = any(e.name.endswith(".txt") for p in parts for e in _listdir(p.labels_dir))
        if has_txt:
            col.add(
                Severity.WARNING,
                "no-classes-file",
                root / "labels" / "classes.txt",
                None,
                "no usable classes.txt or data.yaml; assuming the NNUS class order " + ", ".join(ORGAN_NAMES),
            )
        id_map = dict(enumerate(range(len(names))))
    else:
        seen: dict[int, int] = {}
        for i, n in enumerate(names):
            oid = organ_id_for(n)
            if oid is None:
                col.add(
                    Severity.ERROR,
                    "unknown-class-name",
                    names_file,
                    i + 1,
                    f"class name {n!r} is not one of the 8 NNUS organs; its boxes are ignored",
                )
            elif oid in seen:
                col.add(
                    Severity.ERROR,
                    "duplicate-class-name",
                    names_file,
                    i + 1,
                    f"class name {n!r} maps to {ORGAN_NAMES[oid]!r}, already class {seen[oid]}",
                )
            else:
                seen[oid] = i
                id_map[i] = oid

    return names, id_map


def _subjects(base: Path, root: Path, col: _Collector) -> dict[str, str]:
    """image -> subject from subjects.csv when there is one (else empty: subjects by file number)."""
    subjects_map: dict[str, str] = {}
    for cand in (base / SUBJECTS_CSV, root / SUBJECTS_CSV):
        if cand.is_file():
            try:
                subjects_map, problems = read_subjects_csv(cand)
            except DatasetError as exc:
                col.add(
                    Severity.WARNING,
                    "file-too-large",
                    cand,
                    None,
                    f"{exc}; subjects are assigned by file number",
                )
                break
            for line, msg in problems[:MAX_ISSUES_PER_FILE]:
                col.add(Severity.WARNING, "malformed-subjects-row", cand, line, msg)
            if len(problems) > MAX_ISSUES_PER_FILE:
                col.add(
                    Severity.WARNING,
                    "malformed-subjects-row",
                    cand,
                    None,
                    f"... and {len(problems) - MAX_ISSUES_PER_FILE} more malformed rows",
                )
            break

    return subjects_map


def _index_part(
    part: _Part, root: Path, names: list[str], id_map: dict[int, int], col: _Collector, seen_stems: set[str]
) -> list[Sample]:
    """The samples of one images/ + labels/ part, each image probed and its labels parsed."""
    samples: list[Sample] = []
    image_entries = [
        e for e in _listdir(part.images_dir) if e.is_file() and e.name.lower().endswith(IMAGE_SUFFIXES)
    ]
    by_stem: dict[str, list[str]] = {}
    for e in image_entries:
        by_stem.setdefault(os.path.splitext(e.name)[0], []).append(e.name)
    labels = _label_files(part, col)
    for stem, path in labels.items():
        if stem not in by_stem:
            col.add(
                Severity.WARNING,
                "label-without-image",
                path,
                None,
                f"no image {stem}.jpg/.png beside this label file",
            )
    for stem, names_ in by_stem.items():
        if len(names_) > 1:
            col.add(
                Severity.WARNING,
                "images-share-label",
                part.images_dir / names_[1],
                None,
                f"{' and '.join(names_)} have one stem: both get the boxes of {stem}.txt",
            )
    probes = probe_images([Path(e.path) for e in image_entries])
    for e in image_entries:
        img_path = Path(e.path)
        stem = os.path.splitext(e.name)[0]
        probe = probes[img_path]
        if probe.problem:
            col.add(Severity.ERROR, probe.problem, img_path, None, probe.detail)
            continue
        w, h = probe.width, probe.height
        if (w, h) != NNUS_IMAGE_SIZE:
            col.add(
                Severity.INFO,
                "unexpected-size",
                img_path,
                None,
                f"{w}x{h} px; NNUS frames are {NNUS_IMAGE_SIZE[0]}x{NNUS_IMAGE_SIZE[1]}",
            )
        annotations = _image_annotations(
            img_path, labels.get(stem), part, root, len(names), id_map, (w, h), col
        )
        key = _unique_key(stem, e.name, part.split, seen_stems)
        seen_stems.add(key)
        samples.append(
            Sample(
                stem=key,
                image_path=img_path,
                width=w,
                height=h,
                annotations=tuple(annotations),
                source_split=part.split,
            )
        )
    return samples


def _image_annotations(
    img_path: Path,
    label_path: Path | None,
    part: _Part,
    root: Path,
    n_names: int,
    id_map: dict[int, int],
    size: tuple[int, int],
    col: _Collector,
) -> list[Annotation]:
    """One image's boxes: from its YOLO label file, else its VOC xml, else none (an image with no organs)."""
    w, h = size
    annotations: list[Annotation] = []
    if label_path is not None:
        try:
            raw, problems = parse_yolo_text(read_text(label_path), n_names)
        except DatasetError as exc:
            col.add(Severity.ERROR, "file-too-large", label_path, None, f"{exc}; the image gets no boxes")
            raw, problems = [], []
        for pr in problems[:MAX_ISSUES_PER_FILE]:
            col.add(Severity.ERROR, pr.code, label_path, pr.line, pr.message)
        if len(problems) > MAX_ISSUES_PER_FILE:
            col.add(
                Severity.ERROR,
                problems[MAX_ISSUES_PER_FILE].code,
                label_path,
                None,
                f"... and {len(problems) - MAX_ISSUES_PER_FILE} more lines refused in this file",
            )
        annotations = _annotations_from_yolo(raw, id_map, w, h, label_path, col)
    else:
        voc = _voc_for(img_path.stem, part, root)
        if voc is not None:
            annotations = _annotations_from_voc(voc, w, h, col)
        else:
            # YOLO: a missing label file means the image has no objects.
            col.add(
                Severity.INFO,
                "no-label-file",
                img_path,
                None,
                "no label file: treated as an image with no organs",
            )
    return annotations


def _phantom_marker(base: Path, root: Path, col: _Collector) -> tuple[bool, str]:
    """(synthetic, generator version) from phantom.json, when the folder has one."""
    marker = root / PHANTOM_MARKER
    if not marker.is_file():
        marker = base / PHANTOM_MARKER
    synthetic, version = False, ""
    if marker.is_file():
        synthetic = True
        try:
            doc = json.loads(read_text(marker))
            if not isinstance(doc, dict):
                raise ValueError(f"expected a JSON object, got {type(doc).__name__}")
            version = str(doc.get("version", ""))[:40]
        except DatasetError as exc:
            col.add(Severity.WARNING, "bad-phantom-marker", marker, None, str(exc))
        except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
            col.add(
                Severity.WARNING,
                "bad-phantom-marker",
                marker,
                None,
                f"phantom.json is not valid JSON ({str(exc)[:80] or type(exc).__name__})",
            )
    return synthetic, version


def _label_files(part: _Part, col: _Collector) -> dict[str, Path]:
    """The YOLO label file of each stem; the suffix may be in any case (0001.TXT from Windows)."""
    found: dict[str, Path] = {}
    for e in _listdir(part.labels_dir):
        stem, ext = os.path.splitext(e.name)
        if not e.is_file() or ext.lower() != ".txt" or e.name.lower() == "classes.txt":
            continue
        if stem in found:
            # Both 0001.txt and 0001.TXT: the lower-case one is the YOLO convention.
            keep, other = (Path(e.path), found[stem]) if ext == ".txt" else (found[stem], Path(e.path))
            col.add(
                Severity.WARNING,
                "duplicate-label-file",
                other,
                None,
                f"{keep.name} and {other.name} both label {stem}; {keep.name} is used",
            )
            found[stem] = keep
            continue
        found[stem] = Path(e.path)
    return found


def _unique_key(stem: str, name: str, split: str, taken: set[str]) -> str:
    """The sample's key: its stem, else (a second file of that stem) its split or file name."""
    for key in (stem, f"{split}/{stem}" if split else name, f"{split}/{name}"):
        if key not in taken:
            return key
    n = 2
    while f"{split}/{name}#{n}" in taken:
        n += 1
    return f"{split}/{name}#{n}"


def _dedupe(
    annotations: list[Annotation], lines: list[int | None], path: Path, col: _Collector
) -> list[Annotation]:
    """Drop boxes that repeat an earlier box of the same organ (IoU >= DUPLICATE_IOU).

    Each box is compared only with kept boxes in neighbouring cells of a grid, which keeps this
    linear in the number of boxes (comparing every pair took 12 s for 8,000 boxes). Two boxes with
    IoU >= t have widths (and heights) within a factor t of each other and centres closer than
    (1 - t) times the larger width (height), so the cells are: log-width and log-height in steps
    of -log(t), and the centre in steps of (1 - t) times the largest width of a neighbouring
    log-width cell.
    """
    t = DUPLICATE_IOU
    step = -math.log(t)
    grid: dict[tuple[int, int, int, int, int], list[Annotation]] = {}
    kept: list[Annotation] = []

    def cells(b: BoxPx) -> tuple[int, int, float, float]:
        kw = math.floor(math.log(max(b.width, 1e-6)) / step)
        kh = math.floor(math.log(max(b.height, 1e-6)) / step)
        cx, cy = b.center
        return kw, kh, cx, cy

    def cell_size(k: int) -> float:
        return (1 - t) * math.exp((k + 2) * step)

    for ann, line in zip(annotations, lines, strict=True):
        kw, kh, cx, cy = cells(ann.box)
        dup = False
        for dw in (-1, 0, 1):
            sx = cell_size(kw + dw)
            ix = math.floor(cx / sx)
            for dh in (-1, 0, 1):
                sy = cell_size(kh + dh)
                iy = math.floor(cy / sy)
                for ddx in (-1, 0, 1):
                    for ddy in (-1, 0, 1):
                        for k in grid.get((ann.organ_id, kw + dw, kh + dh, ix + ddx, iy + ddy), ()):
                            if iou(k.box, ann.box) >= t:
                                dup = True
                                break
                        if dup:
                            break
                    if dup:
                        break
                if dup:
                    break
            if dup:
                break
        if dup:
            col.add(
                Severity.WARNING,
                "duplicate-box",
                path,
                line,
                f"duplicate {ann.organ.name} box (IoU >= {DUPLICATE_IOU} with an earlier line); kept once",
            )
            continue
        key = (ann.organ_id, kw, kh, math.floor(cx / cell_size(kw)), math.floor(cy / cell_size(kh)))
        grid.setdefault(key, []).append(ann)
        kept.append(ann)
    return kept


def _annotations_from_yolo(
    raw: list[RawBox], id_map: dict[int, int], w: int, h: int, path: Path, col: _Collector
) -> list[Annotation]:
    anns, lines = [], []
    for rb in raw:
        oid = id_map.get(rb.class_id)
        if oid is None:
            continue  # its class name was unknown: reported once at the classes file
        anns.append(Annotation(oid, BoxPx.from_yolo(rb.cx, rb.cy, rb.w, rb.h, w, h)))
        lines.append(rb.line)
    return _dedupe(anns, lines, path, col)


def _annotations_from_voc(path: Path, w: int, h: int, col: _Collector) -> list[Annotation]:
    try:
        voc = parse_voc_xml(path)
    except ValueError as exc:  # DatasetError (over the size cap) is a ValueError too
        col.add(Severity.ERROR, "malformed-xml", path, None, str(exc))
        return []
    if voc.width and voc.height and (voc.width, voc.height) != (w, h):
        # VOC boxes are in the pixels of the image that was annotated: another size means the
        # boxes may not fit this one.
        col.add(
            Severity.WARNING,
            "voc-size-mismatch",
            path,
            None,
            f"<size> says {voc.width}x{voc.height}, the image is {w}x{h}; boxes are read as pixels of the image",
        )
    anns, lines = [], []
    for i, obj in enumerate(voc.objects, start=1):
        oid = organ_id_for(obj.name)
        if oid is None:
            col.add(
                Severity.ERROR,
                "unknown-class-name",
                path,
                None,
                f"object {i}: class name {obj.name!r} is not one of the 8 NNUS organs",
            )
            continue
        if obj.x2 <= obj.x1 or obj.y2 <= obj.y1:
            col.add(
                Severity.ERROR,
                "non-positive-size",
                path,
                None,
                f"object {i} ({obj.name}): xmax/ymax must exceed xmin/ymin",
            )
            continue
        if obj.x1 < -1 or obj.y1 < -1 or obj.x2 > w + 1 or obj.y2 > h + 1:
            col.add(
                Severity.ERROR,
                "coords-out-of-range",
                path,
                None,
                f"object {i} ({obj.name}): box outside the {w}x{h} image",
            )
            continue
        anns.append(Annotation(oid, BoxPx(obj.x1, obj.y1, obj.x2, obj.y2).clamp(w, h)))
        lines.append(None)
    return _dedupe(anns, lines, path, col)


def _assign_subjects(samples: list[Sample], subjects_map: dict[str, str], seed: int) -> list[Sample]:
    if subjects_map:
        fallback = contiguous_subjects(
            [s.stem for s in samples if s.name not in subjects_map and s.stem not in subjects_map]
        )
        subj = {
            s.stem: subjects_map.get(s.name) or subjects_map.get(s.stem) or f"U{fallback[s.stem]}"
            for s in samples
        }
    else:
        subj = contiguous_subjects([s.stem for s in samples])
    split = subject_split(list(subj.values()), seed)
    return [replace(s, subject=subj[s.stem], split=split[subj[s.stem]]) for s in samples]


def load_dataset(path: Path | str, *, extract_to: Path | str | None = None, split_seed: int = 0) -> Dataset:
    """Load an NNUS-format dataset from a folder or a .zip archive.

    Args:
        path: folder or .zip file.
        extract_to: where a zip is extracted (a new folder); by default a temporary folder that
            lives as long as the process.
        split_seed: seed of the subject-wise split.

    Raises:
        DatasetError: the path does not exist, is not a dataset, or the zip was refused.
    """
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such file or folder")
    if p.is_file():
        if p.suffix.lower() != ".zip":
            raise DatasetError(
                f"{p.name}: expected a folder or a .zip archive, got a {p.suffix or 'plain'} file"
            )
        if extract_to is None:
            tmp = Path(tempfile.mkdtemp(prefix="nnus-zip-"))
            _TEMP_DIRS.append(tmp)
            extract_to = tmp / p.stem
        target = extract_zip(p, extract_to)
        return index_folder(target, split_seed=split_seed)
    return index_folder(p, split_seed=split_seed)


_TEMP_DIRS: list[Path] = []


def _cleanup_temp_dirs() -> None:
    for d in _TEMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)


atexit.register(_cleanup_temp_dirs)
