"""Hostile archives: nothing escapes the target folder, nothing is left behind on refusal."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest

from nnus_core.dataset import load_dataset
from nnus_core.dataset.zipimport import extract_zip, import_archive
from nnus_core.errors import ZipImportError
from tests.fixtures import make_nnus_folder


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def _zip(path: Path, members: list[tuple[str, bytes]], link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


HOSTILE = [
    ("dotdot", [("NNUS/images/0001.jpg", b"x"), ("../../evil.txt", b"pwned")], None, "climbs out"),
    ("dotdot-nested", [("NNUS/../../../evil.txt", b"pwned")], None, "climbs out"),
    ("absolute", [("/tmp/evil_abs.txt", b"pwned")], None, "absolute path"),
    ("windows-drive", [("C:/evil.txt", b"pwned")], None, "absolute path"),
    ("backslash-dotdot", [("NNUS\\..\\..\\evil.txt", b"pwned")], None, "climbs out"),
    ("symlink", [("NNUS/images/0001.jpg", b"x")], "NNUS/labels/link", "symbolic link"),
]


@pytest.mark.parametrize("name,members,link,msg", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_zip_is_refused_and_nothing_escapes(tmp_path, name, members, link, msg):
    area = tmp_path / "area"
    area.mkdir()
    z = _zip(tmp_path / f"{name}.zip", members, link)
    before = _files(tmp_path)
    with pytest.raises(ZipImportError, match=msg):
        extract_zip(z, area / "target")
    # Nothing was written anywhere: not the target, not beside it, not above it.
    assert _files(tmp_path) == before
    assert not Path("/tmp/evil_abs.txt").exists()


def test_a_member_with_an_empty_name_is_refused(tmp_path):
    """Found by the fuzzer (tests/test_fuzz_loaders.py): a central directory whose member name has
    length 0. zipfile cannot write one, so the entry of a one-letter name is cut to zero here."""
    import struct

    data = _zip(tmp_path / "a.zip", [("NNUS/images/0001.jpg", b"x"), ("Q", b"?")]).read_bytes()
    cd = data.rindex(b"PK\x01\x02")  # the last central-directory entry: member "Q"
    assert struct.unpack_from("<H", data, cd + 28)[0] == 1 and data[cd + 46 : cd + 47] == b"Q"
    forged = bytearray(data[: cd + 28] + b"\x00\x00" + data[cd + 30 : cd + 46] + data[cd + 47 :])
    eocd = forged.rindex(b"PK\x05\x06")
    struct.pack_into("<I", forged, eocd + 12, struct.unpack_from("<I", forged, eocd + 12)[0] - 1)
    z = tmp_path / "forged.zip"
    z.write_bytes(bytes(forged))
    assert "" in [i.filename for i in zipfile.ZipFile(z).infolist()]
    with pytest.raises(ZipImportError, match="empty name"):
        extract_zip(z, tmp_path / "target")
    assert not (tmp_path / "target").exists()


def test_zip_bomb_caps(tmp_path):
    big = _zip(tmp_path / "bomb.zip", [("NNUS/images/a.bin", b"\0" * 5_000_000)])
    with pytest.raises(ZipImportError, match="cap"):
        extract_zip(big, tmp_path / "t1", max_total_bytes=1_000_000)
    many = _zip(tmp_path / "many.zip", [(f"NNUS/labels/{i}.txt", b"") for i in range(50)])
    with pytest.raises(ZipImportError, match="50 files"):
        extract_zip(many, tmp_path / "t2", max_files=20)
    assert not (tmp_path / "t1").exists() and not (tmp_path / "t2").exists()
    assert not any(p.name.startswith(".import-") for p in tmp_path.iterdir())


def test_lying_header_is_caught_while_inflating(tmp_path):
    """A header that under-declares the size is stopped by the bytes actually written."""
    z = _zip(tmp_path / "liar.zip", [("NNUS/a.bin", b"\0" * 3_000_000)])
    raw = bytearray(z.read_bytes())
    # Patch the declared uncompressed size (central directory) to 10 bytes.
    with zipfile.ZipFile(z) as zf:
        info = zf.infolist()[0]
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    lf = raw.find(b"PK\x03\x04")
    raw[lf + 22 : lf + 26] = (10).to_bytes(4, "little")
    z.write_bytes(bytes(raw))
    assert info.file_size == 3_000_000
    with pytest.raises(ZipImportError):
        extract_zip(z, tmp_path / "t", max_total_bytes=1_000_000)
    assert not (tmp_path / "t").exists()
    assert not any(p.name.startswith(".import-") for p in tmp_path.iterdir())


def test_not_a_zip_and_corrupt_zip(tmp_path):
    fake = tmp_path / "fake.zip"
    fake.write_text("definitely not a zip")
    with pytest.raises(ZipImportError, match="not a readable zip"):
        load_dataset(fake)
    good = make_nnus_folder(tmp_path / "NNUS", n=2)
    z = tmp_path / "cut.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in good.rglob("*"):
            zf.write(p, p.relative_to(good))
    z.write_bytes(z.read_bytes()[:-200])  # truncated central directory
    with pytest.raises(ZipImportError):
        extract_zip(z, tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_import_archive_is_idempotent(tmp_path):
    src = make_nnus_folder(tmp_path / "NNUS", n=2)
    z = tmp_path / "my data.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in src.rglob("*"):
            zf.write(p, p.relative_to(src))
    a = import_archive(z, tmp_path / "imports")
    b = import_archive(z, tmp_path / "imports")  # a double submit
    assert a == b and len(list((tmp_path / "imports").iterdir())) == 1
    assert load_dataset(a).n_boxes == 8
