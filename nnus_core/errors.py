"""Exception hierarchy of the project.

    NnusError
    ├── DatasetError(ValueError)      a dataset that cannot be read at all
    ├── ImageReadError(ValueError)    an image file that cannot be decoded
    │   └── ZipImportError            an archive refused for safety or format reasons
    ├── ClassMappingError(ValueError) class names that do not map onto the 8 organs
    ├── ModelError(RuntimeError)      weights that cannot be loaded or used
    ├── VideoError(ValueError)        a video that cannot be decoded or written
    ├── QuizInputError(ValueError)    a student answer that cannot be scored
    └── StoreError                    the progress database cannot be read or written
        └── StoreBusyError            it is locked by another writer right now (retry later)

Messages name the field or file, what was expected and what came.
"""

from __future__ import annotations


class NnusError(Exception):
    """Base class of every error this project raises on purpose."""


class DatasetError(NnusError, ValueError):
    """A dataset folder or archive cannot be read."""


class ZipImportError(DatasetError):
    """A zip archive was refused (unsafe member, too large, not a zip)."""


class ImageReadError(NnusError, ValueError):
    """An image file that is missing or cannot be decoded (see `dataset.images.read_image`)."""


class ClassMappingError(NnusError, ValueError):
    """Class names that cannot be mapped onto the organ catalogue."""


class ModelError(NnusError, RuntimeError):
    """Model weights that cannot be loaded or used."""


class VideoError(NnusError, ValueError):
    """A video that cannot be decoded, processed or written."""


class QuizInputError(NnusError, ValueError):
    """A student's answer that cannot be scored as given."""


class StoreError(NnusError, RuntimeError):
    """A database that cannot be opened, migrated or written (progress store).

    `str()` is the detail for the server log; `plain` is the sentence a visitor may read (it never
    names a server path or SQL).
    """

    def __init__(self, message: str, plain: str = "The progress database cannot be used right now.") -> None:
        super().__init__(message)
        self.plain = plain


class StoreBusyError(StoreError):
    """The database is locked by another writer: the same write may succeed a moment later."""
