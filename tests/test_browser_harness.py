"""The browser tests' harness: the `browser` marker selects them, and a missing Chromium fails them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pytest(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "NNUS_SKIP_BROWSER", "NNUS_CHROMIUM")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**base, **env},
        timeout=120,
    )


def _collected(out: str) -> list[str]:
    return [line for line in out.splitlines() if "::" in line]


def test_the_browser_marker_selects_exactly_the_browser_tests():
    paths = ("tests/browser/test_home_browser.py", "tests/browser/test_pages_browser.py", "tests/test_cli.py")
    chosen = _collected(_pytest("--co", "-q", "-m", "browser", *paths).stdout)
    others = _collected(_pytest("--co", "-q", "-m", "not browser", *paths).stdout)
    assert chosen and all(t.startswith("tests/browser/") for t in chosen), chosen
    assert others and not any(t.startswith("tests/browser/") for t in others), others


def test_a_missing_chromium_fails_unless_skipped_on_a_local_machine():
    test = "tests/browser/test_home_browser.py"
    missing = _pytest("-q", test, NNUS_CHROMIUM="/nonexistent/chromium")
    assert missing.returncode == 1 and "Chromium not found at /nonexistent/chromium" in missing.stdout
    assert "NNUS_SKIP_BROWSER=1" in missing.stdout
    local = _pytest("-q", "-rs", test, NNUS_CHROMIUM="/nonexistent/chromium", NNUS_SKIP_BROWSER="1")
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout
    ci = _pytest("-q", test, NNUS_CHROMIUM="/nonexistent/chromium", NNUS_SKIP_BROWSER="1", CI="true")
    assert ci.returncode == 1 and "Chromium not found" in ci.stdout
