"""Which dataset the app uses: $NNUS_DATA, else data/NNUS/, else the built-in synthetic phantom."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nnus_core.dataset.model import PHANTOM_MARKER, Dataset
from nnus_core.settings import DATASET_ENV, Settings, get_settings

ENV_VAR = DATASET_ENV


@dataclass(frozen=True)
class ActiveDataset:
    """Where the active dataset lives and why it was chosen."""

    path: Path
    source: str  # "env" | "local" | "phantom"
    exists: bool

    @property
    def is_phantom(self) -> bool:
        return self.source == "phantom" or (self.path / PHANTOM_MARKER).is_file()

    @property
    def description(self) -> str:
        return {
            "env": f"${ENV_VAR} = {self.path}",
            "local": f"real NNUS folder {self.path}",
            "phantom": f"built-in synthetic phantom {self.path}",
        }[self.source]


def resolve_active(env: dict[str, str] | None = None) -> ActiveDataset:
    """Resolve the active dataset location (it may not exist yet: the phantom is generated on demand)."""
    s = get_settings() if env is None else Settings.from_env(env)
    if s.dataset_dir is not None:
        return ActiveDataset(s.dataset_dir, "env", s.dataset_dir.exists())
    real = s.real_dir
    if (real / "images").is_dir() or any(real.glob("*/images")):
        return ActiveDataset(real, "local", True)
    return ActiveDataset(s.phantom_dir, "phantom", builtin_phantom_is_current(s.phantom_dir))


def builtin_phantom_is_current(folder: Path) -> bool:
    """Whether the built-in phantom folder is complete and of the generator version this release
    writes (the shipped model's training data). An older one counts as missing: it is generated
    again (the new folder replaces it only once complete), so the built-in images and the built-in
    model never disagree after an upgrade. A dataset given by $NNUS_DATA is never replaced."""
    import json

    marker = folder / PHANTOM_MARKER
    if not marker.is_file():
        return False
    try:
        from nnus_core.phantom import PHANTOM_VERSION
    except ImportError:  # no generator installed: whatever is there is what there is
        return True
    try:
        return json.loads(marker.read_text()).get("version") == PHANTOM_VERSION
    except (OSError, ValueError, AttributeError):
        return False


@dataclass(frozen=True)
class ActivationCheck:
    """Whether a candidate dataset may become active as it is, and why not.

    `needs_override` is True when activating it would give a broken study set (validation errors,
    no images or no boxes): the page then asks for an explicit, explained confirmation.
    """

    problems: tuple[str, ...]
    can_activate: bool  # False: nothing to show at all (no images), even with an override

    @property
    def needs_override(self) -> bool:
        return bool(self.problems)


def activation_check(ds: Dataset) -> ActivationCheck:
    """What stands against making `ds` the active dataset (see ActivationCheck)."""
    problems = []
    errors = ds.report.errors
    if errors:
        codes = sorted({e.code for e in errors})
        problems.append(
            f"{len(errors)} validation error(s) ({', '.join(codes)}): the lines they name are left out, so "
            "their boxes are missing from Browse, the quiz and the model report"
        )
    if not len(ds):
        problems.append("no readable image")
    elif not ds.n_boxes:
        problems.append("not a single labelled box: there is nothing to study or to be quizzed on")
    return ActivationCheck(tuple(problems), can_activate=bool(len(ds)))
