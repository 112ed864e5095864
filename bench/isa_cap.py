"""`--max-isa` for the speed benches: re-run the bench with OpenVINO's and PyTorch's kernels capped."""

from __future__ import annotations

import os
import sys

from nnus_core.detector.cpu import cap_environment, isa_cap


def restart_capped(cap: str | None) -> None:
    """Re-run this process (same interpreter and arguments) with its kernels capped at `cap`,
    unless no cap is asked for or it is in force already: the runtimes read it at start-up only."""
    if not cap or isa_cap() == cap.strip().upper():
        return
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **cap_environment(cap)})
