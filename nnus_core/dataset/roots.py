"""Server folders a dataset may be loaded from: only below the configured data roots, never elsewhere.

The answer for a folder outside the roots, a missing folder and a forbidden one is the same
sentence, so the messages do not tell a visitor which paths exist on the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nnus_core.errors import DatasetError

NOT_OFFERED = (
    "That folder is not one this server offers. Use a folder inside the data folders listed below, "
    "or ask the administrator to add one (NNUS_DATA_ROOTS)."
)


def resolve_below_roots(raw: str, roots: Sequence[Path], *, exclude: Sequence[Path] = ()) -> Path:
    """The folder `raw` names, resolved (symlinks followed), when it lies inside one of `roots`.

    A relative `raw` is taken inside the first root. `exclude` lists folders inside a root that
    are still refused (the upload and video work folders of other sessions).

    Raises:
        DatasetError: with one path-free message for every refusal (outside, missing, excluded).
    """
    text = (raw or "").strip()
    if not text or "\x00" in text or len(text) > 4096 or not roots:
        raise DatasetError(NOT_OFFERED)
    resolved_roots = [Path(r).resolve() for r in roots]
    given = Path(text).expanduser()
    candidate = (given if given.is_absolute() else resolved_roots[0] / given).resolve()
    inside = any(candidate == r or r in candidate.parents for r in resolved_roots)
    banned = any(candidate == e or e in candidate.parents for e in (Path(x).resolve() for x in exclude))
    if not inside or banned or not candidate.is_dir():
        raise DatasetError(NOT_OFFERED)
    return candidate


def offered_folders(roots: Sequence[Path], *, exclude: Sequence[Path] = (), limit: int = 50) -> list[Path]:
    """The dataset folders directly inside the roots (those holding `images/`), for a picker."""
    out: list[Path] = []
    banned = [Path(x).resolve() for x in exclude]
    for root in roots:
        root = Path(root).resolve()
        if not root.is_dir():
            continue
        for child in sorted(root.iterdir()):
            real = child.resolve()
            if root not in real.parents or any(real == b or b in real.parents for b in banned):
                continue  # a link out of the root, or another session's work folder
            if real.is_dir() and (real / "images").is_dir():
                out.append(child)
            if len(out) >= limit:
                return out
    return out
