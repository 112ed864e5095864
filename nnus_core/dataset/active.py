"""Which dataset the app uses: $NNUS_DATA, else data/NNUS/, else the built-in synthetic phantom."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nnus_core.dataset.model import PHANTOM_MARKER

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data"
REAL_DIR = DATA_DIR / "NNUS"
PHANTOM_DIR = DATA_DIR / "phantom"
ENV_VAR = "NNUS_DATA"


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
    env = os.environ if env is None else env
    if env.get(ENV_VAR):
        p = Path(env[ENV_VAR]).expanduser()
        return ActiveDataset(p, "env", p.exists())
    if (REAL_DIR / "images").is_dir() or any(REAL_DIR.glob("*/images")):
        return ActiveDataset(REAL_DIR, "local", True)
    return ActiveDataset(PHANTOM_DIR, "phantom", (PHANTOM_DIR / PHANTOM_MARKER).is_file())
