"""Dataset layer: read NNUS-format folders and zips, validate them, split by subject, summarise."""

from __future__ import annotations

from nnus_core.dataset.loader import index_folder, load_dataset
from nnus_core.dataset.model import (
    PHANTOM_MARKER,
    SUBJECTS_CSV,
    Annotation,
    Dataset,
    Sample,
    Severity,
    ValidationIssue,
    ValidationReport,
)
from nnus_core.dataset.zipimport import extract_zip

__all__ = [
    "PHANTOM_MARKER",
    "SUBJECTS_CSV",
    "Annotation",
    "Dataset",
    "Sample",
    "Severity",
    "ValidationIssue",
    "ValidationReport",
    "extract_zip",
    "index_folder",
    "load_dataset",
]
