"""Phantom speed: 790-image dataset and a 20 s sweep clip, wall time and peak memory (all processes).

Peer: the issue's budget (790 images <= 30 s, peak memory < 2 GB, 20 s sweep <= 30 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _tree_rss_mb() -> float:
    """Resident memory of this process and its children right now (MB), from /proc."""
    total = 0
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().split()
            if int(pid) != me and int(stat[3]) != me:
                continue
            total += int(stat[23]) * resource.getpagesize()
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e6


class PeakMemory:
    """Samples the summed RSS of this process tree every 50 ms."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, _tree_rss_mb())
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def _cpu_s() -> float:
    """CPU seconds used so far by this process and its reaped children (pool workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=790)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--version", default=None, help="generator version (default: the default one)")
    a = p.parse_args()
    from nnus_core.phantom import PHANTOM_VERSION, generate_dataset, write_sweep

    version = a.version or PHANTOM_VERSION

    tmp = Path(tempfile.mkdtemp(prefix="phantom_bench_"))
    try:
        with PeakMemory() as mem:
            t0, c0 = time.perf_counter(), _cpu_s()
            generate_dataset(tmp / "ds", n=a.n, seed=0, jobs=a.jobs, version=version)
            t_ds, c_ds = time.perf_counter() - t0, _cpu_s() - c0
        with PeakMemory() as mem_sw:
            t0, c0 = time.perf_counter(), _cpu_s()
            write_sweep(tmp / "sw", "transverse", seconds=a.seconds, fps=25, seed=0, jobs=a.jobs)
            t_sw, c_sw = time.perf_counter() - t0, _cpu_s() - c0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    cores = os.cpu_count() or 1
    print(f"phantom version: {version} (the sweep: {PHANTOM_VERSION})")
    print(f"cpu cores: {cores}, load average at end: {os.getloadavg()[0]:.1f}")
    # On a shared machine wall time depends on the other tenants; CPU seconds / cores is the
    # wall time the same work needs on an otherwise idle machine with this many cores.
    print(f"dataset {a.n} images: {t_ds:.1f} s wall ({a.n / t_ds:.1f} images/s; budget 30 s for 790)")
    print(f"dataset CPU time: {c_ds:.1f} s -> {c_ds / cores:.1f} s on {cores} idle cores")
    print(f"dataset peak memory, all processes: {mem.peak_mb:.0f} MB (budget 2000 MB)")
    print(
        f"sweep {a.seconds:.0f} s at 25 fps: {t_sw:.1f} s wall (budget 30 s), peak memory {mem_sw.peak_mb:.0f} MB"
    )
    print(f"sweep CPU time: {c_sw:.1f} s -> {c_sw / cores:.1f} s on {cores} idle cores")
    print(f"phantom_790_images_s: {t_ds * 790 / a.n:.1f}")


if __name__ == "__main__":
    main()
