"""The app's settings: every environment variable and repository path, read in this one module.

`get_settings()` is the value the code uses. It is built from the environment by
`Settings.from_env` and cached per environment, so a process reads each variable once; a test or
bench that changes a variable (monkeypatch.setenv, a subprocess environment) gets a new value
without a cache to clear. `override(**fields)` replaces fields for the length of a `with` block.
The README's "Settings" table lists the variables; keep the two in step.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

# Environment variable names, one per setting that can be changed from outside.
DATA_DIR_ENV = "NNUS_DATA_DIR"
DATASET_ENV = "NNUS_DATA"
IMPORTS_ENV = "NNUS_IMPORTS_DIR"
CACHE_ENV = "NNUS_CACHE_DIR"
MODEL_CACHE_ENV = "NNUS_MODEL_CACHE"
EVAL_CACHE_ENV = "NNUS_EVAL_CACHE"
SWEEP_CACHE_ENV = "NNUS_SWEEP_CACHE"
VIDEO_TMP_ENV = "NNUS_VIDEO_TMP"
DB_URL_ENV = "NNUS_DB_URL"
MODEL_ENV = "NNUS_MODEL"
ZIP_MAX_MB_ENV = "NNUS_ZIP_MAX_MB"
VIDEO_MAX_MB_ENV = "NNUS_VIDEO_MAX_MB"
ERROR_DETAILS_ENV = "NNUS_ERROR_DETAILS"
REFERENCE_ENV = "NNUS_REFERENCE_DIR"
DATA_ROOTS_ENV = "NNUS_DATA_ROOTS"
SSO_GROUPS_ENV = "NNUS_SSO_INSTRUCTOR_GROUPS"
SSO_EMAILS_ENV = "NNUS_SSO_INSTRUCTOR_EMAILS"
# oneDNN's dispatcher cap (OpenVINO's CPU plugin and PyTorch obey it): the runtime choice then sees
# only the ISA it leaves (`detector.cpu.read_cpu`); the benches' `--max-isa` sets it.
ISA_CAP_ENVS = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")
ENV_VARS = (
    DATA_DIR_ENV,
    DATASET_ENV,
    IMPORTS_ENV,
    CACHE_ENV,
    MODEL_CACHE_ENV,
    EVAL_CACHE_ENV,
    SWEEP_CACHE_ENV,
    VIDEO_TMP_ENV,
    DB_URL_ENV,
    MODEL_ENV,
    ZIP_MAX_MB_ENV,
    VIDEO_MAX_MB_ENV,
    ERROR_DETAILS_ENV,
    REFERENCE_ENV,
    DATA_ROOTS_ENV,
    SSO_GROUPS_ENV,
    SSO_EMAILS_ENV,
    *ISA_CAP_ENVS,
)

DEFAULT_ZIP_MAX_MB = 1024  # the real NNUS folder zipped is ~60 MB
DEFAULT_VIDEO_MAX_MB = 500


@dataclass(frozen=True)
class Settings:
    """Where the app keeps its files, which database and model it uses, and its size limits."""

    data_dir: Path  # the app's own files: models, caches, the phantom, imports, the SQLite file
    dataset_dir: Path | None  # an explicit active dataset; None: data/NNUS when present, else the phantom
    imports_dir: Path  # where datasets loaded on the Home page are unpacked
    cache_dir: Path  # parent of the caches below unless each is set on its own
    model_cache_dir: Path  # model exports and the measured runtime choice
    eval_cache_dir: Path  # evaluations run from the Model report page
    sweep_cache_dir: Path  # generated phantom sweep clips
    video_tmp_dir: Path  # per-session folders of the video page
    database_url: str
    model: Path | None  # a weights file or model folder instead of the shipped default
    zip_max_mb: int
    video_max_mb: int | None  # None: the variable holds no positive whole number (see `problems`)
    error_details: bool  # unexpected errors propagate instead of a short message (tests, development)
    reference_dir: Path | None  # real reference images for the phantom's realism report (dev benches)
    # Server folders an instructor may load a dataset from (never anything outside them).
    data_roots: tuple[Path, ...] = field(default=())
    # Single sign-on: who is an instructor (comma-separated group names / e-mail addresses);
    # None keeps the default groups (instructors, faculty, teachers).
    sso_instructor_groups: str | None = None
    sso_instructor_emails: str = ""
    isa_cap: str = ""  # ONEDNN_MAX_CPU_ISA (or DNNL_...), upper case; "" for none (or ALL)
    # Values that were set but could not be used: (variable, message); the code that needs the
    # value raises its own error with the message, so one bad variable breaks only its feature.
    problems: tuple[tuple[str, str], ...] = field(default=())

    @property
    def real_dir(self) -> Path:
        """The local real NNUS folder, used when present and no dataset is set."""
        return self.data_dir / "NNUS"

    @property
    def phantom_dir(self) -> Path:
        """The built-in synthetic phantom, generated here on first start."""
        return self.data_dir / "phantom"

    @property
    def models_dir(self) -> Path:
        """Shipped and trained model folders (<name>/best.pt with its card)."""
        return self.data_dir / "models"

    @property
    def runs_dir(self) -> Path:
        """Ultralytics' training runs (never committed)."""
        return REPO_ROOT / "runs"

    def problem(self, var: str) -> str | None:
        """The message for an unusable value of `var`, or None when it is fine or unset."""
        return dict(self.problems).get(var)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (default os.environ); an empty variable counts as unset."""
        env = os.environ if env is None else env

        def get(name: str) -> str:
            return (env.get(name) or "").strip()

        def path(name: str, default: Path) -> Path:
            return Path(get(name)).expanduser() if get(name) else default

        def opt_path(name: str) -> Path | None:
            return Path(get(name)).expanduser() if get(name) else None

        problems: list[tuple[str, str]] = []
        data_dir = path(DATA_DIR_ENV, REPO_ROOT / "data")
        cache_dir = path(CACHE_ENV, data_dir / "cache")
        raw_zip = get(ZIP_MAX_MB_ENV)
        # A dataset zip cap that is not a positive whole number falls back to the default.
        zip_mb = int(raw_zip) if raw_zip.isdigit() and int(raw_zip) > 0 else DEFAULT_ZIP_MAX_MB
        raw_video = get(VIDEO_MAX_MB_ENV)
        video_mb: int | None = DEFAULT_VIDEO_MAX_MB
        if raw_video:
            video_mb = int(raw_video) if raw_video.isdigit() and int(raw_video) > 0 else None
            if video_mb is None:
                problems.append(
                    (
                        VIDEO_MAX_MB_ENV,
                        f"{VIDEO_MAX_MB_ENV} must be a positive whole number of MB, got {raw_video!r}",
                    )
                )
        return cls(
            data_dir=data_dir,
            dataset_dir=opt_path(DATASET_ENV),
            imports_dir=path(IMPORTS_ENV, data_dir / "imports"),
            cache_dir=cache_dir,
            model_cache_dir=path(MODEL_CACHE_ENV, cache_dir / "models"),
            eval_cache_dir=path(EVAL_CACHE_ENV, cache_dir / "eval"),
            sweep_cache_dir=path(SWEEP_CACHE_ENV, cache_dir / "sweeps"),
            video_tmp_dir=path(VIDEO_TMP_ENV, Path(tempfile.gettempdir()) / "nnus-video"),
            database_url=get(DB_URL_ENV) or f"sqlite:///{data_dir / 'nnus_tutor.db'}",
            model=opt_path(MODEL_ENV),
            zip_max_mb=zip_mb,
            video_max_mb=video_mb,
            error_details=get(ERROR_DETAILS_ENV) == "1",
            reference_dir=opt_path(REFERENCE_ENV),
            data_roots=tuple(Path(p).expanduser() for p in get(DATA_ROOTS_ENV).split(os.pathsep) if p.strip())
            or (data_dir,),
            sso_instructor_groups=get(SSO_GROUPS_ENV) or None,
            sso_instructor_emails=get(SSO_EMAILS_ENV),
            isa_cap=next((v for v in (get(n).upper() for n in ISA_CAP_ENVS) if v and v != "ALL"), ""),
            problems=tuple(problems),
        )


@lru_cache(maxsize=8)
def _cached(snapshot: tuple[tuple[str, str | None], ...]) -> Settings:
    return Settings.from_env({k: v for k, v in snapshot if v is not None})


_overrides: list[Settings] = []


def get_settings() -> Settings:
    """The settings in force: the innermost `override`, else those of the current environment."""
    if _overrides:
        return _overrides[-1]
    return _cached(tuple((name, os.environ.get(name)) for name in ENV_VARS))


get_settings.cache_clear = _cached.cache_clear  # type: ignore[attr-defined]


@contextmanager
def override(**fields: object) -> Iterator[Settings]:
    """Use the current settings with `fields` replaced inside the `with` block (tests, benches)."""
    changed = replace(get_settings(), **fields)  # type: ignore[arg-type]
    _overrides.append(changed)
    depth = len(_overrides)
    try:
        yield changed
    finally:
        del _overrides[depth - 1 :]  # this block's value and any a nested block left behind


def ultralytics_offline() -> None:
    """Keep ultralytics from reaching the network (no hub downloads, no update checks).

    Called before ultralytics is imported; it configures that library, it is not a setting of ours.
    """
    os.environ.setdefault("YOLO_OFFLINE", "1")
