"""Safe extraction of a dataset zip: no path traversal, no links, caps against zip bombs."""

from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from nnus_core.errors import ZipImportError

MAX_TOTAL_BYTES = 2 * 1024**3  # the real NNUS folder is ~30 MB; 2 GB leaves room for any export
MAX_FILES = 20_000
_CHUNK = 1 << 20


def _safe_member_path(name: str) -> PurePosixPath:
    """The member's relative path, or raise when it could land outside the target folder."""
    norm = name.replace("\\", "/")
    p = PurePosixPath(norm)
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":") or p.is_absolute():
        raise ZipImportError(f"refused archive: member {name!r} has an absolute path")
    if any(part == ".." for part in p.parts):
        raise ZipImportError(f"refused archive: member {name!r} climbs out of the folder ('..')")
    return p


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
    except (zipfile.BadZipFile, OSError) as exc:
        raise ZipImportError(f"{zip_path.name}: not a readable zip archive ({exc})") from exc
    with zf:
        infos = zf.infolist()
        files = [i for i in infos if not i.is_dir()]
        if len(files) > max_files:
            raise ZipImportError(f"refused archive: {len(files)} files, more than the cap of {max_files}")
        declared = sum(i.file_size for i in files)
        if declared > max_total_bytes:
            raise ZipImportError(
                f"refused archive: {declared / 1e6:.0f} MB uncompressed, more than the cap of "
                f"{max_total_bytes / 1e6:.0f} MB"
            )
        for info in infos:
            _safe_member_path(info.filename)
            if _is_link(info):
                raise ZipImportError(f"refused archive: member {info.filename!r} is a symbolic link")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".import-", dir=target.parent))
        try:
            written = 0
            for info in files:
                rel = _safe_member_path(info.filename)
                dest = tmp.joinpath(*rel.parts)
                # Belt and braces: the resolved path must stay inside the temporary folder.
                if not dest.resolve().is_relative_to(tmp.resolve()):
                    raise ZipImportError(f"refused archive: member {info.filename!r} escapes the folder")
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, dest.open("wb") as out:
                    while chunk := src.read(_CHUNK):
                        written += len(chunk)
                        if written > max_total_bytes:
                            raise ZipImportError(
                                f"refused archive: inflates past the cap of {max_total_bytes / 1e6:.0f} MB"
                            )
                        out.write(chunk)
            tmp.rename(target)
        except zipfile.BadZipFile as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise ZipImportError(f"{zip_path.name}: corrupt archive ({exc})") from exc
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
    with zip_path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", zip_path.stem)[:40] or "dataset"
    target = Path(imports_dir) / f"{safe}-{h.hexdigest()[:8]}"
    if target.is_dir():
        return target
    return extract_zip(zip_path, target)
