"""Exception hierarchy of the project.

    NnusError
    ├── DatasetError(ValueError)      a dataset that cannot be read at all
    ├── ImageReadError(ValueError)    an image file that cannot be decoded
    │   └── ZipImportError            an archive refused for safety or format reasons
    ├── ClassMappingError(ValueError) class names that do not map onto the 8 organs
    ├── ModelError(RuntimeError)      weights that cannot be loaded or used
    ├── VideoError(ValueError)        a video that cannot be decoded or written
    ├── QuizInputError(ValueError)    a student answer that cannot be scored
    │   └── AnswersLocked             a live question that no longer takes answers
    ├── StoreError                    the progress database cannot be read or written
    │   └── StoreBusyError            it is locked by another writer right now (retry later)
    ├── AccessDenied(PermissionError) the acting user may not do this (policy.py says who may)
    └── SignInError(ValueError)       a sign-in, join code or PIN that is not accepted
        └── RateLimited               too many failed tries from this client or for this account

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


class AnswersLocked(QuizInputError):
    """A live session's question is closed (its time ran out, or the instructor closed it)."""


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


class AccessDenied(NnusError, PermissionError):
    """The acting user may not do this. `str()` is safe to show: it names the rule, never a path."""


class SignInError(NnusError, ValueError):
    """A sign-in, join code, name or PIN that is not accepted (the message never says which part)."""


class RateLimited(SignInError):
    """Too many failed tries from this client or for this account; `retry_after_s` says when to try."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
