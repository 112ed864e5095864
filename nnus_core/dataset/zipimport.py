"""Safe extraction of a dataset zip: no path traversal, no links, no ambiguity, caps against zip bombs."""

from __future__ import annotations

import lzma
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from nnus_core.errors import ZipImportError

MAX_TOTAL_BYTES = 2 * 1024**3  # the real NNUS folder is ~30 MB; 2 GB leaves room for any export
MAX_FILES = 20_000
# The deepest NNUS export path is 4 levels (sono/train/images/0001.jpg): these caps are far above
# any real archive and below what a file system refuses (255 bytes a name, 4096 a path).
MAX_DEPTH = 32
MAX_NAME_BYTES = 255
MAX_PATH_CHARS = 1024
_SUPPORTED_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
_METHOD_NAMES = {
    9: "Deflate64",
    99: "AES encryption",
    12: "BZIP2",
    14: "LZMA",
    93: "Zstandard",
    95: "XZ",
    98: "PPMd",
}
_CHUNK = 1 << 20
# What the decompressors raise on damaged data (zlib.error, lzma.LZMAError, EOFError for a cut
# stream, OSError from bz2): each means a corrupt member.
_INFLATE_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError)


def _safe_member_path(name: str) -> PurePosixPath:
    """The member's relative path, or raise when it could land outside the target folder."""
    norm = name.replace("\\", "/")
    p = PurePosixPath(norm)
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or p.is_absolute():
        raise ZipImportError(f"refused archive: member {name!r} has an absolute path")
    if any(part == ".." for part in p.parts):
        raise ZipImportError(f"refused archive: member {name!r} climbs out of the folder ('..')")
    return p


