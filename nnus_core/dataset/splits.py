"""Subject groups (volunteers) and a deterministic subject-wise train/val/test split."""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from nnus_core.dataset.labels import read_text

# subjects.csv of the 790 NNUS images is ~15 KB; 4 MB would map ~200,000 images.
MAX_SUBJECTS_CSV_BYTES = 4 * 1024 * 1024
N_VOLUNTEERS = 25  # NNUS: 25 volunteers with ~30-40 consecutive frames each, no subject ids
SPLIT_FRACTIONS = {"val": 0.15, "test": 0.15}


def _natural_key(stem: str) -> tuple:
    # ASCII digits only: "²" or "③" are digits to str.isdigit() but not to int(), and Arabic-Indic
    # digits in one stem against ASCII ones in the next would compare an int with a str.
    parts = re.split(r"([0-9]+)", stem)
    return tuple(int(t) if i % 2 else t for i, t in enumerate(parts))


def read_subjects_csv(path: Path) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """Read a sidecar `image,subject` CSV; keys are file names and stems.

    Returns:
        (mapping, problems) where problems are (line, message) for rows that were skipped.

    Raises:
        DatasetError: when the file is over the size cap or unreadable.
    """
    mapping: dict[str, str] = {}
    problems: list[tuple[int, str]] = []
    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(read_text(path, MAX_SUBJECTS_CSV_BYTES).split("\n"))
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a field over the csv module's 128 KB limit
            problems.append((reader.line_num, f"unreadable row ({exc})"))
            continue
        rows.append((reader.line_num, row))
    if not rows or [c.strip().lower() for c in rows[0][1][:2]] != ["image", "subject"]:
        return {}, [(1, "expected a header 'image,subject'")]
    for lineno, row in rows[1:]:
        if not row or not any(c.strip() for c in row):
            continue
        if max(len(c) for c in row) > 256:
            problems.append(
                (lineno, "expected an image name and a subject id, got a field over 256 characters")
            )
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            problems.append((lineno, f"expected 'image,subject', got {','.join(row)[:60]!r}"))
            continue
        name, subject = row[0].strip(), row[1].strip()
        mapping[name] = subject
        mapping[Path(name).stem] = subject
    return mapping, problems


def contiguous_subjects(stems: Sequence[str], n_subjects: int = N_VOLUNTEERS) -> dict[str, str]:
    """Assign consecutive file numbers to volunteers in equal contiguous blocks.

    NNUS frames of one volunteer are consecutive, so blocks approximate the real subjects far better
    than random assignment, which would leak near-identical frames across splits.
    """
    ordered = sorted(stems, key=_natural_key)
    n = len(ordered)
    k = max(1, min(n_subjects, n))
    width = len(str(k))
    return {stem: f"S{(i * k) // n + 1:0{width}d}" for i, stem in enumerate(ordered)}


def subject_split(subjects: Sequence[str], seed: int = 0) -> dict[str, str]:
    """Deterministic subject-wise split: subject -> "train" | "val" | "test".

    Subjects are ordered by a hash of (seed, subject), so the split does not depend on file order
    and no volunteer appears in two splits.
    """
    uniq = sorted(set(subjects))
    n = len(uniq)
    if n < 3:
        return {s: "train" for s in uniq}
    order = sorted(uniq, key=lambda s: hashlib.sha1(f"{seed}:{s}".encode()).hexdigest())
    n_test = max(1, round(SPLIT_FRACTIONS["test"] * n))
    n_val = max(1, round(SPLIT_FRACTIONS["val"] * n))
    out = {}
    for i, s in enumerate(order):
        out[s] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return out
