"""CLI: evaluate a detector on a dataset split and save the JSON for the app's model page."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nnus_core.errors import NnusError


def _shape(text: str) -> int | tuple[int, int]:
    h, sep, w = text.lower().partition("x")
    try:
        return (int(h), int(w)) if sep else int(h)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or HxW (e.g. 320 or 288x320), got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m nnus_core.detector evaluate",
        description="Per-organ AP@0.5 and AP@0.5:0.95, P/R, confusion matrix, PR curves and per-image "
        "TP/FP/FN of a model on one split, with the dataset authors' figures beside ours.",
    )
    p.add_argument("--model", help="weights .pt or model folder (default: the shipped model)")
    p.add_argument("--data", required=True, help="dataset folder or .zip")
    p.add_argument("--split", default="test", choices=["train", "val", "test", "all"])
    p.add_argument("--out", help="JSON file to write (default: print the table only)")
    p.add_argument(
        "--backend",
        default="torch",
        choices=["auto", "openvino", "onnx", "torch"],
        help="runtime (default torch: the reference numbers)",
    )
    p.add_argument(
        "--report-conf",
        type=float,
        default=0.25,
        help="confidence for the confusion matrix and per-image lists",
    )
    p.add_argument(
        "--imgsz",
        type=_shape,
        nargs="+",
        help="input size, N or HxW such as 288x320 (default: the size the model was trained at); "
        "with --gate several sizes may be given, each checked against the same reference",
    )
    p.add_argument(
        "--card-entry",
        metavar="NAME",
        help="also record this evaluation's summary in the model's card under NAME "
        "(for a further held-out set, e.g. a phantom of another seed: new volunteers)",
    )
    p.add_argument("--note", default="", help="a sentence stored with --card-entry")
    p.add_argument(
        "--gate",
        nargs="+",
        choices=["int8", "bf16", "f32"],
        metavar="VARIANT",
        help="accuracy check of faster variants (int8, bf16; with another --imgsz also f32) against "
        "OpenVINO f32 at the model's own size on this split; the verdict (mAP@0.5 drop <= 0.01, no organ "
        "> 0.03) is recorded in the model card (as VARIANT, or VARIANT@HxW for another input size: a "
        "smaller one, e.g. 256 or 256x288 for the NNUS images, lets the runtime choice run the model "
        "on that smaller input), where the runtime choice reads it",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)  # this command's own arguments
    args = build_parser().parse_args(argv)
    from nnus_core.dataset import load_dataset
    from nnus_core.detector import Detector
    from nnus_core.detector.evaluation import evaluate_detector, format_comparison

    if args.gate:
        return run_gate(args)
    if args.imgsz and len(args.imgsz) > 1:
        print("error: several --imgsz values are for --gate only", file=sys.stderr)
        return 2
    try:
        det = Detector.load(args.model, backend=args.backend, imgsz=args.imgsz[0] if args.imgsz else None)
        ds = load_dataset(args.data)
        report = evaluate_detector(det, ds, args.split, report_conf=args.report_conf)
    except NnusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"model {det.weights_path} ({det.backend}, imgsz {det.imgsz}) on {ds.kind} "
        f"{args.split} split: {report['data']['n_images']} images"
    )
    print(format_comparison(report))
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")
        print(f"saved {out}")
    if args.card_entry:
        try:
            card_path = record_in_card(det.weights_path, args.card_entry, report, args.note, argv)
        except NnusError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"recorded as {args.card_entry!r} in {card_path}")
    return 0


def run_gate(args: argparse.Namespace) -> int:
    """Evaluate OpenVINO f32 and each variant on the same images; record the verdicts in the card."""
    import dataclasses

    from nnus_core.dataset import load_dataset
    from nnus_core.detector import Detector, read_model_card, write_model_card
    from nnus_core.detector.evaluation import evaluate_detector
    from nnus_core.detector.fast import input_shape, shape_tag
    from nnus_core.detector.gate import describe_entry, gate_entry
    from nnus_core.detector.quantize import RECIPE

    try:
        ds = load_dataset(args.data)
        # Another input size (a rectangle, a smaller side) is itself a change: everything is
        # measured against f32 at the model's own square size.
        ref_det = Detector.load(args.model, backend="openvino", precision="f32")
        own = (ref_det.imgsz, ref_det.imgsz)
        reference = evaluate_detector(ref_det, ds, args.split, report_conf=args.report_conf)
        print(
            f"reference openvino f32 on {ds.kind} {args.split}: mAP@0.5 {reference['overall']['map50']:.4f}"
        )
        entries = {}
        for size in args.imgsz or [None]:
            shape = own if size is None else input_shape(size)
            for variant in args.gate:
                if variant == "f32" and shape == own:
                    continue  # the reference itself
                det = Detector.load(args.model, backend="openvino", precision=variant, imgsz=shape)
                report = evaluate_detector(det, ds, args.split, report_conf=args.report_conf)
                name = variant if shape == own else f"{variant}@{shape_tag(shape)}"
                entries[name] = entry = gate_entry(reference, report, RECIPE if variant == "int8" else "")
                seed = _phantom_seed(ds.root)
                if seed is not None:
                    entry["data"]["seed"] = seed
                print(describe_entry(name, entry), flush=True)
                for c in entry["per_class"]:
                    print(f"  {c['name']:<28} n={c['n_gt']:<4} AP@0.5 {c['ref_ap50']:.4f} -> {c['ap50']:.4f}")
        card = read_model_card(ref_det.weights_path)
    except NnusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if card is None:
        print(f"no model card beside {ref_det.weights_path}: the verdicts were not recorded")
        return 0
    write_model_card(
        dataclasses.replace(card, variants={**card.variants, **entries}), ref_det.weights_path.parent
    )
    print(f"recorded {', '.join(entries)} in {ref_det.weights_path.parent / 'model_card.json'}")
    return 0


def _phantom_seed(root: Path) -> int | None:
    """The seed of a phantom folder (which virtual volunteers it holds), None for other data."""
    marker = Path(root) / "phantom.json"
    try:
        return json.loads(marker.read_text()).get("seed") if marker.is_file() else None
    except (OSError, ValueError):
        return None


def record_in_card(
    weights: Path, name: str, report: dict, note: str = "", argv: list[str] | None = None
) -> Path:
    """Add an evaluation's summary to the card beside `weights`; returns the card's JSON path.

    Raises:
        ModelError: when the model has no card.
    """
    import dataclasses
    import shlex

    from nnus_core.detector.card import CARD_JSON, evaluation_entry, read_model_card, write_model_card
    from nnus_core.errors import ModelError

    card = read_model_card(weights)
    if card is None:
        raise ModelError(f"{weights.parent}: no model card to record the evaluation in")
    command = " ".join(
        shlex.quote(a) for a in ["python", "-m", "nnus_core.detector", "evaluate", *(argv or [])]
    )
    entry = evaluation_entry(report, command, note)
    seed = _phantom_seed(Path(entry["data"].get("root", "")))
    if seed is not None:  # a phantom's seed says which virtual volunteers it holds
        entry["data"]["seed"] = seed
    card = dataclasses.replace(card, evaluations={**card.evaluations, name: entry})
    write_model_card(card, weights.parent)
    return weights.parent / CARD_JSON
