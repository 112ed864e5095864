"""CLI: `python -m nnus_core.dataset check|stats PATH` (folder or zip)."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from nnus_core.dataset import load_dataset, stats
from nnus_core.errors import DatasetError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnus_core.dataset", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="print the validation report; exit 1 when it holds errors")
    c.add_argument("path")
    c.add_argument("--max-lines", type=int, default=None, help="print at most this many issues")
    c.add_argument("--quiet-info", action="store_true", help="hide info entries")
    s = sub.add_parser("stats", help="print dataset statistics")
    s.add_argument("path")
    args = parser.parse_args(argv)
    try:
        ds = load_dataset(args.path)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    kind = f"{ds.kind} (generator {ds.generator_version})" if ds.synthetic else ds.kind
    print(f"{ds.root}: {kind}, {len(ds)} images, {ds.n_boxes} boxes, {len(ds.subjects)} subjects")
    if args.cmd == "check":
        issues = [i for i in ds.report.issues if not (args.quiet_info and i.severity.value == "info")]
        lines = [str(i) for i in issues]
        if args.max_lines is not None and len(lines) > args.max_lines:
            lines = lines[: args.max_lines] + [f"... and {len(issues) - args.max_lines} more"]
        for ln in lines:
            print(ln)
        print(ds.report.summary())
        return 1 if ds.report.errors else 0
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print("\nInstances per organ (published: real NNUS, 790 images)")
        print(stats.instances_per_organ(ds).round(3).to_string(index=False))
        print("\nBoxes per image")
        print(stats.boxes_per_image(ds).to_string(index=False))
        print("\nBox size (px) and position (normalised centre)")
        print(stats.box_size_summary(ds).round(2).to_string(index=False))
        print("\nCo-occurrence (images with both organs)")
        print(stats.cooccurrence(ds).to_string())
        sp = pd.Series([x.split for x in ds.samples]).value_counts()
        print("\nSubject-wise split (images): " + ", ".join(f"{k} {v}" for k, v in sp.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
