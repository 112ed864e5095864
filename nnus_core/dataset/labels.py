"""Parsers for label files: YOLO txt lines, class-name files (classes.txt, data.yaml), LabelImg VOC xml."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import yaml

# Coordinates within this distance outside [0, 1] are rounding noise and are clamped silently.
COORD_TOLERANCE = 1e-3


@dataclass(frozen=True)
class RawBox:
    """A label line as written: file class id and normalised centre/size."""

    class_id: int
    cx: float
    cy: float
    w: float
    h: float
    line: int


@dataclass(frozen=True)
class LineProblem:
    """A problem with one line of a label file."""

    code: str
    line: int
    message: str


def read_text(path: Path) -> str:
    """Text of a small file with BOM and CRLF tolerated (both occur in files edited on Windows)."""
    data = path.read_bytes()
    text = data.decode("utf-8-sig", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_yolo_text(text: str, n_classes: int | None) -> tuple[list[RawBox], list[LineProblem]]:
    """Parse YOLO label text into boxes and the problems of the lines that were skipped.

    Each line is `class cx cy w h` with normalised floats. Blank lines and trailing spaces are fine.
    Coordinates a hair outside [0, 1] are clamped; beyond COORD_TOLERANCE the box is refused.
    """
    boxes: list[RawBox] = []
    problems: list[LineProblem] = []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 5:
            problems.append(
                LineProblem("malformed-line", lineno, f"expected 5 fields 'class cx cy w h', got {len(parts)}: {line[:60]!r}")
            )
            continue
        try:
            cls_f = float(parts[0])
            vals = [float(p) for p in parts[1:]]
        except ValueError:
            problems.append(LineProblem("malformed-line", lineno, f"expected numbers, got {line[:60]!r}"))
            continue
        if not all(math.isfinite(v) for v in [cls_f, *vals]) or cls_f != int(cls_f):
            problems.append(
                LineProblem("malformed-line", lineno, f"expected an integer class and finite numbers, got {line[:60]!r}")
            )
            continue
        cls = int(cls_f)
        if cls < 0 or (n_classes is not None and cls >= n_classes):
            hi = f"0..{n_classes - 1}" if n_classes else ">= 0"
            problems.append(LineProblem("class-out-of-range", lineno, f"class id {cls} outside {hi}"))
            continue
        cx, cy, w, h = vals
        if w <= 0 or h <= 0:
            problems.append(LineProblem("non-positive-size", lineno, f"box width/height must be > 0, got w={w} h={h}"))
            continue
        x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
        lo, hi_ = -COORD_TOLERANCE, 1 + COORD_TOLERANCE
        if not all(lo <= v <= hi_ for v in (cx, cy, w, h, x1, y1, x2, y2)):
            problems.append(
                LineProblem(
                    "coords-out-of-range",
                    lineno,
                    f"normalised coordinates must lie in [0, 1], got cx={cx} cy={cy} w={w} h={h}",
                )
            )
            continue
        x1, y1, x2, y2 = max(x1, 0.0), max(y1, 0.0), min(x2, 1.0), min(y2, 1.0)
        boxes.append(RawBox(cls, (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, lineno))
    return boxes, problems


def parse_class_names_txt(path: Path) -> list[str]:
    """Class names of a classes.txt / obj.names file, one per line, blanks ignored."""
    return [ln.strip() for ln in read_text(path).split("\n") if ln.strip()]


def parse_class_names_yaml(path: Path) -> list[str] | None:
    """Class names from a YOLO data yaml's `names` (list or {id: name}); None when absent."""
    try:
        doc = yaml.safe_load(read_text(path))
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict) or "names" not in doc:
        return None
    names = doc["names"]
    if isinstance(names, dict):
        try:
            return [str(names[k]) for k in sorted(names, key=int)]
        except (TypeError, ValueError):
            return None
    if isinstance(names, list):
        return [str(n) for n in names]
    return None


@dataclass(frozen=True)
class VocObject:
    name: str
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class VocAnnotation:
    filename: str
    width: int | None
    height: int | None
    objects: tuple[VocObject, ...]


def parse_voc_xml(path: Path) -> VocAnnotation:
    """Parse a LabelImg Pascal VOC xml file.

    Raises:
        ValueError: when the xml is malformed or a box lacks coordinates.
    """
    try:
        root = ET.fromstring(read_text(path))
    except ET.ParseError as exc:
        raise ValueError(f"not valid XML: {exc}") from exc

    def num(el: ET.Element | None, tag: str) -> float | None:
        if el is None:
            return None
        t = el.findtext(tag)
        if t is None or not t.strip():
            return None
        return float(t)

    size = root.find("size")
    width, height = num(size, "width"), num(size, "height")
    objects = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        bb = obj.find("bndbox")
        coords = [num(bb, t) for t in ("xmin", "ymin", "xmax", "ymax")]
        if any(c is None for c in coords):
            raise ValueError(f"object {name!r} has no complete <bndbox>")
        x1, y1, x2, y2 = (float(c) for c in coords)  # type: ignore[arg-type]
        objects.append(VocObject(name, x1, y1, x2, y2))
    return VocAnnotation(
        filename=(root.findtext("filename") or "").strip(),
        width=int(width) if width else None,
        height=int(height) if height else None,
        objects=tuple(objects),
    )
