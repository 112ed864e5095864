"""CLI: train an organ detector on an NNUS-format dataset (`python -m nnus_core.detector train --data DIR`)."""

from __future__ import annotations

import argparse
import sys

from nnus_core.detector.training import MODELS_DIR, RECIPES, RUNS_DIR, train
from nnus_core.errors import NnusError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m nnus_core.detector train",
        description="Train a YOLO organ detector (ultralytics) on a dataset folder or zip, then write "
        "best.pt, eval_test.json and the model card under --out/<name>/.",
    )
    p.add_argument("--data", required=True, help="dataset folder or .zip in NNUS layout")
    p.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        default="cpu",
        help="cpu: from scratch, ~1 h on 2 cores; sim2real: fine-tune a trained model with wide brightness, "
        "zoom and shift augmentation, for real scans; paper: the authors' YOLOv5s recipe",
    )
    p.add_argument("--epochs", type=int)
    p.add_argument("--imgsz", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--device", help="cpu, 0, 0,1 ... (default: a GPU when there is one)")
    p.add_argument("--workers", type=int, help="data-loader workers")
    p.add_argument("--weights", help="local pretrained .pt to fine-tune (nothing is downloaded)")
    p.add_argument(
        "--model", help="model yaml to build from scratch, e.g. yolo11n.yaml (overrides the recipe's)"
    )
    p.add_argument("--name", help="model name (default <recipe>-<model>-<imgsz>)")
    p.add_argument("--out", default=str(MODELS_DIR), help="folder for <name>/best.pt and its card")
    p.add_argument("--runs", default=str(RUNS_DIR), help="ultralytics work folder (git-ignored)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run of the same --name")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="only this CLI's progress lines")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    recipe = RECIPES[args.recipe]
    if args.model:
        from dataclasses import replace

        recipe = replace(recipe, model=args.model)
    try:
        res = train(
            args.data,
            recipe,
            epochs=args.epochs,
            imgsz=args.imgsz,
            batch=args.batch,
            device=args.device,
            workers=args.workers,
            weights=args.weights,
            name=args.name,
            out_dir=args.out,
            runs_dir=args.runs,
            resume=args.resume,
            seed=args.seed,
            verbose=not args.quiet,
        )
    except NnusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"[nnus-train] done in {res.wall_s / 60:.1f} min: {res.weights}")
    return 0