def _check_member(info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's path after every check that needs no decompression."""
    shown = info.filename[:80]
    if "\x00" in info.orig_filename:
        raise ZipImportError(f"refused archive: member {shown!r} has a NUL character in its name")
    rel = _safe_member_path(info.filename)
    if _is_link(info):
        raise ZipImportError(f"refused archive: member {shown!r} is a symbolic link")
    if len(rel.parts) > MAX_DEPTH:
        raise ZipImportError(
            f"refused archive: member {shown!r}... is {len(rel.parts)} folders deep (limit {MAX_DEPTH})"
        )
    if len(info.filename) > MAX_PATH_CHARS:
        raise ZipImportError(
            f"refused archive: member {shown!r}... has a {len(info.filename)}-character path (limit {MAX_PATH_CHARS})"
        )
    long = next((part for part in rel.parts if len(part.encode("utf-8", "replace")) > MAX_NAME_BYTES), None)
    if long is not None:
        raise ZipImportError(
            f"refused archive: member {shown!r}... has a name of {len(long.encode('utf-8', 'replace'))} bytes "
            f"(limit {MAX_NAME_BYTES})"
        )
    if info.is_dir():
        return rel
    if info.flag_bits & 0x1:
        raise ZipImportError(
            f"refused archive: member {shown!r} is encrypted; expected an archive without a password"
        )
    if info.compress_type not in _SUPPORTED_METHODS:
        method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
        raise ZipImportError(
            f"refused archive: member {shown!r} is compressed with {method}; expected Deflate or no "
            "compression (re-create the zip with your system's standard zip tool)"
        )
    return rel


def _check_layout(paths: list[tuple[zipfile.ZipInfo, PurePosixPath]]) -> None:
    """Refuse two members of one path, and a file that is also a folder of other members.

    A later duplicate would silently replace the earlier file; a file and a folder of one name
    cannot both be written.
    """
    files: dict[PurePosixPath, str] = {}
    folders: set[PurePosixPath] = set()
    for info, rel in paths:
        folders.update(rel.parents)
        if info.is_dir():
            folders.add(rel)
            continue
        if rel in files:
            raise ZipImportError(
                f"refused archive: {info.filename[:80]!r} appears twice; expected each file once "
                "(a later copy would silently replace the first)"
            )
        files[rel] = info.filename
    clash = next((f for f in files if f in folders), None)
    if clash is not None:
        raise ZipImportError(
            f"refused archive: {files[clash][:80]!r} is both a file and a folder of other members"
        )


def _is_link(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode)


def extract_zip(
    zip_path: Path | str,
    target: Path | str,
    *,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_files: int = MAX_FILES,
) -> Path:
    """Extract a zip archive into a new folder `target`, all or nothing.

    Members are checked before anything is written; the byte cap is enforced on the bytes actually
    inflated (a lying header cannot get past it). Extraction happens in a sibling temporary folder
    that is renamed into place at the end, so a failed import leaves nothing behind.

    Returns:
        The target folder.

    Raises:
        ZipImportError: for a file that is not a zip, an unsafe member, or one over the caps.
    """
    zip_path, target = Path(zip_path), Path(target)
    if target.exists():
        raise ZipImportError(f"target folder {target} already exists")
    try:
        zf = zipfile.ZipFile(zip_path)
    # A damaged central directory surfaces as many types (BadZipFile, OSError, EOFError, a
    # ValueError from a negative seek, NotImplementedError for multi-disk archives).
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, OverflowError) as exc:
        raise ZipImportError(f"{zip_path.name}: not a readable zip archive ({exc})") from exc
    with zf:
        infos = zf.infolist()
        # A member with an empty name (a damaged or forged central directory) is no file anyone
        # can have meant; ZipInfo.is_dir() would even raise on it.
        if any(not i.filename for i in infos):
            raise ZipImportError(f"refused archive: {zip_path.name} holds a member with an empty name")
        files = [i for i in infos if not i.is_dir()]
        if len(files) > max_files:
            raise ZipImportError(f"refused archive: {len(files)} files, more than the cap of {max_files}")
        declared = sum(i.file_size for i in files)
        if declared > max_total_bytes:
            raise ZipImportError(
                f"refused archive: {declared / 1e6:.0f} MB uncompressed, more than the cap of "
                f"{max_total_bytes / 1e6:.0f} MB"
            )
        checked = [(info, _check_member(info)) for info in infos]
        _check_layout(checked)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".import-", dir=target.parent))
        except OSError as exc:
            raise ZipImportError(
                f"cannot create the import folder beside {target}: {exc.strerror or exc}"
            ) from exc
        try:
            written = 0
            for info, rel in checked:
                if info.is_dir():
                    continue
                dest = tmp.joinpath(*rel.parts)
                # Belt and braces: the resolved path must stay inside the temporary folder.
                if not dest.resolve().is_relative_to(tmp.resolve()):
                    raise ZipImportError(f"refused archive: member {info.filename!r} escapes the folder")
                try:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    out = dest.open("wb")
                except OSError as exc:
                    raise ZipImportError(
                        f"cannot write member {info.filename[:80]!r}: {exc.strerror or exc}"
                    ) from exc
                with out:
                    try:
                        with zf.open(info) as src:
                            while chunk := src.read(_CHUNK):
                                written += len(chunk)
                                if written > max_total_bytes:
                                    raise ZipImportError(
                                        f"refused archive: inflates past the cap of {max_total_bytes / 1e6:.0f} MB"
                                    )
                                out.write(chunk)
                    except ZipImportError:
                        raise
                    except (*_INFLATE_ERRORS, RuntimeError, NotImplementedError, ValueError) as exc:
                        raise ZipImportError(
                            f"{zip_path.name}: member {info.filename[:80]!r} is corrupt or unreadable ({exc})"
                        ) from exc
            try:
                tmp.rename(target)
            except OSError as exc:
                # Another import of the same archive finished first (two submits at once).
                if target.is_dir():
                    raise ZipImportError(f"target folder {target} already exists") from exc
                raise ZipImportError(f"cannot move the import into {target}: {exc.strerror or exc}") from exc
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


def import_archive(zip_path: Path | str, imports_dir: Path | str) -> Path:
    """Extract an uploaded dataset zip into `imports_dir/<name>-<sha8>`, once per distinct content.

    A second import of the same bytes (a double submit, a reload) returns the existing folder
    instead of extracting a duplicate.
    """
    import hashlib
    import re

    zip_path = Path(zip_path)
    h = hashlib.sha256()
    try:
        with zip_path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    except OSError as exc:
        raise ZipImportError(f"{zip_path.name}: cannot be read ({exc.strerror or exc})") from exc
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", zip_path.stem)[:40] or "dataset"
    target = Path(imports_dir) / f"{safe}-{h.hexdigest()[:8]}"
    if target.is_dir():
        return target
    try:
        return extract_zip(zip_path, target)
    except ZipImportError:
        if target.is_dir():  # a concurrent import of the same bytes won: its folder is complete
            return target
        raise
