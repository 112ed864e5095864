"""Builders of hostile dataset inputs, shared by the regression tests and bench/hostile_inputs.py."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import cv2
import numpy as np

from tests.fixtures import make_nnus_folder


def png_header(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header declares `width` x `height` pixels (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A 16x16 JPEG whose frame header claims `width` x `height`."""
    ok, buf = cv2.imencode(".jpg", np.full((16, 16), 90, np.uint8))
    data = bytearray(buf.tobytes())
    sof = data.find(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def distinct_boxes(n: int, seed: int = 0) -> bytes:
    """A YOLO label file of `n` distinct boxes (for the duplicate-box check's running time)."""
    rng = np.random.default_rng(seed)
    w, h = rng.uniform(0.01, 0.3, (2, n))
    cx, cy = rng.uniform(0.35, 0.65, (2, n))
    cls = rng.integers(0, 8, n)
    return "".join(
        f"{c} {a:.6f} {b:.6f} {d:.6f} {e:.6f}\n" for c, a, b, d, e in zip(cls, cx, cy, w, h, strict=True)
    ).encode()


def yaml_alias_bomb() -> bytes:
    """The "billion laughs" in YAML: nine levels of nine aliases each."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, k in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{k}: &{k} [" + ",".join([f"*{prev}"] * 9) + "]")
    lines.append("names: [*i]")
    return ("\n".join(lines) + "\n").encode()


def make_zip(path: Path, members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def dataset_members(tmp: Path, n: int = 2) -> list[tuple[str, bytes]]:
    """(archive name, bytes) of every file of a small valid NNUS folder."""
    src = make_nnus_folder(tmp / "src" / "NNUS", n=n)
    return [
        (p.relative_to(src.parent).as_posix(), p.read_bytes()) for p in sorted(src.rglob("*")) if p.is_file()
    ]


def patch_member(path: Path, index: int, *, flag_bits: int | None = None, method: int | None = None) -> None:
    """Rewrite one member's general-purpose flags or compression method in both its headers."""
    raw = bytearray(path.read_bytes())
    lo = [i for i in range(len(raw)) if raw.startswith(b"PK\x03\x04", i)][index]
    ce = [i for i in range(len(raw)) if raw.startswith(b"PK\x01\x02", i)][index]
    if flag_bits is not None:
        raw[lo + 6 : lo + 8] = raw[ce + 8 : ce + 10] = struct.pack("<H", flag_bits)
    if method is not None:
        raw[lo + 8 : lo + 10] = raw[ce + 10 : ce + 12] = struct.pack("<H", method)
    path.write_bytes(bytes(raw))


def corrupt_jpeg_body(data: bytes, kind: str, seed: int) -> bytes:
    """A JPEG with its entropy-coded body damaged: "flip" (5 bit flips), "garbage", "cut" or "zeros"."""
    b = bytearray(data)
    rng = np.random.default_rng(seed)
    lo, hi = b.find(b"\xff\xda") + 20, len(b) - 2
    if kind == "garbage":
        i = int(rng.integers(lo, hi - 200))
        b[i : i + 100] = rng.integers(0, 256, 100, dtype=np.uint8).tobytes()
    elif kind == "cut":
        i = int(rng.integers(lo, hi - 2000))
        del b[i : i + 1000]
    elif kind == "zeros":
        i = int(rng.integers(lo, hi - 2000))
        b[i : i + 500] = bytes(500)
    else:  # flip
        for _ in range(5):
            i = int(rng.integers(lo, hi))
            b[i] ^= 1 << int(rng.integers(0, 8))
    return bytes(b)
