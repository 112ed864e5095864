"""Parsers for label files: YOLO txt lines, class-name files (classes.txt, data.yaml), LabelImg VOC xml."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import yaml

from nnus_core.errors import DatasetError

# Coordinates within this distance outside [0, 1] are rounding noise and are clamped silently.
COORD_TOLERANCE = 1e-3
# Caps on the small text files of a dataset, far above anything a real NNUS folder holds (a label
# file is under 1 KB, classes.txt and data.yaml a few hundred bytes): every read stays bounded.
MAX_TEXT_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 20


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


def read_text(path: Path, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """Text of a small file with BOM and CRLF tolerated (both occur in files edited on Windows).

    Raises:
        DatasetError: when the file is larger than `max_bytes` or cannot be read.
    """
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise DatasetError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:
        raise DatasetError(
            f"{path.name} is larger than {max_bytes // 1024} KB; a file of its kind in an NNUS folder "
            "holds a few hundred bytes, so it was not read"
        )
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
                LineProblem(
                    "malformed-line",
                    lineno,
                    f"expected 5 fields 'class cx cy w h', got {len(parts)}: {line[:60]!r}",
                )
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
                LineProblem(
                    "malformed-line",
                    lineno,
                    f"expected an integer class and finite numbers, got {line[:60]!r}",
                )
            )
            continue
        cls = int(cls_f)
        if cls < 0 or (n_classes is not None and cls >= n_classes):
            hi = f"0..{n_classes - 1}" if n_classes else ">= 0"
            problems.append(LineProblem("class-out-of-range", lineno, f"class id {cls} outside {hi}"))
            continue
        cx, cy, w, h = vals
        if w <= 0 or h <= 0:
            problems.append(
                LineProblem("non-positive-size", lineno, f"box width/height must be > 0, got w={w} h={h}")
            )
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
    """Class names of a classes.txt / obj.names file, one per line, blanks ignored.

    Raises:
        DatasetError: when the file is over the size cap or unreadable.
    """
    return [ln.strip() for ln in read_text(path).split("\n") if ln.strip()]


class _DatasetYamlLoader(yaml.SafeLoader):
    """A safe loader that refuses aliases and deep nesting.

    A data.yaml is a flat mapping; aliases (`*a`) are how a few hundred bytes expand into billions
    of names, and deep nesting is how they exhaust the recursion limit.
    """

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.YAMLError(f"line {mark.line + 1}: aliases (*name) are not accepted in a dataset yaml")
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(f"line {mark.line + 1}: nested more than {MAX_YAML_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _scalar_name(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return str(value).strip()


def parse_class_names_yaml(path: Path) -> list[str] | None:
    """Class names from a YOLO data yaml's `names` (list or {id: name}); None when it has none.

    Raises:
        DatasetError: when the file is over the size cap, is not valid YAML (aliases and deep
            nesting are refused), or its `names` is not a list or mapping of plain names.
    """
    text = read_text(path)
    try:
        doc = yaml.load(text, Loader=_DatasetYamlLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, RecursionError) as exc:
        detail = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"{path.name}: not a readable YAML file ({detail[:120]})") from exc
    if not isinstance(doc, dict) or "names" not in doc:
        return None
    names = doc["names"]
    expected = "expected `names` as a list of class names or a mapping {id: name}"
    if isinstance(names, dict):
        try:
            ordered = [names[k] for k in sorted(names, key=lambda k: int(k))]
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"{path.name}: {expected}, got keys that are not whole numbers") from exc
        names = ordered
    if not isinstance(names, list):
        raise DatasetError(f"{path.name}: {expected}, got {type(names).__name__}")
    out = [_scalar_name(n) for n in names]
    if any(n is None for n in out):
        bad = next(n for n, o in zip(names, out, strict=True) if o is None)
        raise DatasetError(f"{path.name}: {expected}, got a {type(bad).__name__} among them")
    return [n for n in out if n is not None]


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
        ValueError: when the xml is malformed, too large, or a box lacks finite coordinates
            (DatasetError, itself a ValueError, for a file over the size cap).
    """
    try:
        root = ET.fromstring(read_text(path))
    except (ET.ParseError, RecursionError) as exc:
        raise ValueError(f"not valid XML: {str(exc)[:120] or type(exc).__name__}") from exc

    def num(el: ET.Element | None, tag: str) -> float | None:
        if el is None:
            return None
        t = el.findtext(tag)
        if t is None or not t.strip():
            return None
        try:
            v = float(t)
        except ValueError:
            raise ValueError(f"<{tag}> must be a number, got {t.strip()[:40]!r}") from None
        if not math.isfinite(v):
            raise ValueError(f"<{tag}> must be a finite number, got {t.strip()[:40]!r}")
        return v

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
