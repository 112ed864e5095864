"""Image checks: size from the header, a pixel cap, and a full decode that catches damaged files."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import simplejpeg
from PIL import Image

from nnus_core.errors import ImageReadError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
# An NNUS frame is 494x447 (0.22 MP); 50 MP is a 8000x6250 photograph. Larger headers are refused
# before any pixel is decoded (a 20000x20000 header in a few bytes would need 400 MB to decode).
MAX_IMAGE_PIXELS = 50_000_000


@dataclass(frozen=True)
class ImageProbe:
    """What a check of an image file found; `problem` is None when the file decodes cleanly."""

    width: int
    height: int
    problem: str | None = None  # "unreadable-image" | "truncated-image" | "image-too-large"
    detail: str = ""


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


def _decode_jpeg(path: Path) -> str | None:
    """None when every byte of the JPEG's scan data decodes without a warning; else the complaint.

    libjpeg-turbo in strict mode: Pillow and OpenCV decode a damaged body into a smeared image
    with only a warning on stderr ("Corrupt JPEG data: 444 extraneous bytes before marker").
    Measured on 100 corrupted NNUS-size frames (bit flips, garbage, cut or zeroed runs): 99 refused;
    a header-and-end-marker check refused none. The DCT is scaled down by 8 (the entropy-coded
    data is still read in full), which makes the check about 1.4 ms a frame.
    """
    try:
        simplejpeg.decode_jpeg(
            path.read_bytes(), colorspace="GRAY", strict=True, min_factor=8, min_height=1, min_width=1
        )
    except (ValueError, OSError, MemoryError) as exc:
        return _reason(exc)
    return None


def _decode_other(path: Path) -> str | None:
    """None when a PNG/BMP decodes completely (PNG chunk checksums verified too)."""
    try:
        with Image.open(path) as im:
            if im.format == "PNG":
                im.verify()  # checksums of every chunk; the image must be reopened to decode
        with Image.open(path) as im:
            im.load()
    # Decoders raise many types on hostile bytes (OSError, SyntaxError, struct.error, ...): each
    # one means the same thing here, a file the app cannot show.
    except Exception as exc:  # noqa: BLE001
        return _reason(exc)
    return None


def probe_image(path: Path) -> ImageProbe:
    """Read an image's size from its header, refuse absurd sizes, then decode it completely.

    The header alone cannot tell a damaged file from a sound one: a corrupted JPEG body keeps a
    valid header and end marker, and bytes after the end marker are harmless. Decoding costs
    about 1.5 ms a frame here; the verdict is kept per (path, size, modification time), so
    re-indexing an unchanged folder decodes nothing.
    """
    return probe_images([path])[path]


def probe_images(paths: list[Path]) -> dict[Path, ImageProbe]:
    """`probe_image` for many files: the ones not checked before are decoded on one thread per
    core (the JPEG decoder runs without the GIL)."""
    out: dict[Path, ImageProbe] = {}
    todo: list[tuple[Path, tuple[str, int, int]]] = []
    for p in paths:
        try:
            st = p.stat()
        except OSError as exc:
            out[p] = ImageProbe(0, 0, "unreadable-image", f"cannot read the file: {exc.strerror or exc}")
            continue
        key = (str(p), st.st_size, st.st_mtime_ns)
        with _VERDICTS_LOCK:
            hit = _VERDICTS.get(key)
        if hit is not None:
            out[p] = hit
        else:
            todo.append((p, key))
    if len(todo) < 16:
        found = [_probe(p) for p, _ in todo]
    else:
        with ThreadPoolExecutor(_workers(), thread_name_prefix="image-probe") as ex:
            found = list(ex.map(_probe, [p for p, _ in todo]))
    with _VERDICTS_LOCK:
        if len(_VERDICTS) > _MAX_VERDICTS:
            _VERDICTS.clear()  # a bound, not an LRU: the next index of a folder refills it
        for (p, key), probe in zip(todo, found, strict=True):
            _VERDICTS[key] = probe
            out[p] = probe
    return out


_VERDICTS: dict[tuple[str, int, int], ImageProbe] = {}
_VERDICTS_LOCK = threading.Lock()
_MAX_VERDICTS = 20_000


def _workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def _probe(path: Path) -> ImageProbe:
    # (Headers of 89-179 MP make Pillow warn, once; the cap below refuses them. Filtering the
    # warning here would change the process's warning filters from several threads at once.)
    try:
        with Image.open(path) as im:
            width, height = im.size
            fmt = im.format
    except Image.DecompressionBombError:
        return ImageProbe(
            0, 0, "image-too-large", f"the header declares more than {MAX_IMAGE_PIXELS:,} pixels"
        )
    except Exception as exc:  # noqa: BLE001 - see _decode_other
        return ImageProbe(0, 0, "unreadable-image", f"cannot read image header: {_reason(exc)}")
    if fmt not in ("JPEG", "PNG", "BMP"):  # what OpenCV decodes for the pages, whatever the name says
        return ImageProbe(0, 0, "unreadable-image", f"a {fmt} file; expected a JPEG, PNG or BMP image")
    if width < 1 or height < 1:
        return ImageProbe(0, 0, "unreadable-image", f"the header declares {width}x{height} pixels")
    if width * height > MAX_IMAGE_PIXELS:
        return ImageProbe(
            width,
            height,
            "image-too-large",
            f"{width}x{height} px declared; the limit is {MAX_IMAGE_PIXELS:,} pixels "
            "(an NNUS frame is 494x447), so it was not decoded",
        )
    complaint = _decode_jpeg(path) if fmt == "JPEG" else _decode_other(path)
    if complaint is None:
        return ImageProbe(width, height)
    if _lacks_end(path, fmt):
        end = {"JPEG": "end-of-image marker", "PNG": "IEND chunk"}[fmt or ""]
        return ImageProbe(width, height, "truncated-image", f"{fmt} {end} missing: the file is cut short")
    return ImageProbe(width, height, "unreadable-image", f"the image data is damaged: {complaint}")


def _lacks_end(path: Path, fmt: str | None) -> bool:
    """True for a JPEG without an end marker after its scan data, or a PNG without IEND."""
    if fmt not in ("JPEG", "PNG"):
        return False
    data = path.read_bytes()
    if fmt == "JPEG":
        sos = data.find(b"\xff\xda")
        return sos >= 0 and b"\xff\xd9" not in data[sos:]
    return b"IEND" not in data


def read_image(path: Path | str, *, grayscale: bool = False, unchanged: bool = False) -> np.ndarray:
    """Decode an image file: the project's one decoder for still images.

    Args:
        path: a JPG, PNG or BMP file.
        grayscale: one uint8 channel.
        unchanged: the file's own channels and depth (grayscale, BGRA, 16-bit PNG); else 3-channel
            uint8 BGR.

    Raises:
        ImageReadError: when the file is missing, unreadable or cannot be decoded.
    """
    if grayscale and unchanged:
        raise ValueError("read_image: grayscale and unchanged exclude each other")
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise ImageReadError(f"{path}: cannot read the image file ({exc.strerror or exc})") from exc
    flag = cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_UNCHANGED if unchanged else cv2.IMREAD_COLOR
    img = cv2.imdecode(data, flag) if data.size else None
    if img is None:
        raise ImageReadError(f"{path}: expected a readable JPG, PNG or BMP image, could not decode it")
    return img
