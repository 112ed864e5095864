"""Uploads: a size cap per kind of upload, and a chunked copy to disk that holds no second copy in memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nnus_core.errors import DatasetError
from nnus_core.settings import ZIP_MAX_MB_ENV, Settings, get_settings

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class UploadCap:
    """The largest upload accepted for one purpose, overridable by an environment variable."""

    env: str
    setting: str  # the Settings field that holds the cap (its default is the settings' default)
    who: str  # who uploads this, for the message

    def mb(self, env: dict[str, str] | None = None) -> int:
        """The cap in MB; a value that is not a positive whole number falls back to the default."""
        return getattr(get_settings() if env is None else Settings.from_env(env), self.setting)


# The server-wide ceiling is server.maxUploadSize in .streamlit/config.toml (the largest of these);
# each uploader passes its own cap to the browser, which refuses a larger file before sending it.
# The real NNUS folder zipped is ~60 MB; scan videos are capped by nnus_core.video.probe.
DATASET_ZIP = UploadCap(ZIP_MAX_MB_ENV, "zip_max_mb", "an instructor loading a dataset")


def copy_to_disk(data: BinaryIO, target: Path, max_bytes: int | None = None) -> int:
    """Copy an uploaded file object to `target` in 1 MB chunks; returns the bytes written.

    Reading in chunks matters: `getbuffer()`/`getvalue()` on Streamlit's in-memory upload make a
    second full copy (a 900 MB zip cost 0.9 GB more while it was written).

    Raises:
        DatasetError: over `max_bytes`, or when the disk write fails (nothing is left behind).
    """
    if hasattr(data, "seek"):
        data.seek(0)
    written = 0
    try:
        with target.open("wb") as out:
            while chunk := data.read(CHUNK_BYTES):
                written += len(chunk)
                if max_bytes is not None and written > max_bytes:
                    raise DatasetError(
                        f"{target.name}: larger than the limit of {max_bytes / 1024 / 1024:.0f} MB"
                    )
                out.write(chunk)
    except OSError as exc:
        target.unlink(missing_ok=True)
        raise DatasetError(
            f"{target.name}: could not be stored on the server: {exc.strerror or exc}"
        ) from exc
    except DatasetError:
        target.unlink(missing_ok=True)
        raise
    return written
