"""Command line: generate the phantom dataset, write sweep videos, or print the realism report."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _progress_printer(every: int = 50):
    def show(done: int, total: int) -> None:
        if done and (done == total or done % every == 0):
            print(f"\r{done}/{total} images", end="\n" if done == total else "", file=sys.stderr, flush=True)

    return show


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "sweep":
        p = argparse.ArgumentParser(
            prog="python -m nnus_core.phantom sweep", description="Write a sweep video."
        )
        p.add_argument("--out", required=True, type=Path)
        p.add_argument("--kind", choices=["transverse", "lateral"], default="transverse")
        p.add_argument("--seconds", type=float, default=20.0)
        p.add_argument("--fps", type=float, default=25.0)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--jobs", type=int, default=None)
        from nnus_core.phantom.generate import GENERATOR_LOOKS, PHANTOM_VERSION

        p.add_argument(
            "--version",
            choices=sorted(GENERATOR_LOOKS),
            default=PHANTOM_VERSION,
            help=f"generator version whose look to render (default {PHANTOM_VERSION}, the built-in phantom's)",
        )
        a = p.parse_args(argv[1:])
        from nnus_core.phantom.sweep import write_sweep

        t0 = time.perf_counter()
        path = write_sweep(a.out, a.kind, a.seconds, a.fps, a.seed, jobs=a.jobs, version=a.version)
        print(f"wrote {path} and {path.with_suffix('.csv').name} in {time.perf_counter() - t0:.1f} s")
        return 0
    if argv and argv[0] == "realism":
        p = argparse.ArgumentParser(prog="python -m nnus_core.phantom realism", description="Realism report.")
        p.add_argument("--data", required=True, type=Path, help="a phantom (or any NNUS-format) folder")
        p.add_argument("--out", required=True, type=Path, help="folder for the report and contact sheet")
        p.add_argument(
            "--real",
            type=Path,
            default=None,
            help="folder of real reference images (default $NNUS_REFERENCE_DIR, else none)",
        )
        p.add_argument("--max-images", type=int, default=120)
        a = p.parse_args(argv[1:])
        from nnus_core.phantom.realism import run_report

        print(run_report(a.data, a.out, real_dir=a.real, max_images=a.max_images))
        return 0
    p = argparse.ArgumentParser(
        prog="python -m nnus_core.phantom", description="Generate the synthetic NNUS dataset."
    )
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--n", type=int, default=790)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    from nnus_core.phantom.generate import GENERATOR_LOOKS, PHANTOM_VERSION, generate_dataset

    p.add_argument(
        "--version",
        choices=sorted(GENERATOR_LOOKS),
        default=PHANTOM_VERSION,
        help=f"generator version (default {PHANTOM_VERSION}, the shipped model's; 2.0.0: the scanner look; 2.1.0: it with the deep fall-off varied per frame; 2.2.0: a closer transverse neck scan; 2.3.0: it with the depth gain set so a longus colli stays visible; 2.4.0: 2.3.0 with a curved fascial web instead of regular horizontal streaks; 2.5.0: 2.4.0 with long fascial planes near the outlines instead of the arcs)",
    )
    a = p.parse_args(argv)

    t0 = time.perf_counter()
    out = generate_dataset(
        a.out, n=a.n, seed=a.seed, jobs=a.jobs, progress=_progress_printer(), version=a.version
    )
    print(f"wrote {a.n} images to {out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
