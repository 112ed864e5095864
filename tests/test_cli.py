"""Command lines: one convention (`python -m nnus_core.<package> [COMMAND]`), each also an installed command."""

from __future__ import annotations

import importlib
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_entry_point_names_a_main_function():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {
        "nnus-train",
        "nnus-evaluate",
        "nnus-detect",
        "nnus-video",
        "nnus-dataset",
        "nnus-phantom",
    } <= set(scripts)
    for name, target in scripts.items():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), name


def test_only_package_main_modules_are_run_as_scripts():
    runnable = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "nnus_core").rglob("*.py")
        if 'if __name__ == "__main__"' in p.read_text()
    )
    assert all(p.endswith("/__main__.py") for p in runnable), runnable


def test_detector_commands_dispatch(capsys):
    from nnus_core.detector.__main__ import main

    assert main([]) == 2
    usage = capsys.readouterr().out
    assert all(f"  {c} " in usage for c in ("train", "evaluate", "detect", "choice")), usage
    assert main(["nope"]) == 2 and "unknown command 'nope'" in capsys.readouterr().err
    out = subprocess.run(
        [sys.executable, "-m", "nnus_core.detector", "detect", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 0 and "usage: python -m nnus_core.detector detect" in out.stdout
