"""Settings: one frozen value built from the environment, documented in the README, read nowhere else."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from nnus_core import settings as settings_module
from nnus_core.settings import ENV_VARS, REPO_ROOT, Settings, get_settings, override

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_live_inside_the_repository():
    s = Settings.from_env({})
    assert s.data_dir == REPO_ROOT / "data"
    assert s.phantom_dir == REPO_ROOT / "data" / "phantom"
    assert s.models_dir == REPO_ROOT / "data" / "models"
    assert s.imports_dir == REPO_ROOT / "data" / "imports"
    assert s.model_cache_dir == REPO_ROOT / "data" / "cache" / "models"
    assert s.eval_cache_dir == REPO_ROOT / "data" / "cache" / "eval"
    assert s.database_url == f"sqlite:///{REPO_ROOT / 'data' / 'nnus_tutor.db'}"
    assert (s.dataset_dir, s.model, s.reference_dir) == (None, None, None)
    assert (s.zip_max_mb, s.video_max_mb, s.error_details, s.problems) == (1024, 500, False, ())
    for f in dataclasses.fields(s):
        v = getattr(s, f.name)
        if isinstance(v, Path) and f.name != "video_tmp_dir":  # the video workspace is a temp folder
            assert v.is_relative_to(REPO_ROOT), f.name


def test_each_variable_sets_its_field(tmp_path):
    env = {
        "NNUS_DATA_DIR": str(tmp_path / "d"),
        "NNUS_DATA": str(tmp_path / "NNUS"),
        "NNUS_IMPORTS_DIR": str(tmp_path / "imp"),
        "NNUS_CACHE_DIR": str(tmp_path / "c"),
        "NNUS_EVAL_CACHE": str(tmp_path / "ev"),
        "NNUS_VIDEO_TMP": str(tmp_path / "v"),
        "NNUS_DB_URL": "postgresql+psycopg://u@h/db",
        "NNUS_MODEL": str(tmp_path / "m.pt"),
        "NNUS_ZIP_MAX_MB": "7",
        "NNUS_VIDEO_MAX_MB": "9",
        "NNUS_ERROR_DETAILS": "1",
        "NNUS_REFERENCE_DIR": str(tmp_path / "ref"),
    }
    s = Settings.from_env(env)
    assert s.data_dir == tmp_path / "d" and s.phantom_dir == tmp_path / "d" / "phantom"
    assert s.dataset_dir == tmp_path / "NNUS" and s.imports_dir == tmp_path / "imp"
    # The caches follow NNUS_CACHE_DIR unless one is set on its own.
    assert s.model_cache_dir == tmp_path / "c" / "models" and s.sweep_cache_dir == tmp_path / "c" / "sweeps"
    assert s.eval_cache_dir == tmp_path / "ev" and s.video_tmp_dir == tmp_path / "v"
    assert s.database_url == "postgresql+psycopg://u@h/db" and s.model == tmp_path / "m.pt"
    assert (s.zip_max_mb, s.video_max_mb, s.error_details) == (7, 9, True)
    assert s.reference_dir == tmp_path / "ref"


def test_unusable_values():
    s = Settings.from_env({"NNUS_ZIP_MAX_MB": "-3", "NNUS_VIDEO_MAX_MB": "lots", "NNUS_DB_URL": " "})
    assert s.zip_max_mb == 1024  # falls back, as the dataset upload always did
    assert s.video_max_mb is None
    assert (
        s.problem("NNUS_VIDEO_MAX_MB")
        == "NNUS_VIDEO_MAX_MB must be a positive whole number of MB, got 'lots'"
    )
    assert s.database_url.startswith("sqlite:///")  # an empty variable counts as unset


def test_get_settings_follows_the_environment_and_is_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("NNUS_DATA", str(tmp_path / "a"))
    first = get_settings()
    assert first.dataset_dir == tmp_path / "a" and get_settings() is first
    monkeypatch.setenv("NNUS_DATA", str(tmp_path / "b"))
    assert get_settings().dataset_dir == tmp_path / "b"
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.data_dir = tmp_path  # type: ignore[misc]


def test_override_replaces_fields_inside_the_block(tmp_path):
    before = get_settings()
    with override(zip_max_mb=3, imports_dir=tmp_path) as s:
        assert get_settings() is s and s.zip_max_mb == 3 and s.imports_dir == tmp_path
        assert s.data_dir == before.data_dir
        from nnus_core.uploads import DATASET_ZIP

        assert DATASET_ZIP.mb() == 3
        with override(zip_max_mb=4):
            assert get_settings().zip_max_mb == 4 and get_settings().imports_dir == tmp_path
        assert get_settings() is s
    assert get_settings() == before


def test_every_variable_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z_]+)` \|", readme, flags=re.M))
    assert documented == set(ENV_VARS)


# store/db.py keeps its own read until its rewrite lands: the merge points it at get_settings().
NOT_YET: set[str] = set()


def test_no_other_module_reads_the_environment():
    settings_file = Path(settings_module.__file__).resolve()
    offenders = []
    for path in [*(ROOT / "nnus_core").rglob("*.py"), *(ROOT / "pages").rglob("*.py"), ROOT / "app.py"]:
        rel = path.relative_to(ROOT).as_posix()
        if path.resolve() == settings_file or rel in NOT_YET:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"os\.environ|getenv|parents\[", line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []


def test_the_streamlit_config_parses_and_streamlit_applies_it():
    """One duplicated table makes Streamlit ignore the whole file (it logs an error and starts with
    its defaults: a full garbage collection after every poll, tracebacks shown to users)."""
    import subprocess
    import sys
    import tomllib

    raw = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert raw["runner"]["postScriptGC"] is False
    probe = (
        "from streamlit import config\n"
        "config.get_config_options(force_reparse=True)\n"
        "for k in ('runner.postScriptGC', 'client.showErrorDetails', 'server.fileWatcherType',"
        " 'server.maxUploadSize', 'client.toolbarMode'):\n"
        "    print(k, config.get_option(k))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    assert "Error parsing config" not in out.stdout + out.stderr
    got = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert got == {
        "runner.postScriptGC": "False",
        "client.showErrorDetails": "none",
        "server.fileWatcherType": "none",
        "server.maxUploadSize": "1024",
        "client.toolbarMode": "minimal",
    }
